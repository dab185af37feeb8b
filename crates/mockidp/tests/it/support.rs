//! Shared helpers: one place that talks HTTP to the provider.

use std::collections::BTreeMap;

use jsonwebtoken::{Validation, jwk::JwkSet};
use mockidp::{Algorithm, ClientConfig, IssuerConfig, KeyConfig};
use serde_json::Value;

pub const CLIENT: &str = "svc";
pub const SECRET: &str = "svc-secret";
pub const AUDIENCE: &str = "api://orders";

/// An issuer with one key of `alg` and one confidential client `svc`.
pub fn issuer_with(alg: Algorithm, secret: Option<&str>) -> IssuerConfig {
    let client = ClientConfig {
        secret: Some(SECRET.to_owned()),
        audience: vec![AUDIENCE.to_owned()],
        scopes: vec!["orders:read".to_owned(), "orders:write".to_owned()],
        ..ClientConfig::default()
    };
    IssuerConfig {
        keys: vec![KeyConfig { secret: secret.map(str::to_owned), ..KeyConfig::generated(alg) }],
        clients: BTreeMap::from([(CLIENT.to_owned(), client)]),
        ..IssuerConfig::default()
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a reqwest client builds")
}

/// Fetches a client_credentials token with HTTP Basic and returns the whole response body.
pub async fn client_credentials(issuer_url: &str, client: &str, secret: &str, scope: Option<&str>) -> Value {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = http()
        .post(format!("{issuer_url}/token"))
        .basic_auth(client, Some(secret))
        .form(&form)
        .send()
        .await
        .expect("the token endpoint answers");
    assert_eq!(response.status(), 200, "token request failed: {}", response.text().await.unwrap_or_default());
    response.json().await.expect("the token response is JSON")
}

/// The issuer's JWKS, fetched over HTTP and parsed by jsonwebtoken.
pub async fn fetch_jwks(issuer_url: &str) -> JwkSet {
    let response = http().get(format!("{issuer_url}/jwks")).send().await.expect("the JWKS endpoint answers");
    assert_eq!(response.status(), 200);
    response.json().await.expect("jsonwebtoken parses the JWKS")
}

/// Strict validation: the one algorithm, `iss`, `aud`, and `exp`, `iss`,
/// `aud`, `sub` required.
pub fn strict(alg: jsonwebtoken::Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation
}

/// Verifies `token` using only the issuer's published JWKS, the way a
/// resource server does: the key is chosen by `kid`, the algorithm is pinned.
pub async fn verify_with_jwks(token: &str, issuer_url: &str, alg: jsonwebtoken::Algorithm, audience: &str) -> Value {
    let jwks = fetch_jwks(issuer_url).await;
    let header = jsonwebtoken::decode_header(token).expect("the token has a JOSE header");
    let kid = header.kid.expect("the token names its key");
    let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("kid `{kid}` is not in the JWKS"));
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("the JWK is a usable key");
    jsonwebtoken::decode::<Value>(token, &key, &strict(alg, issuer_url, audience))
        .unwrap_or_else(|err| panic!("strict verification failed: {err:?}"))
        .claims
}

/// A decoded segment (0 header, 1 claims) as JSON, without verifying anything.
pub fn segment_json(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("a JWT has three segments");
    let bytes = mockidp_core::b64url_decode(segment).expect("segments are base64url");
    serde_json::from_slice(&bytes).expect("the segment is JSON")
}
