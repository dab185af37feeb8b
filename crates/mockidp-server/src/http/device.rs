//! The device authorization grant (RFC 8628): the device authorization
//! endpoint and the verification page.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use serde_json::json;

use super::{
    ErrorCode, OAuthError,
    form::{authenticate_client, parse_form, read_form},
    html::{self, escape},
    issuer_of, request_base,
};
use crate::{
    Issuer, Provider,
    config::GrantType,
    store::{DeviceRecord, DeviceStatus},
    tokens::random_token,
};

/// User codes use consonants only, so no word can be spelt (RFC 8628 §6.1).
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

fn new_user_code(taken: &std::collections::HashSet<&str>) -> String {
    loop {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the system RNG works");
        let chars: String = bytes.iter().map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % 20])).collect();
        let code = format!("{}-{}", &chars[..4], &chars[4..]);
        if !taken.contains(code.as_str()) {
            return code;
        }
    }
}

/// `POST /{issuer}/device_authorization` (RFC 8628 §3.1, §3.2).
pub async fn authorize(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(&provider, &name)?;
    let form = read_form(&req, payload, provider.max_body_bytes()).await?;
    let (_, client_id, client) = authenticate_client(&req, &form, &issuer)?;
    if !client.grant_types.contains(&GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("client `{client_id}` may not use the device authorization grant"),
        ));
    }
    let scopes: Vec<String> =
        form.get("scope").unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if !client.scopes.is_empty()
        && let Some(denied) = scopes.iter().find(|s| *s != "openid" && !client.scopes.contains(s))
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("client `{client_id}` may not request scope `{denied}`"),
        ));
    }
    let now = provider.now_for(&issuer.name);
    let lifetime = i64::try_from(issuer.config.device_code_lifetime_secs).unwrap_or(i64::MAX);
    let interval = i64::try_from(issuer.config.device_poll_interval_secs).unwrap_or(5);
    let device_code = random_token(32);
    let user_code = {
        let mut store = provider.store();
        let user_code = new_user_code(&store.user_codes());
        store.insert_device(
            device_code.clone(),
            DeviceRecord {
                issuer: issuer.name.clone(),
                client_id,
                scopes,
                user_code: user_code.clone(),
                expires_at: now.saturating_add(lifetime),
                interval,
                last_poll: None,
                status: DeviceStatus::Pending,
            },
            now,
        );
        user_code
    };
    let verification_uri = format!("{}/{}/device", request_base(&req, &provider), issuer.name);
    let complete = format!(
        "{verification_uri}?{}",
        form_urlencoded::Serializer::new(String::new()).append_pair("user_code", &user_code).finish()
    );
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": lifetime,
        "interval": interval,
    })))
}

/// `GET /{issuer}/device`: the page where the user enters the code.
pub async fn page(req: HttpRequest, name: web::Path<String>, provider: web::Data<Provider>) -> HttpResponse {
    let Ok(issuer) = issuer_of(&provider, &name) else {
        return html::error_page(StatusCode::NOT_FOUND, "not_found", &format!("no issuer `{name}` on this server"));
    };
    let user_code = parse_form(req.query_string().as_bytes()).ok().and_then(|f| f.get("user_code").map(str::to_owned));
    verification_page(&issuer, user_code.as_deref(), None)
}

/// `POST /{issuer}/device`: the user's answer.
pub async fn answer(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> HttpResponse {
    let Ok(issuer) = issuer_of(&provider, &name) else {
        return html::error_page(StatusCode::NOT_FOUND, "not_found", &format!("no issuer `{name}` on this server"));
    };
    let form = match read_form(&req, payload, provider.max_body_bytes()).await {
        Ok(form) => form,
        Err(err) => {
            return html::error_page(StatusCode::BAD_REQUEST, "invalid_request", err.description());
        }
    };
    let user_code = form.get("user_code").unwrap_or_default().trim().to_ascii_uppercase();
    let identity = if form.get("action") == Some("deny") {
        None
    } else {
        match issuer.sign_in(form.get("user"), form.get("sub"), form.get("claims")) {
            Ok(identity) => Some(identity),
            Err(message) => return verification_page(&issuer, Some(&user_code), Some(&message)),
        }
    };
    let now = provider.now_for(&issuer.name);
    let mut store = provider.store();
    let Some(record) = store.device_by_user_code(&user_code).filter(|r| r.issuer == issuer.name) else {
        drop(store);
        return verification_page(&issuer, None, Some(&format!("unknown code `{user_code}`")));
    };
    if record.expires_at <= now {
        drop(store);
        return verification_page(&issuer, None, Some("this code expired; start over on the device"));
    }
    if !matches!(record.status, DeviceStatus::Pending) {
        drop(store);
        return verification_page(&issuer, None, Some("this code was already used"));
    }
    let approved = identity.is_some();
    record.status = match identity {
        Some(identity) => DeviceStatus::Approved(identity, now),
        None => DeviceStatus::Denied,
    };
    drop(store);
    let message = if approved { "Device approved. You can return to your device." } else { "Request denied." };
    html::page(StatusCode::OK, "Device", &format!("<p>{}</p>", escape(message)))
}

fn verification_page(issuer: &Issuer, user_code: Option<&str>, message: Option<&str>) -> HttpResponse {
    let code = escape(user_code.unwrap_or_default());
    let users: String = issuer
        .config
        .users
        .keys()
        .map(|name| format!("<button type=\"submit\" name=\"user\" value=\"{0}\">{0}</button>", escape(name)))
        .collect();
    let error = message.map_or(String::new(), |m| format!("<p class=\"error\">{}</p>", escape(m)));
    let body = format!(
        "{error}<form method=\"post\"><label>Code shown on your device<input type=\"text\" name=\"user_code\" value=\"{code}\" required></label>\
<fieldset><legend>Approve as a configured user</legend>{users}</fieldset>\
<fieldset><legend>Or as any subject</legend><label>Subject<input type=\"text\" name=\"sub\"></label>\
<label>Claims (JSON object)<textarea name=\"claims\" rows=\"3\">{{}}</textarea></label>\
<button type=\"submit\">Approve</button></fieldset>\
<button type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Deny</button></form>"
    );
    let status = if message.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    html::page(status, "Connect a device", &body)
}
