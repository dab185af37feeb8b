//! Configuration errors name the file, line and column, the key, and what
//! was expected versus found.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
};

use mockidp_core::Algorithm;
use mockidp_server::{Config, ConfigError, LoadConfig as _, Overrides};

/// Writes `text` to a fresh file named `name` and returns its path.
pub fn write_temp(name: &str, text: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        std::env::temp_dir().join(format!("mockidp-it-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn load_err(name: &str, text: &str) -> (PathBuf, ConfigError) {
    let path = write_temp(name, text);
    let err = Config::load(Some(&path), &Overrides::default()).expect_err("the config must be refused");
    (path, err)
}

#[test]
fn the_embedded_default_is_valid_and_has_the_demo_client() {
    let config = Config::embedded_default();
    let client = &config.issuers["default"].clients["demo-client"];
    assert_eq!(client.secret.as_deref(), Some("demo-secret"));
    assert_eq!(config.bind.to_string(), "127.0.0.1");
}

#[test]
fn a_yaml_file_layers_over_the_default() {
    let path = write_temp(
        "mockidp.yaml",
        "port: 9000\nissuers:\n  partners:\n    keys:\n      - alg: ES256\n        kid: partners-1\n",
    );
    let config = Config::load(Some(&path), &Overrides::default()).unwrap();
    assert_eq!(config.port, 9000);
    assert!(config.issuers.contains_key("default"), "the default issuer stays");
    assert_eq!(config.issuers["partners"].keys[0].alg, Algorithm::ES256);
    assert_eq!(config.issuers["partners"].keys[0].kid.as_deref(), Some("partners-1"));
}

#[test]
fn command_line_overrides_win() {
    let path = write_temp("mockidp.toml", "port = 9000\n");
    let overrides = Overrides { port: Some(9100), bind: None };
    assert_eq!(Config::load(Some(&path), &overrides).unwrap().port, 9100);
}

#[test]
fn toml_type_error_names_line_column_and_key() {
    let (path, err) = load_err("mockidp.toml", "bind = \"127.0.0.1\"\nport = \"eighty\"\n");
    assert_eq!(
        err.to_string(),
        format!("{}:2:8: invalid type: string \"eighty\", expected u16 (key `port`)", path.display())
    );
}

#[test]
fn toml_syntax_error_names_line_and_column() {
    let (path, err) = load_err("mockidp.toml", "port = 8080\n[issuers.default\n");
    assert_eq!(err.to_string(), format!("{}:2:17: invalid table header, expected `.`, `]`", path.display()));
}

#[test]
fn toml_unknown_field_lists_the_expected_ones() {
    let (path, err) = load_err("mockidp.toml", "[issuers.default.clients.web]\nsecret = \"s\"\naudiance = [\"api\"]\n");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:1: unknown field `audiance`, expected one of `secret`, `grant_types`, `redirect_uris`, `post_logout_redirect_uris`, `require_pkce`, `scopes`, `audience`, `claims`, `access_token_format`, `rotate_refresh_tokens`, `signing_alg`, `misbehave`, `backchannel_logout_uri` (did you mean `audience`?) (key `issuers.default.clients.web.audiance`)",
            path.display()
        )
    );
}

#[test]
fn yaml_unknown_field_names_line_and_column() {
    let (path, err) = load_err("mockidp.yaml", "issuers:\n  default:\n    access_token_lifetime: 60\n");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:5: unknown field `access_token_lifetime`, expected one of issuer_url, keys, login, default_user, access_token_lifetime_secs, id_token_lifetime_secs, refresh_token_lifetime_secs, code_lifetime_secs, device_code_lifetime_secs, device_poll_interval_secs, default_audience, users, clients, claim_mappings, misbehave (did you mean `access_token_lifetime_secs`?) (key `issuers.default.access_token_lifetime`)",
            path.display()
        )
    );
}

#[test]
fn yaml_type_error_names_line_and_column() {
    let (path, err) = load_err("mockidp.yml", "port: 8080\nmax_body_bytes: lots\n");
    assert_eq!(
        err.to_string(),
        format!("{}:2:17: invalid type: found string \"lots\", expected usize (key `max_body_bytes`)", path.display())
    );
}

#[test]
fn unknown_algorithm_lists_the_known_ones() {
    let (path, err) = load_err("mockidp.toml", "[issuers.default]\nkeys = [{ alg = \"RS257\" }]\n");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:17: unknown algorithm `RS257`, expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA (key `issuers.default.keys.0.alg`)",
            path.display()
        )
    );
}

#[test]
fn a_secret_on_an_rsa_key_is_refused() {
    let (_, err) = load_err("mockidp.toml", "[issuers.default]\nkeys = [{ alg = \"RS256\", secret = \"s\" }]\n");
    assert_eq!(err.key.as_deref(), Some("issuers.default.keys.0.secret"));
    assert!(err.message.contains("HS256/384/512"), "{err}");
}

#[test]
fn issuer_names_must_be_path_segments() {
    let (_, err) = load_err("mockidp.toml", "[issuers.\"a/b\"]\n");
    assert_eq!(err.key.as_deref(), Some("issuers.a/b"));
}

#[test]
fn unknown_extension_and_missing_file_are_clear() {
    let path = write_temp("mockidp.ini", "port = 1\n");
    let err = Config::load(Some(&path), &Overrides::default()).unwrap_err();
    assert!(
        err.to_string().ends_with("unknown config file extension `.ini`, expected `.toml`, `.yaml`, `.yml` or `.json`"),
        "{err}"
    );

    let missing = path.with_file_name("absent.toml");
    let err = Config::load(Some(&missing), &Overrides::default()).unwrap_err();
    assert!(err.to_string().starts_with(&format!("{}: cannot read the config file:", missing.display())), "{err}");
}

#[test]
fn a_client_claim_of_the_wrong_type_is_refused() {
    let (_, err) =
        load_err("mockidp.toml", "[issuers.default.clients.web]\nsecret = \"s\"\nclaims = { exp = \"tomorrow\" }\n");
    assert_eq!(err.key.as_deref(), Some("issuers.default.clients.web.claims.exp"));
    assert!(err.message.starts_with("claim `exp` has the wrong type"), "{err}");
}

#[test]
fn an_unknown_grant_type_suggests_the_closest() {
    let (path, err) = load_err(
        "mockidp.yaml",
        "issuers:\n  default:\n    clients:\n      web:\n        grant_types: [client_credential]\n",
    );
    assert_eq!(err.origin, path.display().to_string());
    assert_eq!(err.position.map(|(line, _)| line), Some(5), "{err}");
    assert!(err.message.ends_with("(did you mean `client_credentials`?)"), "{err}");
}

#[test]
fn an_unknown_login_mode_is_refused_with_the_choices() {
    let (path, err) = load_err("mockidp.toml", "[issuers.default]\nlogin = \"headless\"\n");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:9: unknown variant `headless`, expected `form` or `auto` (key `issuers.default.login`)",
            path.display()
        )
    );
}

/// The README's full example is documentation users copy: it must load, and
/// it must build a provider.
#[test]
fn the_readme_example_config_loads() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let after_marker = readme.split("<!-- config-example").nth(1).expect("the README marks its config example");
    let block = after_marker.split("```toml\n").nth(1).unwrap().split("\n```").next().unwrap();
    let path = write_temp("readme.toml", block);

    let config = Config::load(Some(&path), &Overrides::default()).unwrap_or_else(|err| panic!("{err}"));
    mockidp_server::Provider::from_config(&config).unwrap_or_else(|err| panic!("{err}"));

    let issuer = &config.issuers["default"];
    assert_eq!(issuer.keys.len(), 3);
    assert_eq!(issuer.claim_mappings.len(), 1);
    assert_eq!(issuer.clients["demo-client"].signing_alg, Some(Algorithm::ES256));
}

#[test]
fn null_claims_are_refused() {
    let (_, err) = load_err(
        "mockidp.yaml",
        "issuers:\n  default:\n    users:\n      alice:\n        claims: { nickname: null }\n",
    );
    assert_eq!(err.key.as_deref(), Some("issuers.default.users.alice.claims.nickname"));
    assert_eq!(err.message, "claim `nickname` is null; leave it out instead");
}
