//! The admin API, driven over HTTP as a dev environment or a test would.

use std::sync::Arc;

use jsonwebtoken::Algorithm as Jwa;
use mockidp::{Config, ManualClock, MockIdp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    browser,
    flows::{REDIRECT, oidc_issuer},
    support::{client_credentials, fetch_jwks, http, segment_json, verify_with_jwks},
};

async fn admin(idp: &MockIdp, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = http().request(method, format!("{}{path}", idp.admin_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn users_added_at_run_time_can_sign_in() {
    let idp = MockIdp::builder().with_issuer("default", oidc_issuer(mockidp::Algorithm::RS256)).start().await;
    let (status, _) = admin(
        &idp,
        reqwest::Method::PUT,
        "/issuers/default/users/dora",
        Some(json!({"claims": {"roles": ["explorer"], "email": "dora@example.org"}})),
    )
    .await;
    assert_eq!(status, 200);

    let url = format!(
        "{}/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=openid%20email&login_hint=dora",
        idp.issuer()
    );
    let code = browser::get(&url).await.redirect_params()["code"].clone();
    let tokens: Value = http()
        .post(idp.token_endpoint())
        .basic_auth("web", Some("web-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = segment_json(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["sub"], "dora");
    assert_eq!(id_token["email"], "dora@example.org");
    assert_eq!(id_token["roles"], json!(["explorer"]));
}

#[tokio::test]
async fn clients_come_and_go_at_run_time() {
    let idp = MockIdp::start().await;
    let (status, _) = admin(
        &idp,
        reqwest::Method::PUT,
        "/issuers/default/clients/batch-job",
        Some(json!({"secret": "s3cret", "audience": ["reports"], "claims": {"tenant": "acme"}})),
    )
    .await;
    assert_eq!(status, 200);
    let token = client_credentials(&idp.issuer(), "batch-job", "s3cret", None).await;
    let claims = verify_with_jwks(token["access_token"].as_str().unwrap(), &idp.issuer(), Jwa::RS256, "reports").await;
    assert_eq!(claims["tenant"], "acme");

    let (status, _) = admin(&idp, reqwest::Method::DELETE, "/issuers/default/clients/batch-job", None).await;
    assert_eq!(status, 204);
    let refused = http()
        .post(idp.token_endpoint())
        .basic_auth("batch-job", Some("s3cret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn bad_admin_bodies_get_clear_errors() {
    let idp = MockIdp::start().await;
    let (status, body) = admin(
        &idp,
        reqwest::Method::PUT,
        "/issuers/default/clients/x",
        Some(json!({"secret": "s", "audiance": ["a"]})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error_description"].as_str().unwrap().contains("unknown field `audiance`"), "{body}");

    let response = http()
        .put(format!("{}/issuers/default/users/x", idp.admin_url()))
        .header("content-type", "application/json")
        .body("{\"claims\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"].as_str().unwrap().contains("line 1 column"), "{body}");

    let (status, _) = admin(&idp, reqwest::Method::PUT, "/issuers/nope/users/x", Some(json!({}))).await;
    assert_eq!(status, 404);
    let (status, body) =
        admin(&idp, reqwest::Method::PUT, "/issuers/default/clients/x", Some(json!({"redirect_uris": ["/relative"]})))
            .await;
    assert_eq!(status, 400);
    assert!(body["error_description"].as_str().unwrap().contains("absolute URI"), "{body}");
}

#[tokio::test]
async fn any_token_can_be_minted() {
    let idp = MockIdp::start().await;
    let (status, body) = admin(
        &idp,
        reqwest::Method::POST,
        "/issuers/default/tokens",
        Some(json!({
            "sub": "eve",
            "aud": ["orders", "billing"],
            "scope": "orders:read",
            "claims": {"roles": ["admin"], "jti": null},
            "header": {"jku": "http://127.0.0.1:9/jwks.json"},
            "lifetime_secs": 60
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let claims = verify_with_jwks(token, &idp.issuer(), Jwa::RS256, "billing").await;
    assert_eq!(claims["sub"], "eve");
    assert_eq!(claims["roles"], json!(["admin"]));
    assert!(claims.get("jti").is_none(), "`null` removes a claim");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    assert_eq!(segment_json(token, 0)["jku"], "http://127.0.0.1:9/jwks.json");
}

#[tokio::test]
async fn key_rotation_keeps_the_old_key_published_for_the_grace_period() {
    let clock = Arc::new(ManualClock::at_system_time());
    let idp = MockIdp::builder().with_fresh_keys().with_clock(clock.clone()).start().await;
    let before = client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();

    let (status, rotated) = admin(
        &idp,
        reqwest::Method::POST,
        "/issuers/default/keys/rotate",
        Some(json!({"alg": "ES256", "grace_secs": 60})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["retiring"], old_kid.as_str());

    let after = client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(), rotated["kid"].as_str().unwrap());
    verify_with_jwks(&after, &idp.issuer(), Jwa::ES256, "demo-api").await;
    verify_with_jwks(&before, &idp.issuer(), Jwa::RS256, "demo-api").await;
    assert_eq!(fetch_jwks(&idp.issuer()).await.keys.len(), 2);

    clock.advance(61);
    let jwks = fetch_jwks(&idp.issuer()).await;
    assert_eq!(jwks.keys.len(), 1, "the old key is retired after the grace period");
    assert!(jwks.find(&old_kid).is_none());
}

#[tokio::test]
async fn the_request_log_redacts_secrets() {
    let idp = MockIdp::start().await;
    http()
        .post(idp.token_endpoint())
        .form(&[("grant_type", "client_credentials"), ("client_id", "demo-client"), ("client_secret", "demo-secret")])
        .send()
        .await
        .unwrap();

    let (status, log) = admin(&idp, reqwest::Method::GET, "/requests", None).await;

    assert_eq!(status, 200);
    let token_request = log.as_array().unwrap().iter().find(|r| r["path"] == "/default/token").expect("recorded");
    assert_eq!(token_request["method"], "POST");
    assert_eq!(token_request["status"], 200);
    assert_eq!(token_request["client_id"], "demo-client");
    assert_eq!(token_request["form"]["grant_type"], "client_credentials");
    assert_eq!(token_request["form"]["client_secret"], "[redacted]");
    assert!(!log.to_string().contains("demo-secret"));
    assert_eq!(idp.received_requests().len(), log.as_array().unwrap().len());
}

#[tokio::test]
async fn the_exported_config_reproduces_the_setup() {
    let idp = MockIdp::builder().with_fresh_keys().start().await;
    admin(&idp, reqwest::Method::PUT, "/issuers/default/users/zoe", Some(json!({"claims": {"team": "blue"}}))).await;
    admin(&idp, reqwest::Method::POST, "/issuers/default/keys", Some(json!({"alg": "EdDSA", "kid": "ed-1"}))).await;
    let exported = http().get(format!("{}/config?format=toml", idp.admin_url())).send().await.unwrap();
    assert_eq!(exported.status(), 200);
    let text = exported.text().await.unwrap();

    let path = std::env::temp_dir().join(format!("mockidp-export-{}.toml", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let config =
        <Config as mockidp_server::LoadConfig>::load(Some(&path), &Default::default()).expect("the export loads");
    let restarted = MockIdp::builder().with_config(config).start().await;

    let original = fetch_jwks(&idp.issuer()).await;
    let reproduced = fetch_jwks(&restarted.issuer()).await;
    assert_eq!(serde_json::to_value(&original).unwrap(), serde_json::to_value(&reproduced).unwrap());
    let token = restarted.token().with_subject("zoe").sign().unwrap();
    verify_with_jwks(&token, &idp.issuer().replace(idp.uri(), restarted.uri()), Jwa::RS256, "demo-api").await;
    assert!(text.contains("[issuers.default.users.zoe"), "{text}");
}

#[tokio::test]
async fn an_admin_token_protects_the_admin_api() {
    let mut config = Config::embedded_default();
    config.admin_token = Some("let-me-in".into());
    let idp = MockIdp::builder().with_config(config).start().await;

    let missing = http().get(format!("{}/requests", idp.admin_url())).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let wrong = http().get(format!("{}/requests", idp.admin_url())).bearer_auth("guess").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let right = http().get(format!("{}/requests", idp.admin_url())).bearer_auth("let-me-in").send().await.unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn claim_mappings_add_claims_when_a_scope_is_requested() {
    let idp = MockIdp::start().await;
    let (status, _) = admin(
        &idp,
        reqwest::Method::PUT,
        "/issuers/default/claim_mappings",
        Some(json!([{"param": "scope", "equals": "admin", "claims": {"role": "admin-of-${client_id}"}}])),
    )
    .await;
    assert_eq!(status, 200);
    let with = client_credentials(&idp.issuer(), "demo-client", "demo-secret", Some("admin")).await;
    let without = client_credentials(&idp.issuer(), "demo-client", "demo-secret", Some("read")).await;
    assert_eq!(segment_json(with["access_token"].as_str().unwrap(), 1)["role"], "admin-of-demo-client");
    assert!(segment_json(without["access_token"].as_str().unwrap(), 1).get("role").is_none());
}
