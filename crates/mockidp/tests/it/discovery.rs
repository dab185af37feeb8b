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
