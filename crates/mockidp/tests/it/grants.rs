//! Device flow, token exchange and JWT bearer over real HTTP.

use std::sync::Arc;

use jsonwebtoken::Algorithm as Jwa;
use mockidp::{Algorithm, Audience, GrantType, ManualClock, MockIdp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    browser,
    flows::oidc_issuer,
    support::{http, verify_with_jwks},
};

async fn post(idp: &MockIdp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{}/{path}", idp.issuer()))
        .basic_auth("web", Some("web-secret"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn grant_everything(mut issuer: mockidp::IssuerConfig) -> mockidp::IssuerConfig {
    let web = issuer.clients.get_mut("web").unwrap();
    web.grant_types = GrantType::ALL.to_vec();
    issuer
}

async fn started(clock: Arc<ManualClock>) -> MockIdp {
    MockIdp::builder()
        .with_issuer("default", grant_everything(oidc_issuer(Algorithm::ES256)))
        .with_clock(clock)
        .start()
        .await
}

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[tokio::test]
async fn device_flow_polls_pending_slow_down_then_issues_tokens() {
    let clock = Arc::new(ManualClock::at_system_time());
    let idp = started(clock.clone()).await;

    let (status, started) = post(&idp, "device_authorization", &[("scope", "openid profile")]).await;
    assert_eq!(status, 200, "{started}");
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    assert_eq!(started["interval"], 5);
    assert!(started["verification_uri_complete"].as_str().unwrap().contains(&user_code));

    let poll = [("grant_type", DEVICE), ("device_code", device_code.as_str())];
    let pending = post(&idp, "token", &poll).await;
    assert_eq!((pending.0, pending.1["error"].as_str()), (StatusCode::BAD_REQUEST, Some("authorization_pending")));
    let too_fast = post(&idp, "token", &poll).await;
    assert_eq!(too_fast.1["error"], "slow_down");

    // The user opens the verification page and approves as bob.
    let page = browser::get(started["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&user_code));
    let approved = browser::post_form(
        &format!("{}/device", idp.issuer()),
        &[("user_code".into(), user_code.clone()), ("user".into(), "bob".into())],
    )
    .await;
    assert_eq!(approved.status, 200, "{}", approved.body);

    clock.advance(11);
    let (status, tokens) = post(&idp, "token", &poll).await;
    assert_eq!(status, 200, "{tokens}");
    let claims =
        verify_with_jwks(tokens["access_token"].as_str().unwrap(), &idp.issuer(), Jwa::ES256, "api://orders").await;
    assert_eq!(claims["sub"], "bob");
    assert!(tokens["id_token"].is_string());

    clock.advance(11);
    let spent = post(&idp, "token", &poll).await;
    assert_eq!(spent.1["error"], "invalid_grant");
}

#[tokio::test]
async fn device_flow_denied_and_expired() {
    let clock = Arc::new(ManualClock::at_system_time());
    let idp = started(clock.clone()).await;

    let (_, denied) = post(&idp, "device_authorization", &[]).await;
    browser::post_form(
        &format!("{}/device", idp.issuer()),
        &[("user_code".into(), denied["user_code"].as_str().unwrap().into()), ("action".into(), "deny".into())],
    )
    .await;
    let got =
        post(&idp, "token", &[("grant_type", DEVICE), ("device_code", denied["device_code"].as_str().unwrap())]).await;
    assert_eq!(got.1["error"], "access_denied");

    let (_, expiring) = post(&idp, "device_authorization", &[]).await;
    clock.advance(601);
    let got =
        post(&idp, "token", &[("grant_type", DEVICE), ("device_code", expiring["device_code"].as_str().unwrap())])
            .await;
    assert_eq!((got.0, got.1["error"].as_str()), (StatusCode::BAD_REQUEST, Some("expired_token")));
    let page = browser::post_form(
        &format!("{}/device", idp.issuer()),
        &[("user_code".into(), expiring["user_code"].as_str().unwrap().into()), ("user".into(), "bob".into())],
    )
    .await;
    assert_eq!(page.status, 400);
}

#[tokio::test]
async fn token_exchange_keeps_the_subject_and_records_the_actor() {
    let clock = Arc::new(ManualClock::at_system_time());
    let idp = started(clock).await;
    let subject_token = idp.token().with_subject("alice").with_scope("orders:read").sign().unwrap();
    let (_, actor) = post(&idp, "token", &[("grant_type", "client_credentials")]).await;

    let (status, exchanged) = post(
        &idp,
        "token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", &subject_token),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("actor_token", actor["access_token"].as_str().unwrap()),
            ("actor_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("audience", "billing-api"),
        ],
    )
    .await;

    assert_eq!(status, 200, "{exchanged}");
    assert_eq!(exchanged["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    let claims =
        verify_with_jwks(exchanged["access_token"].as_str().unwrap(), &idp.issuer(), Jwa::ES256, "billing-api").await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["act"], json!({"sub": "web"}));
    assert_eq!(claims["scope"], "orders:read");

    let forged = idp.token().sign().unwrap().replace('.', ".x");
    let (status, refused) = post(
        &idp,
        "token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", &forged),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
        ],
    )
    .await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

#[tokio::test]
async fn jwt_bearer_accepts_an_assertion_for_this_issuer_only() {
    let clock = Arc::new(ManualClock::at_system_time());
    let idp = started(clock).await;
    let jwt_bearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    let assertion = idp
        .token()
        .with_typ("JWT")
        .with_subject("service-7")
        .with_audience(Audience::one(idp.issuer()))
        .sign()
        .unwrap();
    let (status, tokens) = post(&idp, "token", &[("grant_type", jwt_bearer), ("assertion", &assertion)]).await;
    assert_eq!(status, 200, "{tokens}");
    let claims =
        verify_with_jwks(tokens["access_token"].as_str().unwrap(), &idp.issuer(), Jwa::ES256, "api://orders").await;
    assert_eq!(claims["sub"], "service-7");

    let other_audience =
        idp.token().with_typ("JWT").with_audience(Audience::one("https://elsewhere.example")).sign().unwrap();
    let refused = post(&idp, "token", &[("grant_type", jwt_bearer), ("assertion", &other_audience)]).await;
    assert_eq!(refused.1["error"], "invalid_grant");

    let expired =
        idp.token().with_audience(Audience::one(idp.issuer())).with_claim("exp", json!(1_000)).unwrap().sign().unwrap();
    let refused = post(&idp, "token", &[("grant_type", jwt_bearer), ("assertion", &expired)]).await;
    assert_eq!(refused.1["error"], "invalid_grant");

    let foreign_key = mockidp::SigningKey::generate(Algorithm::ES256).unwrap();
    let foreign = mockidp::TokenBuilder::new(&foreign_key)
        .with_issuer(idp.issuer())
        .with_subject("x")
        .with_audience(Audience::one(idp.issuer()))
        .sign()
        .unwrap();
    let refused = post(&idp, "token", &[("grant_type", jwt_bearer), ("assertion", &foreign)]).await;
    assert_eq!(refused.1["error"], "invalid_grant");

    // An access token of this server is not an assertion, even with the right `aud`.
    let access_token = idp.token().with_audience(Audience::one(idp.issuer())).sign().unwrap();
    let refused = post(&idp, "token", &[("grant_type", jwt_bearer), ("assertion", &access_token)]).await;
    assert_eq!(refused.1["error"], "invalid_grant");
    assert!(refused.1["error_description"].as_str().unwrap().contains("not signed by a key"), "{}", refused.1);
}

#[tokio::test]
async fn token_exchange_nests_earlier_actors_and_keeps_to_the_clients_scopes() {
    let clock = Arc::new(ManualClock::at_system_time());
    let mut issuer = grant_everything(oidc_issuer(Algorithm::ES256));
    issuer.clients.get_mut("web").unwrap().scopes = vec!["orders:read".into()];
    let idp = MockIdp::builder().with_issuer("default", issuer).with_clock(clock).start().await;
    let subject_token = idp
        .token()
        .with_subject("alice")
        .with_scope("orders:read orders:admin")
        .with_claim("act", json!({"sub": "gateway"}))
        .unwrap()
        .sign()
        .unwrap();
    let actor_token = idp.token().with_subject("batch").sign().unwrap();

    let (status, exchanged) = post(
        &idp,
        "token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", &subject_token),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("actor_token", &actor_token),
            ("actor_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:jwt"),
        ],
    )
    .await;

    assert_eq!(status, 200, "{exchanged}");
    assert_eq!(exchanged["issued_token_type"], "urn:ietf:params:oauth:token-type:jwt");
    let claims =
        verify_with_jwks(exchanged["access_token"].as_str().unwrap(), &idp.issuer(), Jwa::ES256, "api://orders").await;
    assert_eq!(claims["act"], json!({"sub": "batch", "act": {"sub": "gateway"}}));
    assert_eq!(claims["scope"], "orders:read", "orders:admin is not this client's to have");
}
