//! A small orders API that trusts mockidp, written twice over: done right,
//! and with seeded flaws that `mockidp scan` must find and nothing else.
//!
//! Routes: `GET /orders` (scope `orders:read`), `POST /orders` (scope
//! `orders:write`), `GET /users/{user}/profile` (only `user` may read it).

use std::{net::TcpListener, sync::Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::Server, http::StatusCode, web};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use serde_json::{Value, json};

/// Mistakes to make on purpose. All off is the correct API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flaws {
    /// Accept `alg: none` (any capitalisation) without a signature.
    pub accept_alg_none: bool,
    /// Never look at `aud`.
    pub skip_audience: bool,
    /// Verify with the algorithm the token's header names.
    pub alg_from_header: bool,
    /// Fetch keys from the `jku` URL in the token's header.
    pub fetch_jku: bool,
    /// Let any user read any profile.
    pub no_ownership_check: bool,
}

impl Flaws {
    /// Every seeded flaw.
    pub fn all() -> Self {
        Self {
            accept_alg_none: true,
            skip_audience: true,
            alg_from_header: true,
            fetch_jku: true,
            no_ownership_check: true,
        }
    }
}

/// What the API trusts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer identifier, compared exactly.
    pub issuer: String,
    /// Where the issuer's keys are (from configuration, never from a token).
    pub jwks_uri: String,
    /// This API's audience.
    pub audience: String,
    /// The seeded flaws.
    pub flaws: Flaws,
}

struct State {
    settings: Settings,
    http: reqwest::Client,
    jwks: Mutex<Option<JwkSet>>,
}

/// Starts the API on `listener`; the returned server must be awaited or spawned.
pub fn serve(listener: TcpListener, settings: Settings) -> std::io::Result<Server> {
    let state = web::Data::new(State { settings, http: reqwest::Client::new(), jwks: Mutex::new(None) });
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/orders", web::get().to(list_orders))
            .route("/orders", web::post().to(create_order))
            .route("/users/{user}/profile", web::get().to(profile))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}

/// The claims this API reads; typed, so a claim of the wrong type or a
/// duplicated member fails to parse.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Claims {
    iss: String,
    sub: String,
    #[serde(default)]
    aud: Option<Audience>,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// A refusal: 401 `invalid_token` or 403 `insufficient_scope` (RFC 6750 §3.1).
struct Refusal(StatusCode, &'static str);

impl Refusal {
    fn into_response(self) -> HttpResponse {
        let Refusal(status, error) = self;
        HttpResponse::build(status)
            .insert_header(("www-authenticate", format!("Bearer realm=\"demo\", error=\"{error}\"")))
            .json(json!({ "error": error }))
    }
}

fn invalid() -> Refusal {
    Refusal(StatusCode::UNAUTHORIZED, "invalid_token")
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

const LEEWAY: i64 = 60;

impl State {
    async fn jwks(&self, url: &str, refresh: bool) -> Option<JwkSet> {
        if !refresh
            && url == self.settings.jwks_uri
            && let Some(cached) = self.jwks.lock().ok()?.clone()
        {
            return Some(cached);
        }
        let fetched: JwkSet = self.http.get(url).send().await.ok()?.json().await.ok()?;
        if url == self.settings.jwks_uri {
            *self.jwks.lock().ok()? = Some(fetched.clone());
        }
        Some(fetched)
    }

    async fn authenticate(&self, req: &HttpRequest) -> Result<Claims, Refusal> {
        let flaws = self.settings.flaws;
        let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(invalid)?;
        let token = header.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()).ok_or_else(invalid)?;
        let raw_header: Value = token
            .split('.')
            .next()
            .and_then(|segment| URL_SAFE_NO_PAD.decode(segment).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(invalid)?;
        if !raw_header["typ"].as_str().is_some_and(|typ| typ.eq_ignore_ascii_case("at+jwt")) {
            return Err(invalid());
        }
        if raw_header.get("cty").is_some() {
            return Err(invalid());
        }
        let claims: Claims = if flaws.accept_alg_none
            && raw_header["alg"].as_str().is_some_and(|alg| alg.eq_ignore_ascii_case("none"))
        {
            // Seeded flaw: an unsigned token is read as if it were signed.
            let payload = token.split('.').nth(1).and_then(|p| URL_SAFE_NO_PAD.decode(p).ok()).ok_or_else(invalid)?;
            serde_json::from_slice(&payload).map_err(|_| invalid())?
        } else {
            self.verify(token, &raw_header).await?
        };
        let now = now();
        if claims.iss != self.settings.issuer
            || claims.exp + LEEWAY < now
            || claims.iat.is_some_and(|iat| iat > now + LEEWAY)
        {
            return Err(invalid());
        }
        if !flaws.skip_audience {
            let ours = match &claims.aud {
                Some(Audience::One(aud)) => aud == &self.settings.audience,
                Some(Audience::Many(auds)) => auds.contains(&self.settings.audience),
                None => false,
            };
            if !ours {
                return Err(invalid());
            }
        }
        Ok(claims)
    }

    async fn verify(&self, token: &str, raw_header: &Value) -> Result<Claims, Refusal> {
        let flaws = self.settings.flaws;
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        // Keys come from the configured JWKS; the flawed API also follows `jku`.
        let jwks_url = match raw_header["jku"].as_str() {
            Some(jku) if flaws.fetch_jku => jku.to_owned(),
            _ => self.settings.jwks_uri.clone(),
        };
        let mut jwks = self.jwks(&jwks_url, false).await.ok_or_else(invalid)?;
        let find = |jwks: &JwkSet| match &header.kid {
            Some(kid) => jwks.find(kid).cloned(),
            None if jwks.keys.len() == 1 => Some(jwks.keys[0].clone()),
            None => None,
        };
        let jwk = match find(&jwks) {
            Some(jwk) => jwk,
            None => {
                // An unknown kid may be a rotated key: refetch once.
                jwks = self.jwks(&jwks_url, true).await.ok_or_else(invalid)?;
                find(&jwks).ok_or_else(invalid)?
            }
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid())?;
        let alg = if flaws.alg_from_header {
            // Seeded flaw: the token chooses the algorithm.
            header.alg
        } else {
            let published = jwk.common.key_algorithm.ok_or_else(invalid)?;
            let alg: Algorithm = published.to_string().parse().map_err(|_| invalid())?;
            if header.alg != alg {
                return Err(invalid());
            }
            alg
        };
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY as u64;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.settings.issuer]);
        if flaws.skip_audience {
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        } else {
            validation.set_audience(&[&self.settings.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        }
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map(|data| data.claims).map_err(|_| invalid())
    }
}

fn require_scope(claims: &Claims, scope: &str) -> Result<(), Refusal> {
    let granted = claims.scope.as_deref().unwrap_or_default().split(' ').any(|s| s == scope);
    if granted { Ok(()) } else { Err(Refusal(StatusCode::FORBIDDEN, "insufficient_scope")) }
}

async fn list_orders(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    match state.authenticate(&req).await.and_then(|claims| require_scope(&claims, "orders:read").map(|()| claims)) {
        Ok(claims) => HttpResponse::Ok().json(json!({ "orders": [], "for": claims.sub })),
        Err(refusal) => refusal.into_response(),
    }
}

async fn create_order(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    match state.authenticate(&req).await.and_then(|claims| require_scope(&claims, "orders:write").map(|()| claims)) {
        Ok(_) => HttpResponse::Created().json(json!({ "id": 1 })),
        Err(refusal) => refusal.into_response(),
    }
}

async fn profile(req: HttpRequest, user: web::Path<String>, state: web::Data<State>) -> HttpResponse {
    let claims = match state.authenticate(&req).await {
        Ok(claims) => claims,
        Err(refusal) => return refusal.into_response(),
    };
    // Another user's object: 404, so its existence is not revealed.
    if !state.settings.flaws.no_ownership_check && claims.sub != *user {
        return HttpResponse::NotFound().json(json!({ "error": "not_found" }));
    }
    HttpResponse::Ok().json(json!({ "user": user.as_str() }))
}
