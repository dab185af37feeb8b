//! The scenario format and its validation.

use std::{collections::BTreeMap, fmt};

use mockidp_core::{
    config::IssuerConfig,
    pitfall::{self, Section, Verdict},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

/// A whole scenario file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Where tokens come from.
    #[serde(default)]
    pub provider: ProviderSetup,
    /// The API under test.
    pub target: Target,
    /// The requests cases are sent as, by name.
    pub requests: BTreeMap<String, Request>,
    /// What to run; every pitfall (`group: all`) when empty.
    #[serde(default)]
    #[schemars(with = "Vec<Case>")]
    pub cases: Vec<Spanned<Case>>,
    /// Which statuses count as which verdict.
    #[serde(default)]
    pub statuses: Statuses,
}

/// The provider the scan takes tokens from.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderSetup {
    /// A running mockidp to use instead of starting one (its admin API must be reachable).
    pub url: Option<String>,
    /// The admin token of that provider, when it requires one.
    pub admin_token: Option<String>,
    /// The issuer tokens come from.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// Port of the provider the scan starts (0: any free port). `mockidp
    /// serve --scenario` uses it too.
    #[serde(default)]
    pub port: u16,
    /// Issuers of the provider the scan starts; the embedded default when empty.
    #[serde(default)]
    pub issuers: BTreeMap<String, IssuerConfig>,
}

fn default_issuer() -> String {
    "default".to_owned()
}

impl Default for ProviderSetup {
    fn default() -> Self {
        Self { url: None, admin_token: None, issuer: default_issuer(), port: 0, issuers: BTreeMap::new() }
    }
}

/// The API under test.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Base URL, such as `http://127.0.0.1:3000`.
    #[schemars(with = "String")]
    pub url: Spanned<String>,
    /// The `aud` the API expects.
    pub audience: String,
    /// How the token travels.
    #[serde(default)]
    pub token: TokenPlacement,
    /// Headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Per-request timeout, in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// How much slower than the control a case may answer before it is a finding, in milliseconds.
    #[serde(default = "default_slow")]
    pub slow_ms: u64,
}

/// Long enough for `kid-command-injection` (`|sleep 5`) to show as slow
/// rather than time out.
fn default_timeout() -> u64 {
    10_000
}

fn default_slow() -> u64 {
    1000
}

/// How the token is sent.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenPlacement {
    /// `header` (`Authorization: Bearer`), `cookie` or `query`.
    #[serde(rename = "in", default)]
    pub location: TokenLocation,
    /// Header, cookie or query parameter name (`Authorization`, `access_token`…).
    pub name: Option<String>,
}

impl Default for TokenPlacement {
    fn default() -> Self {
        Self { location: TokenLocation::Header, name: None }
    }
}

/// Where the token goes.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenLocation {
    /// `Authorization: Bearer <token>` (or the named header, with the same scheme).
    #[default]
    Header,
    /// A cookie.
    Cookie,
    /// A query parameter.
    Query,
}

/// One request the API serves.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// Path; `{owner}` is replaced by the owner of the object.
    pub path: String,
    /// JSON body.
    pub body: Option<Value>,
    /// Scopes a valid token needs here; `scope-insufficient` leaves one out.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The user owning the object at `path`; makes `subject-other-user` apply.
    pub owner: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

/// A group of pitfalls.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Every case.
    All,
    /// Section A.
    Signature,
    /// Section B.
    Claims,
    /// Section C.
    Malformed,
}

/// One entry of `cases`: exactly one of `group`, `pitfall`, `custom`,
/// `object` or `scope`, with its settings.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A group of pitfalls.
    pub group: Option<Group>,
    /// One pitfall by id.
    #[schemars(schema_with = "pitfall_id")]
    pub pitfall: Option<Spanned<String>>,
    /// A custom token, by the name to report it under.
    pub custom: Option<String>,
    /// An object-level check, by name: the owner's object with another user's token.
    pub object: Option<String>,
    /// A scope check, by name: a valid token with other scopes.
    pub scope: Option<String>,
    /// The request to send; the first one by name when unset.
    #[schemars(with = "Option<String>")]
    pub request: Option<Spanned<String>>,
    /// The expected verdict, overriding the catalogue's.
    pub expect: Option<Verdict>,
    /// The statuses that count as expected, overriding `statuses`.
    pub status: Option<Vec<u16>>,
    /// Pitfall ids a group leaves out.
    #[serde(default)]
    #[schemars(schema_with = "pitfall_ids")]
    pub skip: Vec<Spanned<String>>,
    /// Custom tokens: claims to set (`null` removes one).
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Custom tokens: header parameters to set.
    #[serde(default)]
    pub header: Map<String, Value>,
    /// Object checks: the owner (default: the request's `owner`).
    pub owner: Option<String>,
    /// Object checks: whose token is used (default `mallory`).
    #[serde(rename = "as")]
    pub as_user: Option<String>,
    /// Scope checks and custom tokens: the token's scopes.
    pub scopes: Option<Vec<String>>,
}

/// The statuses each verdict accepts.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Statuses {
    /// `reject`: 401 by default.
    pub reject: Vec<u16>,
    /// `forbid`: 403 or 404 by default.
    pub forbid: Vec<u16>,
    /// `accept`: any 2xx when empty.
    pub accept: Vec<u16>,
}

impl Default for Statuses {
    fn default() -> Self {
        Self { reject: vec![401], forbid: vec![403, 404], accept: Vec::new() }
    }
}

/// A scenario that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file.
    pub file: String,
    /// 1-based line and column, when known.
    pub position: Option<(u64, u64)>,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// What a planned case sends.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseKind {
    /// The valid token: the control.
    Control,
    /// A catalogue case.
    Pitfall(&'static str),
    /// A valid token with claims and header changed.
    Custom {
        /// Claims to set; `null` removes.
        claims: Map<String, Value>,
        /// Header parameters to set.
        header: Map<String, Value>,
        /// Scopes, replacing the request's.
        scopes: Option<Vec<String>>,
    },
    /// Another user's valid token on the owner's object.
    Object {
        /// The object's owner.
        owner: String,
        /// The token's subject.
        as_user: String,
    },
    /// A valid token with these scopes.
    Scope(Vec<String>),
}

/// One case ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCase {
    /// The name in reports: a pitfall id or the scenario's name for it.
    pub name: String,
    /// What it sends.
    pub kind: CaseKind,
    /// The request's name.
    pub request: String,
    /// The expected verdict.
    pub expect: Verdict,
    /// Statuses that count as that verdict; any 2xx for `accept` when empty.
    pub statuses: Vec<u16>,
    /// Why the case cannot run here, if it cannot.
    pub skip_reason: Option<String>,
}

impl PlannedCase {
    /// Whether `status` is what the case expects.
    pub fn status_matches(&self, status: u16) -> bool {
        if self.statuses.is_empty() { (200..300).contains(&status) } else { self.statuses.contains(&status) }
    }
}

impl Scenario {
    /// Parses and validates a scenario; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let options = serde_saphyr::options! { with_snippet: false };
        let scenario: Scenario = serde_saphyr::from_str_with_options(text, options).map_err(|err| {
            let position = err.location().map(|at| (at.line(), at.column()));
            let mut message = err.without_snippet().to_string();
            if let Some((head, _)) = message.split_once(" at line ") {
                message = head.to_owned();
            }
            // serde-saphyr says only "invalid u64" for a scalar of the wrong
            // type: add what it found there.
            if let (Some(expected), Some((line, column))) = (message.strip_prefix("invalid "), position)
                && !expected.contains(' ')
            {
                let found = scalar_at(text, line, column);
                message = format!("expected {expected}, found `{found}`");
            }
            ScenarioError { file: file.to_owned(), position, message: mockidp_core::config::with_suggestion(message) }
        })?;
        scenario.validate(file)?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ScenarioError {
            file: file.clone(),
            position: None,
            message: format!("cannot read the scenario: {err}"),
        })?;
        Scenario::parse(&file, &text)
    }

    fn validate(&self, file: &str) -> Result<(), ScenarioError> {
        let at = |line: u64, column: u64, message: String| ScenarioError {
            file: file.to_owned(),
            position: Some((line, column)),
            message,
        };
        let url = &self.target.url;
        if !(url.value.starts_with("http://") || url.value.starts_with("https://")) {
            return Err(at(
                url.referenced.line(),
                url.referenced.column(),
                format!("expected an http:// or https:// URL for `target.url`, found `{}`", url.value),
            ));
        }
        for (verdict, list) in [("reject", &self.statuses.reject), ("forbid", &self.statuses.forbid)] {
            if list.is_empty() {
                return Err(ScenarioError {
                    file: file.to_owned(),
                    position: None,
                    message: format!("expected at least one status in `statuses.{verdict}`, found none"),
                });
            }
        }
        if self.provider.url.is_none()
            && !self.provider.issuers.is_empty()
            && !self.provider.issuers.contains_key(&self.provider.issuer)
        {
            return Err(ScenarioError {
                file: file.to_owned(),
                position: None,
                message: format!(
                    "expected `provider.issuer` to name one of `provider.issuers` ({}), found `{}`",
                    self.provider.issuers.keys().cloned().collect::<Vec<_>>().join(", "),
                    self.provider.issuer
                ),
            });
        }
        if self.requests.is_empty() {
            return Err(ScenarioError {
                file: file.to_owned(),
                position: None,
                message: "expected at least one entry in `requests`, found none".into(),
            });
        }
        for (name, issuer) in &self.provider.issuers {
            mockidp_core::config::validate_issuer(name, issuer).map_err(|err| ScenarioError {
                file: file.to_owned(),
                position: None,
                message: format!("provider: {err}"),
            })?;
        }
        for spanned in &self.cases {
            let case = &spanned.value;
            let (line, column) = (spanned.referenced.line(), spanned.referenced.column());
            let kinds = [
                case.group.is_some(),
                case.pitfall.is_some(),
                case.custom.is_some(),
                case.object.is_some(),
                case.scope.is_some(),
            ];
            match kinds.iter().filter(|set| **set).count() {
                1 => {}
                0 => {
                    return Err(at(
                        line,
                        column,
                        "expected one of `group`, `pitfall`, `custom`, `object` or `scope` in this case, found none"
                            .into(),
                    ));
                }
                _ => {
                    return Err(at(
                        line,
                        column,
                        "expected exactly one of `group`, `pitfall`, `custom`, `object` or `scope` in this case, found several".into(),
                    ));
                }
            }
            for id in case.pitfall.iter().chain(&case.skip) {
                pitfall::find(&id.value)
                    .map_err(|err| at(id.referenced.line(), id.referenced.column(), err.to_string()))?;
            }
            if let Some(request) = &case.request
                && !self.requests.contains_key(&request.value)
            {
                let names: Vec<&str> = self.requests.keys().map(String::as_str).collect();
                let hint = names
                    .iter()
                    .map(|name| (strsim::levenshtein(name, &request.value), *name))
                    .filter(|(distance, _)| *distance <= 2)
                    .min()
                    .map(|(_, name)| format!(" (did you mean `{name}`?)"))
                    .unwrap_or_default();
                return Err(at(
                    request.referenced.line(),
                    request.referenced.column(),
                    format!("unknown request `{}`, expected one of `{}`{hint}", request.value, names.join("`, `")),
                ));
            }
            if case.object.is_some() {
                let request = case.request.as_ref().map_or_else(|| self.first_request(), |r| r.value.clone());
                if case.owner.is_none() && self.requests[&request].owner.is_none() {
                    return Err(at(
                        line,
                        column,
                        format!("an object check needs an owner: set `owner` here or on request `{request}`"),
                    ));
                }
            }
            if case.status.as_ref().is_some_and(Vec::is_empty) {
                return Err(at(line, column, "expected at least one status in `status`, found none".into()));
            }
            if case.scope.is_some() && case.scopes.is_none() {
                return Err(at(line, column, "a scope check needs `scopes`: the scopes its token carries".into()));
            }
        }
        Ok(())
    }

    fn first_request(&self) -> String {
        self.requests.keys().next().cloned().unwrap_or_default()
    }

    /// The cases to run, groups expanded, in order; the control is not
    /// among them (the scanner runs it first and last).
    pub fn plan(&self) -> Vec<PlannedCase> {
        let default_request = self.first_request();
        let entries: Vec<&Case> =
            if self.cases.is_empty() { vec![] } else { self.cases.iter().map(|c| &c.value).collect() };
        let all = Case { group: Some(Group::All), ..Case::default() };
        let entries = if entries.is_empty() { vec![&all] } else { entries };
        let mut planned = Vec::new();
        for case in entries {
            let request = case.request.as_ref().map_or_else(|| default_request.clone(), |r| r.value.clone());
            let statuses = |verdict: Verdict| -> Vec<u16> {
                if let Some(status) = &case.status {
                    return status.clone();
                }
                match verdict {
                    Verdict::Reject => self.statuses.reject.clone(),
                    Verdict::Forbid => self.statuses.forbid.clone(),
                    Verdict::Accept | Verdict::Warn => self.statuses.accept.clone(),
                }
            };
            if let Some(group) = case.group {
                let skip: Vec<&str> = case.skip.iter().map(|s| s.value.as_str()).collect();
                for p in pitfall::catalogue() {
                    let in_group = match group {
                        Group::All => true,
                        Group::Signature => p.section == Section::Signature,
                        Group::Claims => p.section == Section::Claims,
                        Group::Malformed => p.section == Section::Malformed,
                    };
                    if !in_group || p.id == "valid" || skip.contains(&p.id) {
                        continue;
                    }
                    planned.push(self.plan_pitfall(p.id, &request, case.expect, &statuses));
                }
            } else if let Some(id) = &case.pitfall {
                let id = pitfall::find(&id.value).map(|p| p.id).unwrap_or("valid");
                planned.push(self.plan_pitfall(id, &request, case.expect, &statuses));
            } else if let Some(name) = &case.custom {
                let expect = case.expect.unwrap_or(Verdict::Reject);
                planned.push(PlannedCase {
                    name: name.clone(),
                    kind: CaseKind::Custom {
                        claims: case.claims.clone(),
                        header: case.header.clone(),
                        scopes: case.scopes.clone(),
                    },
                    request,
                    expect,
                    statuses: statuses(expect),
                    skip_reason: None,
                });
            } else if let Some(name) = &case.object {
                let expect = case.expect.unwrap_or(Verdict::Forbid);
                let owner = case.owner.clone().or_else(|| self.requests[&request].owner.clone()).unwrap_or_default();
                let as_user = case.as_user.clone().unwrap_or_else(|| "mallory".into());
                planned.push(PlannedCase {
                    name: name.clone(),
                    kind: CaseKind::Object { owner, as_user },
                    request,
                    expect,
                    statuses: statuses(expect),
                    skip_reason: None,
                });
            } else if let Some(name) = &case.scope {
                let expect = case.expect.unwrap_or(Verdict::Forbid);
                planned.push(PlannedCase {
                    name: name.clone(),
                    kind: CaseKind::Scope(case.scopes.clone().unwrap_or_default()),
                    request,
                    expect,
                    statuses: statuses(expect),
                    skip_reason: None,
                });
            }
        }
        planned
    }

    /// A catalogue case on `request`, or on the request it needs: an owned
    /// object for `subject-other-user`, a scoped one for `scope-insufficient`.
    fn plan_pitfall(
        &self,
        id: &'static str,
        request: &str,
        expect: Option<Verdict>,
        statuses: &dyn Fn(Verdict) -> Vec<u16>,
    ) -> PlannedCase {
        let case = pitfall::find(id).expect("ids were validated");
        let expect = expect.unwrap_or(case.verdict);
        let mut request = request.to_owned();
        let mut skip_reason = None;
        if id == "subject-other-user" && self.requests[&request].owner.is_none() {
            match self.requests.iter().find(|(_, r)| r.owner.is_some()) {
                Some((name, _)) => request = name.clone(),
                None => skip_reason = Some("no request has an `owner`".to_owned()),
            }
        }
        if id == "scope-insufficient" && self.requests[&request].scopes.is_empty() {
            match self.requests.iter().find(|(_, r)| !r.scopes.is_empty()) {
                Some((name, _)) => request = name.clone(),
                None => skip_reason = Some("no request names the `scopes` it needs".to_owned()),
            }
        }
        // A huge token may be refused before authentication (431, 413, 400): any 4xx is harmless.
        let statuses =
            if id == "oversized" && expect == Verdict::Reject { (400..500).collect() } else { statuses(expect) };
        PlannedCase { name: id.to_owned(), kind: CaseKind::Pitfall(id), request, expect, statuses, skip_reason }
    }
}

/// A pitfall id: one of the catalogue's, so editors complete and check it.
fn pitfall_id(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let ids: Vec<&str> = pitfall::catalogue().iter().map(|p| p.id).collect();
    schemars::json_schema!({ "type": "string", "enum": ids })
}

fn pitfall_ids(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let item = pitfall_id(generator);
    schemars::json_schema!({ "type": "array", "items": item })
}

/// The JSON Schema of scenario files, generated from these types;
/// `scenarios/scenario.schema.json` is a copy a test keeps current.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    format!("{}\n", serde_json::to_string_pretty(&schema).expect("a schema serialises"))
}

/// The plain scalar starting at 1-based `line` and `column` of `text`.
fn scalar_at(text: &str, line: u64, column: u64) -> String {
    let Some(row) = text.lines().nth(usize::try_from(line.saturating_sub(1)).unwrap_or(0)) else {
        return String::new();
    };
    let start: String = row.chars().skip(usize::try_from(column.saturating_sub(1)).unwrap_or(0)).collect();
    start.split([',', '}', ']', '#']).next().unwrap_or_default().trim().to_owned()
}

/// Serialisable verdict names for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// As expected.
    Pass,
    /// Not as expected: a finding.
    Finding,
    /// Acceptable but worth reporting (a `warn` case that was accepted).
    Warning,
    /// Could not run here (a case the provider cannot produce).
    Skipped,
    /// The request failed (timeout, connection refused): neither pass nor finding.
    Error,
}
