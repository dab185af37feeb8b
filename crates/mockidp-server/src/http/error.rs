//! OAuth 2.0 error responses (RFC 6749 §5.2).

use std::fmt;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde::Serialize;

/// An RFC 6749 §5.2 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A missing, repeated or malformed parameter; a body too large.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// The grant type is not served.
    UnsupportedGrantType,
    /// The scope is unknown or not allowed.
    InvalidScope,
    /// The `resource` is not acceptable (RFC 8707 §2).
    InvalidTarget,
    /// The response type is not served at the authorization endpoint.
    UnsupportedResponseType,
    /// The authorization grant is pending (RFC 8628 §3.5).
    AuthorizationPending,
    /// The client polls too fast (RFC 8628 §3.5).
    SlowDown,
    /// The device code expired (RFC 8628 §3.5).
    ExpiredToken,
    /// The user denied the request.
    AccessDenied,
    /// The user must log in (`prompt=none` with the login page).
    LoginRequired,
    /// The provider failed; never for a client mistake.
    ServerError,
    /// A bearer token is missing a scope (RFC 6750 §3.1).
    InsufficientScope,
    /// A bearer token is invalid (RFC 6750 §3.1).
    InvalidToken,
    /// A pitfall case this issuer cannot produce (409).
    NotApplicable,
    /// No such issuer or endpoint; not an RFC 6749 code, but the same shape.
    NotFound,
    /// The method is not allowed on this endpoint.
    MethodNotAllowed,
}

/// An error answered as `{"error": …, "error_description": …}`.
#[derive(Debug, Clone)]
pub struct OAuthError {
    code: ErrorCode,
    description: String,
    status: StatusCode,
    www_authenticate: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: ErrorCode,
    error_description: &'a str,
}

impl OAuthError {
    /// An error with the status RFC 6749 gives its code.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        // RFC 6749 §5.2: printable ASCII without `"` and `\`; echoed input may have either.
        let description: String = description
            .into()
            .replace('§', "section ")
            .chars()
            .map(|c| match c {
                '"' => '\'',
                '\\' => '/',
                ' '..='~' => c,
                _ => '?',
            })
            .collect();
        let status = match code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::NotApplicable => StatusCode::CONFLICT,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        Self { code, description, status, www_authenticate: None }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`, 401, with the `WWW-Authenticate` challenge RFC 6749 §5.2 asks for.
    pub fn invalid_client(realm: &str, description: impl Into<String>) -> Self {
        let mut err = Self::new(ErrorCode::InvalidClient, description);
        err.www_authenticate = Some(format!("Basic realm=\"{realm}\", charset=\"UTF-8\""));
        err
    }

    /// A body over the limit: 413 with an `invalid_request` body.
    pub fn payload_too_large(limit: usize) -> Self {
        let mut err = Self::invalid_request(format!("the request body exceeds the limit of {limit} bytes"));
        err.status = StatusCode::PAYLOAD_TOO_LARGE;
        err
    }

    /// An unknown issuer.
    pub fn unknown_issuer(name: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no issuer `{name}` on this server"))
    }

    /// A bearer-token failure (RFC 6750 §3): the status of its code and a
    /// `WWW-Authenticate: Bearer` challenge naming the error.
    pub fn bearer(realm: &str, code: ErrorCode, description: impl Into<String>) -> Self {
        let mut err = Self::new(code, description);
        let code_name = serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        err.www_authenticate = Some(format!(
            "Bearer realm=\"{realm}\", error=\"{code_name}\", error_description=\"{}\"",
            err.description.replace(['"', '\\'], "'")
        ));
        err
    }

    /// A request without any bearer token: 401 with a bare challenge (RFC 6750 §3.1).
    pub fn bearer_missing(realm: &str) -> Self {
        let mut err = Self::new(ErrorCode::InvalidRequest, "no bearer token: send `Authorization: Bearer <token>`");
        err.status = StatusCode::UNAUTHORIZED;
        err.www_authenticate = Some(format!("Bearer realm=\"{realm}\""));
        err
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.description)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
        if let Some(challenge) = &self.www_authenticate {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        response.json(Body { error: self.code, error_description: &self.description })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_to_the_rfc_6749_character_set() {
        let err = OAuthError::invalid_request("client `\"x\\y\"` é (RFC 6749 §5.2)");
        assert_eq!(err.description(), "client `'x/y'` ? (RFC 6749 section 5.2)");
    }
}
