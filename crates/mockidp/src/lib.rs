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

/// The provider in a container (feature `testcontainers`).
#[cfg(feature = "testcontainers")]
pub mod testcontainers {
    pub use crate::container::{MockIdpImage, PORT};
}
#[cfg(feature = "testcontainers")]
mod container;
#[cfg(feature = "wiremock")]
mod mount;

pub use mockidp_core::{
    Algorithm, Audience, Claims, Clock, FixedClock, Header, Jwk, JwkSet, ManualClock, SigningKey, SystemClock,
    TokenBuilder,
};
pub use mockidp_core::{
    pitfall::{Pitfall, PitfallError, Verdict, Watch},
    rp::RpCase,
};
pub use mockidp_server::RecordedRequest;
pub use mockidp_server::config::{
    AccessTokenFormat, ClaimMapping, ClientConfig, Config, GrantType, IssuerConfig, KeyConfig, LoginMode, UserConfig,
};
pub use mockidp_server::pitfalls::{MintedPitfall, PitfallOptions};
use mockidp_server::{Provider, embedded::Embedded};
pub use mockidp_server::{
    Switch,
    faults::{Endpoint, Fault},
    provider_clock::ClockControl,
};

/// The subject of tokens from [`MockIdp::token`] unless set otherwise.
pub const DEFAULT_SUBJECT: &str = "alice";

/// A running mock identity provider. Stops when dropped.
#[derive(Debug)]
pub struct MockIdp {
    uri: String,
    default_issuer: String,
    provider: Arc<Provider>,
    expectations: std::sync::Mutex<Vec<Expectation>>,
    server: Embedded,
}

/// What the provider is expected to receive, verified when the [`MockIdp`]
/// is dropped (or by [`MockIdp::verify`]), like wiremock's `expect`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use mockidp::{Expectation, MockIdp};
///
/// let idp = MockIdp::start().await;
/// idp.expect(Expectation::token_request().from_client("demo-client").times(0));
/// // ... the code under test must not fetch a token ...
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "an Expectation does nothing until `idp.expect(..)`"]
pub struct Expectation {
    description: String,
    method: Option<String>,
    path_suffix: Option<String>,
    client_id: Option<String>,
    params: Vec<(String, String)>,
    times: Times,
}

/// How many matching requests an expectation wants: `1`, `1..`, `..=2`, `2..4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    min: u64,
    max: Option<u64>,
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Times { min: n, max: Some(n) }
    }
}

impl From<std::ops::RangeFrom<u64>> for Times {
    fn from(range: std::ops::RangeFrom<u64>) -> Self {
        Times { min: range.start, max: None }
    }
}

impl From<std::ops::Range<u64>> for Times {
    fn from(range: std::ops::Range<u64>) -> Self {
        Times { min: range.start, max: Some(range.end.saturating_sub(1)) }
    }
}

impl From<std::ops::RangeInclusive<u64>> for Times {
    fn from(range: std::ops::RangeInclusive<u64>) -> Self {
        Times { min: *range.start(), max: Some(*range.end()) }
    }
}

impl From<std::ops::RangeToInclusive<u64>> for Times {
    fn from(range: std::ops::RangeToInclusive<u64>) -> Self {
        Times { min: 0, max: Some(range.end) }
    }
}

impl std::fmt::Display for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.min, self.max) {
            (min, Some(max)) if min == max => write!(f, "exactly {min}"),
            (0, Some(max)) => write!(f, "at most {max}"),
            (min, None) => write!(f, "at least {min}"),
            (min, Some(max)) => write!(f, "between {min} and {max}"),
        }
    }
}

impl Expectation {
    /// Any request with `method` whose path ends with `path_suffix`
    /// (`/token`, `/default/userinfo`).
    pub fn request(method: &str, path_suffix: &str) -> Self {
        Expectation {
            description: format!("{method} …{path_suffix}"),
            method: Some(method.to_ascii_uppercase()),
            path_suffix: Some(path_suffix.to_owned()),
            client_id: None,
            params: Vec::new(),
            times: Times { min: 1, max: None },
        }
    }

    /// A request to a token endpoint.
    pub fn token_request() -> Self {
        Expectation { description: "token request".into(), ..Self::request("POST", "/token") }
    }

    /// Only requests from this client (HTTP Basic user or `client_id`).
    pub fn from_client(mut self, client_id: &str) -> Self {
        self.description.push_str(&format!(" from client `{client_id}`"));
        self.client_id = Some(client_id.to_owned());
        self
    }

    /// Only requests with this form or query parameter (`grant_type`, `scope`…).
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.description.push_str(&format!(" with `{name}={value}`"));
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    /// How many matching requests are expected: `1`, `1..`, `..=2`, `2..4`.
    pub fn times(mut self, times: impl Into<Times>) -> Self {
        self.times = times.into();
        self
    }

    fn matches(&self, request: &RecordedRequest) -> bool {
        self.method.as_deref().is_none_or(|method| request.method == method)
            && self.path_suffix.as_deref().is_none_or(|suffix| request.path.ends_with(suffix))
            && self.client_id.as_deref().is_none_or(|client| request.client_id.as_deref() == Some(client))
            && self
                .params
                .iter()
                .all(|(name, value)| request.form.get(name) == Some(value) || request.query.get(name) == Some(value))
    }
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

    /// Registers an expectation, verified when the provider is dropped.
    pub fn expect(&self, expectation: Expectation) {
        self.expectations.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(expectation);
    }

    /// Forgets every expectation registered so far.
    pub fn reset_expectations(&self) {
        self.expectations.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// Checks every expectation now; the error is the message `Drop` panics with.
    pub fn verify(&self) -> Result<(), String> {
        let requests = self.received_requests();
        let expectations = self.expectations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let failures: Vec<String> = expectations
            .iter()
            .filter_map(|expectation| {
                let count = requests.iter().filter(|request| expectation.matches(request)).count() as u64;
                let met = count >= expectation.times.min && expectation.times.max.is_none_or(|max| count <= max);
                (!met).then(|| {
                    format!("  - {}: expected {}, received {count}", expectation.description, expectation.times)
                })
            })
            .collect();
        if failures.is_empty() {
            return Ok(());
        }
        let mut message = format!(
            "mockidp: {} expectation{} not met:\n{}\nrequests received ({}):\n",
            failures.len(),
            if failures.len() == 1 { " was" } else { "s were" },
            failures.join("\n"),
            requests.len()
        );
        const SHOWN: usize = 50;
        for request in requests.iter().rev().take(SHOWN).rev() {
            let client = request.client_id.as_deref().map(|c| format!(" client `{c}`")).unwrap_or_default();
            message.push_str(&format!("  {} {}{client} -> {}\n", request.method, request.path, request.status));
        }
        if requests.len() > SHOWN {
            message.push_str(&format!("  (the {} earlier ones are not shown)\n", requests.len() - SHOWN));
        }
        if requests.len() >= mockidp_server::recorder::CAPACITY {
            message.push_str("  (the log keeps the last 1000 requests: counts may miss older ones)\n");
        }
        Err(message)
    }

    /// Switches a relying-party case on for the default issuer, until
    /// [`MockIdp::behave`]; `rp-signing-key-rotation` rotates at once.
    pub fn misbehave(&self, case: RpCase) {
        self.misbehave_with(&self.default_issuer, Switch { case, client_id: None, times: None });
    }

    /// Switches a relying-party case on for `issuer`, per client or for the next N requests.
    ///
    /// # Panics
    ///
    /// If there is no such issuer.
    pub fn misbehave_with(&self, issuer: &str, switch: Switch) {
        if let Err(err) = self.provider.add_switch(issuer, switch) {
            panic!("{err}");
        }
    }

    /// Switches every relying-party case of the default issuer off.
    pub fn behave(&self) {
        self.provider.clear_switches(&self.default_issuer);
    }

    /// Makes an endpoint of the default issuer fail: a status, a delay, a
    /// malformed body or a dropped connection.
    ///
    /// # Panics
    ///
    /// If `times` is 0.
    pub fn inject_fault(&self, fault: Fault) {
        assert_ne!(
            fault.times,
            Some(0),
            "a fault with `times: 0` would never happen; leave `times` out for \"until cleared\""
        );
        self.provider.faults().add(&self.default_issuer, fault);
    }

    /// Clears the default issuer's faults.
    pub fn clear_faults(&self) {
        self.provider.faults().clear(&self.default_issuer);
    }

    /// The provider's clock: move it forward, pin it, reset it.
    pub fn clock(&self) -> &ClockControl {
        self.provider.clock_control()
    }

    /// One issuer's clock, on top of the provider's: move or pin the time
    /// of that issuer alone.
    ///
    /// # Panics
    ///
    /// If there is no such issuer.
    pub fn issuer_clock(&self, name: &str) -> Arc<ClockControl> {
        self.issuer_state(name);
        self.provider.issuer_clock_control(name)
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
            .with_clock(self.provider.clock_for(name))
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

impl Drop for MockIdp {
    fn drop(&mut self) {
        // Never a second panic: a test that already failed says why itself.
        if !std::thread::panicking()
            && let Err(message) = self.verify()
        {
            panic!("{message}");
        }
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
        self.try_start_behind(None).await
    }

    /// Starts the provider; with `public_url`, every URL it hands out names
    /// that server instead of the provider's own socket.
    async fn try_start_behind(self, public_url: Option<String>) -> Result<MockIdp, StartError> {
        let config = self.config;
        let default_issuer = if config.issuers.contains_key("default") {
            "default".to_owned()
        } else {
            config.issuers.keys().next().cloned().unwrap_or_else(|| "default".to_owned())
        };
        let server = Embedded::start_behind(config, 0, self.clock, public_url.clone())?;
        Ok(MockIdp {
            uri: public_url.unwrap_or_else(|| server.uri().to_owned()),
            default_issuer,
            provider: server.provider().clone(),
            expectations: std::sync::Mutex::new(Vec::new()),
            server,
        })
    }
}
