//! Configuration: the embedded default, a TOML/YAML/JSON file and `MOCKIDP_*`
//! environment variables, layered with figment.

use std::{collections::BTreeMap, fmt, net::IpAddr, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use mockidp_core::Algorithm;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The embedded default configuration, as TOML text.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// Environment variables with this prefix override configuration keys;
/// `__` separates nested keys (`MOCKIDP_ISSUERS__DEFAULT__ACCESS_TOKEN_LIFETIME_SECS=60`).
pub const ENV_PREFIX: &str = "MOCKIDP_";

/// `MOCKIDP_*` variables that are not configuration keys.
const ENV_NOT_CONFIG: [&str; 2] = ["config", "log"];

/// The whole provider configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
            issuers: BTreeMap::new(),
        }
    }
}

/// One issuer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerConfig {
    /// Signing keys; the first one signs, every asymmetric one is published.
    pub keys: Vec<KeyConfig>,
    /// Lifetime of access tokens, in seconds.
    pub access_token_lifetime_secs: u64,
    /// `aud` for tokens whose client names no audience.
    pub default_audience: String,
    /// The clients, by client id.
    pub clients: BTreeMap<String, ClientConfig>,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            keys: vec![KeyConfig {
                alg: Algorithm::RS256,
                kid: None,
                secret: None,
            }],
            access_token_lifetime_secs: 3600,
            default_audience: "api".to_owned(),
            clients: BTreeMap::new(),
        }
    }
}

/// One signing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// One client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// The client secret; a client without one is public and cannot use
    /// `client_credentials`.
    pub secret: Option<String>,
    /// Grants the client may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may request; empty means any.
    pub scopes: Vec<String>,
    /// `aud` of its tokens; the issuer's `default_audience` when empty.
    pub audience: Vec<String>,
    /// Extra claims in its client_credentials tokens.
    pub claims: Map<String, Value>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            secret: None,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: Vec::new(),
            audience: Vec::new(),
            claims: Map::new(),
        }
    }
}

/// An OAuth 2.0 grant type, by its `grant_type` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GrantType {
    /// RFC 6749 §4.4.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

impl GrantType {
    /// The `grant_type` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// The grant for a `grant_type` value, if this version serves it.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

/// Settings from the command line, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--bind`.
    pub bind: Option<IpAddr>,
    /// `--port`.
    pub port: Option<u16>,
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

/// The formats a config file can be written in, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileFormat {
    Toml,
    /// YAML, and JSON, which is YAML too.
    Yaml,
}

impl FileFormat {
    fn of(path: &Path) -> Result<Self, ConfigError> {
        match path
            .extension()
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("toml") => Ok(FileFormat::Toml),
            Some("yaml" | "yml" | "json") => Ok(FileFormat::Yaml),
            other => Err(ConfigError {
                origin: path.display().to_string(),
                position: None,
                key: None,
                message: format!(
                    "unknown config file extension {}, expected `.toml`, `.yaml`, `.yml` or `.json`",
                    other.map_or("(none)".to_owned(), |ext| format!("`.{ext}`"))
                ),
            }),
        }
    }
}

impl Config {
    /// The embedded default, with nothing layered over it.
    pub fn embedded_default() -> Self {
        let figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        let config: Config = figment
            .extract()
            .expect("the embedded default configuration is valid (a test checks it)");
        config
    }

    /// Loads the embedded default, then `file`, then the process's
    /// `MOCKIDP_*` environment variables, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        let mut file_text = None;
        if let Some(path) = file {
            let format = FileFormat::of(path)?;
            let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
                origin: path.display().to_string(),
                position: None,
                key: None,
                message: format!("cannot read the config file: {err}"),
            })?;
            figment = match format {
                FileFormat::Toml => figment.merge(Toml::file_exact(path)),
                FileFormat::Yaml => figment.merge(serde_saphyr::figment::Yaml::file_exact(path)),
            };
            file_text = Some((path, format, text));
        }
        figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .split("__")
                .ignore(&ENV_NOT_CONFIG),
        );
        if let Some(bind) = overrides.bind {
            figment = figment.merge(("bind", bind));
        }
        if let Some(port) = overrides.port {
            figment = figment.merge(("port", port));
        }
        let config: Config = figment
            .extract()
            .map_err(|err| explain(err, file_text.as_ref()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: the things that need two fields at once.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError {
            origin: "configuration".to_owned(),
            position: None,
            key: Some(key),
            message,
        };
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid(
                "public_url".into(),
                format!("expected an http:// or https:// URL, found `{url}`"),
            ));
        }
        for (name, issuer) in &self.issuers {
            if !is_path_segment(name) {
                return Err(invalid(
                    format!("issuers.{name}"),
                    format!(
                        "issuer name `{name}` must be a URL path segment of letters, digits, `-`, `_` or `.`"
                    ),
                ));
            }
            if issuer.keys.is_empty() {
                return Err(invalid(
                    format!("issuers.{name}.keys"),
                    "expected at least one signing key".into(),
                ));
            }
            for (client_id, client) in &issuer.clients {
                for (claim, value) in &client.claims {
                    if let Err(err) = mockidp_core::Claims::new().set(claim, value.clone()) {
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
                        format!(
                            "`secret` is for HS256/384/512 keys, but this key is `{}`",
                            key.alg
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn is_path_segment(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Turns a figment error into one that names the file, line and column.
///
/// figment knows the key and the source but not the position. When the
/// error comes from the config file, the file is parsed once more on its
/// own with the format's own deserialiser, which reports line and column
/// for the same mistake (every field has a default, so a partial file is a
/// valid file).
fn explain(err: figment::Error, file: Option<&(&Path, FileFormat, String)>) -> ConfigError {
    let key = (!err.path.is_empty()).then(|| err.path.join("."));
    let message = err.kind.to_string();
    let Some(metadata) = err.metadata.as_ref() else {
        return ConfigError {
            origin: "configuration".to_owned(),
            position: None,
            key,
            message,
        };
    };
    if let (Some(figment::Source::File(source_path)), Some((path, format, text))) =
        (&metadata.source, file)
        && source_path.as_path() == *path
    {
        // A parse error already carries its position in its text; a type
        // error does not, and the second parse finds it.
        if let Some(located) = locate(path, *format, text) {
            // The format's own words are better for syntax and unknown
            // fields; figment's for type errors, where it says what it found.
            let message = if located.message.contains("expected") {
                located.message
            } else {
                message
            };
            return ConfigError {
                key,
                message,
                ..located
            };
        }
        return ConfigError {
            origin: path.display().to_string(),
            position: None,
            key,
            message,
        };
    }
    let source = match &metadata.source {
        Some(figment::Source::File(path)) => path.display().to_string(),
        _ if metadata.name.contains("environment") => {
            format!(
                "environment variable {ENV_PREFIX}{}",
                err.path.join("__").to_ascii_uppercase()
            )
        }
        _ => metadata.name.to_string(),
    };
    ConfigError {
        origin: source,
        position: None,
        key,
        message,
    }
}

/// Parses the file alone, with the format's own deserialiser, for its position-aware error.
fn locate(path: &Path, format: FileFormat, text: &str) -> Option<ConfigError> {
    let source = path.display().to_string();
    match format {
        FileFormat::Toml => {
            let err = toml::from_str::<Config>(text).err()?;
            let position = err.span().map(|span| line_column(text, span.start));
            let message = err.message().trim().replace('\n', ", ");
            Some(ConfigError {
                origin: source,
                position,
                key: None,
                message,
            })
        }
        FileFormat::Yaml => {
            let options = serde_saphyr::options! { with_snippet: false };
            let err = serde_saphyr::from_str_with_options::<Config>(text, options).err()?;
            let position = err
                .location()
                .map(|at| (at.line() as usize, at.column() as usize));
            let mut message = err.without_snippet().to_string();
            // serde-saphyr prefixes its own "line N column M"; the position is
            // already in front of ours.
            if let Some(rest) = message
                .split_once(" at line ")
                .map(|(head, _)| head.to_owned())
            {
                message = rest;
            }
            Some(ConfigError {
                origin: source,
                position,
                key: None,
                message,
            })
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}
