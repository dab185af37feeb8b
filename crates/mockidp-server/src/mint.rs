//! Minting any token: the admin API's `tokens` endpoint and the scanner's
//! custom cases share it.

use mockidp_core::{Algorithm, Audience, Claims, TokenBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::{Provider, config::ClientConfig, http::OAuthError};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// What to mint; unset fields take the defaults of the token endpoint.
pub struct MintRequest {
    /// Client whose defaults (audience, claims, signing algorithm) apply; the first client when unset.
    pub client_id: Option<String>,
    /// `sub`; the client id when unset.
    pub sub: Option<String>,
    /// `aud`: a string or an array.
    pub aud: Option<Audience>,
    /// `scope`.
    pub scope: Option<String>,
    /// Any other claims; registered names replace the defaults, `null` removes one.
    pub claims: Map<String, Value>,
    /// Header parameters (`kid`, `typ`, `jku`, `crit`, …).
    pub header: Map<String, Value>,
    /// Sign with the issuer's key of this algorithm.
    pub alg: Option<Algorithm>,
    /// Lifetime in seconds when `exp` is not given.
    pub lifetime_secs: Option<i64>,
}

impl Provider {
    /// Mints a token from the issuer `name` (reached at `base`) as `request` says.
    pub fn mint(&self, name: &str, base: &str, request: &MintRequest) -> Result<(String, Claims), OAuthError> {
        let issuer = self.issuer(name).ok_or_else(|| OAuthError::unknown_issuer(name))?;
        let default_client = ClientConfig::default();
        let (client_id, client) = match &request.client_id {
            Some(id) => (id.clone(), issuer.client(id).unwrap_or(&default_client)),
            None => issuer
                .config
                .clients
                .iter()
                .next()
                .map_or(("mockidp".to_owned(), &default_client), |(id, client)| (id.clone(), client)),
        };
        let key = match request.alg {
            Some(alg) => issuer
                .key_for_alg(alg)
                .ok_or_else(|| OAuthError::invalid_request(format!("issuer `{name}` has no `{alg}` key")))?,
            None => issuer.signer_for(client),
        };
        let audience = request.aud.clone().unwrap_or_else(|| {
            Audience::from_list(if client.audience.is_empty() {
                vec![issuer.config.default_audience.clone()]
            } else {
                client.audience.clone()
            })
        });
        let mut builder = TokenBuilder::new(key)
            .with_typ("at+jwt")
            .with_clock(self.clock_for(name))
            .with_lifetime_secs(
                request
                    .lifetime_secs
                    .unwrap_or(i64::try_from(issuer.config.access_token_lifetime_secs).unwrap_or(3600)),
            )
            .with_issuer(issuer.issuer_url(base))
            .with_subject(request.sub.clone().unwrap_or_else(|| client_id.clone()))
            .with_audience(audience);
        let invalid = |err: mockidp_core::Error| OAuthError::invalid_request(err.to_string());
        for (claim, value) in &client.claims {
            builder = builder.with_claim(claim, value.clone()).map_err(invalid)?;
        }
        builder = builder.with_claim("client_id", json!(client_id)).map_err(invalid)?;
        if let Some(scope) = &request.scope {
            builder = builder.with_scope(scope);
        }
        for (claim, value) in &request.claims {
            builder = if value.is_null() {
                builder.without_claim(claim)
            } else {
                builder.with_claim(claim, value.clone()).map_err(invalid)?
            };
        }
        for (param, value) in &request.header {
            if param == "alg" {
                return Err(OAuthError::invalid_request(
                    "set `alg` at the top level; the header `alg` follows the key",
                ));
            }
            builder = builder.with_header_param(param, value.clone()).map_err(invalid)?;
        }
        let claims = builder.finished_claims().map_err(invalid)?;
        let token = builder.with_claims(claims.clone()).sign().map_err(invalid)?;
        Ok((token, claims))
    }
}
