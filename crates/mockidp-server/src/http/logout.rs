//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};

use super::{
    form::{Form, parse_form, read_form},
    html, issuer_of,
};
use crate::{Issuer, Provider};

/// `GET /{issuer}/end_session`.
pub async fn get(req: HttpRequest, name: web::Path<String>, provider: web::Data<Provider>) -> HttpResponse {
    match parse_form(req.query_string().as_bytes()) {
        Ok(form) => end_session(&provider, &name, &form).await,
        Err(err) => html::error_page(StatusCode::BAD_REQUEST, "invalid_request", err.description()),
    }
}

/// `POST /{issuer}/end_session`.
pub async fn post(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> HttpResponse {
    match read_form(&req, payload, provider.max_body_bytes()).await {
        Ok(form) => end_session(&provider, &name, &form).await,
        Err(err) => html::error_page(StatusCode::BAD_REQUEST, "invalid_request", err.description()),
    }
}

async fn end_session(provider: &web::Data<Provider>, name: &str, form: &Form) -> HttpResponse {
    let Ok(issuer) = issuer_of(provider, name) else {
        return html::error_page(StatusCode::NOT_FOUND, "not_found", &format!("no issuer `{name}` on this server"));
    };
    let refuse = |description: String| html::error_page(StatusCode::BAD_REQUEST, "invalid_request", &description);
    // The hint is checked for its signature only: an expired ID token is the
    // usual hint at logout.
    let hinted_client = match form.get("id_token_hint") {
        Some(hint) => match issuer.active_keys(provider.now_for(&issuer.name)).verify_compact(hint) {
            Ok((_, claims)) => {
                claims.extra.get("azp").and_then(|v| v.as_str()).map(str::to_owned).or_else(|| match &claims.aud {
                    Some(mockidp_core::Audience::One(aud)) => Some(aud.clone()),
                    Some(mockidp_core::Audience::Many(auds)) => auds.first().cloned(),
                    None => None,
                })
            }
            Err(err) => {
                return refuse(format!("`id_token_hint` is not an ID token of this issuer: {err}"));
            }
        },
        None => None,
    };
    let client_id = match (form.get("client_id"), hinted_client) {
        (Some(given), Some(hinted)) if given != hinted => {
            return refuse(format!("`client_id` `{given}` differs from the ID token's client `{hinted}`"));
        }
        (Some(given), _) => Some(given.to_owned()),
        (None, hinted) => hinted,
    };
    // Back-channel logout: every client with a `backchannel_logout_uri` learns
    // that the hinted user logged out, before the browser moves on.
    if let Some(hint) = form.get("id_token_hint")
        && let Ok((_, claims)) = issuer.active_keys(provider.now_for(&issuer.name)).verify_compact(hint)
        && let (Some(sub), Some(iss)) = (claims.sub, claims.iss)
        && issuer.config.clients.values().any(|client| client.backchannel_logout_uri.is_some())
    {
        let (provider, issuer) = (provider.clone(), issuer.clone());
        let _ =
            actix_web::rt::task::spawn_blocking(move || provider.backchannel_logout(&issuer, &iss, &sub, None)).await;
    }
    let Some(target) = form.get("post_logout_redirect_uri") else {
        return html::page(StatusCode::OK, "Signed out", "<p>You are signed out.</p>");
    };
    let Some(client_id) = client_id else {
        return refuse(
            "`post_logout_redirect_uri` needs `client_id` or `id_token_hint` to know whose URI it is".into(),
        );
    };
    if !registered(&issuer, &client_id, target) {
        return refuse(format!(
            "`post_logout_redirect_uri` `{target}` is not registered for client `{client_id}`; URIs are compared exactly"
        ));
    }
    let mut location = target.to_owned();
    if let Some(state) = form.get("state") {
        let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("state", state).finish();
        location.push(if location.contains('?') { '&' } else { '?' });
        location.push_str(&query);
    }
    HttpResponse::Found().insert_header((header::LOCATION, location)).finish()
}

fn registered(issuer: &Issuer, client_id: &str, uri: &str) -> bool {
    issuer.client(client_id).is_some_and(|client| client.post_logout_redirect_uris.iter().any(|r| r == uri))
}
