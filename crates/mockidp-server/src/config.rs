//! Loading the configuration: the embedded default, a TOML/YAML/JSON file
//! and `MOCKIDP_*` environment variables, layered with figment. The types
//! live in `mockidp_core::config` and are re-exported here.

use std::{net::IpAddr, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
pub use mockidp_core::config::*;

/// Environment variables with this prefix override configuration keys;
/// `__` separates nested keys (`MOCKIDP_ISSUERS__DEFAULT__ACCESS_TOKEN_LIFETIME_SECS=60`).
pub const ENV_PREFIX: &str = "MOCKIDP_";

/// `MOCKIDP_*` variables that are not configuration keys.
const ENV_NOT_CONFIG: [&str; 2] = ["config", "log"];

/// Settings from the command line, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--bind`.
    pub bind: Option<IpAddr>,
    /// `--port`.
    pub port: Option<u16>,
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
        match path.extension().and_then(|ext| ext.to_str()).map(str::to_ascii_lowercase).as_deref() {
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

/// Loading a [`Config`]: the embedded default and the layered sources.
pub trait LoadConfig: Sized {
    /// Loads the embedded default, then `file`, then the process's
    /// `MOCKIDP_*` environment variables, then `overrides`.
    fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError>;
}

impl LoadConfig for Config {
    fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
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
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").ignore(&ENV_NOT_CONFIG));
        if let Some(bind) = overrides.bind {
            figment = figment.merge(("bind", bind));
        }
        if let Some(port) = overrides.port {
            figment = figment.merge(("port", port));
        }
        let config: Config = figment.extract().map_err(|err| explain(err, file_text.as_ref()))?;
        config.validate()?;
        Ok(config)
    }
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
        return ConfigError { origin: "configuration".to_owned(), position: None, key, message };
    };
    if let (Some(figment::Source::File(source_path)), Some((path, format, text))) = (&metadata.source, file)
        && source_path.as_path() == *path
    {
        // A parse error already carries its position in its text; a type
        // error does not, and the second parse finds it.
        if let Some(located) = locate(path, *format, text) {
            // The format's own words are better for syntax and unknown
            // fields; figment's for type errors, where it says what it found.
            let message = if located.message.contains("expected") { located.message } else { message };
            return ConfigError { key, message: with_suggestion(message), ..located };
        }
        return ConfigError { origin: path.display().to_string(), position: None, key, message };
    }
    let source = match &metadata.source {
        Some(figment::Source::File(path)) => path.display().to_string(),
        _ if metadata.name.contains("environment") => {
            format!("environment variable {ENV_PREFIX}{}", err.path.join("__").to_ascii_uppercase())
        }
        _ => metadata.name.to_string(),
    };
    ConfigError { origin: source, position: None, key, message }
}

/// Parses the file alone, with the format's own deserialiser, for its position-aware error.
fn locate(path: &Path, format: FileFormat, text: &str) -> Option<ConfigError> {
    let source = path.display().to_string();
    match format {
        FileFormat::Toml => {
            let err = toml::from_str::<Config>(text).err()?;
            let position = err.span().map(|span| line_column(text, span.start));
            let message = err.message().trim().replace('\n', ", ");
            Some(ConfigError { origin: source, position, key: None, message })
        }
        FileFormat::Yaml => {
            let options = serde_saphyr::options! { with_snippet: false };
            let err = serde_saphyr::from_str_with_options::<Config>(text, options).err()?;
            let position = err.location().map(|at| (at.line() as usize, at.column() as usize));
            let mut message = err.without_snippet().to_string();
            // serde-saphyr prefixes its own "line N column M"; the position is
            // already in front of ours.
            if let Some(rest) = message.split_once(" at line ").map(|(head, _)| head.to_owned()) {
                message = rest;
            }
            Some(ConfigError { origin: source, position, key: None, message })
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    (line, column)
}
