//! Reading form-encoded request bodies and client credentials without
//! trusting them.

use actix_web::{HttpMessage, HttpRequest, http::header, web};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use futures_util::StreamExt as _;

use super::error::OAuthError;

/// Parameters that may repeat (RFC 8707 §2: `resource`); every other one
/// must appear at most once (RFC 6749 §3.1).
const REPEATABLE: [&str; 2] = ["resource", "audience"];

/// The parameters of a form-encoded body, in order.
#[derive(Debug, Default)]
pub struct Form {
    params: Vec<(String, String)>,
}

impl Form {
    /// The value of a parameter that appears at most once.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Every parameter, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.params
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.params.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }
}

/// Reads the body up to `limit` bytes and parses it as
/// `application/x-www-form-urlencoded`.
pub async fn read_form(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<Form, OAuthError> {
    let essence = req.content_type();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        let found = if essence.is_empty() { "no content type".to_owned() } else { format!("`{essence}`") };
        return Err(OAuthError::invalid_request(format!(
            "expected a body of type `application/x-www-form-urlencoded`, found {found}"
        )));
    }
    // Refuse a declared oversize at once, before reading any of it.
    if let Some(length) = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        && length > limit
    {
        return Err(OAuthError::payload_too_large(limit));
    }
    let body = read_body(payload, limit).await?;
    let form = parse_form(&body)?;
    req.extensions_mut().insert(crate::recorder::ParsedForm(form.params.clone()));
    Ok(form)
}

/// Reads a body while it stays within `limit` bytes; beyond, 413.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, OAuthError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|err| OAuthError::invalid_request(format!("the request body could not be read: {err}")))?;
        if body.len() + chunk.len() > limit {
            return Err(OAuthError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a form body: UTF-8 only, no repeated parameters, empty values
/// treated as absent (RFC 6749 §3.1).
pub fn parse_form(body: &[u8]) -> Result<Form, OAuthError> {
    if std::str::from_utf8(body).is_err() {
        return Err(OAuthError::invalid_request("the request body is not UTF-8 text"));
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(body) {
        if value.is_empty() {
            continue;
        }
        if value.contains('\u{FFFD}') || key.contains('\u{FFFD}') {
            return Err(OAuthError::invalid_request(format!("parameter `{key}` is not valid percent-encoded UTF-8")));
        }
        if !REPEATABLE.contains(&key.as_ref()) && params.iter().any(|(seen, _)| *seen == key) {
            return Err(OAuthError::invalid_request(format!("parameter `{key}` appears more than once")));
        }
        params.push((key.into_owned(), value.into_owned()));
    }
    Ok(Form { params })
}

/// How a client presented its credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic` (RFC 6749 §2.3.1).
    Basic { client_id: String, secret: String },
    /// `client_secret_post`.
    Post { client_id: String, secret: String },
    /// Only a `client_id`: a public client.
    None { client_id: String },
}

impl ClientAuth {
    /// The client id presented.
    pub fn client_id(&self) -> &str {
        match self {
            ClientAuth::Basic { client_id, .. }
            | ClientAuth::Post { client_id, .. }
            | ClientAuth::None { client_id } => client_id,
        }
    }
}

/// Finds the client's credentials in the `Authorization` header or the body.
/// `realm` goes into the `WWW-Authenticate` challenge of a 401.
pub fn client_auth(req: &HttpRequest, form: &Form, realm: &str) -> Result<ClientAuth, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let Some(authorization) = req.headers().get(header::AUTHORIZATION) else {
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(ClientAuth::Post { client_id: id.to_owned(), secret: secret.to_owned() }),
            (Some(id), None) => Ok(ClientAuth::None { client_id: id.to_owned() }),
            (None, Some(_)) => Err(OAuthError::invalid_request("`client_secret` sent without `client_id`")),
            (None, None) => Err(OAuthError::invalid_client(
                realm,
                "no client authentication: send HTTP Basic credentials or `client_id` and `client_secret` in the body",
            )),
        };
    };
    let malformed = || OAuthError::invalid_client(realm, "malformed HTTP Basic credentials");
    let authorization = authorization.to_str().map_err(|_| malformed())?;
    let Some(encoded) = authorization.strip_prefix("Basic ").or_else(|| authorization.strip_prefix("basic ")) else {
        let scheme = authorization.split(' ').next().unwrap_or_default();
        return Err(OAuthError::invalid_client(
            realm,
            format!("unsupported authorization scheme `{scheme}` at the token endpoint, expected `Basic`"),
        ));
    };
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "the client authenticated with more than one method (HTTP Basic and `client_secret`)",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    // RFC 6749 §2.3.1: both halves are form-urlencoded before base64.
    let client_id = form_decode(id);
    let secret = form_decode(secret);
    if let Some(body_id) = body_id
        && body_id != client_id
    {
        return Err(OAuthError::invalid_request("`client_id` in the body differs from the HTTP Basic user"));
    }
    Ok(ClientAuth::Basic { client_id, secret })
}

/// Authenticates the client of a request to `issuer`: its credentials, if
/// it is confidential, must match; a public client names itself with
/// `client_id` alone.
pub fn authenticate_client<'a>(
    req: &HttpRequest,
    form: &Form,
    issuer: &'a crate::Issuer,
) -> Result<(ClientAuth, String, &'a crate::config::ClientConfig), OAuthError> {
    let realm = &issuer.name;
    let auth = client_auth(req, form, realm)?;
    let client_id = auth.client_id().to_owned();
    req.extensions_mut().insert(crate::recorder::PresentedClient(client_id.clone()));
    let Some(client) = issuer.client(&client_id) else {
        return Err(OAuthError::invalid_client(realm, format!("unknown client `{client_id}`")));
    };
    match (&auth, &client.secret) {
        (ClientAuth::Basic { secret, .. } | ClientAuth::Post { secret, .. }, Some(expected)) => {
            if !mockidp_core::ClientSecret::new(expected.clone()).matches(secret) {
                return Err(OAuthError::invalid_client(realm, format!("wrong secret for client `{client_id}`")));
            }
        }
        (ClientAuth::Basic { .. } | ClientAuth::Post { .. }, None) => {
            return Err(OAuthError::invalid_client(realm, format!("client `{client_id}` is public and has no secret")));
        }
        (ClientAuth::None { .. }, Some(_)) => {
            return Err(OAuthError::invalid_client(
                realm,
                format!("client `{client_id}` is confidential: send its secret"),
            ));
        }
        (ClientAuth::None { .. }, None) => {}
    }
    Ok((auth, client_id, client))
}

fn form_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameter_is_refused() {
        let err = parse_form(b"grant_type=a&grant_type=b").unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
    }

    #[test]
    fn empty_values_count_as_absent() {
        let form = parse_form(b"scope=&grant_type=client_credentials").unwrap();
        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
    }

    #[test]
    fn resource_may_repeat() {
        let form = parse_form(b"resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb").unwrap();
        assert_eq!(form.all("resource"), ["https://a", "https://b"]);
    }

    #[test]
    fn basic_halves_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c"), "a:b c");
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert!(parse_form(b"grant_type=\xff\xfe").is_err());
        assert!(parse_form(b"grant_type=%FF").is_err());
    }
}
