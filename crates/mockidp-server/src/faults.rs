//! Fault injection: an endpoint answers with a status, a delay, a
//! malformed body or a dropped connection, for the next N requests or
//! until cleared. For testing that clients fail closed and time out.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use actix_web::{
    HttpResponse,
    body::BoxBody,
    dev::{Service, ServiceRequest, ServiceResponse},
    http::StatusCode,
    web::{self, Bytes},
};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::Provider;

/// The endpoints a fault can hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// OpenID discovery and RFC 8414 metadata.
    Discovery,
    /// The JWKS.
    Jwks,
    /// The authorization endpoint.
    Authorize,
    /// The token endpoint.
    Token,
    /// UserInfo.
    Userinfo,
    /// Introspection.
    Introspect,
    /// Revocation.
    Revoke,
    /// Device authorization and verification.
    Device,
    /// RP-initiated logout.
    EndSession,
    /// Every endpoint of the issuer.
    Any,
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Where.
    pub endpoint: Endpoint,
    /// Answer with this status instead of the real answer.
    #[serde(default)]
    pub status: Option<u16>,
    /// Wait this long first, in milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Answer with this body (malformed JSON, say), with `status` or 200.
    #[serde(default)]
    pub body: Option<String>,
    /// Close the connection without a complete answer.
    #[serde(default)]
    pub drop: bool,
    /// For the next this many requests; until cleared when unset.
    #[serde(default)]
    pub times: Option<u32>,
}

impl Default for Fault {
    /// A fault on every endpoint that does nothing yet: set what goes wrong.
    fn default() -> Self {
        Fault { endpoint: Endpoint::Any, status: None, delay_ms: None, body: None, drop: false, times: None }
    }
}

/// Faults by issuer.
#[derive(Debug, Default)]
pub struct Faults {
    entries: Mutex<Vec<(String, Fault)>>,
}

impl Faults {
    /// Adds a fault for `issuer`.
    pub fn add(&self, issuer: &str, fault: Fault) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).push((issuer.to_owned(), fault));
    }

    /// Clears every fault of `issuer`.
    pub fn clear(&self, issuer: &str) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).retain(|(name, _)| name != issuer);
    }

    /// The fault that hits this request, one use consumed.
    pub fn take(&self, issuer: &str, endpoint: Endpoint) -> Option<Fault> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let index = entries.iter().position(|(name, fault)| {
            name == issuer && (fault.endpoint == endpoint || fault.endpoint == Endpoint::Any)
        })?;
        let fault = entries[index].1.clone();
        if let Some(times) = &mut entries[index].1.times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                entries.remove(index);
            }
        }
        Some(fault)
    }
}

/// The issuer and endpoint a path addresses.
pub fn classify(path: &str) -> Option<(String, Endpoint)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [".well-known", _, issuer] => Some(((*issuer).to_owned(), Endpoint::Discovery)),
        [issuer, ".well-known", _] => Some(((*issuer).to_owned(), Endpoint::Discovery)),
        [issuer, rest @ ..] if !issuer.starts_with('_') => {
            let endpoint = match rest.first().copied()? {
                "jwks" => Endpoint::Jwks,
                "authorize" => Endpoint::Authorize,
                "token" => Endpoint::Token,
                "userinfo" => Endpoint::Userinfo,
                "introspect" => Endpoint::Introspect,
                "revoke" => Endpoint::Revoke,
                "device" | "device_authorization" => Endpoint::Device,
                "end_session" => Endpoint::EndSession,
                _ => return None,
            };
            Some(((*issuer).to_owned(), endpoint))
        }
        _ => None,
    }
}

/// Middleware: applies the fault that hits a request, if any.
pub fn inject<S>(
    req: ServiceRequest,
    service: &S,
) -> LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
    S::Future: 'static,
{
    let fault = classify(req.path()).and_then(|(issuer, endpoint)| {
        req.app_data::<web::Data<Provider>>().and_then(|provider| provider.faults().take(&issuer, endpoint))
    });
    let Some(fault) = fault else {
        return Box::pin(service.call(req));
    };
    let delay = Duration::from_millis(fault.delay_ms.unwrap_or(0));
    if fault.drop {
        return Box::pin(async move {
            actix_web::rt::time::sleep(delay).await;
            // Headers go out, then the body fails: the client sees the
            // connection close before a complete answer.
            let broken = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("mockidp fault: connection dropped"))
            });
            Ok(req.into_response(HttpResponse::Ok().streaming(broken)))
        });
    }
    if fault.status.is_some() || fault.body.is_some() {
        let status = fault.status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
        let body = fault
            .body
            .clone()
            .unwrap_or_else(|| r#"{"error":"server_error","error_description":"mockidp fault injection"}"#.to_owned());
        return Box::pin(async move {
            actix_web::rt::time::sleep(delay).await;
            Ok(req.into_response(HttpResponse::build(status).content_type("application/json").body(body)))
        });
    }
    let call = service.call(req);
    Box::pin(async move {
        actix_web::rt::time::sleep(delay).await;
        call.await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_issuer_and_endpoint() {
        assert_eq!(classify("/default/jwks"), Some(("default".into(), Endpoint::Jwks)));
        assert_eq!(
            classify("/default/.well-known/openid-configuration"),
            Some(("default".into(), Endpoint::Discovery))
        );
        assert_eq!(classify("/.well-known/oauth-authorization-server/p"), Some(("p".into(), Endpoint::Discovery)));
        assert_eq!(classify("/default/token"), Some(("default".into(), Endpoint::Token)));
        assert_eq!(classify("/_mockidp/admin/requests"), None);
        assert_eq!(classify("/"), None);
    }

    #[test]
    fn faults_run_out() {
        let faults = Faults::default();
        faults.add(
            "a",
            Fault {
                endpoint: Endpoint::Jwks,
                status: Some(500),
                delay_ms: None,
                body: None,
                drop: false,
                times: Some(2),
            },
        );
        assert!(faults.take("a", Endpoint::Jwks).is_some());
        assert!(faults.take("b", Endpoint::Jwks).is_none());
        assert!(faults.take("a", Endpoint::Token).is_none());
        assert!(faults.take("a", Endpoint::Jwks).is_some());
        assert!(faults.take("a", Endpoint::Jwks).is_none());
    }
}
