//! The provider's state at run time: issuers with their keys, clients and
//! users, and the store of what was issued.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock},
};

use mockidp_core::{Clock, KeyPool, KeySet, SigningKey, SystemClock, rp::RpCase};

use crate::{
    config::{ClientConfig, Config, ConfigError, IssuerConfig, KeyConfig, UserConfig},
    pitfalls::Hosting,
    recorder::{RecordedRequest, Recorder},
    store::Store,
    users::Identity,
};

/// Everything the HTTP layer serves.
#[derive(Debug)]
pub struct Provider {
    public_url: Option<String>,
    max_body_bytes: usize,
    admin_token: Option<String>,
    fresh_keys: bool,
    issuers: RwLock<BTreeMap<String, Arc<Issuer>>>,
    store: Mutex<Store>,
    recorder: Mutex<Recorder>,
    hosting: Mutex<Hosting>,
    switches: Mutex<Vec<(String, Switch)>>,
    faults: crate::faults::Faults,
    clock: Arc<ClockControl>,
    issuer_clocks: Mutex<std::collections::HashMap<String, Arc<ClockControl>>>,
    decoys: Mutex<std::collections::HashMap<String, i64>>,
}

/// The provider's clock: a base clock (the wall clock, or one a test
/// injected) that the admin API can move forward or pin.
#[derive(Debug)]
pub struct ClockControl {
    base: Arc<dyn Clock>,
    offset: std::sync::atomic::AtomicI64,
    pinned: Mutex<Option<i64>>,
}

impl ClockControl {
    fn new(base: Arc<dyn Clock>) -> Self {
        Self { base, offset: std::sync::atomic::AtomicI64::new(0), pinned: Mutex::new(None) }
    }

    /// Moves time forward by `secs` (back, if negative).
    pub fn advance(&self, secs: i64) {
        let mut pinned = self.pinned.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *pinned {
            Some(at) => *at += secs,
            None => {
                self.offset.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    /// Stops time at `at`.
    pub fn pin(&self, at: i64) {
        *self.pinned.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    /// Back to the base clock.
    pub fn reset(&self) {
        *self.pinned.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.offset.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ClockControl {
    fn now(&self) -> i64 {
        match *self.pinned.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(at) => at,
            None => self.base.now() + self.offset.load(std::sync::atomic::Ordering::SeqCst),
        }
    }
}

/// A relying-party case switched on at run time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    /// The case.
    #[serde(rename = "id")]
    pub case: RpCase,
    /// Only for this client; every client when unset.
    #[serde(default)]
    pub client_id: Option<String>,
    /// For the next this many requests it applies to; until cleared when unset.
    #[serde(default)]
    pub times: Option<u32>,
}

/// One issuer: its settings, clients, users and keys. Immutable; a change
/// replaces the whole issuer, so a request sees one consistent version.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// The path segment it lives under.
    pub name: String,
    /// Its configuration.
    pub config: IssuerConfig,
    /// Its keys; the signer signs unless a client asks for another algorithm.
    /// Use [`Issuer::active_keys`]: some may be past their retirement.
    pub keys: KeySet,
    /// When rotated-out keys stop being published, by kid.
    pub retire_at: BTreeMap<String, i64>,
}

fn config_error(key: String, message: impl Into<String>) -> ConfigError {
    ConfigError { origin: "configuration".into(), position: None, key: Some(key), message: message.into() }
}

impl Provider {
    /// Builds the provider from a configuration, generating or reusing keys.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let mut issuers = BTreeMap::new();
        for (name, issuer) in &config.issuers {
            issuers.insert(name.clone(), Arc::new(Issuer::from_config(name, issuer, config.fresh_keys)?));
        }
        Ok(Self {
            public_url: config.public_url.as_ref().map(|url| url.trim_end_matches('/').to_owned()),
            max_body_bytes: config.max_body_bytes,
            admin_token: config.admin_token.clone(),
            fresh_keys: config.fresh_keys,
            issuers: RwLock::new(issuers),
            store: Mutex::new(Store::default()),
            recorder: Mutex::new(Recorder::default()),
            hosting: Mutex::new(Hosting::default()),
            switches: Mutex::new(Vec::new()),
            faults: crate::faults::Faults::default(),
            issuer_clocks: Mutex::new(std::collections::HashMap::new()),
            decoys: Mutex::new(std::collections::HashMap::new()),
            clock: Arc::new(ClockControl::new(Arc::new(SystemClock))),
        })
    }

    /// Replaces the clock every issuer reads "now" from.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Arc::new(ClockControl::new(clock));
        self
    }

    /// The clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Moving, pinning and resetting the clock of every issuer.
    pub fn clock_control(&self) -> &ClockControl {
        &self.clock
    }

    /// Moving, pinning and resetting one issuer's clock, on top of the
    /// provider's: expiry and rotation of one issuer, the others untouched.
    pub fn issuer_clock_control(&self, issuer: &str) -> Arc<ClockControl> {
        let mut clocks = self.issuer_clocks.lock().unwrap_or_else(PoisonError::into_inner);
        clocks
            .entry(issuer.to_owned())
            .or_insert_with(|| {
                let base: Arc<dyn Clock> = self.clock.clone();
                Arc::new(ClockControl::new(base))
            })
            .clone()
    }

    /// The clock of `issuer`: the provider's, moved by the issuer's own control.
    pub fn clock_for(&self, issuer: &str) -> Arc<dyn Clock> {
        match self.issuer_clocks.lock().unwrap_or_else(PoisonError::into_inner).get(issuer) {
            Some(control) => control.clone(),
            None => self.clock.clone(),
        }
    }

    /// Now, by `issuer`'s clock.
    pub fn now_for(&self, issuer: &str) -> i64 {
        self.clock_for(issuer).now()
    }

    /// Injected faults.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.faults
    }

    /// Now, in seconds since the epoch, by the provider's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The issuer under `name`.
    pub fn issuer(&self, name: &str) -> Option<Arc<Issuer>> {
        self.issuers.read().unwrap_or_else(PoisonError::into_inner).get(name).cloned()
    }

    /// The names of all issuers.
    pub fn issuer_names(&self) -> Vec<String> {
        self.issuers.read().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect()
    }

    /// Adds or replaces an issuer.
    pub fn put_issuer(&self, issuer: Issuer) {
        self.issuers.write().unwrap_or_else(PoisonError::into_inner).insert(issuer.name.clone(), Arc::new(issuer));
    }

    /// Removes an issuer; returns whether it existed.
    pub fn remove_issuer(&self, name: &str) -> bool {
        self.issuers.write().unwrap_or_else(PoisonError::into_inner).remove(name).is_some()
    }

    /// Applies `change` to a copy of the issuer and puts the copy in its
    /// place, atomically with respect to other changes.
    pub fn update_issuer<T>(
        &self,
        name: &str,
        change: impl FnOnce(&mut Issuer) -> Result<T, ConfigError>,
    ) -> Option<Result<T, ConfigError>> {
        let mut issuers = self.issuers.write().unwrap_or_else(PoisonError::into_inner);
        let current = issuers.get(name)?;
        let mut copy = Issuer::clone(current);
        let result = change(&mut copy);
        if result.is_ok() {
            issuers.insert(name.to_owned(), Arc::new(copy));
        }
        Some(result)
    }

    /// Whether new keys are generated rather than taken from the process pool.
    pub fn fresh_keys(&self) -> bool {
        self.fresh_keys
    }

    /// The store of codes, refresh tokens, revocations.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // Every store operation leaves it consistent before it can panic.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attacker material served for pitfall cases.
    pub fn hosting(&self) -> MutexGuard<'_, Hosting> {
        self.hosting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Switches a relying-party case on for `issuer`. `rp-signing-key-rotation`
    /// acts at once: a new key signs from now on, the old one stays published.
    pub fn add_switch(&self, issuer: &str, switch: Switch) -> Result<(), ConfigError> {
        let key = format!("issuers.{issuer}.misbehave");
        let Some(current) = self.issuer(issuer) else {
            return Err(config_error(key, format!("no issuer `{issuer}`")));
        };
        if switch.times == Some(0) {
            return Err(config_error(key, "`times` must be at least 1; leave it out for \"until cleared\""));
        }
        let issuer_wide = [
            RpCase::DiscoveryIssuerMismatch,
            RpCase::JwksUriChanges,
            RpCase::JwksUnavailable,
            RpCase::JwksUnparseableKey,
            RpCase::SigningKeyRotation,
        ];
        if switch.client_id.is_some() && issuer_wide.contains(&switch.case) {
            return Err(config_error(
                key,
                format!("`{}` concerns the whole issuer; leave `client_id` out", switch.case),
            ));
        }
        if switch.case == RpCase::SigningKeyRotation {
            if switch.times.is_some() {
                return Err(config_error(key, "`rp-signing-key-rotation` acts once, at once; leave `times` out"));
            }
            // Generate outside the issuers' lock: RSA takes its time.
            let new_key =
                SigningKey::generate(current.signer().alg()).map_err(|err| config_error(key, err.to_string()))?;
            let rotated = self.update_issuer(issuer, |issuer| {
                let kid = new_key.kid().clone();
                issuer.keys.push(new_key);
                issuer.keys.set_signer(&kid);
                Ok(())
            });
            return rotated.unwrap_or_else(|| Err(config_error(format!("issuers.{issuer}"), "no such issuer")));
        }
        self.switches.lock().unwrap_or_else(PoisonError::into_inner).push((issuer.to_owned(), switch));
        Ok(())
    }

    /// Publishes a decoy key in `issuer`'s JWKS until `until`: the second key
    /// of `rp-kid-absent-multiple-jwks`, kept while the kid-less token lives.
    pub fn publish_decoy(&self, issuer: &str, until: i64) {
        self.decoys.lock().unwrap_or_else(PoisonError::into_inner).insert(issuer.to_owned(), until);
    }

    /// Whether the decoy key is published now.
    pub fn decoy_published(&self, issuer: &str) -> bool {
        let now = self.now_for(issuer);
        self.decoys.lock().unwrap_or_else(PoisonError::into_inner).get(issuer).is_some_and(|until| *until > now)
    }

    /// Switches every run-time case of `issuer` off.
    pub fn clear_switches(&self, issuer: &str) {
        self.switches.lock().unwrap_or_else(PoisonError::into_inner).retain(|(name, _)| name != issuer);
    }

    /// Whether `case` applies to a request of `client_id` at `issuer`: the
    /// issuer's or the client's configuration, or a run-time switch, of
    /// which one use is consumed unless `peek`.
    pub fn misbehaves(&self, issuer: &Issuer, client_id: Option<&str>, case: RpCase, peek: bool) -> bool {
        if issuer.config.misbehave.contains(&case)
            || client_id.and_then(|id| issuer.client(id)).is_some_and(|client| client.misbehave.contains(&case))
        {
            return true;
        }
        let mut switches = self.switches.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(index) = switches.iter().position(|(name, switch)| {
            *name == issuer.name
                && switch.case == case
                && (switch.client_id.is_none() || switch.client_id.as_deref() == client_id)
        }) else {
            return false;
        };
        if !peek && let Some(times) = &mut switches[index].1.times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                switches.remove(index);
            }
        }
        true
    }

    /// The request log.
    pub fn recorder(&self) -> MutexGuard<'_, Recorder> {
        self.recorder.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request received (secrets redacted), oldest first; the last
    /// [`crate::recorder::CAPACITY`] are kept.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.recorder().all()
    }

    /// The configured public base URL, if any.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// The bearer token the admin API requires, if any.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
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

    /// The configuration that reproduces the current state: issuers, users,
    /// clients and settings as changed at run time.
    pub fn to_config(&self) -> Config {
        let issuers = self.issuers.read().unwrap_or_else(PoisonError::into_inner);
        Config {
            public_url: self.public_url.clone(),
            max_body_bytes: self.max_body_bytes,
            fresh_keys: self.fresh_keys,
            admin_token: self.admin_token.clone(),
            issuers: issuers.iter().map(|(name, issuer)| (name.clone(), issuer.to_config(self.now()))).collect(),
            ..Config::default()
        }
    }
}

impl Issuer {
    /// Builds an issuer, generating or reusing its keys.
    pub fn from_config(name: &str, config: &IssuerConfig, fresh_keys: bool) -> Result<Self, ConfigError> {
        let mut keys: Option<KeySet> = None;
        for (index, key_config) in config.keys.iter().enumerate() {
            let key = build_key(name, index, key_config, fresh_keys)?;
            match &mut keys {
                Some(set) => set.push(key),
                None => keys = Some(KeySet::new(key)),
            }
        }
        let keys =
            keys.ok_or_else(|| config_error(format!("issuers.{name}.keys"), "expected at least one signing key"))?;
        for (client_id, client) in &config.clients {
            if let Some(alg) = client.signing_alg
                && keys.for_alg(alg).is_none()
            {
                return Err(config_error(
                    format!("issuers.{name}.clients.{client_id}.signing_alg"),
                    format!("the issuer has no `{alg}` key; add one to `keys`"),
                ));
            }
        }
        Ok(Self { name: name.to_owned(), config: config.clone(), keys, retire_at: BTreeMap::new() })
    }

    /// The keys still published and accepted at `now`: rotated-out keys
    /// stay until their grace period ends.
    pub fn active_keys(&self, now: i64) -> KeySet {
        self.keys.filtered(|key| self.retire_at.get(key.kid().as_str()).is_none_or(|at| *at > now))
    }

    /// The configuration that reproduces this issuer, keys included (as
    /// PEM or secret), signer first, retired keys left out.
    pub fn to_config(&self, now: i64) -> IssuerConfig {
        let mut config = self.config.clone();
        let active = self.active_keys(now);
        let signer = active.signer().map(|key| key.kid().clone());
        let mut keys: Vec<&SigningKey> = active.keys().iter().collect();
        keys.sort_by_key(|key| Some(key.kid()) != signer.as_ref());
        config.keys = keys
            .into_iter()
            .map(|key| KeyConfig {
                alg: key.alg(),
                kid: Some(key.kid().to_string()),
                secret: key.hmac_secret().map(|secret| String::from_utf8_lossy(secret).into_owned()),
                private_key_pem: key.to_pkcs8_pem(),
            })
            .collect();
        config
    }

    /// The client with this id.
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.config.clients.get(client_id)
    }

    /// The signing key.
    pub fn signer(&self) -> &SigningKey {
        self.keys.signer().expect("an issuer is never built without keys")
    }

    /// The key that signs tokens for `client`: its `signing_alg` key, else the signer.
    pub fn signer_for(&self, client: &ClientConfig) -> &SigningKey {
        client.signing_alg.and_then(|alg| self.key_for_alg(alg)).unwrap_or_else(|| self.signer())
    }

    /// The key that signs `alg`: the signer when it is of that algorithm,
    /// else the newest such key not scheduled for retirement.
    pub fn key_for_alg(&self, alg: mockidp_core::Algorithm) -> Option<&SigningKey> {
        let signer = self.signer();
        if signer.alg() == alg {
            return Some(signer);
        }
        self.keys.keys().iter().rev().find(|key| key.alg() == alg && !self.retire_at.contains_key(key.kid().as_str()))
    }

    /// The issuer identifier for a request whose base URL is `base`.
    pub fn issuer_url(&self, base: &str) -> String {
        match &self.config.issuer_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("{base}/{}", self.name),
        }
    }

    /// The configured user `name`.
    pub fn user(&self, name: &str) -> Option<&UserConfig> {
        self.config.users.get(name)
    }

    /// The user `name` as signed in.
    pub fn identity(&self, name: &str) -> Option<Identity> {
        self.user(name).map(|user| Identity::from_user(name, user))
    }

    /// The user headless login signs in without a hint: `default_user`, else
    /// the first user by name.
    pub fn default_identity(&self) -> Option<Identity> {
        match &self.config.default_user {
            Some(name) => self.identity(name),
            None => self.config.users.iter().next().map(|(name, user)| Identity::from_user(name, user)),
        }
    }

    /// The identity a sign-in form chose: a configured `user`, or a typed
    /// subject with claims as a JSON object. The error is shown on the page.
    pub fn sign_in(&self, user: Option<&str>, sub: Option<&str>, claims: Option<&str>) -> Result<Identity, String> {
        if let Some(user) = user.filter(|u| !u.is_empty()) {
            return self.identity(user).ok_or_else(|| format!("unknown user `{user}`"));
        }
        let Some(sub) = sub.map(str::trim).filter(|s| !s.is_empty()) else {
            return Err("pick a user, or type a subject".into());
        };
        let claims = match claims.map(str::trim).filter(|c| !c.is_empty()) {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(claims)) => claims,
                Ok(_) => return Err("claims must be a JSON object, such as {\"roles\": [\"admin\"]}".into()),
                Err(err) => return Err(format!("claims are not valid JSON: {err}")),
            },
        };
        Ok(Identity::custom(sub, claims))
    }

    /// The user whose `sub` (or name) is `sub`.
    pub fn identity_by_sub(&self, sub: &str) -> Option<Identity> {
        self.config
            .users
            .iter()
            .map(|(name, user)| Identity::from_user(name, user))
            .find(|identity| identity.sub == sub)
    }
}

/// Builds the key at `index` of an issuer's `keys`.
pub fn build_key(issuer: &str, index: usize, config: &KeyConfig, fresh: bool) -> Result<SigningKey, ConfigError> {
    let failed = |err: mockidp_core::Error| config_error(format!("issuers.{issuer}.keys.{index}"), err.to_string());
    let key = match (&config.secret, &config.private_key_pem) {
        (Some(secret), _) => SigningKey::hmac(config.alg, secret.as_bytes().to_vec()).map_err(failed)?,
        (None, Some(pem)) => SigningKey::from_pkcs8_pem(config.alg, pem).map_err(failed)?,
        (None, None) if fresh => SigningKey::generate(config.alg).map_err(failed)?,
        // Slot per issuer and position: two issuers never share a key; two
        // providers in one process reuse theirs (see ARCHITECTURE.md).
        (None, None) => KeyPool::process().get(&format!("{issuer}/{index}"), config.alg).map_err(failed)?,
    };
    Ok(match &config.kid {
        Some(kid) => key.with_kid(kid.as_str()),
        None => key,
    })
}
