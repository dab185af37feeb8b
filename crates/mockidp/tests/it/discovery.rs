//! Discovery as a real relying party library sees it.

use mockidp::MockIdp;
use openidconnect::{
    IssuerUrl, JsonWebKey as _,
    core::{CoreJwsSigningAlgorithm, CoreProviderMetadata},
};
use serde_json::Value;

use crate::support::{client_credentials, http};

#[tokio::test]
async fn openidconnect_discovers_the_provider_and_loads_its_jwks() {
    let idp = MockIdp::start().await;
    let issuer = IssuerUrl::new(idp.issuer()).unwrap();

    let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http()).await.expect("discovery succeeds");

    assert_eq!(metadata.issuer(), &issuer);
    assert_eq!(metadata.token_endpoint().map(|url| url.as_str().to_owned()), Some(idp.token_endpoint()));
    assert_eq!(metadata.jwks_uri().as_str(), idp.jwks_uri());
    let keys = metadata.jwks().keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].key_id().map(|kid| kid.as_str()), Some(idp.signing_key().kid().as_str()));

    // The discovered key verifies a token from the token endpoint: a second,
    // independent signature check besides jsonwebtoken's.
    let token = client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await;
    let token = token["access_token"].as_str().unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = mockidp_core::b64url_decode(signature).unwrap();
    keys[0]
        .verify_signature(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, signing_input.as_bytes(), &signature)
        .expect("the discovered key verifies the token");
    let mut tampered = signature.clone();
    tampered[0] ^= 1;
    assert!(
        keys[0]
            .verify_signature(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, signing_input.as_bytes(), &tampered)
            .is_err()
    );
}

#[tokio::test]
async fn rfc_8414_metadata_is_served_at_both_locations() {
    let idp = MockIdp::start().await;
    let urls = [
        format!("{}/.well-known/oauth-authorization-server/default", idp.uri()),
        format!("{}/default/.well-known/oauth-authorization-server", idp.uri()),
        format!("{}/.well-known/openid-configuration/default", idp.uri()),
    ];
    for url in urls {
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["issuer"], Value::String(idp.issuer()), "{url}");
        assert_eq!(document["token_endpoint"], Value::String(idp.token_endpoint()), "{url}");
    }
}

#[tokio::test]
async fn an_unknown_issuer_is_a_json_404() {
    let idp = MockIdp::start().await;
    for path in ["nope/.well-known/openid-configuration", "nope/jwks", ".well-known/oauth-authorization-server/nope"] {
        let response = http().get(format!("{}/{path}", idp.uri())).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}");
        assert!(body["error_description"].as_str().unwrap().contains("`nope`"), "{path}: {body}");
    }
}

#[tokio::test]
async fn trailing_and_doubled_slashes_reach_the_same_endpoints() {
    let idp = MockIdp::start().await;
    for path in ["default/.well-known/openid-configuration/", "/default//jwks", "default/jwks/"] {
        let response = http().get(format!("{}/{path}", idp.uri())).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_fixed_issuer_url_is_the_iss_of_every_token() {
    let mut config = mockidp::Config::embedded_default();
    config.issuers.get_mut("default").unwrap().issuer_url = Some("http://mockidp:8080/default".into());
    let idp = MockIdp::builder().with_config(config).start().await;

    let document: Value = http()
        .get(format!("{}/default/.well-known/openid-configuration", idp.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fetched = client_credentials(&format!("{}/default", idp.uri()), "demo-client", "demo-secret", None).await;
    let minted = idp.token().sign().unwrap();

    assert_eq!(idp.issuer(), "http://mockidp:8080/default");
    assert_eq!(document["issuer"], "http://mockidp:8080/default");
    assert_eq!(document["token_endpoint"], format!("{}/default/token", idp.uri()), "endpoints stay reachable");
    assert_eq!(
        crate::support::segment_json(fetched["access_token"].as_str().unwrap(), 1)["iss"],
        "http://mockidp:8080/default"
    );
    assert_eq!(crate::support::segment_json(&minted, 1)["iss"], "http://mockidp:8080/default");
}
