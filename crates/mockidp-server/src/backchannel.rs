//! OpenID Connect Back-Channel Logout 1.0: logout tokens posted to each
//! client's `backchannel_logout_uri`, with the `rp-logout-token-*` defects
//! on request.

use mockidp_core::{Audience, TokenBuilder, b64url, rp::RpCase};
use serde::Serialize;
use serde_json::json;

use crate::{Issuer, Provider, http::OAuthError};

/// The event a logout token must carry (Back-Channel Logout §2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The outcome of posting one logout token.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The client.
    pub client_id: String,
    /// Where the token went.
    pub uri: String,
    /// The client's answer, if it answered.
    pub status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
}

impl Provider {
    /// A logout token for `sub` at `client_id`, with the switched-on defect, if any.
    pub fn logout_token(
        &self,
        issuer: &Issuer,
        issuer_url: &str,
        client_id: &str,
        sub: &str,
    ) -> Result<String, OAuthError> {
        let rp = |case: RpCase| self.misbehaves(issuer, Some(client_id), case, false);
        let failed = |err: mockidp_core::Error| OAuthError::invalid_request(err.to_string());
        let client = issuer.client(client_id).cloned().unwrap_or_default();
        let hmac;
        let wrong_alg = rp(RpCase::LogoutTokenWrongAlg);
        let key = if wrong_alg {
            // HS256 with the client's own secret (OpenID Connect Core §10.1):
            // what a relying party that lets the token choose would verify with.
            let secret = client.secret.clone().unwrap_or_default();
            hmac =
                mockidp_core::SigningKey::hmac(mockidp_core::Algorithm::HS256, secret.into_bytes()).map_err(failed)?;
            &hmac
        } else {
            issuer.signer_for(&client)
        };
        let mut builder = TokenBuilder::new(key)
            .with_kid(if wrong_alg { None } else { Some(key.kid().as_str()) })
            .with_typ("logout+jwt")
            .with_clock(self.clock_for(&issuer.name))
            .with_lifetime_secs(120)
            .with_issuer(if rp(RpCase::LogoutTokenWrongIss) {
                format!("{issuer_url}-other")
            } else {
                issuer_url.to_owned()
            })
            .with_subject(sub)
            .with_audience(Audience::one(if rp(RpCase::LogoutTokenWrongAud) {
                format!("{client_id}-other")
            } else {
                client_id.to_owned()
            }));
        let claims = builder.claims_mut();
        if !rp(RpCase::LogoutTokenNoEvent) {
            let event = if rp(RpCase::LogoutTokenWrongEvent) {
                format!("{LOGOUT_EVENT}-other")
            } else {
                LOGOUT_EVENT.to_owned()
            };
            claims.extra.insert("events".into(), json!({ event: {} }));
        }
        if rp(RpCase::LogoutTokenWithNonce) {
            claims.extra.insert("nonce".into(), json!("a-nonce-a-logout-token-must-not-have"));
        }
        if rp(RpCase::LogoutTokenAlgNone) {
            let claims = builder.finished_claims().map_err(failed)?;
            let header = json!({ "alg": "none", "typ": "logout+jwt" });
            let header = serde_json::to_vec(&header).unwrap_or_default();
            let payload = serde_json::to_vec(&claims).unwrap_or_default();
            return Ok(format!("{}.{}.", b64url(header), b64url(payload)));
        }
        builder.sign().map_err(failed)
    }

    /// Posts a logout token for `sub` to every client of `issuer` with a
    /// `backchannel_logout_uri` (or only to `only`), and reports each answer.
    pub fn backchannel_logout(
        &self,
        issuer: &Issuer,
        issuer_url: &str,
        sub: &str,
        only: Option<&str>,
    ) -> Vec<Delivery> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(5)))
            .build()
            .into();
        let mut deliveries = Vec::new();
        for (client_id, client) in &issuer.config.clients {
            let Some(uri) = &client.backchannel_logout_uri else { continue };
            if only.is_some_and(|only| only != client_id) {
                continue;
            }
            let delivery = match self.logout_token(issuer, issuer_url, client_id, sub) {
                Ok(token) => match agent.post(uri).send_form([("logout_token", token.as_str())]) {
                    Ok(response) => Delivery {
                        client_id: client_id.clone(),
                        uri: uri.clone(),
                        status: Some(response.status().as_u16()),
                        error: None,
                    },
                    Err(err) => Delivery {
                        client_id: client_id.clone(),
                        uri: uri.clone(),
                        status: None,
                        error: Some(err.to_string()),
                    },
                },
                Err(err) => Delivery {
                    client_id: client_id.clone(),
                    uri: uri.clone(),
                    status: None,
                    error: Some(err.description().to_owned()),
                },
            };
            log::info!("back-channel logout of `{sub}` to `{client_id}`: {:?}", delivery.status);
            deliveries.push(delivery);
        }
        deliveries
    }
}
