//! Scenario validation: every mistake is reported as `file:line:column`
//! with what was expected and what was found, before anything runs.

use mockidp_scenario::{CaseKind, Scenario};

const FILE: &str = "scenarios/api.yaml";

fn error(text: &str) -> String {
    Scenario::parse(FILE, text).expect_err("the scenario must be refused").to_string()
}

const TARGET: &str =
    "target:\n  url: http://127.0.0.1:3000\n  audience: orders-api\nrequests:\n  orders: { path: /orders }\n";

#[test]
fn a_minimal_scenario_runs_every_pitfall() {
    let scenario = Scenario::parse(FILE, TARGET).unwrap();
    let plan = scenario.plan();
    assert_eq!(plan.len(), mockidp_core::pitfall::catalogue().len() - 1, "every case but the control");
    assert!(plan.iter().all(|case| case.request == "orders"));
    assert!(matches!(plan[0].kind, CaseKind::Pitfall("alg-none")));
}

#[test]
fn unknown_field() {
    assert_eq!(
        error(
            "target:\n  url: http://127.0.0.1:3000\n  audiance: orders-api\nrequests:\n  orders: { path: /orders }\n"
        ),
        "scenarios/api.yaml:3:3: unknown field `audiance`, expected one of url, audience, token, headers, timeout_ms, slow_ms (did you mean `audience`?)"
    );
}

#[test]
fn missing_target() {
    assert_eq!(error("requests:\n  orders: { path: /orders }\n"), "scenarios/api.yaml:1:1: missing field `target`");
}

#[test]
fn missing_audience() {
    assert_eq!(
        error("target:\n  url: http://127.0.0.1:3000\nrequests:\n  orders: { path: /orders }\n"),
        "scenarios/api.yaml:2:3: missing field `audience`"
    );
}

#[test]
fn unknown_pitfall_id_with_a_suggestion() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - pitfall: alg-nnone\n")),
        "scenarios/api.yaml:7:14: unknown pitfall `alg-nnone` (did you mean `alg-none`?)"
    );
}

#[test]
fn unknown_pitfall_in_a_skip_list() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - group: all\n    skip: [expird]\n")),
        "scenarios/api.yaml:8:12: unknown pitfall `expird` (did you mean `expired`?)"
    );
}

#[test]
fn wrong_type() {
    assert_eq!(
        error(
            "target:\n  url: http://127.0.0.1:3000\n  audience: orders-api\n  timeout_ms: soon\nrequests:\n  orders: { path: /orders }\n"
        ),
        "scenarios/api.yaml:4:15: expected u64, found `soon`"
    );
}

#[test]
fn unknown_group() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - group: everything\n")),
        "scenarios/api.yaml:7:12: unknown variant `everything`, expected one of all, signature, claims, malformed"
    );
}

#[test]
fn unknown_verdict() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - pitfall: expired\n    expect: deny\n")),
        "scenarios/api.yaml:8:13: unknown variant `deny`, expected one of reject, forbid, accept, warn"
    );
}

#[test]
fn a_case_of_no_kind() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - request: orders\n")),
        "scenarios/api.yaml:7:5: expected one of `group`, `pitfall`, `custom`, `object` or `scope` in this case, found none"
    );
}

#[test]
fn a_case_of_two_kinds() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - pitfall: expired\n    group: all\n")),
        "scenarios/api.yaml:7:5: expected exactly one of `group`, `pitfall`, `custom`, `object` or `scope` in this case, found several"
    );
}

#[test]
fn unknown_request_with_a_suggestion() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - pitfall: expired\n    request: order\n")),
        "scenarios/api.yaml:8:14: unknown request `order`, expected one of `orders` (did you mean `orders`?)"
    );
}

#[test]
fn a_target_url_that_is_not_http() {
    assert_eq!(
        error("target:\n  url: localhost:3000\n  audience: orders-api\nrequests:\n  orders: { path: /orders }\n"),
        "scenarios/api.yaml:2:8: expected an http:// or https:// URL for `target.url`, found `localhost:3000`"
    );
}

#[test]
fn an_object_check_without_an_owner() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - object: other-users-order\n")),
        "scenarios/api.yaml:7:5: an object check needs an owner: set `owner` here or on request `orders`"
    );
}

#[test]
fn a_scope_check_without_scopes() {
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - scope: no-write\n")),
        "scenarios/api.yaml:7:5: a scope check needs `scopes`: the scopes its token carries"
    );
}

#[test]
fn an_empty_status_list_is_refused() {
    assert_eq!(
        error(&format!("{TARGET}statuses:\n  reject: []\n")),
        "scenarios/api.yaml: expected at least one status in `statuses.reject`, found none"
    );
    assert_eq!(
        error(&format!("{TARGET}cases:\n  - pitfall: expired\n    status: []\n")),
        "scenarios/api.yaml:7:5: expected at least one status in `status`, found none"
    );
}

#[test]
fn the_provider_issuer_must_be_one_of_its_issuers() {
    assert_eq!(
        error(&format!("provider:\n  issuer: main\n  issuers:\n    default: {{}}\n{TARGET}")),
        "scenarios/api.yaml: expected `provider.issuer` to name one of `provider.issuers` (default), found `main`"
    );
}

#[test]
fn not_yaml_at_all() {
    let message = error("target: [unclosed\n");
    assert!(message.starts_with("scenarios/api.yaml:"), "{message}");
}

#[test]
fn without_a_provider_section_tokens_come_from_issuer_default() {
    let scenario = Scenario::parse(FILE, TARGET).unwrap();
    assert_eq!(scenario.provider.issuer, "default");
    assert_eq!(scenario.target.timeout_ms, 10_000);
}

#[test]
fn groups_expand_and_skip() {
    let scenario =
        Scenario::parse(FILE, &format!("{TARGET}cases:\n  - group: malformed\n    skip: [oversized]\n")).unwrap();
    let names: Vec<String> = scenario.plan().into_iter().map(|case| case.name).collect();
    assert_eq!(
        names,
        [
            "malformed-segments",
            "malformed-segments-four",
            "malformed-base64",
            "malformed-json",
            "not-a-jwt",
            "empty-bearer"
        ]
    );
}

/// Every example in `scenarios/` is valid.
#[test]
fn the_example_scenarios_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut n_files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            Scenario::load(&path).unwrap_or_else(|err| panic!("{err}"));
            n_files += 1;
        }
    }
    assert!(n_files >= 4, "only {n_files} example scenarios");
}

/// Editors read `scenarios/scenario.schema.json`; it must match the types.
#[test]
fn the_checked_in_json_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/scenario.schema.json");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == mockidp_scenario::json_schema(),
        "scenarios/scenario.schema.json is stale: run `cargo xtask docs` and commit the result"
    );
    let schema: serde_json::Value = serde_json::from_str(&on_disk).unwrap();
    assert_eq!(schema["title"], "Scenario");
    assert!(schema.to_string().contains("\"alg-none\""), "pitfall ids are enumerated for completion");
}
