//! The pitfall catalogue through the test helper and the admin API, against
//! a running provider.

use jsonwebtoken::{Algorithm as Jwa, DecodingKey, Validation, errors::ErrorKind};
use mockidp::{MockIdp, PitfallError, PitfallOptions, Verdict};
use serde_json::Value;

use crate::support::{fetch_jwks, http};

fn strict(idp: &MockIdp) -> Validation {
    let mut validation = Validation::new(Jwa::RS256);
    validation.set_issuer(&[idp.issuer()]);
    validation.set_audience(&["demo-api"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

async fn published_key(idp: &MockIdp) -> DecodingKey {
    let jwks = fetch_jwks(&idp.issuer()).await;
    DecodingKey::from_jwk(&jwks.keys[0]).unwrap()
}

#[tokio::test]
async fn pitfalls_from_a_running_provider_verify_against_its_published_jwks() {
    let idp = MockIdp::start().await;
    let key = published_key(&idp).await;

    let valid = idp.pitfall("valid").unwrap();
    let expired = idp.pitfall("expired").unwrap();
    let wrong_aud = idp.pitfall("aud-wrong").unwrap();

    assert!(jsonwebtoken::decode::<Value>(valid.token(), &key, &strict(&idp)).is_ok());
    let err = jsonwebtoken::decode::<Value>(expired.token(), &key, &strict(&idp)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ExpiredSignature);
    let err = jsonwebtoken::decode::<Value>(wrong_aud.token(), &key, &strict(&idp)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn every_case_is_available_or_says_what_it_needs() {
    let idp = MockIdp::start().await;
    let options = PitfallOptions { scope: Some("orders:read orders:write".into()), ..PitfallOptions::default() };
    let mut not_applicable = Vec::new();
    for (case, result) in idp.pitfalls(&options) {
        match result {
            Ok(token) => assert_eq!(token.case().id, case.id),
            Err(PitfallError::NotApplicable { id, reason }) => not_applicable.push((id, reason)),
            Err(err) => panic!("{}: {err}", case.id),
        }
    }
    // The default issuer has one RS256 key and no sibling issuer.
    let ids: Vec<&str> = not_applicable.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, ["ecdsa-psychic-signature", "key-from-other-issuer"], "{not_applicable:?}");
}

#[tokio::test]
async fn unknown_ids_suggest_the_closest() {
    let idp = MockIdp::start().await;
    assert_eq!(
        idp.pitfall("alg-nnone").unwrap_err().to_string(),
        "unknown pitfall `alg-nnone` (did you mean `alg-none`?)"
    );
}

async fn hit_counter(id: &str) {
    let idp = MockIdp::start().await;
    let fetched = idp.pitfall(id).unwrap();
    let ignored = idp.pitfall(id).unwrap();
    assert_eq!((fetched.fetches(), ignored.fetches()), (0, 0));

    // A vulnerable API fetches the URL in the header; a correct one does not.
    let url = fetched.hosted_url().expect("the case names a hosted URL").to_owned();
    let header: Value =
        serde_json::from_slice(&mockidp_core::b64url_decode(fetched.token().split('.').next().unwrap()).unwrap())
            .unwrap();
    let field = if id == "jku-injection" { "jku" } else { "x5u" };
    assert_eq!(header[field], url);
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(fetched.fetches(), 1, "the fetch is counted");
    assert_eq!(ignored.fetches(), 0, "a token nobody fetched for counts nothing");
}

#[tokio::test]
async fn jku_fetches_are_counted_per_token() {
    hit_counter("jku-injection").await;
}

#[tokio::test]
async fn x5u_fetches_are_counted_per_token() {
    hit_counter("x5u-injection").await;
}

#[tokio::test]
async fn the_admin_api_mints_any_case() {
    let idp = MockIdp::start().await;
    let response = http()
        .post(format!("{}/issuers/default/pitfalls/iss-trailing-slash", idp.admin_url()))
        .json(&serde_json::json!({"aud": "orders-api", "sub": "bob", "scope": "orders:read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "iss-trailing-slash");
    assert_eq!(body["verdict"], "reject");
    let claims: Value = serde_json::from_slice(
        &mockidp_core::b64url_decode(body["token"].as_str().unwrap().split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], format!("{}/", idp.issuer()));
    assert_eq!(claims["aud"], "orders-api");
    assert_eq!(claims["sub"], "bob");

    let unknown = http().post(format!("{}/issuers/default/pitfalls/expird", idp.admin_url())).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert!(body["error_description"].as_str().unwrap().contains("did you mean `expired`?"), "{body}");

    let catalogue: Value =
        http().get(format!("{}/pitfalls", idp.admin_url())).send().await.unwrap().json().await.unwrap();
    assert!(catalogue.as_array().unwrap().iter().any(|case| case["id"] == "alg-none"));
    assert_eq!(Verdict::Reject.to_string(), "reject");
}
