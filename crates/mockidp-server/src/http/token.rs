//! The token endpoint (RFC 6749 §3.2).

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Serialize;

use super::{
    ErrorCode, OAuthError,
    form::{ClientAuth, client_auth, read_form},
    issuer_of, issuer_url,
};
use crate::{Provider, config::GrantType};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The granted scope, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// `POST /{issuer}/token`.
pub async fn token(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(&provider, &name)?;
    let form = read_form(&req, payload, provider.max_body_bytes()).await?;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("missing `grant_type`"))?;

    let auth = client_auth(&req, &form, &issuer.name)?;
    let client_id = auth.client_id().to_owned();
    let Some(client) = issuer.clients.get(&client_id) else {
        return Err(OAuthError::invalid_client(
            &issuer.name,
            format!("unknown client `{client_id}`"),
        ));
    };
    match (&auth, &client.secret) {
        (ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. }, Some(expected)) => {
            if !mockidp_core::ClientSecret::new(expected.clone()).matches(secret) {
                return Err(OAuthError::invalid_client(
                    &issuer.name,
                    format!("wrong secret for client `{client_id}`"),
                ));
            }
        }
        (ClientAuth::Basic { .. } | ClientAuth::Post { .. }, None) => {
            return Err(OAuthError::invalid_client(
                &issuer.name,
                format!("client `{client_id}` is public and has no secret"),
            ));
        }
        (ClientAuth::None { .. }, Some(_)) => {
            return Err(OAuthError::invalid_client(
                &issuer.name,
                format!("client `{client_id}` is confidential: send its secret"),
            ));
        }
        (ClientAuth::None { .. }, None) => {}
    }

    let Some(grant) = GrantType::parse(grant_type) else {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant type `{grant_type}` is not served, expected `client_credentials`"),
        ));
    };
    if !client.grant_types.contains(&grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "client `{client_id}` may not use the `{}` grant",
                grant.as_str()
            ),
        ));
    }
    match grant {
        GrantType::ClientCredentials => {
            if matches!(auth, ClientAuth::None { .. }) {
                return Err(OAuthError::new(
                    ErrorCode::UnauthorizedClient,
                    "the client_credentials grant is for confidential clients only (RFC 6749 §4.4)",
                ));
            }
            let scope = form.get("scope");
            if let Some(scope) = scope
                && !client.scopes.is_empty()
                && let Some(denied) = scope
                    .split(' ')
                    .find(|s| !s.is_empty() && !client.scopes.iter().any(|allowed| allowed == s))
            {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!(
                        "client `{client_id}` may not request scope `{denied}` (allowed: {})",
                        client.scopes.join(" ")
                    ),
                ));
            }
            let audience = resource_audience(&form)?;
            let iss = issuer_url(&req, &provider, &issuer.name);
            let access_token = issuer
                .access_token(&iss, &client_id, client, scope, audience, provider.clock())
                .sign()
                .map_err(|err| {
                    log::error!("signing an access token for `{client_id}` failed: {err}");
                    OAuthError::new(
                        ErrorCode::InvalidRequest,
                        "the token could not be signed; see the mockidp log",
                    )
                })?;
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::PRAGMA, "no-cache"))
                .json(TokenResponse {
                    access_token,
                    token_type: "Bearer",
                    expires_in: issuer.access_token_lifetime_secs,
                    scope: scope.map(str::to_owned),
                }))
        }
    }
}

/// `aud` from RFC 8707 `resource` parameters, which must be absolute URIs
/// without a fragment; or from `audience` (the Auth0 and navikt spelling).
fn resource_audience(form: &super::form::Form) -> Result<Option<Vec<String>>, OAuthError> {
    let resources = form.all("resource");
    for resource in &resources {
        let absolute = resource.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
        });
        if !absolute || resource.contains('#') {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!(
                    "`resource` must be an absolute URI without a fragment, found `{resource}`"
                ),
            ));
        }
    }
    let mut audience: Vec<String> = resources.into_iter().map(str::to_owned).collect();
    audience.extend(form.all("audience").into_iter().map(str::to_owned));
    Ok((!audience.is_empty()).then_some(audience))
}
