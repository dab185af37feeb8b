//! The `mockidp` binary as a user runs it.

use std::{process::Stdio, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    time::timeout,
};

use crate::config::write_temp;

const LIMIT: Duration = Duration::from_secs(20);

fn mockidp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mockidp"));
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    // Only the variables a test sets may configure the provider.
    for (name, _) in std::env::vars() {
        if name.starts_with("MOCKIDP_") {
            command.env_remove(name);
        }
    }
    command
}

/// Reads the banner up to the curl line and returns (banner, curl line).
async fn read_banner(child: &mut Child) -> (String, String) {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = String::new();
    timeout(LIMIT, async {
        while let Some(line) = lines.next_line().await.expect("stdout is readable") {
            banner.push_str(&line);
            banner.push('\n');
            if line.trim_start().starts_with("curl ") {
                return (banner, line.trim().to_owned());
            }
        }
        panic!("the banner has no curl line:\n{banner}");
    })
    .await
    .expect("the banner is printed promptly")
}

/// Runs what the printed curl line does: `curl -s -u ID:SECRET -d grant_type=… URL`.
async fn run_curl_line(curl: &str) -> Value {
    let words: Vec<&str> = curl.split_whitespace().collect();
    let credentials = words[words.iter().position(|w| *w == "-u").unwrap() + 1];
    let data = words[words.iter().position(|w| *w == "-d").unwrap() + 1];
    let url = words.last().unwrap();
    let (id, secret) = credentials.split_once(':').unwrap();
    let response = reqwest::Client::new()
        .post(*url)
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(data.to_owned())
        .send()
        .await
        .expect("the printed token endpoint answers");
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn signal_and_wait(child: &mut Child, signal: &str) -> std::process::ExitStatus {
    let pid = child.id().expect("the child runs").to_string();
    let killed = Command::new("kill").args([signal, &pid]).status().await.expect("kill runs");
    assert!(killed.success());
    timeout(LIMIT, child.wait()).await.expect("mockidp stops promptly").unwrap()
}

#[tokio::test]
async fn serves_the_default_issuer_and_the_printed_curl_line_gets_a_token() {
    let mut child = mockidp().args(["--port", "0"]).spawn().unwrap();
    let (banner, curl) = read_banner(&mut child).await;
    assert!(banner.contains("NOT FOR PRODUCTION"), "{banner}");
    assert!(banner.contains("listening on http://127.0.0.1:"), "binds loopback by default:\n{banner}");
    assert!(curl.contains("-u demo-client:demo-secret"), "{curl}");

    let response = run_curl_line(&curl).await;

    let token = response["access_token"].as_str().unwrap();
    let token_url = curl.split_whitespace().last().unwrap();
    let issuer = token_url.trim_end_matches("/token");
    let jwks: JwkSet = reqwest::get(format!("{issuer}/jwks")).await.unwrap().json().await.unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&["demo-api"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap().claims;
    assert_eq!(claims["client_id"], "demo-client");

    let status = signal_and_wait(&mut child, "-TERM").await;
    assert!(status.success(), "SIGTERM ends with {status}");
}

#[tokio::test]
async fn sigint_stops_gracefully_with_success() {
    let mut child = mockidp().args(["serve", "--port", "0"]).spawn().unwrap();
    read_banner(&mut child).await;
    let status = signal_and_wait(&mut child, "-INT").await;
    assert!(status.success(), "SIGINT ends with {status}");
}

#[tokio::test]
async fn environment_variables_override_the_config() {
    let mut child = mockidp()
        .args(["--port", "0"])
        .env("MOCKIDP_ISSUERS__DEFAULT__ACCESS_TOKEN_LIFETIME_SECS", "60")
        .spawn()
        .unwrap();
    let (_, curl) = read_banner(&mut child).await;
    let response = run_curl_line(&curl).await;
    assert_eq!(response["expires_in"], 60);
}

async fn failure(command: &mut Command) -> String {
    let output = timeout(LIMIT, command.output()).await.expect("mockidp exits promptly").unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit code 2, stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stderr).unwrap()
}

#[tokio::test]
async fn a_bad_config_file_exits_2_naming_file_line_and_column() {
    let path = write_temp("bad.toml", "bind = \"127.0.0.1\"\nport = \"eighty\"\n");
    let stderr = failure(mockidp().arg("--config").arg(&path)).await;
    assert!(
        stderr.contains(&format!(
            "mockidp: error: {}:2:8: invalid type: string \"eighty\", expected u16 (key `port`)",
            path.display()
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_bad_environment_variable_is_named() {
    let stderr = failure(mockidp().env("MOCKIDP_PORT", "eighty")).await;
    assert!(stderr.contains("environment variable MOCKIDP_PORT"), "{stderr}");
    assert!(stderr.contains("expected u16"), "{stderr}");
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let stderr = failure(mockidp().args(["--port", &port])).await;
    assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
}

/// docker-compose: the browser reaches the provider as `localhost:8080`, the
/// API container as `mockidp:8080`. With `issuer_url` set, both see one
/// `iss`, and each gets endpoints on the host name it used.
#[tokio::test]
async fn behind_two_host_names_the_issuer_stays_fixed_and_endpoints_follow_the_host() {
    let path = write_temp("compose.toml", "[issuers.default]\nissuer_url = \"http://mockidp:8080/default\"\n");
    let mut child = mockidp().args(["--port", "0", "--config"]).arg(&path).spawn().unwrap();
    let (_, curl) = read_banner(&mut child).await;
    let token_url = curl.split_whitespace().last().unwrap().to_owned();
    let base = token_url.trim_end_matches("/default/token").to_owned();
    let http = reqwest::Client::new();

    for host in ["localhost:8080", "mockidp:8080"] {
        let document: Value = http
            .get(format!("{base}/default/.well-known/openid-configuration"))
            .header("host", host)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(document["issuer"], "http://mockidp:8080/default", "via {host}");
        assert_eq!(document["authorization_endpoint"], format!("http://{host}/default/authorize"), "via {host}");

        let token: Value = http
            .post(&token_url)
            .header("host", host)
            .basic_auth("demo-client", Some("demo-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let claims =
            jsonwebtoken::dangerous::insecure_decode::<Value>(token["access_token"].as_str().unwrap()).unwrap().claims;
        assert_eq!(claims["iss"], "http://mockidp:8080/default", "via {host}");
    }
}

#[tokio::test]
async fn pitfalls_list_names_every_case() {
    let output = timeout(LIMIT, mockidp().args(["pitfalls", "list"]).output()).await.unwrap().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for case in mockidp_core::pitfall::catalogue() {
        assert!(text.lines().any(|line| line.starts_with(&format!("{} ", case.id))), "{} missing:\n{text}", case.id);
    }
    let json = timeout(LIMIT, mockidp().args(["pitfalls", "list", "--json"]).output()).await.unwrap().unwrap();
    let cases: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(cases.as_array().unwrap().len(), mockidp_core::pitfall::catalogue().len());
    assert_eq!(cases[1]["id"], "alg-none");
    assert_eq!(cases[1]["verdict"], "reject");
}

#[tokio::test]
async fn pitfalls_mint_asks_the_running_provider() {
    let mut server = mockidp().args(["--port", "0"]).spawn().unwrap();
    let (_, curl) = read_banner(&mut server).await;
    let base = curl.split_whitespace().last().unwrap().trim_end_matches("/default/token").to_owned();

    let output = timeout(
        LIMIT,
        mockidp().args(["pitfalls", "mint", "expired", "--url", &base, "--aud", "orders-api", "--sub", "bob"]).output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    // Signed by the running provider's published key; expired and nothing else.
    let jwks: JwkSet = reqwest::get(format!("{base}/default/jwks")).await.unwrap().json().await.unwrap();
    let key = DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[format!("{base}/default")]);
    validation.set_audience(&["orders-api"]);
    let err = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap_err();
    assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::ExpiredSignature);
    validation.validate_exp = false;
    assert_eq!(jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap().claims["sub"], "bob");

    let json = timeout(LIMIT, mockidp().args(["pitfalls", "mint", "alg-none", "--url", &base, "--json"]).output())
        .await
        .unwrap()
        .unwrap();
    let minted: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(minted["id"], "alg-none");
    assert_eq!(minted["verdict"], "reject");
    assert!(minted["token"].as_str().unwrap().ends_with('.'));
}

#[tokio::test]
async fn pitfalls_mint_explains_unknown_ids_and_unreachable_providers() {
    let stderr = failure(mockidp().args(["pitfalls", "mint", "alg-nnone"])).await;
    assert!(stderr.contains("unknown pitfall `alg-nnone` (did you mean `alg-none`?)"), "{stderr}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let stderr = failure(mockidp().args(["pitfalls", "mint", "expired", "--url", &format!("http://{closed}")])).await;
    assert!(stderr.contains("cannot reach mockidp at"), "{stderr}");
}

/// A free port for the provider the scan starts: the demo API must know
/// its issuer URL before the scan begins.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_demo_api(provider_port: u16, flaws: mockidp_demo_api::Flaws) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("http://127.0.0.1:{provider_port}/default");
    let settings =
        mockidp_demo_api::Settings { jwks_uri: format!("{issuer}/jwks"), issuer, audience: "orders-api".into(), flaws };
    tokio::spawn(mockidp_demo_api::serve(listener, settings).unwrap());
    base
}

async fn scan_demo(flaws: mockidp_demo_api::Flaws, name: &str) -> (Option<i32>, String, std::path::PathBuf) {
    let port = free_port();
    let api = start_demo_api(port, flaws);
    let scenario = write_temp(
        &format!("{name}.yaml"),
        &format!(
            "provider:\n  port: {port}\ntarget:\n  url: {api}\n  audience: orders-api\nrequests:\n  orders: {{ path: /orders, scopes: [orders:read] }}\n  profile: {{ path: \"/users/{{owner}}/profile\", owner: alice }}\n"
        ),
    );
    let dir = scenario.parent().unwrap().to_owned();
    let output = timeout(
        LIMIT,
        mockidp()
            .args(["scan", "--quiet"])
            .arg(&scenario)
            .arg("--json")
            .arg(dir.join("report.json"))
            .arg("--junit")
            .arg(dir.join("report.xml"))
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    (output.status.code(), String::from_utf8(output.stdout).unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_exits_0_for_the_correct_api() {
    let (code, table, dir) = scan_demo(mockidp_demo_api::Flaws::default(), "good").await;
    assert_eq!(code, Some(0), "{table}");
    assert!(table.contains(" 0 findings"), "{table}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["findings"], 0);
    assert!(std::fs::read_to_string(dir.join("report.xml")).unwrap().starts_with("<?xml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_exits_1_with_findings_for_the_flawed_api() {
    let (code, table, _) = scan_demo(mockidp_demo_api::Flaws::all(), "flawed").await;
    assert_eq!(code, Some(1), "{table}");
    let finding_rows: Vec<&str> = table.lines().filter(|line| line.contains("FINDING")).collect();
    assert_eq!(finding_rows.len(), 10, "{table}");
    assert!(table.lines().any(|line| line.starts_with("alg-none ") && line.contains("never accept `none`")), "{table}");
}

#[tokio::test]
async fn scan_exits_2_when_it_cannot_run() {
    let invalid = write_temp(
        "invalid.yaml",
        "target:\n  url: http://127.0.0.1:9\n  audience: x\nrequests:\n  r: { path: / }\ncases:\n  - pitfall: expird\n",
    );
    let stderr = failure(mockidp().arg("scan").arg(&invalid)).await;
    assert!(
        stderr.contains(&format!("{}:7:14: unknown pitfall `expird` (did you mean `expired`?)", invalid.display())),
        "{stderr}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down = write_temp(
        "down.yaml",
        &format!("target:\n  url: http://{closed}\n  audience: x\nrequests:\n  r: {{ path: / }}\n"),
    );
    let stderr = failure(mockidp().args(["scan", "--quiet"]).arg(&down)).await;
    assert!(stderr.contains("scan could not run: target:"), "{stderr}");
}

#[tokio::test]
async fn serve_takes_the_provider_setup_from_a_scenario() {
    let scenario = write_temp(
        "setup.yaml",
        "provider:\n  issuer: partners\n  issuers:\n    partners:\n      keys: [{ alg: ES256 }]\n      clients:\n        partner-app: { secret: p-secret, audience: [partner-api] }\ntarget:\n  url: http://127.0.0.1:9\n  audience: partner-api\nrequests:\n  r: { path: / }\n",
    );
    let mut child = mockidp().args(["serve", "--port", "0", "--scenario"]).arg(&scenario).spawn().unwrap();
    let (banner, curl) = read_banner(&mut child).await;
    assert!(banner.contains("issuer `partners`"), "{banner}");
    assert!(!banner.contains("issuer `default`"), "{banner}");
    let token = run_curl_line(&curl).await;
    let header = jsonwebtoken::decode_header(token["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
}
