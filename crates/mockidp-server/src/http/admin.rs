//! The admin API under `/_mockidp/admin`: change issuers, users, clients,
//! claim mappings and keys at run time; mint any token; read the request
//! log; export the configuration that reproduces the current state.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web::{self, ServiceConfig},
};
use mockidp_core::{Algorithm, KeyId, SigningKey};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::{ErrorCode, OAuthError, request_base, userinfo::bearer_token};
use crate::{
    Issuer, Provider,
    config::{ClaimMapping, ClientConfig, ConfigError, IssuerConfig, KeyConfig, UserConfig, validate_issuer},
    mint::MintRequest,
    provider::build_key,
};

/// Registers the admin routes.
pub fn routes(config: &mut ServiceConfig) {
    config.service(
        web::scope("/_mockidp/admin")
            .route("/config", web::get().to(export))
            .route("/requests", web::get().to(requests))
            .route("/requests", web::delete().to(clear_requests))
            .route("/issuers/{issuer}", web::put().to(put_issuer))
            .route("/issuers/{issuer}", web::delete().to(delete_issuer))
            .route("/issuers/{issuer}/tokens", web::post().to(mint))
            .route("/issuers/{issuer}/users/{user}", web::put().to(put_user))
            .route("/issuers/{issuer}/users/{user}", web::delete().to(delete_user))
            .route("/issuers/{issuer}/clients/{client}", web::put().to(put_client))
            .route("/issuers/{issuer}/clients/{client}", web::delete().to(delete_client))
            .route("/issuers/{issuer}/claim_mappings", web::put().to(put_claim_mappings))
            .route("/issuers/{issuer}/keys", web::post().to(add_key))
            .route("/issuers/{issuer}/keys/rotate", web::post().to(rotate_keys))
            .route("/issuers/{issuer}/keys/{kid}", web::delete().to(retire_key))
            .route("/issuers/{issuer}/misbehave", web::post().to(add_switch))
            .route("/issuers/{issuer}/misbehave", web::delete().to(clear_switches))
            .route("/issuers/{issuer}/faults", web::post().to(add_fault))
            .route("/issuers/{issuer}/faults", web::delete().to(clear_faults))
            .route("/clock", web::post().to(set_clock))
            .route("/issuers/{issuer}/logout", web::post().to(logout))
            .route("/issuers/{issuer}/clock", web::post().to(set_issuer_clock))
            .route("/pitfalls", web::get().to(list_pitfalls))
            .route("/pitfalls/fetches/{fetch_id}", web::get().to(pitfall_fetches))
            .route("/issuers/{issuer}/pitfalls/{id}", web::post().to(mint_pitfall))
            .default_service(web::to(|req: HttpRequest| async move {
                Err::<HttpResponse, _>(OAuthError::new(
                    ErrorCode::NotFound,
                    format!("no admin endpoint `{} {}`", req.method(), req.path()),
                ))
            })),
    );
}

/// Refuses the request unless it carries the configured admin token.
fn guard(req: &HttpRequest, provider: &Provider) -> Result<(), OAuthError> {
    let Some(expected) = provider.admin_token() else { return Ok(()) };
    let token = bearer_token(req, "mockidp-admin")?;
    if mockidp_core::ClientSecret::new(expected).matches(token) {
        Ok(())
    } else {
        Err(OAuthError::bearer("mockidp-admin", ErrorCode::InvalidToken, "wrong admin token"))
    }
}

/// Reads a JSON body of type `T`; mistakes name line, column and field.
async fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, OAuthError> {
    let essence = actix_web::HttpMessage::content_type(req);
    if !essence.is_empty() && !essence.eq_ignore_ascii_case("application/json") {
        return Err(OAuthError::invalid_request(format!(
            "expected a body of type `application/json`, found `{essence}`"
        )));
    }
    let body = super::form::read_body(payload, limit).await?;
    let body = if body.is_empty() { &b"{}"[..] } else { &body[..] };
    serde_json::from_slice(body).map_err(|err| OAuthError::invalid_request(format!("invalid JSON body: {err}")))
}

fn config_error(err: ConfigError) -> OAuthError {
    OAuthError::invalid_request(err.to_string())
}

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

/// Applies `change` to the issuer `name` after the guard; 404 for no such issuer.
fn change_issuer<T>(
    provider: &Provider,
    name: &str,
    change: impl FnOnce(&mut Issuer) -> Result<T, ConfigError>,
) -> Result<T, OAuthError> {
    provider.update_issuer(name, change).ok_or_else(|| OAuthError::unknown_issuer(name))?.map_err(config_error)
}

/// `GET /_mockidp/admin/config?format=toml|yaml|json`.
async fn export(req: HttpRequest, provider: web::Data<Provider>) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let query = super::form::parse_form(req.query_string().as_bytes())?;
    let config = provider.to_config();
    let (content_type, text) = match query.get("format").unwrap_or("toml") {
        "toml" => ("application/toml", toml::to_string_pretty(&config).map_err(|err| export_failed(&err))?),
        "yaml" => ("application/yaml", serde_saphyr::to_string(&config).map_err(|err| export_failed(&err))?),
        "json" => ("application/json", serde_json::to_string_pretty(&config).map_err(|err| export_failed(&err))?),
        other => {
            return Err(OAuthError::invalid_request(format!(
                "unknown format `{other}`, expected `toml`, `yaml` or `json`"
            )));
        }
    };
    Ok(HttpResponse::Ok().insert_header((header::CONTENT_TYPE, content_type)).body(text))
}

fn export_failed(err: &dyn std::fmt::Display) -> OAuthError {
    log::error!("exporting the configuration failed: {err}");
    OAuthError::new(ErrorCode::ServerError, "the configuration could not be serialised; see the mockidp log")
}

/// `GET /_mockidp/admin/requests`.
async fn requests(req: HttpRequest, provider: web::Data<Provider>) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    Ok(ok(json!(provider.received_requests())))
}

/// `DELETE /_mockidp/admin/requests`.
async fn clear_requests(req: HttpRequest, provider: web::Data<Provider>) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    provider.recorder().clear();
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /_mockidp/admin/issuers/{issuer}`: create or replace an issuer.
async fn put_issuer(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let config: IssuerConfig = json_body(&req, payload, provider.max_body_bytes()).await?;
    validate_issuer(&name, &config).map_err(config_error)?;
    let issuer = Issuer::from_config(&name, &config, provider.fresh_keys()).map_err(config_error)?;
    let created = provider.issuer(&name).is_none();
    let url = issuer.issuer_url(&request_base(&req, &provider));
    provider.put_issuer(issuer);
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(HttpResponse::build(status).json(json!({ "issuer": url })))
}

/// `DELETE /_mockidp/admin/issuers/{issuer}`.
async fn delete_issuer(
    req: HttpRequest,
    name: web::Path<String>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    if !provider.remove_issuer(&name) {
        return Err(OAuthError::unknown_issuer(&name));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Re-validates an issuer after a change to its configuration.
fn revalidate(issuer: &Issuer) -> Result<(), ConfigError> {
    validate_issuer(&issuer.name, &issuer.config)?;
    for (client_id, client) in &issuer.config.clients {
        if let Some(alg) = client.signing_alg
            && issuer.key_for_alg(alg).is_none()
        {
            return Err(ConfigError {
                origin: "admin API".into(),
                position: None,
                key: Some(format!("issuers.{}.clients.{client_id}.signing_alg", issuer.name)),
                message: format!("the issuer has no `{alg}` key; add one first"),
            });
        }
    }
    Ok(())
}

/// `PUT /_mockidp/admin/issuers/{issuer}/users/{user}`.
async fn put_user(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let (name, user_name) = path.into_inner();
    let user: UserConfig = json_body(&req, payload, provider.max_body_bytes()).await?;
    change_issuer(&provider, &name, |issuer| {
        issuer.config.users.insert(user_name.clone(), user);
        revalidate(issuer)
    })?;
    Ok(ok(json!({ "user": user_name })))
}

/// `DELETE /_mockidp/admin/issuers/{issuer}/users/{user}`.
async fn delete_user(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let (name, user_name) = path.into_inner();
    let removed = change_issuer(&provider, &name, |issuer| {
        let removed = issuer.config.users.remove(&user_name).is_some();
        if issuer.config.default_user.as_deref() == Some(user_name.as_str()) {
            issuer.config.default_user = None;
        }
        Ok(removed)
    })?;
    if !removed {
        return Err(OAuthError::new(ErrorCode::NotFound, format!("no user `{user_name}` in issuer `{name}`")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /_mockidp/admin/issuers/{issuer}/clients/{client}`.
async fn put_client(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let (name, client_id) = path.into_inner();
    let client: ClientConfig = json_body(&req, payload, provider.max_body_bytes()).await?;
    change_issuer(&provider, &name, |issuer| {
        issuer.config.clients.insert(client_id.clone(), client);
        revalidate(issuer)
    })?;
    Ok(ok(json!({ "client_id": client_id })))
}

/// `DELETE /_mockidp/admin/issuers/{issuer}/clients/{client}`.
async fn delete_client(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let (name, client_id) = path.into_inner();
    let removed = change_issuer(&provider, &name, |issuer| Ok(issuer.config.clients.remove(&client_id).is_some()))?;
    if !removed {
        return Err(OAuthError::new(ErrorCode::NotFound, format!("no client `{client_id}` in issuer `{name}`")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /_mockidp/admin/issuers/{issuer}/claim_mappings`: replaces the list.
async fn put_claim_mappings(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let mappings: Vec<ClaimMapping> = json_body(&req, payload, provider.max_body_bytes()).await?;
    let count = mappings.len();
    change_issuer(&provider, &name, |issuer| {
        issuer.config.claim_mappings = mappings;
        Ok(())
    })?;
    Ok(ok(json!({ "claim_mappings": count })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddKey {
    #[serde(flatten)]
    key: KeyConfig,
    /// Make it the signer at once.
    #[serde(default)]
    signer: bool,
}

/// `POST /_mockidp/admin/issuers/{issuer}/keys`: publish another key.
async fn add_key(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let request: AddKey = json_body(&req, payload, provider.max_body_bytes()).await?;
    let kid = change_issuer(&provider, &name, |issuer| {
        let index = issuer.keys.keys().len();
        // Keys added at run time are always new: the pool's slots belong to startup keys.
        let key = build_key(&issuer.name, index, &request.key, true)?;
        let kid = key.kid().clone();
        if issuer.keys.get(&kid).is_some() {
            return Err(ConfigError {
                origin: "admin API".into(),
                position: None,
                key: Some("kid".into()),
                message: format!("the issuer already has a key `{kid}`"),
            });
        }
        issuer.keys.push(key);
        if request.signer {
            issuer.keys.set_signer(&kid);
        }
        Ok(kid)
    })?;
    Ok(HttpResponse::Created().json(json!({ "kid": kid.as_str(), "signer": request.signer })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Rotate {
    /// Algorithm of the new key; the current signer's when unset.
    alg: Option<Algorithm>,
    /// How long the old signer stays published, in seconds (default 3600).
    grace_secs: Option<u64>,
}

/// `POST /_mockidp/admin/issuers/{issuer}/keys/rotate`: a new signer; the
/// old one stays published for the grace period, then is retired.
async fn rotate_keys(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let request: Rotate = json_body(&req, payload, provider.max_body_bytes()).await?;
    let now = provider.now_for(&name);
    let grace = i64::try_from(request.grace_secs.unwrap_or(3600)).unwrap_or(i64::MAX);
    let (new_kid, old_kid) = change_issuer(&provider, &name, |issuer| {
        let old = issuer.signer().clone();
        let alg = request.alg.unwrap_or(old.alg());
        let key = SigningKey::generate(alg).map_err(|err| ConfigError {
            origin: "admin API".into(),
            position: None,
            key: Some("alg".into()),
            message: err.to_string(),
        })?;
        let kid = key.kid().clone();
        issuer.keys.push(key);
        issuer.keys.set_signer(&kid);
        issuer.retire_at.insert(old.kid().to_string(), now.saturating_add(grace));
        Ok((kid, old.kid().clone()))
    })?;
    Ok(ok(json!({ "kid": new_kid.as_str(), "retiring": old_kid.as_str(), "retire_at": now.saturating_add(grace) })))
}

/// `DELETE /_mockidp/admin/issuers/{issuer}/keys/{kid}`: retire a key now.
async fn retire_key(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let (name, kid) = path.into_inner();
    let outcome = change_issuer(&provider, &name, |issuer| {
        let kid = KeyId::new(kid.clone());
        if issuer.signer().kid() == &kid {
            return Ok(Err("the key signs new tokens; rotate to another signer first"));
        }
        if !issuer.keys.remove(&kid) {
            return Ok(Err("no such key"));
        }
        issuer.retire_at.remove(kid.as_str());
        revalidate(issuer)?;
        Ok(Ok(()))
    })?;
    match outcome {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(reason) => Err(OAuthError::invalid_request(format!("cannot retire key `{kid}`: {reason}"))),
    }
}

/// `POST /_mockidp/admin/issuers/{issuer}/tokens`: mint any token.
async fn mint(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let request: MintRequest = json_body(&req, payload, provider.max_body_bytes()).await?;
    let (token, claims) = provider.mint(&name, &request_base(&req, &provider), &request)?;
    Ok(ok(json!({ "token": token, "claims": claims })))
}

/// `GET /_mockidp/admin/pitfalls`: the catalogue.
async fn list_pitfalls(req: HttpRequest, provider: web::Data<Provider>) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    Ok(ok(json!(mockidp_core::pitfall::catalogue())))
}

/// `POST /_mockidp/admin/issuers/{issuer}/pitfalls/{id}`: forge one case.
async fn mint_pitfall(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let (name, id) = path.into_inner();
    let options: crate::pitfalls::PitfallOptions = json_body(&req, payload, provider.max_body_bytes()).await?;
    if provider.issuer(&name).is_none() {
        return Err(OAuthError::unknown_issuer(&name));
    }
    match provider.forge_pitfall(&name, &id, &request_base(&req, &provider), &options) {
        Ok(minted) => Ok(ok(json!(minted))),
        Err(err @ mockidp_core::pitfall::PitfallError::Unknown { .. }) => {
            Err(OAuthError::new(ErrorCode::NotFound, err.to_string()))
        }
        Err(err @ mockidp_core::pitfall::PitfallError::NotApplicable { .. }) => {
            Err(OAuthError::new(ErrorCode::NotApplicable, err.to_string()))
        }
        Err(err) => Err(OAuthError::invalid_request(err.to_string())),
    }
}

/// `GET /_mockidp/admin/pitfalls/fetches/{fetch_id}`: how often an API
/// fetched the URL a `jku` / `x5u` case named.
async fn pitfall_fetches(
    req: HttpRequest,
    fetch_id: web::Path<String>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let fetches = provider
        .pitfall_fetches(&fetch_id)
        .ok_or_else(|| OAuthError::new(ErrorCode::NotFound, format!("no pitfall material `{fetch_id}`")))?;
    Ok(ok(json!({ "fetch_id": fetch_id.as_str(), "fetches": fetches })))
}

/// `POST /_mockidp/admin/issuers/{issuer}/misbehave`: switch a relying-party case on.
async fn add_switch(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let switch: crate::Switch = json_body(&req, payload, provider.max_body_bytes()).await?;
    if provider.issuer(&name).is_none() {
        return Err(OAuthError::unknown_issuer(&name));
    }
    let id = switch.case.id();
    provider.add_switch(&name, switch).map_err(config_error)?;
    Ok(HttpResponse::Created().json(json!({ "id": id })))
}

/// `DELETE /_mockidp/admin/issuers/{issuer}/misbehave`: every run-time case off.
async fn clear_switches(
    req: HttpRequest,
    name: web::Path<String>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    provider.clear_switches(&name);
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /_mockidp/admin/issuers/{issuer}/faults`: make an endpoint fail.
async fn add_fault(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let fault: crate::faults::Fault = json_body(&req, payload, provider.max_body_bytes()).await?;
    if provider.issuer(&name).is_none() {
        return Err(OAuthError::unknown_issuer(&name));
    }
    if fault.times == Some(0) {
        return Err(OAuthError::invalid_request("`times` must be at least 1; leave it out for \"until cleared\""));
    }
    provider.faults().add(&name, fault);
    Ok(HttpResponse::Created().finish())
}

/// `DELETE /_mockidp/admin/issuers/{issuer}/faults`: every fault of the issuer cleared.
async fn clear_faults(
    req: HttpRequest,
    name: web::Path<String>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    provider.faults().clear(&name);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    /// Seconds to move the clock forward (negative: back).
    #[serde(default)]
    advance_secs: Option<i64>,
    /// Pin the clock at this instant (seconds since the epoch).
    #[serde(default)]
    pin_at: Option<i64>,
    /// Back to the wall clock.
    #[serde(default)]
    reset: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Logout {
    /// The user being logged out.
    sub: String,
    /// Only this client; every client with a `backchannel_logout_uri` when unset.
    #[serde(default)]
    client_id: Option<String>,
}

/// `POST /_mockidp/admin/issuers/{issuer}/logout`: send back-channel logout
/// tokens now and report each client's answer.
async fn logout(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let request: Logout = json_body(&req, payload, provider.max_body_bytes()).await?;
    let issuer = provider.issuer(&name).ok_or_else(|| OAuthError::unknown_issuer(&name))?;
    let issuer_url = issuer.issuer_url(&request_base(&req, &provider));
    let provider = provider.into_inner();
    // Posting blocks: off the server's worker.
    let deliveries = actix_web::rt::task::spawn_blocking(move || {
        provider.backchannel_logout(&issuer, &issuer_url, &request.sub, request.client_id.as_deref())
    })
    .await
    .map_err(|_| OAuthError::new(ErrorCode::ServerError, "the logout task failed"))?;
    Ok(ok(json!(deliveries)))
}

/// `POST /_mockidp/admin/clock`: move, pin or reset the clock of every issuer.
async fn set_clock(
    req: HttpRequest,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let change: ClockChange = json_body(&req, payload, provider.max_body_bytes()).await?;
    apply_clock(provider.clock_control(), &change);
    Ok(ok(json!({ "now": provider.now() })))
}

/// `POST /_mockidp/admin/issuers/{issuer}/clock`: move, pin or reset one issuer's clock.
async fn set_issuer_clock(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    guard(&req, &provider)?;
    let change: ClockChange = json_body(&req, payload, provider.max_body_bytes()).await?;
    if provider.issuer(&name).is_none() {
        return Err(OAuthError::unknown_issuer(&name));
    }
    apply_clock(&provider.issuer_clock_control(&name), &change);
    Ok(ok(json!({ "now": provider.now_for(&name) })))
}

fn apply_clock(control: &crate::provider_clock::ClockControl, change: &ClockChange) {
    if change.reset {
        control.reset();
    }
    if let Some(at) = change.pin_at {
        control.pin(at);
    }
    if let Some(secs) = change.advance_secs {
        control.advance(secs);
    }
}
