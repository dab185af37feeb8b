//! The scanner against the two demo APIs: the correct one passes every
//! case; the flawed one shows exactly its seeded flaws and nothing else.

use std::{collections::BTreeSet, net::TcpListener, path::PathBuf};

use mockidp::MockIdp;
use mockidp_demo_api::{Flaws, Settings, serve};
use mockidp_scenario::{Outcome, report::Report};
use mockidp_server::scan::{ScanOptions, run};
use serde_json::Value;

/// Starts a demo API trusting `idp`; it stops when the test's runtime ends.
fn start_api(idp: &MockIdp, flaws: Flaws) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings { issuer: idp.issuer(), jwks_uri: idp.jwks_uri(), audience: "orders-api".into(), flaws };
    tokio::spawn(serve(listener, settings).unwrap());
    base
}

pub fn write_scenario(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mockidp-scan-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn scenario(idp: &MockIdp, api: &str) -> String {
    format!(
        r#"
provider:
  url: {provider}
target:
  url: {api}
  audience: orders-api
requests:
  orders: {{ path: /orders, scopes: [orders:read] }}
  profile: {{ path: "/users/{{owner}}/profile", owner: alice }}
cases:
  - group: all
  - object: profile-of-another-user
    request: profile
    as: bob
  - scope: read-token-writing
    request: orders
    scopes: [orders:write]
  - custom: custom-valid-token
    request: orders
    claims: {{ roles: [viewer] }}
    expect: accept
  - custom: custom-unknown-kid
    request: orders
    header: {{ kid: no-such-key }}
    expect: reject
"#,
        provider = idp.uri()
    )
}

async fn scan(idp: &MockIdp, api: &str, name: &str) -> Report {
    let path = write_scenario(name, &scenario(idp, api));
    tokio::task::spawn_blocking(move || run(&path, &ScanOptions::default()).unwrap_or_else(|err| panic!("{err}")))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_api_passes_every_case() {
    let idp = MockIdp::start().await;
    let api = start_api(&idp, Flaws::default());

    let report = scan(&idp, &api, "good").await;

    assert_eq!(report.findings(), Vec::<&str>::new(), "{}", report.table());
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.summary.errors, 0);
    let outcome = |name: &str| report.cases.iter().find(|c| c.name == name).unwrap().outcome;
    assert_eq!(outcome("valid"), Outcome::Pass);
    assert_eq!(outcome("valid-after"), Outcome::Pass);
    assert_eq!(
        outcome("expired-within-leeway"),
        Outcome::Warning,
        "accepted within the leeway: reported, not a finding"
    );
    assert_eq!(outcome("jku-injection"), Outcome::Pass);
    assert_eq!(outcome("custom-valid-token"), Outcome::Pass);
    assert_eq!(outcome("custom-unknown-kid"), Outcome::Pass);
    assert_eq!(outcome("profile-of-another-user"), Outcome::Pass);
    assert_eq!(outcome("read-token-writing"), Outcome::Pass);
    assert_eq!(report.cases.iter().find(|c| c.name == "jku-injection").unwrap().fetches, Some(0));
    // Cases the default issuer cannot produce are skipped, with the reason.
    let skipped: BTreeSet<&str> =
        report.cases.iter().filter(|c| c.outcome == Outcome::Skipped).map(|c| c.name.as_str()).collect();
    assert_eq!(skipped, BTreeSet::from(["ecdsa-psychic-signature", "key-from-other-issuer"]), "{}", report.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flawed_api_shows_exactly_its_seeded_flaws() {
    let idp = MockIdp::start().await;
    let api = start_api(&idp, Flaws::all());

    let report = scan(&idp, &api, "flawed").await;

    let findings: BTreeSet<&str> = report.findings().into_iter().collect();
    let expected = BTreeSet::from([
        // accepts alg none, in any capitalisation
        "alg-none",
        "alg-none-capitalized",
        "alg-none-uppercase",
        "alg-none-mixed",
        // skips aud
        "aud-wrong",
        "aud-missing",
        "aud-array-without-target",
        // takes alg from the header
        "alg-key-mismatch",
        // fetches jku
        "jku-injection",
        // no ownership check
        "subject-other-user",
        "profile-of-another-user",
    ]);
    assert_eq!(findings, expected, "{}", report.table());
    assert_eq!(report.exit_code(), 1);
    let jku = report.cases.iter().find(|c| c.name == "jku-injection").unwrap();
    assert!(jku.fetches.unwrap() >= 1, "the fetch of the header URL is the finding");
    let alg_none = report.cases.iter().find(|c| c.name == "alg-none").unwrap();
    assert_eq!(alg_none.status, Some(200));
    assert!(alg_none.fix.as_deref().unwrap().contains("never accept `none`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_render_as_junit_and_json() {
    let idp = MockIdp::start().await;
    let api = start_api(&idp, Flaws::all());
    let report = scan(&idp, &api, "reports").await;

    // JUnit XML, read back by a JUnit parser.
    let junit = report.to_junit();
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes())).expect("valid JUnit XML");
    let suite = &suites.suites[0];
    assert_eq!(suite.cases.len(), report.cases.len());
    assert_eq!(suite.failures as usize, report.summary.findings);
    // The parser names a case `classname::name`.
    let alg_none = suite.cases.iter().find(|c| c.name == "mockidp.orders::alg-none").unwrap();
    assert!(alg_none.status.is_failure());
    let valid = suite.cases.iter().find(|c| c.name == "mockidp.orders::valid").unwrap();
    assert!(valid.status.is_success());

    // JSON, in its documented shape.
    let json: Value = serde_json::from_str(&report.to_json()).unwrap();
    for key in ["scenario", "target", "duration_ms", "summary", "cases"] {
        assert!(json.get(key).is_some(), "report has no `{key}`");
    }
    for key in ["passed", "findings", "warnings", "skipped", "errors"] {
        assert!(json["summary"][key].is_u64(), "summary has no `{key}`");
    }
    let case = &json["cases"][1];
    for key in [
        "name",
        "request",
        "expected",
        "expected_statuses",
        "status",
        "outcome",
        "finding",
        "fix",
        "detail",
        "elapsed_ms",
        "fetches",
    ] {
        assert!(case.get(key).is_some(), "a case has no `{key}`: {case}");
    }
    assert_eq!(json["summary"]["findings"], report.summary.findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_is_down_is_an_error_not_a_finding() {
    let idp = MockIdp::start().await;
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let path = write_scenario("down", &scenario(&idp, &format!("http://{closed}")));
    let result = tokio::task::spawn_blocking(move || run(&path, &ScanOptions::default())).await.unwrap();
    let err = result.expect_err("the scan cannot run");
    assert!(err.to_string().starts_with("target: "), "{err}");
}

/// An API that takes its token from one place only, and answers 200 when a
/// JWT is there and 401 otherwise: enough to prove where the scanner put it.
fn start_place_checker(place: &'static str) -> String {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new().default_service(web::to(move |req: HttpRequest| async move {
            let token = match place {
                // actix's cookie feature is off in this workspace; read the header.
                "cookie" => req
                    .headers()
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("session="))
                    .map(str::to_owned),
                _ => req.query_string().strip_prefix("t=").map(str::to_owned),
            };
            let looks_like_jwt = token.is_some_and(|t| t.split('.').count() == 3);
            if looks_like_jwt && req.headers().get("x-api-key").is_some_and(|v| v == "k-1") {
                HttpResponse::Ok().finish()
            } else {
                HttpResponse::Unauthorized().finish()
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_travel_in_a_cookie_or_a_query_parameter_with_extra_headers() {
    let idp = MockIdp::start().await;
    for (place, name) in [("cookie", "session"), ("query", "t")] {
        let api = start_place_checker(place);
        let text = format!(
            "provider:\n  url: {}\ntarget:\n  url: {api}\n  audience: demo-api\n  token: {{ in: {place}, name: {name} }}\n  headers: {{ x-api-key: k-1 }}\nrequests:\n  any: {{ path: /anything }}\ncases:\n  - pitfall: valid\n",
            idp.uri()
        );
        let path = write_scenario(&format!("place-{place}"), &text);
        let report = tokio::task::spawn_blocking(move || run(&path, &ScanOptions::default())).await.unwrap();
        let report = report.unwrap_or_else(|err| panic!("{place}: {err}"));
        assert_eq!(report.exit_code(), 0, "{place}: {}", report.table());
        assert_eq!(report.cases.len(), 3, "control, valid, control");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_on_a_request_that_refuses_valid_tokens_are_errors_not_passes() {
    let idp = MockIdp::start().await;
    let api = start_api(&idp, Flaws::default());
    let text = format!(
        "provider:\n  url: {}\ntarget:\n  url: {api}\n  audience: orders-api\nrequests:\n  a-orders: {{ path: /orders, scopes: [orders:read] }}\n  b-typo: {{ path: /ordrs }}\ncases:\n  - pitfall: expired\n    request: b-typo\n",
        idp.uri()
    );
    let path = write_scenario("typo", &text);
    let report = tokio::task::spawn_blocking(move || run(&path, &ScanOptions::default())).await.unwrap().unwrap();
    let expired = report.cases.iter().find(|c| c.name == "expired").unwrap();
    assert_eq!(expired.outcome, Outcome::Error, "{}", report.table());
    assert!(
        expired.detail.as_deref().unwrap().contains("request `b-typo` refused a valid token"),
        "{}",
        report.table()
    );
    assert_eq!(report.exit_code(), 2);
}
