//! The pitfall catalogue served: forging cases for an issuer, hosting the
//! attacker material `jku-injection` and `x5u-injection` point at, and
//! counting who fetched it.

use std::collections::HashMap;

use mockidp_core::pitfall::{self, Forged, Hosted, Pitfall, PitfallContext, PitfallError};
use serde::{Deserialize, Serialize};

use crate::{Provider, tokens::random_token};

/// Settings for one forged case; unset fields take the issuer's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PitfallOptions {
    /// The audience the target API expects; the first client's audience (or
    /// the issuer's default audience) when unset.
    pub aud: Option<String>,
    /// The subject; the default user (or `alice`) when unset.
    pub sub: Option<String>,
    /// Scopes of the token, space-separated.
    pub scope: Option<String>,
    /// The scope `scope-insufficient` leaves out; the last of `scope` when unset.
    pub required_scope: Option<String>,
    /// The other user of `subject-other-user`; `mallory` when unset.
    pub other_sub: Option<String>,
    /// `client_id` of the token; the issuer's first client when unset.
    pub client_id: Option<String>,
}

/// A forged case, as served.
#[derive(Debug, Clone, Serialize)]
pub struct MintedPitfall {
    /// The case.
    #[serde(flatten)]
    pub case: Pitfall,
    /// The token to send.
    pub token: String,
    /// For cases whose header names a URL: the id its fetches are counted under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_id: Option<String>,
    /// The URL the header names, hosted by this provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosted_url: Option<String>,
}

/// Hosted attacker material and its fetch counter.
#[derive(Debug, Default)]
pub struct Hosting {
    entries: HashMap<String, (Hosted, u64)>,
}

impl Hosting {
    /// Serves `what` under `id` and counts a fetch; `None` for no such material.
    pub fn fetch(&mut self, id: &str, jwks: bool) -> Option<Hosted> {
        let (hosted, count) = self.entries.get_mut(id)?;
        let wanted = matches!(hosted, Hosted::Jwks(_)) == jwks;
        if wanted {
            *count += 1;
        }
        wanted.then(|| hosted.clone())
    }

    /// How many times the material of `id` was fetched.
    pub fn fetches(&self, id: &str) -> Option<u64> {
        self.entries.get(id).map(|(_, count)| *count)
    }
}

impl Provider {
    /// Forges case `id` for the issuer `issuer_name`, reached at `base`
    /// (the provider's base URL as the caller sees it).
    pub fn forge_pitfall(
        &self,
        issuer_name: &str,
        id: &str,
        base: &str,
        options: &PitfallOptions,
    ) -> Result<MintedPitfall, PitfallError> {
        let case = pitfall::find(id)?;
        let issuer = self.issuer(issuer_name).ok_or_else(|| PitfallError::NotApplicable {
            id: case.id,
            reason: format!("no issuer `{issuer_name}` on this server"),
        })?;
        let keys = issuer.active_keys(self.now_for(issuer_name));
        let first_client = issuer.config.clients.iter().next();
        let audience = options.aud.clone().unwrap_or_else(|| {
            first_client
                .and_then(|(_, client)| client.audience.first().cloned())
                .unwrap_or_else(|| issuer.config.default_audience.clone())
        });
        let mut ctx = PitfallContext::new(issuer.issuer_url(base), &keys, audience);
        ctx.subject = options
            .sub
            .clone()
            .or_else(|| issuer.default_identity().map(|identity| identity.sub))
            .unwrap_or_else(|| "alice".into());
        ctx.scopes = options
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        ctx.required_scope = options.required_scope.clone();
        if let Some(other) = &options.other_sub {
            ctx.other_subject = other.clone();
        }
        ctx.client_id = options
            .client_id
            .clone()
            .or_else(|| first_client.map(|(id, _)| id.clone()))
            .unwrap_or_else(|| "mockidp".into());
        ctx.clock = self.clock_for(issuer_name);
        ctx.lifetime_secs = i64::try_from(issuer.config.access_token_lifetime_secs).unwrap_or(3600);
        // The first other issuer by name, which an API trusting several
        // issuers of this server would also trust.
        let other =
            self.issuer_names().into_iter().filter(|name| name != issuer_name).find_map(|name| self.issuer(&name));
        if let Some(other) = &other {
            ctx.other_issuer = Some((other.issuer_url(base), other.signer()));
        }
        let fetch_id = random_token(9);
        let hosted_base = format!("{base}/_mockidp/pitfalls/{fetch_id}");
        ctx.hosted_url = Some(hosted_base.clone());
        let Forged { token, hosted, .. } = case.forge(&ctx)?;
        let (fetch_id, hosted_url) = match hosted {
            Some(hosted) => {
                let file = if matches!(hosted, Hosted::Jwks(_)) { "jwks.json" } else { "cert.pem" };
                self.hosting().entries.insert(fetch_id.clone(), (hosted, 0));
                (Some(fetch_id), Some(format!("{hosted_base}/{file}")))
            }
            None => (None, None),
        };
        Ok(MintedPitfall { case: *case, token, fetch_id, hosted_url })
    }

    /// How many times the material behind `fetch_id` was fetched.
    pub fn pitfall_fetches(&self, fetch_id: &str) -> Option<u64> {
        self.hosting().fetches(fetch_id)
    }
}
