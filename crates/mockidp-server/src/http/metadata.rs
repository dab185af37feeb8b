//! Discovery (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) and the JWKS.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Serialize;

use super::{OAuthError, issuer_of, request_base};
use crate::{Provider, config::GrantType};
use mockidp_core::rp::RpCase;

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
    /// UserInfo endpoint.
    pub userinfo_endpoint: String,
    /// RFC 7662 introspection endpoint.
    pub introspection_endpoint: String,
    /// RFC 7009 revocation endpoint.
    pub revocation_endpoint: String,
    /// RP-initiated logout endpoint.
    pub end_session_endpoint: String,
    /// RFC 8628 device authorization endpoint.
    pub device_authorization_endpoint: String,
    /// `response_type` values.
    pub response_types_supported: Vec<&'static str>,
    /// `response_mode` values.
    pub response_modes_supported: Vec<&'static str>,
    /// Subject identifier types.
    pub subject_types_supported: Vec<&'static str>,
    /// Algorithms ID tokens may be signed with.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Grant types.
    pub grant_types_supported: Vec<&'static str>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Client authentication methods at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Client authentication methods at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// PKCE methods (RFC 7636).
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// Scopes.
    pub scopes_supported: Vec<String>,
    /// Claims tokens may carry.
    pub claims_supported: Vec<&'static str>,
    /// RFC 9207: the `iss` parameter in authorization responses.
    pub authorization_response_iss_parameter_supported: bool,
    /// OpenID Connect Back-Channel Logout 1.0.
    pub backchannel_logout_supported: bool,
}

fn document(req: &HttpRequest, provider: &Provider, name: &str) -> Result<ProviderMetadata, OAuthError> {
    let issuer = issuer_of(provider, name)?;
    // Endpoints follow the host the client used; the issuer identifier is
    // fixed when `issuer_url` is configured (docker-compose: the browser and
    // the API reach us by different names, but both must see one `iss`).
    let base = format!("{}/{name}", request_base(req, provider));
    let mut algs: Vec<String> =
        issuer.active_keys(provider.now_for(&issuer.name)).keys().iter().map(|key| key.alg().to_string()).collect();
    algs.sort();
    algs.dedup();
    let mut scopes: Vec<String> =
        ["openid", "profile", "email", "address", "phone", "offline_access"].map(str::to_owned).to_vec();
    for client in issuer.config.clients.values() {
        scopes.extend(client.scopes.iter().cloned());
    }
    scopes.sort();
    scopes.dedup();
    let auth_methods = vec!["client_secret_basic", "client_secret_post", "none"];
    let mut issuer_id = issuer.issuer_url(&request_base(req, provider));
    if provider.misbehaves(&issuer, None, RpCase::DiscoveryIssuerMismatch, false) {
        issuer_id.push_str("-mismatch");
    }
    let jwks_uri = if provider.misbehaves(&issuer, None, RpCase::JwksUriChanges, false) {
        format!("{base}/jwks/{}", crate::tokens::random_token(6))
    } else {
        format!("{base}/jwks")
    };
    Ok(ProviderMetadata {
        issuer: issuer_id,
        authorization_endpoint: format!("{base}/authorize"),
        token_endpoint: format!("{base}/token"),
        jwks_uri,
        userinfo_endpoint: format!("{base}/userinfo"),
        introspection_endpoint: format!("{base}/introspect"),
        revocation_endpoint: format!("{base}/revoke"),
        end_session_endpoint: format!("{base}/end_session"),
        device_authorization_endpoint: format!("{base}/device_authorization"),
        response_types_supported: vec!["code", "code id_token"],
        response_modes_supported: vec!["query", "fragment", "form_post"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: algs,
        grant_types_supported: GrantType::ALL.iter().map(|grant| grant.as_str()).collect(),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        introspection_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
        revocation_endpoint_auth_methods_supported: auth_methods,
        code_challenge_methods_supported: vec!["S256", "plain"],
        scopes_supported: scopes,
        claims_supported: vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "azp",
            "at_hash",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "email_verified",
            "phone_number",
            "address",
            "locale",
            "zoneinfo",
            "updated_at",
        ],
        authorization_response_iss_parameter_supported: true,
        backchannel_logout_supported: true,
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

/// The issuer's JWKS: public keys only (RFC 7517 §5), with what switched-on
/// relying-party cases add or break.
pub async fn jwks(name: web::Path<String>, provider: web::Data<Provider>) -> Result<HttpResponse, OAuthError> {
    jwks_of(&name, &provider)
}

/// `/{issuer}/jwks/{anything}`: where `rp-jwks-uri-changes` points.
pub async fn jwks_elsewhere(
    path: web::Path<(String, String)>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    jwks_of(&path.0, &provider)
}

fn jwks_of(name: &str, provider: &Provider) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(provider, name)?;
    if provider.misbehaves(&issuer, None, RpCase::JwksUnavailable, false) {
        return Ok(HttpResponse::InternalServerError().json(serde_json::json!({ "error": "server_error" })));
    }
    let mut document =
        serde_json::to_value(issuer.active_keys(provider.now_for(&issuer.name)).jwks()).unwrap_or_default();
    let keys = document["keys"].as_array_mut().expect("a JWKS has keys");
    if provider.misbehaves(&issuer, None, RpCase::JwksUnparseableKey, false) {
        keys.push(serde_json::json!({ "kty": "mockidp-unknown", "kid": "unparseable", "use": "sig", "x": "AAAA" }));
    }
    // While the switch is on (so an RP fetching the JWKS first sees two
    // keys), and while a kid-less token issued under it lives.
    let decoy = provider.misbehaves(&issuer, None, RpCase::KidAbsentMultipleJwks, true)
        || provider.decoy_published(&issuer.name);
    if decoy
        && let Ok(decoy) = mockidp_core::KeyPool::process().get("rp/decoy", issuer.signer().alg())
        && let Some(jwk) = decoy.public_jwk()
    {
        keys.push(serde_json::to_value(jwk).unwrap_or_default());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/jwk-set+json"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(document))
}
