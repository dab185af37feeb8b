//! A real OpenID Connect provider for your Rust tests, in-process, in milliseconds.
//!
//! [`MockIdp::start`] binds `127.0.0.1:0`, runs the provider on its own
//! thread and runtime (so it works under `#[tokio::test]` and
//! `#[actix_web::test]` alike) and stops it when dropped. Tokens come two
//! ways: over HTTP from its token endpoint, as your application would get
//! them, or straight from [`MockIdp::token`] with no round trip.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mockidp::MockIdp;
//!
//! // Arrange
//! let idp = MockIdp::start().await;
//!
//! // Act
//! let token = idp.token().with_subject("alice").with_scope("orders:read").sign()?;
//!
//! // Assert: a JWT your API can verify against `idp.jwks_uri()`.
//! assert_eq!(token.split('.').count(), 3);
//! assert!(idp.issuer().starts_with("http://127.0.0.1:"));
//! # Ok(())
//! # }
//! ```
//!
//! Keys: each `(issuer, key position, algorithm)` is generated once per
//! process and reused by every provider the process starts, which is what
//! makes a start cost milliseconds instead of an RSA key generation. Use
//! [`MockIdpBuilder::with_fresh_keys`] when a test needs keys no other
//! provider has.

use std::{net::SocketAddr, sync::Arc};

pub use mockidp_core::pitfall::{Pitfall, PitfallError, Verdict, Watch};
pub use mockidp_core::{
    Algorithm, Audience, Claims, Clock, FixedClock, Header, Jwk, JwkSet, ManualClock, SigningKey, SystemClock,
    TokenBuilder,
};
pub use mockidp_server::RecordedRequest;
pub use mockidp_server::config::{
    AccessTokenFormat, ClaimMapping, ClientConfig, Config, GrantType, IssuerConfig, KeyConfig, LoginMode, UserConfig,
};
pub use mockidp_server::pitfalls::{MintedPitfall, PitfallOptions};
use mockidp_server::{Provider, embedded::Embedded};

/// The subject of tokens from [`MockIdp::token`] unless set otherwise.
pub const DEFAULT_SUBJECT: &str = "alice";

/// A running mock identity provider. Stops when dropped.
#[derive(Debug)]
pub struct MockIdp {
    uri: String,
    default_issuer: String,
    provider: Arc<Provider>,
    server: Embedded,
}

/// Settings for a [`MockIdp`]; [`MockIdpBuilder::start`] runs it.
#[derive(Debug, Clone)]
#[must_use = "a MockIdpBuilder does nothing until `.start().await`"]
pub struct MockIdpBuilder {
    config: Config,
    clock: Option<Arc<dyn Clock>>,
}

/// Why a provider could not start.
pub use mockidp_server::embedded::StartError;

impl MockIdp {
    /// Starts a provider with the embedded default configuration: issuer
    /// `default`, client `demo-client` / `demo-secret`.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound; use [`MockIdpBuilder::try_start`] to handle that.
    pub async fn start() -> MockIdp {
        Self::builder().start().await
    }

    /// A builder, starting from the embedded default configuration with
    /// one change: the `default` issuer logs in headlessly (`login = "auto"`),
    /// since a test has nobody to click the login page.
    pub fn builder() -> MockIdpBuilder {
        let mut config = Config::embedded_default();
        if let Some(issuer) = config.issuers.get_mut("default") {
            issuer.login = LoginMode::Auto;
        }
        MockIdpBuilder { config, clock: None }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The socket address the provider listens on.
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// The default issuer's URL, the `iss` of its tokens: `issuer_url("default")`,
    /// or the first issuer by name when there is no `default`.
    pub fn issuer(&self) -> String {
        self.issuer_url(&self.default_issuer)
    }

    /// The identifier of the issuer named `name`: its `issuer_url` when
    /// configured, else `{uri}/{name}`.
    pub fn issuer_url(&self, name: &str) -> String {
        match self.provider.issuer(name) {
            Some(issuer) => issuer.issuer_url(&self.uri),
            None => format!("{}/{name}", self.uri),
        }
    }

    /// Where the issuer named `name` is served: `{uri}/{name}`, whatever its
    /// `issuer_url` says.
    pub fn endpoint_base(&self, name: &str) -> String {
        format!("{}/{name}", self.uri)
    }

    /// The default issuer's discovery document URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.endpoint_base(&self.default_issuer))
    }

    /// The default issuer's JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.endpoint_base(&self.default_issuer))
    }

    /// The default issuer's token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.endpoint_base(&self.default_issuer))
    }

    /// The admin API's base URL, `{uri}/_mockidp/admin`.
    pub fn admin_url(&self) -> String {
        format!("{}/_mockidp/admin", self.uri)
    }

    /// Every request the provider received, oldest first, secrets redacted
    /// (the last 1000 are kept).
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.provider.received_requests()
    }

    /// The pitfall `id` from the default issuer, with default options: a
    /// token broken in exactly that one way (see `docs/pitfalls.md`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = mockidp::MockIdp::start().await;
    /// let expired = idp.pitfall("expired")?;
    /// assert_eq!(expired.case().verdict, mockidp::Verdict::Reject);
    /// assert_eq!(expired.token().split('.').count(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pitfall(&self, id: &str) -> Result<PitfallToken, PitfallError> {
        self.pitfall_with(id, &PitfallOptions::default())
    }

    /// The pitfall `id` from the default issuer for a given audience,
    /// subject, scopes…
    pub fn pitfall_with(&self, id: &str, options: &PitfallOptions) -> Result<PitfallToken, PitfallError> {
        self.pitfall_for(&self.default_issuer, id, options)
    }

    /// The pitfall `id` from the issuer named `issuer`.
    pub fn pitfall_for(&self, issuer: &str, id: &str, options: &PitfallOptions) -> Result<PitfallToken, PitfallError> {
        let minted = self.provider.forge_pitfall(issuer, id, &self.uri, options)?;
        Ok(PitfallToken { minted, provider: self.provider.clone() })
    }

    /// Every case of the catalogue from the default issuer, in catalogue
    /// order; a case that needs what this provider lacks (an ES256 key, a
    /// second issuer) comes with the reason.
    pub fn pitfalls(&self, options: &PitfallOptions) -> Vec<(&'static Pitfall, Result<PitfallToken, PitfallError>)> {
        mockidp_core::pitfall::catalogue().iter().map(|case| (case, self.pitfall_with(case.id, options))).collect()
    }

    /// The key the default issuer signs with.
    pub fn signing_key(&self) -> SigningKey {
        self.issuer_state(&self.default_issuer).signer().clone()
    }

    /// A signed RFC 9068 access token from the default issuer, minted in
    /// process: `typ: at+jwt`, `iss`, `sub` [`DEFAULT_SUBJECT`], `aud` the
    /// first client's audience, `client_id` that client, `exp` one
    /// lifetime ahead, `iat`, `jti`. Change any of it before `.sign()`.
    pub fn token(&self) -> TokenBuilder {
        self.token_for(&self.default_issuer)
    }

    /// Like [`MockIdp::token`], from the issuer named `name`.
    ///
    /// # Panics
    ///
    /// If there is no such issuer.
    pub fn token_for(&self, name: &str) -> TokenBuilder {
        let issuer = self.issuer_state(name);
        let default_client = ClientConfig::default();
        let (client_id, client) = issuer
            .config
            .clients
            .iter()
            .next()
            .map_or(("mockidp", &default_client), |(id, client)| (id.as_str(), client));
        let audience = if client.audience.is_empty() {
            vec![issuer.config.default_audience.clone()]
        } else {
            client.audience.clone()
        };
        let mut builder = TokenBuilder::new(issuer.signer_for(client))
            .with_typ("at+jwt")
            .with_clock(self.provider.clock())
            .with_lifetime_secs(i64::try_from(issuer.config.access_token_lifetime_secs).unwrap_or(i64::MAX))
            .with_issuer(self.issuer_url(name))
            .with_subject(DEFAULT_SUBJECT)
            .with_audience(Audience::from_list(audience));
        let claims = builder.claims_mut();
        for (claim, value) in &client.claims {
            // Config validation refused claims of the wrong type already.
            let _ = claims.set(claim, value.clone());
        }
        claims.extra.insert("client_id".into(), serde_json::Value::String(client_id.to_owned()));
        builder
    }

    fn issuer_state(&self, name: &str) -> Arc<mockidp_server::Issuer> {
        self.provider.issuer(name).unwrap_or_else(|| {
            panic!("mockidp has no issuer `{name}` (it has: {})", self.provider.issuer_names().join(", "))
        })
    }
}

/// A forged pitfall case, bound to the provider that hosts its material.
#[derive(Debug, Clone)]
pub struct PitfallToken {
    minted: MintedPitfall,
    provider: Arc<Provider>,
}

impl PitfallToken {
    /// The token to send as `Authorization: Bearer` (empty for `empty-bearer`).
    pub fn token(&self) -> &str {
        &self.minted.token
    }

    /// The case: id, rule, references, verdict, fix.
    pub fn case(&self) -> &Pitfall {
        &self.minted.case
    }

    /// The URL the token's header names (`jku`, `x5u`), served by the provider.
    pub fn hosted_url(&self) -> Option<&str> {
        self.minted.hosted_url.as_deref()
    }

    /// How many times anyone fetched [`PitfallToken::hosted_url`]: more than
    /// zero means the API fetched a URL taken from a token (SSRF).
    pub fn fetches(&self) -> u64 {
        self.minted.fetch_id.as_deref().and_then(|id| self.provider.pitfall_fetches(id)).unwrap_or(0)
    }
}

impl MockIdpBuilder {
    /// Replaces the whole configuration. `bind`, `port` and `public_url` are
    /// ignored: the provider always listens on `127.0.0.1:0`.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Adds or replaces an issuer.
    pub fn with_issuer(mut self, name: impl Into<String>, issuer: IssuerConfig) -> Self {
        self.config.issuers.insert(name.into(), issuer);
        self
    }

    /// Reads time from `clock`: share a [`ManualClock`] with the test to
    /// expire codes and tokens without sleeping.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Generates new keys for this provider instead of reusing the process's.
    pub fn with_fresh_keys(mut self) -> Self {
        self.config.fresh_keys = true;
        self
    }

    /// Starts the provider.
    ///
    /// # Panics
    ///
    /// If it cannot start; the message says why.
    pub async fn start(self) -> MockIdp {
        match self.try_start().await {
            Ok(idp) => idp,
            Err(err) => panic!("{err}"),
        }
    }

    /// Starts the provider, returning why it could not.
    pub async fn try_start(self) -> Result<MockIdp, StartError> {
        let config = self.config;
        let default_issuer = if config.issuers.contains_key("default") {
            "default".to_owned()
        } else {
            config.issuers.keys().next().cloned().unwrap_or_else(|| "default".to_owned())
        };
        let server = Embedded::start(config, 0, self.clock)?;
        Ok(MockIdp { uri: server.uri().to_owned(), default_issuer, provider: server.provider().clone(), server })
    }
}
