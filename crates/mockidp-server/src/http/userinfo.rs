//! The UserInfo endpoint (OpenID Connect Core §5.3), guarded per RFC 6750.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde_json::{Map, Value, json};

use super::{ErrorCode, OAuthError, issuer_of};
use crate::{Provider, users::Identity};

/// The bearer token of a request, or the RFC 6750 §3.1 error for its absence.
pub fn bearer_token<'r>(req: &'r HttpRequest, realm: &str) -> Result<&'r str, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(OAuthError::bearer_missing(realm));
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::bearer(realm, ErrorCode::InvalidRequest, "malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("bearer") => {
            Err(OAuthError::bearer(realm, ErrorCode::InvalidRequest, "`Authorization: Bearer` without a token"))
        }
        // RFC 6750 §3.1: a request without bearer authentication gets a bare challenge.
        _ => Err(OAuthError::bearer_missing(realm)),
    }
}

/// `GET` or `POST /{issuer}/userinfo`.
pub async fn userinfo(
    req: HttpRequest,
    name: web::Path<String>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(&provider, &name)?;
    let token = bearer_token(&req, &issuer.name)?;
    let claims = provider.active_claims(&issuer, token).ok_or_else(|| {
        OAuthError::bearer(&issuer.name, ErrorCode::InvalidToken, "the access token is invalid, expired or revoked")
    })?;
    let scopes: Vec<String> = match claims.extra.get("scope") {
        Some(Value::String(scope)) => scope.split(' ').map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::bearer(
            &issuer.name,
            ErrorCode::InsufficientScope,
            "the access token was not granted the `openid` scope",
        ));
    }
    let sub = claims.sub.clone().unwrap_or_default();
    // The identity the token was issued for: the signed-in user of its
    // grant, else a configured user with that `sub`.
    let identity = claims
        .jti
        .as_deref()
        .and_then(|jti| provider.store().authorization_of_jti(jti).map(|a| a.identity.clone()))
        .or_else(|| issuer.identity_by_sub(&sub))
        .unwrap_or_else(|| Identity::custom(&sub, Map::new()));
    let mut body = identity.released(&scopes);
    let client_id = claims.extra.get("client_id").and_then(Value::as_str);
    let sub = if provider.misbehaves(&issuer, client_id, mockidp_core::rp::RpCase::UserinfoWrongSub, false) {
        format!("{}-other", identity.sub)
    } else {
        identity.sub.clone()
    };
    body.insert("sub".into(), json!(sub));
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Value::Object(body)))
}
