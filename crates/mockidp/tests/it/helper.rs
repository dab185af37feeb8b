//! The test helper itself: in-process tokens, isolation, shutdown, runtimes.

use jsonwebtoken::Algorithm as Jwa;
use mockidp::{Algorithm, Audience, MockIdp};
use serde_json::json;

use crate::support::{http, issuer_with, segment_json, verify_with_jwks};

#[tokio::test]
async fn in_process_tokens_verify_against_the_served_jwks() {
    let idp = MockIdp::start().await;

    let token = idp.token().with_scope("orders:read").sign().unwrap();

    let claims = verify_with_jwks(&token, &idp.issuer(), Jwa::RS256, "demo-api").await;
    assert_eq!(claims["sub"], json!(mockidp::DEFAULT_SUBJECT));
    assert_eq!(claims["client_id"], json!("demo-client"));
    assert_eq!(claims["scope"], json!("orders:read"));
    assert_eq!(segment_json(&token, 0)["typ"], json!("at+jwt"));
}

#[tokio::test]
async fn in_process_tokens_take_any_claim() {
    let idp = MockIdp::builder().with_issuer("es", issuer_with(Algorithm::ES256, None)).start().await;

    let token = idp
        .token_for("es")
        .with_subject("bob")
        .with_audience(Audience::one("billing"))
        .with_claim("roles", json!(["admin"]))
        .unwrap()
        .sign()
        .unwrap();

    let claims = verify_with_jwks(&token, &idp.issuer_url("es"), Jwa::ES256, "billing").await;
    assert_eq!(claims["sub"], json!("bob"));
    assert_eq!(claims["roles"], json!(["admin"]));
}

#[tokio::test]
async fn providers_are_isolated_and_stop_on_drop() {
    let first = MockIdp::start().await;
    let second = MockIdp::start().await;
    assert_ne!(first.issuer(), second.issuer());

    let address = first.address();
    drop(first);

    assert!(std::net::TcpStream::connect(address).is_err(), "the port still accepts after drop");
    let response = http().get(second.jwks_uri()).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn fresh_keys_are_not_shared_with_other_providers() {
    let shared_a = MockIdp::start().await;
    let shared_b = MockIdp::start().await;
    let fresh = MockIdp::builder().with_fresh_keys().start().await;

    assert_eq!(shared_a.signing_key().kid(), shared_b.signing_key().kid());
    assert_ne!(shared_a.signing_key().kid(), fresh.signing_key().kid());
}

#[actix_web::test]
async fn works_under_the_actix_runtime() {
    let idp = MockIdp::start().await;
    let token = idp.token().sign().unwrap();
    let claims = verify_with_jwks(&token, &idp.issuer(), Jwa::RS256, "demo-api").await;
    assert_eq!(claims["iss"], json!(idp.issuer()));
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let idp = MockIdp::start().await;
    let response = http().get(idp.discovery_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
