//! Back-channel logout tokens and their `rp-logout-token-*` defects, judged
//! by a relying party that validates them as OpenID Connect Back-Channel
//! Logout 1.0 §2.6 says, with jsonwebtoken.

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
};

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm as Jwa, DecodingKey, Validation};
use mockidp::{Algorithm, MockIdp, RpCase, Switch};
use serde_json::Value;

use crate::{
    flows::oidc_issuer,
    support::{fetch_jwks, http},
};

/// The relying party's logout endpoint: keeps every token posted to it.
fn start_rp(received: Arc<Mutex<Vec<String>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let received = received.clone();
        App::new().route(
            "/backchannel-logout",
            web::post().to(move |form: web::Form<std::collections::HashMap<String, String>>| {
                let received = received.clone();
                async move {
                    received.lock().unwrap().push(form.get("logout_token").cloned().unwrap_or_default());
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("{base}/backchannel-logout")
}

/// Validation of a logout token (Back-Channel Logout §2.6): the signature
/// with the issuer's key and algorithm, `iss`, `aud`, `iat`, the logout
/// event, `sub`, `typ`, and no `nonce`.
async fn validate(issuer: &str, token: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|err| format!("header: {err}"))?;
    if header.typ.as_deref() != Some("logout+jwt") {
        return Err("typ".into());
    }
    let jwks = fetch_jwks(issuer).await;
    let jwk = match header.kid.as_deref() {
        Some(kid) => jwks.find(kid).ok_or("unknown kid")?,
        // No kid and one published key: that key (and its algorithm) it is.
        None if jwks.keys.len() == 1 => &jwks.keys[0],
        None => return Err("no kid".into()),
    };
    let mut validation = Validation::new(Jwa::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&["web"]);
    validation.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .map_err(|err| format!("{:?}", err.kind()))?
        .claims;
    if claims["events"].get("http://schemas.openid.net/event/backchannel-logout").is_none() {
        return Err("no logout event".into());
    }
    if claims.get("nonce").is_some() {
        return Err("nonce".into());
    }
    if claims["sub"].as_str().is_none() {
        return Err("no sub".into());
    }
    Ok(claims)
}

async fn logout_token(case: Option<RpCase>) -> (MockIdp, String) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let uri = start_rp(received.clone());
    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().backchannel_logout_uri = Some(uri);
    let idp = MockIdp::builder().with_issuer("default", issuer).start().await;
    if let Some(case) = case {
        idp.misbehave_with("default", Switch { case, client_id: Some("web".into()), times: Some(1) });
    }
    let deliveries: Value = http()
        .post(format!("{}/issuers/default/logout", idp.admin_url()))
        .json(&serde_json::json!({"sub": "alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["client_id"], "web");
    assert_eq!(deliveries[0]["status"], 200, "{deliveries}");
    let token = received.lock().unwrap().pop().expect("the RP received a logout token");
    (idp, token)
}

#[tokio::test]
async fn a_correct_logout_token_is_accepted() {
    let (idp, token) = logout_token(None).await;
    let claims = validate(&idp.issuer(), &token).await.unwrap();
    assert_eq!(claims["sub"], "alice");
}

macro_rules! defect {
    ($($name:ident => $case:ident;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let (idp, token) = logout_token(Some(RpCase::$case)).await;
            assert_eq!(RpCase::$case.verdict(), mockidp::Verdict::Reject);
            let outcome = validate(&idp.issuer(), &token).await;
            assert!(outcome.is_err(), "{}: a careful RP must refuse {token}", RpCase::$case);
        }
    )*};
}

defect! {
    logout_token_alg_none => LogoutTokenAlgNone;
    logout_token_wrong_alg => LogoutTokenWrongAlg;
    logout_token_no_event => LogoutTokenNoEvent;
    logout_token_wrong_event => LogoutTokenWrongEvent;
    logout_token_with_nonce => LogoutTokenWithNonce;
    logout_token_wrong_aud => LogoutTokenWrongAud;
    logout_token_wrong_iss => LogoutTokenWrongIss;
}

#[tokio::test]
async fn end_session_with_an_id_token_hint_notifies_the_back_channel() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let uri = start_rp(received.clone());
    let mut issuer = oidc_issuer(Algorithm::RS256);
    issuer.clients.get_mut("web").unwrap().backchannel_logout_uri = Some(uri);
    let idp = MockIdp::builder().with_issuer("default", issuer).start().await;
    let id_token = idp.token().with_typ("JWT").with_subject("bob").sign().unwrap();

    let response = http().get(format!("{}/end_session?id_token_hint={id_token}", idp.issuer())).send().await.unwrap();
    assert_eq!(response.status(), 200);

    // The RP is told before the browser moves on.
    let token = received.lock().unwrap().pop().expect("the RP was told");
    assert_eq!(validate(&idp.issuer(), &token).await.unwrap()["sub"], "bob");
}
