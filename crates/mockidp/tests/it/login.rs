//! The login page, used without a browser, and the other browser-facing answers.

use mockidp::{LoginMode, MockIdp};
use serde_json::json;

use crate::{
    browser,
    flows::{REDIRECT, oidc_issuer},
    support::{http, segment_json},
};

fn authorize_url(idp: &MockIdp, extra: &str) -> String {
    format!(
        "{}/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid%20profile&state=s-1&nonce=n-1{extra}",
        idp.issuer(),
        form_encode(REDIRECT)
    )
}

fn form_encode(value: &str) -> String {
    value.replace(':', "%3A").replace('/', "%2F")
}

async fn exchange(idp: &MockIdp, code: &str) -> serde_json::Value {
    let response = http()
        .post(idp.token_endpoint())
        .basic_auth("web", Some("web-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn form_idp() -> MockIdp {
    let mut issuer = oidc_issuer(mockidp::Algorithm::RS256);
    issuer.login = LoginMode::Form;
    MockIdp::builder().with_issuer("default", issuer).start().await
}

#[tokio::test]
async fn the_login_page_signs_in_a_typed_subject_with_typed_claims() {
    let idp = form_idp().await;

    // GET the page: a form, nothing issued yet.
    let page = browser::get(&authorize_url(&idp, "")).await;
    assert_eq!(page.status, 200);
    assert!(page.location.is_none());
    assert!(page.body.contains("name=\"sub\""), "{}", page.body);

    // POST the form as a person would: the hidden fields plus a subject and claims.
    let mut form = browser::hidden_inputs(&page.body);
    form.push(("sub".into(), "carol-42".into()));
    form.push(("claims".into(), r#"{"roles": ["auditor"], "tenant": "acme"}"#.into()));
    let answer = browser::post_form(&format!("{}/authorize", idp.issuer()), &form).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    let params = answer.redirect_params();
    assert_eq!(params["state"], "s-1");

    let tokens = exchange(&idp, &params["code"]).await;
    let id_token = segment_json(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["sub"], json!("carol-42"));
    assert_eq!(id_token["roles"], json!(["auditor"]));
    assert_eq!(id_token["tenant"], json!("acme"));
    assert_eq!(id_token["nonce"], json!("n-1"));
}

#[tokio::test]
async fn the_login_page_signs_in_a_configured_user_and_can_deny() {
    let idp = form_idp().await;
    let page = browser::get(&authorize_url(&idp, "")).await;

    let mut as_alice = browser::hidden_inputs(&page.body);
    as_alice.push(("user".into(), "alice".into()));
    let answer = browser::post_form(&format!("{}/authorize", idp.issuer()), &as_alice).await;
    let tokens = exchange(&idp, &answer.redirect_params()["code"]).await;
    let id_token = segment_json(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id_token["sub"], json!("alice"));
    assert_eq!(id_token["name"], json!("Alice Anderson"));

    let mut deny = browser::hidden_inputs(&page.body);
    deny.push(("action".into(), "deny".into()));
    let denied = browser::post_form(&format!("{}/authorize", idp.issuer()), &deny).await;
    assert_eq!(denied.redirect_params()["error"], "access_denied");
}

#[tokio::test]
async fn bad_claims_json_shows_the_page_again_with_the_error() {
    let idp = form_idp().await;
    let page = browser::get(&authorize_url(&idp, "")).await;
    let mut form = browser::hidden_inputs(&page.body);
    form.push(("sub".into(), "carol".into()));
    form.push(("claims".into(), "{not json".into()));
    let answer = browser::post_form(&format!("{}/authorize", idp.issuer()), &form).await;
    assert_eq!(answer.status, 400);
    assert!(answer.location.is_none());
    assert!(answer.body.contains("claims are not valid JSON"), "{}", answer.body);
}

#[tokio::test]
async fn reflected_values_are_escaped() {
    let idp = form_idp().await;
    let page = browser::get(&authorize_url(&idp, "&login_hint=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)"), "{}", page.body);
}

#[tokio::test]
async fn prompt_none_with_the_login_page_is_login_required() {
    let idp = form_idp().await;
    let answer = browser::get(&authorize_url(&idp, "&prompt=none")).await;
    assert_eq!(answer.redirect_params()["error"], "login_required");
}

#[tokio::test]
async fn form_post_response_mode_posts_the_code_back() {
    let idp = MockIdp::builder().with_issuer("default", oidc_issuer(mockidp::Algorithm::RS256)).start().await;
    let page = browser::get(&authorize_url(&idp, "&response_mode=form_post")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("action=\"{REDIRECT}\"")), "{}", page.body);
    let fields: std::collections::HashMap<String, String> = browser::hidden_inputs(&page.body).into_iter().collect();
    assert_eq!(fields["state"], "s-1");
    let tokens = exchange(&idp, &fields["code"]).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn logout_redirects_only_to_registered_uris_with_state() {
    let idp = MockIdp::builder().with_issuer("default", oidc_issuer(mockidp::Algorithm::RS256)).start().await;
    let answer = browser::get(&authorize_url(&idp, "&login_hint=alice")).await;
    let tokens = exchange(&idp, &answer.redirect_params()["code"]).await;
    let id_token = tokens["id_token"].as_str().unwrap();

    let ok = browser::get(&format!(
        "{}/end_session?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fbye&state=bye-1",
        idp.issuer()
    ))
    .await;
    assert_eq!(ok.status, 302);
    assert_eq!(ok.location.as_deref(), Some("http://127.0.0.1:9/bye?state=bye-1"));

    let evil = browser::get(&format!(
        "{}/end_session?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        idp.issuer()
    ))
    .await;
    assert_eq!(evil.status, 400);
    assert!(evil.location.is_none());

    let plain = browser::get(&format!("{}/end_session", idp.issuer())).await;
    assert_eq!(plain.status, 200);
    assert!(plain.body.contains("signed out"));
}
