//! The provider's state at run time: issuers with their keys and clients.

use std::{
    collections::BTreeMap,
    sync::{Arc, PoisonError, RwLock},
};

use mockidp_core::{Audience, Clock, KeyPool, KeySet, SigningKey, SystemClock, TokenBuilder};
use serde_json::Value;

use crate::config::{ClientConfig, Config, ConfigError, IssuerConfig, KeyConfig};

/// Everything the HTTP layer serves.
#[derive(Debug)]
pub struct Provider {
    public_url: Option<String>,
    max_body_bytes: usize,
    issuers: RwLock<BTreeMap<String, Arc<Issuer>>>,
    clock: Arc<dyn Clock>,
}

/// One issuer: its keys, clients and settings.
#[derive(Debug)]
pub struct Issuer {
    /// The path segment it lives under.
    pub name: String,
    /// Its keys; the signer signs every token it issues.
    pub keys: KeySet,
    /// Its clients, by client id.
    pub clients: BTreeMap<String, ClientConfig>,
    /// Lifetime of access tokens, in seconds.
    pub access_token_lifetime_secs: i64,
    /// `aud` when the client names none.
    pub default_audience: String,
}

impl Provider {
    /// Builds the provider from a configuration, generating or reusing keys.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let mut issuers = BTreeMap::new();
        for (name, issuer) in &config.issuers {
            issuers.insert(
                name.clone(),
                Arc::new(Issuer::from_config(name, issuer, config.fresh_keys)?),
            );
        }
        Ok(Self {
            public_url: config
                .public_url
                .as_ref()
                .map(|url| url.trim_end_matches('/').to_owned()),
            max_body_bytes: config.max_body_bytes,
            issuers: RwLock::new(issuers),
            clock: Arc::new(SystemClock),
        })
    }

    /// Replaces the clock every issuer reads "now" from.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The issuer under `name`.
    pub fn issuer(&self, name: &str) -> Option<Arc<Issuer>> {
        self.issuers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The names of all issuers.
    pub fn issuer_names(&self) -> Vec<String> {
        self.issuers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// The configured public base URL, if any.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// The base URL for a request that arrived with `scheme` and `host`: the
    /// configured public URL wins.
    pub fn base_url(&self, scheme: &str, host: &str) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => format!("{scheme}://{host}"),
        }
    }

    /// Largest accepted request body.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }
}

impl Issuer {
    fn from_config(
        name: &str,
        config: &IssuerConfig,
        fresh_keys: bool,
    ) -> Result<Self, ConfigError> {
        let mut keys: Option<KeySet> = None;
        for (index, key_config) in config.keys.iter().enumerate() {
            let key = build_key(name, index, key_config, fresh_keys)?;
            match &mut keys {
                Some(set) => set.push(key),
                None => keys = Some(KeySet::new(key)),
            }
        }
        let keys = keys.ok_or_else(|| ConfigError {
            origin: "configuration".into(),
            position: None,
            key: Some(format!("issuers.{name}.keys")),
            message: "expected at least one signing key".into(),
        })?;
        Ok(Self {
            name: name.to_owned(),
            keys,
            clients: config.clients.clone(),
            access_token_lifetime_secs: i64::try_from(config.access_token_lifetime_secs)
                .unwrap_or(i64::MAX),
            default_audience: config.default_audience.clone(),
        })
    }

    /// The signing key.
    pub fn signer(&self) -> &SigningKey {
        self.keys
            .signer()
            .expect("an issuer is never built without keys")
    }

    /// An RFC 9068 access token for `client_id`, before signing: `typ: at+jwt`,
    /// iss, sub, aud, exp, iat, jti, client_id, scope, plus the client's extra claims.
    pub fn access_token(
        &self,
        issuer_url: &str,
        client_id: &str,
        client: &ClientConfig,
        scope: Option<&str>,
        audience: Option<Vec<String>>,
        clock: Arc<dyn Clock>,
    ) -> TokenBuilder {
        let audience = audience.unwrap_or_else(|| {
            if client.audience.is_empty() {
                vec![self.default_audience.clone()]
            } else {
                client.audience.clone()
            }
        });
        let mut builder = TokenBuilder::new(self.signer())
            .with_typ("at+jwt")
            .with_clock(clock)
            .with_lifetime_secs(self.access_token_lifetime_secs)
            .with_issuer(issuer_url)
            .with_subject(client_id)
            .with_audience(Audience::from_list(audience));
        for (name, value) in &client.claims {
            // `set` routes registered names (`sub`, `aud`, …) to their typed
            // field, so a client claim replaces rather than duplicates them.
            // Config validation has already refused values of the wrong type.
            if let Err(err) = builder.claims_mut().set(name, value.clone()) {
                log::warn!("client `{client_id}`: claim `{name}` skipped: {err}");
            }
        }
        builder
            .claims_mut()
            .extra
            .insert("client_id".into(), Value::String(client_id.to_owned()));
        if let Some(scope) = scope {
            builder = builder.with_scope(scope);
        }
        builder
    }
}

fn build_key(
    issuer: &str,
    index: usize,
    config: &KeyConfig,
    fresh: bool,
) -> Result<SigningKey, ConfigError> {
    let failed = |err: mockidp_core::Error| ConfigError {
        origin: "configuration".into(),
        position: None,
        key: Some(format!("issuers.{issuer}.keys.{index}")),
        message: err.to_string(),
    };
    let key = match &config.secret {
        Some(secret) => SigningKey::hmac(config.alg, secret.as_bytes().to_vec()).map_err(failed)?,
        None if fresh => SigningKey::generate(config.alg).map_err(failed)?,
        // Slot per issuer and position: two issuers never share a key; two
        // providers in one process reuse theirs (see ARCHITECTURE.md).
        None => KeyPool::process()
            .get(&format!("{issuer}/{index}"), config.alg)
            .map_err(failed)?,
    };
    Ok(match &config.kid {
        Some(kid) => key.with_kid(kid.as_str()),
        None => key,
    })
}
