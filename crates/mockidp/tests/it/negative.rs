//! What each endpoint refuses, with the RFC error code and status.

use std::sync::Arc;

use mockidp::{AccessTokenFormat, Algorithm, GrantType, ManualClock, MockIdp};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    browser,
    flows::{REDIRECT, oidc_issuer},
    support::http,
};

/// The S256 challenge for `verifier`, computed by openidconnect, not by mockidp.
fn s256(verifier: &str) -> String {
    let verifier = openidconnect::PkceCodeVerifier::new(verifier.to_owned());
    openidconnect::PkceCodeChallenge::from_code_verifier_sha256(&verifier).as_str().to_owned()
}

const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

async fn idp() -> MockIdp {
    MockIdp::builder().with_issuer("default", oidc_issuer(Algorithm::RS256)).start().await
}

async fn code(idp: &MockIdp, extra: &str) -> String {
    let url = format!(
        "{}/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=openid&state=x{extra}",
        idp.issuer()
    );
    let answer = browser::get(&url).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    answer.redirect_params().remove("code").unwrap_or_else(|| panic!("no code: {:?}", answer.location))
}

async fn token_request(idp: &MockIdp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response =
        http().post(idp.token_endpoint()).basic_auth("web", Some("web-secret")).form(form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn assert_error(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
}

async fn introspect(idp: &MockIdp, token: &str) -> bool {
    let response = http()
        .post(format!("{}/introspect", idp.issuer()))
        .basic_auth("web", Some("web-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["active"].as_bool().unwrap()
}

#[tokio::test]
async fn a_wrong_redirect_uri_is_an_error_page_never_a_redirect() {
    let idp = idp().await;
    for uri in [
        "https%3A%2F%2Fevil.example%2Fcallback",
        "http%3A%2F%2F127.0.0.1%3A9%2Fcallback%2F",
        "http%3A%2F%2F127.0.0.1%3A9%2Fcallback%3Fx%3D1",
    ] {
        let url = format!(
            "{}/authorize?response_type=code&client_id=web&redirect_uri={uri}&scope=openid&state=s",
            idp.issuer()
        );
        let answer = browser::get(&url).await;
        assert_eq!(answer.status, 400, "{uri}");
        assert!(answer.location.is_none(), "{uri} must not redirect");
        assert!(answer.body.contains("is not registered"), "{}", answer.body);
    }
    let unknown =
        browser::get(&format!("{}/authorize?response_type=code&client_id=nobody&scope=openid", idp.issuer())).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.location.is_none());
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_go_back_to_the_client() {
    let idp = idp().await;
    let base =
        format!("{}/authorize?client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&state=s", idp.issuer());
    let token = browser::get(&format!("{base}&response_type=token")).await;
    assert!(token.location.as_deref().unwrap().starts_with(REDIRECT));
    assert_eq!(token.redirect_params()["error"], "unsupported_response_type");
    assert_eq!(token.redirect_params()["state"], "s");
    let method = browser::get(&format!(
        "{base}&response_type=code&code_challenge={}&code_challenge_method=S512",
        s256(VERIFIER)
    ))
    .await;
    assert_eq!(method.redirect_params()["error"], "invalid_request");
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_it_issued() {
    let idp = idp().await;
    let code = code(&idp, "").await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];

    let first = token_request(&idp, &form).await;
    assert_eq!(first.0, 200);
    let access_token = first.1["access_token"].as_str().unwrap().to_owned();
    assert!(introspect(&idp, &access_token).await);

    let second = token_request(&idp, &form).await;

    assert_error(&second, 400, "invalid_grant");
    assert!(!introspect(&idp, &access_token).await, "the first exchange's token must be revoked");
    let refresh = first.1["refresh_token"].as_str().unwrap();
    let refreshed = token_request(&idp, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_error(&refreshed, 400, "invalid_grant");
}

#[tokio::test]
async fn pkce_verifier_must_match() {
    let idp = idp().await;
    let challenge = format!("&code_challenge={}&code_challenge_method=S256", s256(VERIFIER));

    let wrong = code(&idp, &challenge).await;
    let got = token_request(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &wrong),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "x".repeat(43).as_str()),
        ],
    )
    .await;
    assert_error(&got, 400, "invalid_grant");

    let missing = code(&idp, &challenge).await;
    let got =
        token_request(&idp, &[("grant_type", "authorization_code"), ("code", &missing), ("redirect_uri", REDIRECT)])
            .await;
    assert_error(&got, 400, "invalid_grant");

    let right = code(&idp, &challenge).await;
    let got = token_request(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &right),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
}

#[tokio::test]
async fn a_client_that_requires_pkce_refuses_requests_without_it() {
    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().require_pkce = true;
    let idp = MockIdp::builder().with_issuer("default", issuer).start().await;
    let url = format!(
        "{}/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=openid&state=s",
        idp.issuer()
    );
    let answer = browser::get(&url).await;
    assert_eq!(answer.redirect_params()["error"], "invalid_request");
    assert!(answer.redirect_params()["error_description"].contains("PKCE"));
}

#[tokio::test]
async fn a_redirect_uri_differing_at_the_token_endpoint_is_invalid_grant() {
    let idp = idp().await;
    let code = code(&idp, "").await;
    let got = token_request(
        &idp,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "http://127.0.0.1:9/other")],
    )
    .await;
    assert_error(&got, 400, "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let clock = Arc::new(ManualClock::at_system_time());
    let idp = MockIdp::builder()
        .with_issuer("default", oidc_issuer(Algorithm::RS256))
        .with_clock(clock.clone())
        .start()
        .await;
    let code = code(&idp, "").await;
    clock.advance(61);
    let got =
        token_request(&idp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).await;
    assert_error(&got, 400, "invalid_grant");
}

#[tokio::test]
async fn a_rotated_out_refresh_token_fails() {
    let idp = idp().await;
    let code = code(&idp, "").await;
    let first =
        token_request(&idp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).await;
    let old = first.1["refresh_token"].as_str().unwrap().to_owned();
    let rotated = token_request(&idp, &[("grant_type", "refresh_token"), ("refresh_token", &old)]).await;
    assert_eq!(rotated.0, 200);

    let again = token_request(&idp, &[("grant_type", "refresh_token"), ("refresh_token", &old)]).await;

    assert_error(&again, 400, "invalid_grant");
    let bogus = token_request(&idp, &[("grant_type", "refresh_token"), ("refresh_token", "made-up")]).await;
    assert_error(&bogus, 400, "invalid_grant");
}

#[tokio::test]
async fn bad_client_auth_is_invalid_client_at_every_endpoint() {
    let idp = idp().await;
    for path in ["token", "introspect", "revoke", "device_authorization"] {
        let response = http()
            .post(format!("{}/{path}", idp.issuer()))
            .basic_auth("web", Some("wrong"))
            .form(&[("grant_type", "client_credentials"), ("token", "t")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert!(response.headers().contains_key("www-authenticate"), "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{path}");
    }
}

#[tokio::test]
async fn an_unknown_issuer_is_404_everywhere() {
    let idp = idp().await;
    for path in
        ["authorize", "token", "userinfo", "introspect", "revoke", "device_authorization", "end_session", "jwks"]
    {
        let get = http().get(format!("{}/nope/{path}", idp.uri())).send().await.unwrap();
        let post = http().post(format!("{}/nope/{path}", idp.uri())).form(&[("a", "b")]).send().await.unwrap();
        assert!(get.status() == 404 || get.status() == 405, "GET {path}: {}", get.status());
        assert!(post.status() == 404 || post.status() == 405, "POST {path}: {}", post.status());
        assert!(get.status() == 404 || post.status() == 404, "{path} never says 404");
    }
}

#[tokio::test]
async fn userinfo_speaks_rfc_6750() {
    let idp = idp().await;
    let missing = http().get(format!("{}/userinfo", idp.issuer())).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer realm=\"default\"");

    let invalid = http().get(format!("{}/userinfo", idp.issuer())).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(invalid.status(), 401);
    assert!(invalid.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));

    let no_openid = idp.token_for("default").with_scope("orders:read").sign().unwrap();
    let forbidden = http().get(format!("{}/userinfo", idp.issuer())).bearer_auth(no_openid).send().await.unwrap();
    assert_eq!(forbidden.status(), 403);
    assert!(forbidden.headers()["www-authenticate"].to_str().unwrap().contains("error=\"insufficient_scope\""));

    let expired =
        idp.token_for("default").with_scope("openid").with_claim("exp", serde_json::json!(1)).unwrap().sign().unwrap();
    let refused = http().get(format!("{}/userinfo", idp.issuer())).bearer_auth(expired).send().await.unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn opaque_access_tokens_work_through_introspection_and_userinfo() {
    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().access_token_format = AccessTokenFormat::Opaque;
    let idp = MockIdp::builder().with_issuer("default", issuer).start().await;
    let code = code(&idp, "&login_hint=alice").await;
    let tokens =
        token_request(&idp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).await;
    let access_token = tokens.1["access_token"].as_str().unwrap().to_owned();
    assert_eq!(access_token.split('.').count(), 1, "an opaque token is not a JWT");

    let response = http()
        .post(format!("{}/introspect", idp.issuer()))
        .basic_auth("web", Some("web-secret"))
        .form(&[("token", access_token.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["client_id"], "web");

    let userinfo: Value = http()
        .get(format!("{}/userinfo", idp.issuer()))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "alice");

    let revoked = http()
        .post(format!("{}/revoke", idp.issuer()))
        .basic_auth("web", Some("web-secret"))
        .form(&[("token", access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(!introspect(&idp, &access_token).await);
}

#[tokio::test]
async fn the_password_grant_is_off_unless_a_client_lists_it() {
    let idp = idp().await;
    let refused =
        token_request(&idp, &[("grant_type", "password"), ("username", "alice"), ("password", "alice")]).await;
    assert_error(&refused, 400, "unauthorized_client");

    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().grant_types.push(GrantType::Password);
    issuer.users.get_mut("alice").unwrap().password = Some("wonderland".into());
    let legacy = MockIdp::builder().with_issuer("default", issuer).start().await;
    let wrong =
        token_request(&legacy, &[("grant_type", "password"), ("username", "alice"), ("password", "nope")]).await;
    assert_error(&wrong, 400, "invalid_grant");
    let ok = token_request(
        &legacy,
        &[("grant_type", "password"), ("username", "alice"), ("password", "wonderland"), ("scope", "openid")],
    )
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert!(ok.1["id_token"].is_string());
}

#[tokio::test]
async fn a_client_that_requires_pkce_refuses_the_plain_method() {
    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().require_pkce = true;
    let idp = MockIdp::builder().with_issuer("default", issuer).start().await;
    let url = format!(
        "{}/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=openid&code_challenge={VERIFIER}&code_challenge_method=plain",
        idp.issuer()
    );
    assert_eq!(browser::get(&url).await.redirect_params()["error"], "invalid_request");
}

#[tokio::test]
async fn a_malformed_code_verifier_is_invalid_grant() {
    use sha2::Digest as _;
    let idp = idp().await;
    let challenge = mockidp_core::b64url(sha2::Sha256::digest(b"x"));
    let code = code(&idp, &format!("&code_challenge={challenge}&code_challenge_method=S256")).await;
    // The S256 of `x` matches, but `x` is not a valid verifier (RFC 7636 section 4.1).
    let got = token_request(
        &idp,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("code_verifier", "x")],
    )
    .await;
    assert_error(&got, 400, "invalid_grant");
}

#[tokio::test]
async fn an_id_token_is_not_an_active_access_token() {
    let idp = idp().await;
    let code = code(&idp, "").await;
    let tokens =
        token_request(&idp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).await;
    let id_token = tokens.1["id_token"].as_str().unwrap();
    assert!(!introspect(&idp, id_token).await, "introspection must not call an ID token an active access token");
    let userinfo = http().get(format!("{}/userinfo", idp.issuer())).bearer_auth(id_token).send().await.unwrap();
    assert_eq!(userinfo.status(), 401);
}

#[tokio::test]
async fn another_authorization_scheme_at_userinfo_gets_a_bare_challenge() {
    let idp = idp().await;
    let response =
        http().get(format!("{}/userinfo", idp.issuer())).basic_auth("web", Some("web-secret")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"default\"");
}

#[tokio::test]
async fn a_typed_sub_claim_cannot_contradict_the_typed_subject() {
    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.login = mockidp::LoginMode::Form;
    let idp = MockIdp::builder().with_issuer("default", issuer).start().await;
    let url = format!(
        "{}/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=openid",
        idp.issuer()
    );
    let page = browser::get(&url).await;
    let mut form = browser::hidden_inputs(&page.body);
    form.push(("sub".into(), "carol".into()));
    form.push(("claims".into(), r#"{"sub": "mallory", "aud": "elsewhere"}"#.into()));
    let answer = browser::post_form(&format!("{}/authorize", idp.issuer()), &form).await;
    let code = answer.redirect_params()["code"].clone();
    let tokens =
        token_request(&idp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).await;
    let id_token = crate::support::segment_json(tokens.1["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["sub"], "carol");
    assert_eq!(id_token["aud"], "web");
    let userinfo: Value = http()
        .get(format!("{}/userinfo", idp.issuer()))
        .bearer_auth(tokens.1["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "carol");
}

#[tokio::test]
async fn a_pinned_algorithm_follows_key_rotation() {
    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().signing_alg = Some(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().grant_types.push(GrantType::ClientCredentials);
    let idp = MockIdp::builder().with_fresh_keys().with_issuer("default", issuer).start().await;
    let before = token_request(&idp, &[("grant_type", "client_credentials")]).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated: Value = http()
        .post(format!("{}/issuers/default/keys/rotate", idp.admin_url()))
        .json(&serde_json::json!({"grace_secs": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after = token_request(&idp, &[("grant_type", "client_credentials")]).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    assert_eq!(kid(&after), rotated["kid"].as_str().unwrap(), "the new key signs");
    assert_ne!(kid(&before), kid(&after));
}
