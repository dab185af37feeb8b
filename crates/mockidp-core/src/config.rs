//! The provider's configuration as data: issuers, keys, clients, users,
//! claim mappings, and the checks that need more than one field. Loading it
//! (files, environment, layering) is the server's business.

use std::{collections::BTreeMap, fmt, net::IpAddr};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Algorithm;

/// The embedded default configuration, as TOML text.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// The whole provider configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on. `127.0.0.1` unless set: the provider hands out
    /// tokens to anyone who asks.
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// The base URL clients reach the provider at, such as
    /// `http://mockidp:8080`. Unset, each request's `Host` (or `Forwarded`)
    /// header decides, so `localhost` and `127.0.0.1` both work.
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Generate new keys at start instead of reusing the ones generated
    /// earlier in this process.
    pub fresh_keys: bool,
    /// When set, the admin API (`/_mockidp/admin/…`) requires
    /// `Authorization: Bearer <admin_token>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// The issuers, by the path segment they live under.
    pub issuers: BTreeMap<String, IssuerConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            public_url: None,
            max_body_bytes: 64 * 1024,
            fresh_keys: false,
            admin_token: None,
            issuers: BTreeMap::new(),
        }
    }
}

/// One issuer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerConfig {
    /// The exact issuer identifier (`iss`), such as `http://mockidp:8080/default`.
    /// Unset, it is `{public_url}/{name}`, or built from each request's `Host`.
    /// Set it when the browser and your API reach the provider under different
    /// host names (docker-compose) and both must see the same `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_url: Option<String>,
    /// Signing keys; the first one signs, every asymmetric one is published.
    pub keys: Vec<KeyConfig>,
    /// How the authorization endpoint logs users in.
    pub login: LoginMode,
    /// The user `login = "auto"` signs in when the request has no `login_hint`;
    /// the first user by name when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_user: Option<String>,
    /// Lifetime of access tokens, in seconds.
    pub access_token_lifetime_secs: u64,
    /// Lifetime of ID tokens, in seconds.
    pub id_token_lifetime_secs: u64,
    /// Lifetime of refresh tokens, in seconds.
    pub refresh_token_lifetime_secs: u64,
    /// Lifetime of authorization codes, in seconds.
    pub code_lifetime_secs: u64,
    /// Lifetime of device codes (RFC 8628), in seconds.
    pub device_code_lifetime_secs: u64,
    /// Minimum seconds between device-code polls before `slow_down`.
    pub device_poll_interval_secs: u64,
    /// `aud` for tokens whose client names no audience.
    pub default_audience: String,
    /// The users, by user name; the name is the `sub` unless the claims set one.
    pub users: BTreeMap<String, UserConfig>,
    /// The clients, by client id.
    pub clients: BTreeMap<String, ClientConfig>,
    /// Claims added to tokens when a request matches (navikt's `requestMappings`).
    pub claim_mappings: Vec<ClaimMapping>,
    /// Relying-party cases always on for this issuer (`rp-id-token-wrong-nonce`, …).
    pub misbehave: Vec<crate::rp::RpCase>,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            issuer_url: None,
            keys: vec![KeyConfig::generated(Algorithm::RS256)],
            login: LoginMode::Form,
            default_user: None,
            access_token_lifetime_secs: 3600,
            id_token_lifetime_secs: 3600,
            refresh_token_lifetime_secs: 86_400,
            code_lifetime_secs: 60,
            device_code_lifetime_secs: 600,
            device_poll_interval_secs: 5,
            default_audience: "api".to_owned(),
            users: BTreeMap::new(),
            clients: BTreeMap::new(),
            claim_mappings: Vec::new(),
            misbehave: Vec::new(),
        }
    }
}

/// How the authorization endpoint logs users in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginMode {
    /// Show the login page: pick a user, or type a subject and claims.
    Form,
    /// Headless, for automated tests: sign in the `login_hint` user, or the
    /// default user, and redirect at once.
    Auto,
}

/// One user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserConfig {
    /// Claims of this user. Standard OpenID claims not given here get
    /// plausible fake values (name, email, …); `sub` defaults to the user name.
    pub claims: Map<String, Value>,
    /// Password for the (legacy) password grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Claims to add when a request parameter matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    /// Request parameter to look at: `scope`, `client_id`, `grant_type`, `audience`, …
    pub param: String,
    /// The value that must be present: for `scope`, one of the requested
    /// scopes; otherwise the whole value. `*` matches any present value.
    pub equals: String,
    /// Claims to add. String values may use `${client_id}`, `${sub}`,
    /// `${scope}` and `${param}` (the matched value).
    pub claims: Map<String, Value>,
}

/// One signing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The JWA algorithm: RS256/384/512, PS256/384/512, ES256, ES384, EdDSA, HS256/384/512.
    pub alg: Algorithm,
    /// The key id; the RFC 7638 thumbprint when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The shared secret of an HS* key; random when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The private key of an RS*/PS*/ES*/EdDSA key as PKCS#8 PEM
    /// (`-----BEGIN PRIVATE KEY-----`); generated when unset. Set it to keep
    /// the same key across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
}

impl KeyConfig {
    /// A generated key of `alg`.
    pub fn generated(alg: Algorithm) -> Self {
        Self { alg, kid: None, secret: None, private_key_pem: None }
    }
}

/// One client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// The client secret; a client without one is public: it authenticates
    /// with its `client_id` alone and cannot use `client_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Grants the client may use.
    pub grant_types: Vec<GrantType>,
    /// Redirect URIs, matched exactly (RFC 6749 §3.1.2.3).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to, matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// Refuse authorization requests without a PKCE `code_challenge`.
    pub require_pkce: bool,
    /// Scopes the client may request; empty means any.
    pub scopes: Vec<String>,
    /// `aud` of its access tokens; the issuer's `default_audience` when empty.
    pub audience: Vec<String>,
    /// Extra claims in every access token issued to it.
    pub claims: Map<String, Value>,
    /// `jwt` (RFC 9068) or `opaque` access tokens, checked through introspection.
    pub access_token_format: AccessTokenFormat,
    /// Issue a new refresh token at every refresh and refuse the old one.
    pub rotate_refresh_tokens: bool,
    /// Sign this client's tokens with the issuer key of this algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<Algorithm>,
    /// Relying-party cases always on for this client.
    pub misbehave: Vec<crate::rp::RpCase>,
    /// Where back-channel logout tokens are posted (OpenID Connect Back-Channel Logout 1.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            secret: None,
            grant_types: vec![GrantType::ClientCredentials],
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            require_pkce: false,
            scopes: Vec::new(),
            audience: Vec::new(),
            claims: Map::new(),
            access_token_format: AccessTokenFormat::Jwt,
            rotate_refresh_tokens: false,
            signing_alg: None,
            misbehave: Vec::new(),
            backchannel_logout_uri: None,
        }
    }
}

/// The form of access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenFormat {
    /// A signed RFC 9068 JWT.
    Jwt,
    /// A random string; resource servers ask the introspection endpoint.
    Opaque,
}

/// An OAuth 2.0 grant type, by its `grant_type` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum GrantType {
    /// RFC 6749 §4.1.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    /// RFC 6749 §4.4.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// RFC 6749 §6.
    #[serde(rename = "refresh_token")]
    RefreshToken,
    /// RFC 6749 §4.3: legacy, off unless a client lists it; OAuth 2.1 removes it.
    #[serde(rename = "password")]
    Password,
    /// RFC 8628.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
    /// RFC 8693.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
    /// RFC 7523 §2.1.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
}

impl GrantType {
    /// Every grant type.
    pub const ALL: [GrantType; 7] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
        GrantType::Password,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
        GrantType::JwtBearer,
    ];

    /// The `grant_type` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Password => "password",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            GrantType::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }

    /// The grant for a `grant_type` value.
    pub fn parse(value: &str) -> Option<Self> {
        GrantType::ALL.into_iter().find(|grant| grant.as_str() == value)
    }
}

/// A configuration that could not be loaded: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, or the environment variable, or `embedded default`.
    pub origin: String,
    /// 1-based line and column, where the format tells them.
    pub position: Option<(usize, usize)>,
    /// The dotted key, where known.
    pub key: Option<String>,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(key) = &self.key {
            write!(f, " (key `{key}`)")?;
        }
        Ok(())
    }
}

impl Config {
    /// The embedded default, with nothing layered over it: issuer `default`,
    /// clients `demo-client` and `demo-spa`, users `alice` and `bob`.
    pub fn embedded_default() -> Self {
        toml::from_str(DEFAULT_CONFIG).expect("the embedded default configuration is valid (a test checks it)")
    }

    /// Checks what serde cannot: the things that need two fields at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError {
            origin: "configuration".to_owned(),
            position: None,
            key: Some(key),
            message,
        };
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid("public_url".into(), format!("expected an http:// or https:// URL, found `{url}`")));
        }
        for (name, issuer) in &self.issuers {
            validate_issuer(name, issuer)?;
        }
        Ok(())
    }
}

/// Checks one issuer's settings: its name, keys, clients and users.
pub fn validate_issuer(name: &str, issuer: &IssuerConfig) -> Result<(), ConfigError> {
    let invalid = |key: String, message: String| ConfigError {
        origin: "configuration".to_owned(),
        position: None,
        key: Some(key),
        message,
    };
    if !is_path_segment(name) {
        return Err(invalid(
            format!("issuers.{name}"),
            format!(
                "issuer name `{name}` must be a URL path segment of letters, digits, `-`, `_` or `.`, starting with a letter or digit"
            ),
        ));
    }
    if issuer.keys.is_empty() {
        return Err(invalid(format!("issuers.{name}.keys"), "expected at least one signing key".into()));
    }
    for (user_name, user) in &issuer.users {
        if let Some((claim, _)) = user.claims.iter().find(|(_, value)| value.is_null()) {
            return Err(invalid(
                format!("issuers.{name}.users.{user_name}.claims.{claim}"),
                format!("claim `{claim}` is null; leave it out instead"),
            ));
        }
    }
    for (client_id, client) in &issuer.clients {
        if let Some((claim, _)) = client.claims.iter().find(|(_, value)| value.is_null()) {
            return Err(invalid(
                format!("issuers.{name}.clients.{client_id}.claims.{claim}"),
                format!("claim `{claim}` is null; leave it out instead"),
            ));
        }
        for (claim, value) in &client.claims {
            if let Err(err) = crate::Claims::new().set(claim, value.clone()) {
                return Err(invalid(
                    format!("issuers.{name}.clients.{client_id}.claims.{claim}"),
                    format!("claim `{claim}` has the wrong type: {err}"),
                ));
            }
        }
    }
    for (index, key) in issuer.keys.iter().enumerate() {
        if key.secret.is_some() && !key.alg.is_symmetric() {
            return Err(invalid(
                format!("issuers.{name}.keys.{index}.secret"),
                format!("`secret` is for HS256/384/512 keys, but this key is `{}`", key.alg),
            ));
        }
    }

    for (index, key) in issuer.keys.iter().enumerate() {
        if key.private_key_pem.is_some() && key.alg.is_symmetric() {
            return Err(invalid(
                format!("issuers.{name}.keys.{index}.private_key_pem"),
                format!("`{}` keys take a `secret`, not a PEM key", key.alg),
            ));
        }
    }
    if let Some(user) = &issuer.default_user
        && !issuer.users.contains_key(user)
    {
        return Err(invalid(format!("issuers.{name}.default_user"), format!("no user `{user}` in `users`")));
    }
    for (client_id, client) in &issuer.clients {
        for (index, uri) in client.redirect_uris.iter().chain(&client.post_logout_redirect_uris).enumerate() {
            if !uri.contains("://") || uri.contains('#') {
                return Err(invalid(
                    format!("issuers.{name}.clients.{client_id}.redirect_uris.{index}"),
                    format!("expected an absolute URI without a fragment (RFC 6749 §3.1.2), found `{uri}`"),
                ));
            }
        }
    }
    Ok(())
}

fn is_path_segment(name: &str) -> bool {
    // The first character is a letter or digit: `_mockidp` and `.well-known`
    // are mockidp's own.
    name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Adds "(did you mean `x`?)" to an unknown-field or unknown-variant
/// message when one of the expected names is close to what was found.
pub fn with_suggestion(message: String) -> String {
    let Some(rest) = message.strip_prefix("unknown field ").or_else(|| message.strip_prefix("unknown variant ")) else {
        return message;
    };
    let Some((found, expected)) = rest.split_once(", expected one of ").or_else(|| rest.split_once(", expected "))
    else {
        return message;
    };
    let found = found.trim_matches('`');
    let best = expected
        .split(", ")
        .map(|candidate| candidate.trim_matches('`'))
        .map(|candidate| (strsim::levenshtein(found, candidate), candidate))
        .min();
    match best {
        Some((distance, candidate)) if distance > 0 && distance <= (found.len() / 3).max(2) => {
            format!("{message} (did you mean `{candidate}`?)")
        }
        _ => message,
    }
}
