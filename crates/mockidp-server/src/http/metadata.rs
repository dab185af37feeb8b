//! Discovery (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) and the JWKS.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Serialize;

use super::{OAuthError, issuer_of, issuer_url};
use crate::Provider;

/// The discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).
#[derive(Debug, Clone, Serialize)]
pub struct ProviderMetadata {
    /// The issuer identifier; equal to `iss` in every token.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// JWKS URL.
    pub jwks_uri: String,
    /// `response_type` values.
    pub response_types_supported: Vec<&'static str>,
    /// Subject identifier types.
    pub subject_types_supported: Vec<&'static str>,
    /// Algorithms ID tokens may be signed with.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Grant types.
    pub grant_types_supported: Vec<&'static str>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Scopes clients are configured with.
    pub scopes_supported: Vec<String>,
    /// Claims tokens may carry.
    pub claims_supported: Vec<&'static str>,
}

fn document(
    req: &HttpRequest,
    provider: &Provider,
    name: &str,
) -> Result<ProviderMetadata, OAuthError> {
    let issuer = issuer_of(provider, name)?;
    let base = issuer_url(req, provider, name);
    let mut algs: Vec<String> = issuer
        .keys
        .keys()
        .iter()
        .map(|key| key.alg().to_string())
        .collect();
    algs.dedup();
    let mut scopes: Vec<String> = vec!["openid".to_owned()];
    for client in issuer.clients.values() {
        scopes.extend(client.scopes.iter().cloned());
    }
    scopes.sort();
    scopes.dedup();
    Ok(ProviderMetadata {
        authorization_endpoint: format!("{base}/authorize"),
        token_endpoint: format!("{base}/token"),
        jwks_uri: format!("{base}/jwks"),
        issuer: base,
        response_types_supported: vec!["code"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: algs,
        grant_types_supported: vec!["client_credentials"],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
        scopes_supported: scopes,
        claims_supported: vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "client_id",
            "scope",
        ],
    })
}

/// The discovery document, served at every location clients look for it:
/// `/{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery
/// §4), `/.well-known/oauth-authorization-server/{issuer}` (RFC 8414 §3),
/// `/.well-known/openid-configuration/{issuer}` (RFC 8414 §5) and the
/// `/{issuer}/.well-known/oauth-authorization-server` many clients try first.
pub async fn discovery(
    req: HttpRequest,
    name: web::Path<String>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    Ok(HttpResponse::Ok().json(document(&req, &provider, &name)?))
}

/// The issuer's JWKS: public keys only (RFC 7517 §5).
pub async fn jwks(
    name: web::Path<String>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(&provider, &name)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/jwk-set+json"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(issuer.keys.jwks()))
}
