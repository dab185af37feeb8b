//! Fault injection, as a real client sees it.

use std::time::{Duration, Instant};

use mockidp::{Clock as _, Endpoint, Fault, MockIdp};
use openidconnect::{IssuerUrl, core::CoreProviderMetadata};

use crate::support::{client_credentials, http};

fn fault(endpoint: Endpoint) -> Fault {
    Fault { endpoint, ..Fault::default() }
}

async fn discover(idp: &MockIdp, client: &reqwest::Client) -> Result<CoreProviderMetadata, String> {
    CoreProviderMetadata::discover_async(IssuerUrl::new(idp.issuer()).unwrap(), client)
        .await
        .map_err(|err| format!("{err:?}"))
}

#[tokio::test]
async fn a_jwks_answering_500_fails_discovery() {
    let idp = MockIdp::start().await;
    idp.inject_fault(Fault { status: Some(500), ..fault(Endpoint::Jwks) });
    let err = discover(&idp, &http()).await.unwrap_err();
    assert!(err.contains("500"), "{err}");
    idp.clear_faults();
    discover(&idp, &http()).await.expect("cleared");
}

#[tokio::test]
async fn a_jwks_slower_than_the_clients_timeout_fails_in_time() {
    let idp = MockIdp::start().await;
    idp.inject_fault(Fault { delay_ms: Some(1500), times: Some(1), ..fault(Endpoint::Jwks) });
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let began = Instant::now();
    let err = discover(&idp, &impatient).await.unwrap_err();
    assert!(began.elapsed() < Duration::from_millis(1400), "the client's timeout, not the delay, ended it");
    assert!(err.to_lowercase().contains("timed out") || err.contains("TimedOut") || err.contains("timeout"), "{err}");
}

#[tokio::test]
async fn malformed_discovery_is_refused() {
    let idp = MockIdp::start().await;
    idp.inject_fault(Fault { body: Some("{\"issuer\": ".into()), times: Some(1), ..fault(Endpoint::Discovery) });
    let err = discover(&idp, &http()).await.unwrap_err();
    assert!(err.contains("Parse"), "{err}");
    discover(&idp, &http()).await.expect("the fault was for one request");
}

#[tokio::test]
async fn a_token_endpoint_that_drops_the_connection() {
    let idp = MockIdp::start().await;
    idp.inject_fault(Fault { drop: true, times: Some(1), ..fault(Endpoint::Token) });
    let exchange = async {
        let response = http()
            .post(idp.token_endpoint())
            .basic_auth("demo-client", Some("demo-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?;
        // Headers may arrive; the body never completes.
        response.text().await
    }
    .await;
    assert!(exchange.is_err(), "the client must see a broken exchange, got {exchange:?}");
    let token = client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await;
    assert!(token["access_token"].is_string(), "the next request is served");
}

#[tokio::test]
async fn the_admin_api_injects_faults_and_moves_the_clock() {
    let idp = MockIdp::start().await;
    let added = http()
        .post(format!("{}/issuers/default/faults", idp.admin_url()))
        .json(&serde_json::json!({"endpoint": "userinfo", "status": 503, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    assert_eq!(http().get(format!("{}/userinfo", idp.issuer())).send().await.unwrap().status(), 503);
    assert_eq!(http().get(format!("{}/userinfo", idp.issuer())).send().await.unwrap().status(), 401);

    let token = idp.token().with_scope("openid").sign().unwrap();
    let moved: serde_json::Value = http()
        .post(format!("{}/clock", idp.admin_url()))
        .json(&serde_json::json!({"advance_secs": 7200}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(moved["now"].as_i64().is_some());
    let expired = http().get(format!("{}/userinfo", idp.issuer())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(expired.status(), 401, "two hours later the one-hour token has expired, without sleeping");
    idp.clock().reset();
    let fresh = http().get(format!("{}/userinfo", idp.issuer())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(fresh.status(), 200);
}

#[tokio::test]
async fn one_issuers_clock_moves_alone() {
    let idp =
        MockIdp::builder().with_issuer("partners", crate::flows::oidc_issuer(mockidp::Algorithm::ES256)).start().await;
    let here = idp.token().with_scope("openid").sign().unwrap();
    let there = idp.token_for("partners").with_scope("openid").sign().unwrap();
    let userinfo = |issuer: String, token: String| async move {
        http().get(format!("{issuer}/userinfo")).bearer_auth(token).send().await.unwrap().status()
    };

    let moved: serde_json::Value = http()
        .post(format!("{}/issuers/partners/clock", idp.admin_url()))
        .json(&serde_json::json!({"advance_secs": 7200}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert!(moved["now"].as_i64().unwrap() > idp.clock().now() + 7000);
    assert_eq!(userinfo(idp.issuer_url("partners"), there).await, 401, "partners' token expired on partners' clock");
    assert_eq!(userinfo(idp.issuer(), here.clone()).await, 200, "the default issuer's time did not move");
    idp.issuer_clock("default").advance(7200);
    assert_eq!(userinfo(idp.issuer(), here).await, 401);
}

#[tokio::test]
async fn bad_switches_and_faults_are_refused() {
    let idp = MockIdp::start().await;
    let post = |path: &'static str, body: serde_json::Value| {
        let url = format!("{}{path}", idp.admin_url());
        async move { http().post(url).json(&body).send().await.unwrap() }
    };
    let unknown = post("/issuers/nope/misbehave", serde_json::json!({"id": "rp-id-token-wrong-nonce"})).await;
    assert_eq!(unknown.status(), 404);
    let zero =
        post("/issuers/default/misbehave", serde_json::json!({"id": "rp-id-token-wrong-nonce", "times": 0})).await;
    assert_eq!(zero.status(), 400);
    let scoped =
        post("/issuers/default/misbehave", serde_json::json!({"id": "rp-jwks-unavailable", "client_id": "web"})).await;
    assert_eq!(scoped.status(), 400);
    let misspelt = post("/issuers/default/misbehave", serde_json::json!({"id": "rp-id-token-wrong-nonse"})).await;
    let body: serde_json::Value = misspelt.json().await.unwrap();
    assert!(body["error_description"].as_str().unwrap().contains("did you mean `rp-id-token-wrong-nonce`?"), "{body}");
    let fault =
        post("/issuers/default/faults", serde_json::json!({"endpoint": "jwks", "status": 500, "times": 0})).await;
    assert_eq!(fault.status(), 400);
}
