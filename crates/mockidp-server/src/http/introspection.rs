//! Token introspection (RFC 7662) and revocation (RFC 7009).

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde_json::{Value, json};

use super::{
    ErrorCode, OAuthError,
    form::{ClientAuth, authenticate_client, read_form},
    issuer_of,
};
use crate::Provider;

/// `POST /{issuer}/introspect`.
pub async fn introspect(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(&provider, &name)?;
    let form = read_form(&req, payload, provider.max_body_bytes()).await?;
    let (auth, _, _) = authenticate_client(&req, &form, &issuer)?;
    if matches!(auth, ClientAuth::None { .. }) {
        return Err(OAuthError::invalid_client(
            &issuer.name,
            "introspection requires a confidential client (RFC 7662 §2.1)",
        ));
    }
    let token = form.get("token").ok_or_else(|| OAuthError::invalid_request("missing `token`"))?;
    let now = provider.now_for(&issuer.name);
    let mut body = json!({ "active": false });
    if let Some(claims) = provider.active_claims(&issuer, token) {
        body = serde_json::to_value(&claims).unwrap_or_else(|_| json!({}));
        body["active"] = json!(true);
        body["token_type"] = json!("Bearer");
        if let Some(user) = claims.sub.as_deref().and_then(|sub| issuer.identity_by_sub(sub))
            && let Some(username) = user.claims.get("preferred_username")
        {
            body["username"] = username.clone();
        }
    } else if let Some(record) = provider.store().refresh(token)
        && record.active
        && record.expires_at > now
        && record.authorization.issuer == issuer.name
    {
        let authorization = &record.authorization;
        body = json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": authorization.client_id,
            "sub": authorization.identity.sub,
            "scope": authorization.scopes.join(" "),
            "exp": record.expires_at,
            "iss": issuer.issuer_url(&super::request_base(&req, &provider)),
        });
    }
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body))
}

/// `POST /{issuer}/revoke`.
pub async fn revoke(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(&provider, &name)?;
    let form = read_form(&req, payload, provider.max_body_bytes()).await?;
    let (_, client_id, _) = authenticate_client(&req, &form, &issuer)?;
    let token = form.get("token").ok_or_else(|| OAuthError::invalid_request("missing `token`"))?;
    let not_yours =
        || OAuthError::new(ErrorCode::UnauthorizedClient, "the token was issued to another client (RFC 7009 §2.1)");

    let refresh = provider.store().refresh(token).filter(|record| record.authorization.issuer == issuer.name).cloned();
    if let Some(record) = refresh {
        if record.authorization.client_id != client_id {
            return Err(not_yours());
        }
        // Revoking a refresh token ends its grant, access tokens included.
        provider.store().revoke_grant(record.grant_id);
        return Ok(HttpResponse::Ok().finish());
    }
    if let Some(claims) = provider.active_token(&issuer, token, crate::tokens::TokenKind::Access) {
        if claims.extra.get("client_id") != Some(&Value::String(client_id.clone())) {
            return Err(not_yours());
        }
        let mut store = provider.store();
        if !store.revoke_opaque(token)
            && let Some(jti) = &claims.jti
        {
            store.revoke_jti(jti, claims.exp.unwrap_or_else(|| provider.now_for(&issuer.name)));
        }
    }
    // RFC 7009 §2.2: an unknown or already invalid token is not an error.
    Ok(HttpResponse::Ok().finish())
}
