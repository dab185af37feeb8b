//! Tokens fetched over HTTP verify under strict validation with nothing but
//! the published JWKS, for every algorithm family.

use jsonwebtoken::{Algorithm as Jwa, DecodingKey};
use mockidp::{Algorithm, MockIdp};
use serde_json::{Value, json};

use crate::support::{
    AUDIENCE, CLIENT, SECRET, client_credentials, fetch_jwks, issuer_with, segment_json, strict, verify_with_jwks,
};

const ASYMMETRIC: [(Algorithm, Jwa); 9] = [
    (Algorithm::RS256, Jwa::RS256),
    (Algorithm::RS384, Jwa::RS384),
    (Algorithm::RS512, Jwa::RS512),
    (Algorithm::PS256, Jwa::PS256),
    (Algorithm::PS384, Jwa::PS384),
    (Algorithm::PS512, Jwa::PS512),
    (Algorithm::ES256, Jwa::ES256),
    (Algorithm::ES384, Jwa::ES384),
    (Algorithm::EdDSA, Jwa::EdDSA),
];

#[tokio::test]
async fn every_asymmetric_algorithm_verifies_with_only_the_published_jwks() {
    let mut builder = MockIdp::builder();
    for (alg, _) in ASYMMETRIC {
        builder = builder.with_issuer(alg.as_str().to_ascii_lowercase(), issuer_with(alg, None));
    }
    let idp = builder.start().await;

    for (alg, jwa) in ASYMMETRIC {
        let issuer = idp.issuer_url(&alg.as_str().to_ascii_lowercase());
        let response = client_credentials(&issuer, CLIENT, SECRET, Some("orders:read")).await;
        let token = response["access_token"].as_str().expect("an access token");

        let claims = verify_with_jwks(token, &issuer, jwa, AUDIENCE).await;

        assert_eq!(segment_json(token, 0)["alg"], json!(alg.as_str()), "{alg}");
        assert_eq!(claims["scope"], json!("orders:read"), "{alg}");
        // The published key says what it is for, so a verifier can pin it.
        let jwks = fetch_jwks(&issuer).await;
        assert_eq!(jwks.keys.len(), 1, "{alg}");
        assert_eq!(jwks.keys[0].common.key_algorithm.map(|a| a.to_string()), Some(alg.as_str().to_owned()));
    }
}

#[tokio::test]
async fn a_token_does_not_verify_under_another_issuers_jwks() {
    let idp = MockIdp::builder()
        .with_issuer("a", issuer_with(Algorithm::ES256, None))
        .with_issuer("b", issuer_with(Algorithm::ES256, None))
        .start()
        .await;
    let token = client_credentials(&idp.issuer_url("a"), CLIENT, SECRET, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = fetch_jwks(&idp.issuer_url("b")).await;
    let key = DecodingKey::from_jwk(&other.keys[0]).unwrap();
    let err =
        jsonwebtoken::decode::<Value>(&token, &key, &strict(Jwa::ES256, &idp.issuer_url("a"), AUDIENCE)).unwrap_err();
    assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn hmac_tokens_verify_with_the_configured_secret_and_are_never_published() {
    let hs = [(Algorithm::HS256, Jwa::HS256), (Algorithm::HS384, Jwa::HS384), (Algorithm::HS512, Jwa::HS512)];
    let secret = "a-shared-secret-of-at-least-64-bytes-so-every-hmac-size-is-happy!";
    let mut builder = MockIdp::builder();
    for (alg, _) in hs {
        builder = builder.with_issuer(alg.as_str().to_ascii_lowercase(), issuer_with(alg, Some(secret)));
    }
    let idp = builder.start().await;

    for (alg, jwa) in hs {
        let issuer = idp.issuer_url(&alg.as_str().to_ascii_lowercase());
        let token =
            client_credentials(&issuer, CLIENT, SECRET, None).await["access_token"].as_str().unwrap().to_owned();

        let verified = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_secret(secret.as_bytes()).unwrap(),
            &strict(jwa, &issuer, AUDIENCE),
        );
        let wrong = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_secret(b"another secret").unwrap(),
            &strict(jwa, &issuer, AUDIENCE),
        );

        assert!(verified.is_ok(), "{alg}: {verified:?}");
        assert_eq!(wrong.unwrap_err().kind(), &jsonwebtoken::errors::ErrorKind::InvalidSignature);
        assert!(fetch_jwks(&issuer).await.keys.is_empty(), "{alg} secret must never be published");
    }
}

#[tokio::test]
async fn access_tokens_carry_the_rfc_9068_header_and_claims() {
    let idp = MockIdp::builder().with_issuer("es", issuer_with(Algorithm::ES256, None)).start().await;
    let issuer = idp.issuer_url("es");

    let response = client_credentials(&issuer, CLIENT, SECRET, Some("orders:read orders:write")).await;
    let token = response["access_token"].as_str().unwrap();
    let claims = verify_with_jwks(token, &issuer, Jwa::ES256, AUDIENCE).await;
    let header = segment_json(token, 0);

    assert_eq!(header["typ"], json!("at+jwt"));
    assert_eq!(claims["iss"], json!(issuer));
    assert_eq!(claims["sub"], json!(CLIENT));
    assert_eq!(claims["aud"], json!(AUDIENCE));
    assert_eq!(claims["client_id"], json!(CLIENT));
    assert_eq!(claims["scope"], json!("orders:read orders:write"));
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    assert_eq!(response["token_type"], json!("Bearer"));
    assert_eq!(response["expires_in"], json!(3600));
    assert_eq!(response["scope"], json!("orders:read orders:write"));
}

#[tokio::test]
async fn client_claims_replace_registered_ones_instead_of_duplicating_them() {
    let mut issuer = issuer_with(Algorithm::ES256, None);
    let client = issuer.clients.get_mut(CLIENT).unwrap();
    client.claims.insert("sub".into(), json!("service-account-7"));
    client.claims.insert("tenant".into(), json!("acme"));
    let idp = MockIdp::builder().with_issuer("es", issuer).start().await;

    let issuer_url = idp.issuer_url("es");
    let token = client_credentials(&issuer_url, CLIENT, SECRET, None).await;
    let token = token["access_token"].as_str().unwrap();

    let payload = mockidp_core::b64url_decode(token.split('.').nth(1).unwrap()).unwrap();
    let payload = String::from_utf8(payload).unwrap();
    assert_eq!(payload.matches("\"sub\"").count(), 1, "{payload}");
    let claims = verify_with_jwks(token, &issuer_url, Jwa::ES256, AUDIENCE).await;
    assert_eq!(claims["sub"], json!("service-account-7"));
    assert_eq!(claims["tenant"], json!("acme"));
}

#[tokio::test]
async fn a_client_can_ask_for_another_algorithm_of_its_issuer() {
    let mut issuer = issuer_with(Algorithm::RS256, None);
    issuer.keys.push(mockidp::KeyConfig::generated(Algorithm::EdDSA));
    issuer.clients.get_mut(CLIENT).unwrap().signing_alg = Some(Algorithm::EdDSA);
    let idp = MockIdp::builder().with_issuer("mixed", issuer).start().await;
    let issuer_url = idp.issuer_url("mixed");

    let token = client_credentials(&issuer_url, CLIENT, SECRET, None).await;
    let token = token["access_token"].as_str().unwrap();

    assert_eq!(segment_json(token, 0)["alg"], json!("EdDSA"));
    verify_with_jwks(token, &issuer_url, Jwa::EdDSA, AUDIENCE).await;
    assert_eq!(fetch_jwks(&issuer_url).await.keys.len(), 2, "both keys are published");
}

#[tokio::test]
async fn a_signing_alg_without_a_key_is_a_config_error() {
    let mut issuer = issuer_with(Algorithm::RS256, None);
    issuer.clients.get_mut(CLIENT).unwrap().signing_alg = Some(Algorithm::ES384);
    let err = MockIdp::builder().with_issuer("broken", issuer).try_start().await.unwrap_err();
    assert!(err.to_string().contains("the issuer has no `ES384` key"), "{err}");
}
