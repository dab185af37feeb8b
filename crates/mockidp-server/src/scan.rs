//! `mockidp scan`: runs a scenario's cases against a live API and reports.
//!
//! Tokens come from a provider the scan starts (the scenario's `provider`
//! section) or from a running one (`provider.url`, through its admin API).
//! The control (a valid token) runs first and last: the first proves the
//! setup works, the last that the attacks broke or locked nothing.

use std::{
    io::Write as _,
    path::Path,
    time::{Duration, Instant},
};

use mockidp_core::{
    Audience,
    config::Config,
    pitfall::{self, PitfallError, Verdict, Watch},
};
use mockidp_scenario::{
    CaseKind, Outcome, PlannedCase, Scenario, ScenarioError, TokenLocation,
    report::{CaseResult, Report, statuses_text},
};
use serde_json::{Value, json};

use crate::{embedded::Embedded, mint::MintRequest, pitfalls::PitfallOptions};

/// Why a scan could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The scenario file is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The provider could not be started or reached.
    #[error("provider: {0}")]
    Provider(String),
    /// The target did not accept the control.
    #[error("target: {0}")]
    Target(String),
}

/// How the scan reports progress.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Print a line per case to stderr while running.
    pub progress: bool,
}

/// A minted token, and what to ask about it afterwards.
struct Minted {
    token: String,
    fetch_id: Option<String>,
}

/// Why the admin API gave no token.
enum AdminError {
    /// The case does not apply to this provider.
    NotApplicable(String),
    /// Anything else: the scan cannot judge the case.
    Failed(String),
}

/// Where tokens come from.
enum Tokens {
    Embedded { server: Embedded, issuer: String },
    Remote { agent: ureq::Agent, url: String, issuer: String, admin_token: Option<String> },
}

impl Tokens {
    /// A pitfall's token; `Ok(Err(reason))` when the case does not apply
    /// here, `Err` when the provider failed (never a skip, never a pass).
    fn pitfall(&self, id: &str, options: &PitfallOptions) -> Result<Result<Minted, String>, String> {
        match self {
            Tokens::Embedded { server, issuer } => {
                match server.provider().forge_pitfall(issuer, id, server.uri(), options) {
                    Ok(minted) => Ok(Ok(Minted { token: minted.token, fetch_id: minted.fetch_id })),
                    Err(PitfallError::NotApplicable { reason, .. }) => Ok(Err(reason)),
                    Err(err) => Err(err.to_string()),
                }
            }
            Tokens::Remote { url, issuer, .. } => {
                let url = format!("{url}/_mockidp/admin/issuers/{issuer}/pitfalls/{id}");
                let body = match self.admin_post(&url, &json!(options)) {
                    Ok(body) => body,
                    Err(AdminError::NotApplicable(reason)) => return Ok(Err(reason)),
                    Err(AdminError::Failed(message)) => return Err(message),
                };
                let token = body["token"].as_str().ok_or("the provider answered without a token")?.to_owned();
                let fetch_id = body["fetch_id"].as_str().map(str::to_owned);
                Ok(Ok(Minted { token, fetch_id }))
            }
        }
    }

    fn custom(&self, request: &MintRequest) -> Result<String, String> {
        match self {
            Tokens::Embedded { server, issuer } => server
                .provider()
                .mint(issuer, server.uri(), request)
                .map(|(token, _)| token)
                .map_err(|err| err.description().to_owned()),
            Tokens::Remote { url, issuer, .. } => {
                let body = self
                    .admin_post(&format!("{url}/_mockidp/admin/issuers/{issuer}/tokens"), &json!(request))
                    .map_err(|err| match err {
                    AdminError::NotApplicable(message) | AdminError::Failed(message) => message,
                })?;
                Ok(body["token"].as_str().ok_or("the provider answered without a token")?.to_owned())
            }
        }
    }

    /// How often the header URL of a token was fetched; an unreadable
    /// count is an error, never zero.
    fn fetches(&self, fetch_id: &str) -> Result<u64, String> {
        match self {
            Tokens::Embedded { server, .. } => {
                server.provider().pitfall_fetches(fetch_id).ok_or_else(|| format!("no fetch counter `{fetch_id}`"))
            }
            Tokens::Remote { agent, url, admin_token, .. } => {
                let mut request = agent.get(format!("{url}/_mockidp/admin/pitfalls/fetches/{fetch_id}"));
                if let Some(token) = admin_token {
                    request = request.header("authorization", &format!("Bearer {token}"));
                }
                let mut response = request.call().map_err(|err| format!("cannot read the fetch count: {err}"))?;
                let body: Value =
                    response.body_mut().read_json().map_err(|err| format!("cannot read the fetch count: {err}"))?;
                body["fetches"].as_u64().ok_or_else(|| format!("no fetch count for `{fetch_id}`: {body}"))
            }
        }
    }

    fn admin_post(&self, url: &str, body: &Value) -> Result<Value, AdminError> {
        let Tokens::Remote { agent, admin_token, .. } = self else {
            unreachable!("only remote providers are asked over HTTP")
        };
        let mut request = agent.post(url);
        if let Some(token) = admin_token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|err| AdminError::Failed(format!("cannot reach the provider's admin API: {err}")))?;
        let status = response.status();
        let body: Value = response.body_mut().read_json().map_err(|err| {
            AdminError::Failed(format!("the provider answered with something other than JSON: {err}"))
        })?;
        let description = || body["error_description"].as_str().unwrap_or("the provider refused").to_owned();
        if body["error"] == "not_applicable" {
            return Err(AdminError::NotApplicable(description()));
        }
        if !status.is_success() {
            return Err(AdminError::Failed(format!("the provider answered {status}: {}", description())));
        }
        Ok(body)
    }
}

/// Runs the scenario at `path` and reports; `Err` when it could not run at all.
pub fn run(path: &Path, options: &ScanOptions) -> Result<Report, ScanError> {
    let scenario = Scenario::load(path)?;
    let started = Instant::now();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(scenario.target.timeout_ms)))
        .build()
        .into();
    let tokens = match &scenario.provider.url {
        Some(url) => Tokens::Remote {
            agent: agent.clone(),
            url: url.trim_end_matches('/').to_owned(),
            issuer: scenario.provider.issuer.clone(),
            admin_token: scenario.provider.admin_token.clone(),
        },
        None => {
            let mut config = Config::embedded_default();
            if !scenario.provider.issuers.is_empty() {
                config.issuers = scenario.provider.issuers.clone();
            }
            let server = Embedded::start(config, scenario.provider.port, None)
                .map_err(|err| ScanError::Provider(err.to_string()))?;
            Tokens::Embedded { server, issuer: scenario.provider.issuer.clone() }
        }
    };
    let runner = Runner { scenario: &scenario, tokens: &tokens, agent, progress: options.progress };
    let planned = scenario.plan();

    // A control per request the plan uses, the first request first: a case
    // is only judged on a request that accepts a valid token.
    let mut requests: Vec<String> = vec![runner.first_request().to_owned()];
    for case in &planned {
        if !requests.contains(&case.request) {
            requests.push(case.request.clone());
        }
    }
    let total = planned.len() + requests.len() + 1;
    let mut results = Vec::new();
    let mut control_ms = 0;
    let mut unusable: Vec<(String, String)> = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        let name = if index == 0 { "valid".to_owned() } else { format!("valid ({request})") };
        let control = runner.control(&name, request, index + 1, total);
        match (&control.outcome, control.status) {
            (Outcome::Pass, _) if index == 0 => {
                // The first request of a scan pays for connections and the
                // API's first JWKS fetch; the latency baseline is a warm one.
                control_ms = runner.control(&name, request, index + 1, total).elapsed_ms.max(1);
            }
            (Outcome::Pass, _) => {}
            (Outcome::Error, _) => {
                let detail = control.detail.clone().unwrap_or_else(|| "the control request failed".into());
                return Err(match detail.strip_prefix("provider: ") {
                    Some(provider) => ScanError::Provider(provider.to_owned()),
                    None => ScanError::Target(detail),
                });
            }
            (_, status) if index == 0 => {
                return Err(ScanError::Target(format!(
                    "the control (a valid token) got {} instead of 2xx: check that the API trusts issuer `{}` and expects audience `{}`",
                    status.map_or("no answer".into(), |s| s.to_string()),
                    scenario.provider.issuer,
                    scenario.target.audience
                )));
            }
            (_, status) => unusable.push((
                request.clone(),
                format!(
                    "request `{request}` refused a valid token ({}), so its cases cannot be judged",
                    status.map_or("no answer".into(), |s| s.to_string())
                ),
            )),
        }
        results.push(control);
    }
    for (index, case) in planned.iter().enumerate() {
        let position = requests.len() + index + 1;
        match unusable.iter().find(|(request, _)| *request == case.request) {
            Some((_, why)) => results.push(runner.unjudged(case, why)),
            None => results.push(runner.run_case(case, control_ms, position, total)),
        }
    }
    let first = runner.first_request().to_owned();
    let mut last = runner.control("valid-after", &first, total, total);
    if last.outcome == Outcome::Finding {
        last.finding = Some("a valid token is no longer accepted after the attacks".into());
        last.fix = Some("make sure rejected tokens cannot lock or corrupt the API's key cache or sessions".into());
    }
    results.push(last);
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Report::new(path.display().to_string(), scenario.target.url.value.clone(), duration_ms, results))
}

struct Runner<'a> {
    scenario: &'a Scenario,
    tokens: &'a Tokens,
    agent: ureq::Agent,
    progress: bool,
}

impl Runner<'_> {
    fn first_request(&self) -> &str {
        self.scenario.requests.keys().next().map(String::as_str).unwrap_or_default()
    }

    fn control(&self, name: &str, request: &str, index: usize, total: usize) -> CaseResult {
        let request = request.to_owned();
        let case = PlannedCase {
            name: name.to_owned(),
            kind: CaseKind::Control,
            request,
            expect: Verdict::Accept,
            statuses: self.scenario.statuses.accept.clone(),
            skip_reason: None,
        };
        self.run_case(&case, 0, index, total)
    }

    /// The options of a valid token for `request`: its owner as subject, its scopes.
    fn options(&self, request: &str) -> PitfallOptions {
        let request = &self.scenario.requests[request];
        PitfallOptions {
            aud: Some(self.scenario.target.audience.clone()),
            sub: request.owner.clone(),
            scope: (!request.scopes.is_empty()).then(|| request.scopes.join(" ")),
            ..PitfallOptions::default()
        }
    }

    fn mint(&self, case: &PlannedCase) -> Result<Minted, (Outcome, String)> {
        let options = self.options(&case.request);
        let valid_request = |sub: Option<String>, scopes: Option<Vec<String>>| MintRequest {
            sub: sub.or_else(|| options.sub.clone()),
            aud: Some(Audience::one(self.scenario.target.audience.clone())),
            scope: scopes.map(|s| s.join(" ")).or_else(|| options.scope.clone()),
            ..MintRequest::default()
        };
        let custom = |request: MintRequest| {
            self.tokens
                .custom(&request)
                .map(|token| Minted { token, fetch_id: None })
                .map_err(|err| (Outcome::Error, err))
        };
        match &case.kind {
            CaseKind::Control => match self.tokens.pitfall("valid", &options) {
                Ok(Ok(minted)) => Ok(minted),
                Ok(Err(reason)) | Err(reason) => Err((Outcome::Error, format!("provider: {reason}"))),
            },
            CaseKind::Pitfall(id) => match self.tokens.pitfall(id, &options) {
                Ok(Ok(minted)) => Ok(minted),
                Ok(Err(reason)) => Err((Outcome::Skipped, reason)),
                Err(reason) => Err((Outcome::Error, reason)),
            },
            CaseKind::Custom { claims, header, scopes } => {
                let mut request = valid_request(None, scopes.clone());
                request.claims = claims.clone();
                request.header = header.clone();
                custom(request)
            }
            CaseKind::Object { as_user, .. } => custom(valid_request(Some(as_user.clone()), None)),
            CaseKind::Scope(scopes) => custom(valid_request(None, Some(scopes.clone()))),
        }
    }

    /// A case that cannot be judged: an error, with why.
    fn unjudged(&self, case: &PlannedCase, why: &str) -> CaseResult {
        let mut result = self.run_case(&PlannedCase { skip_reason: Some(String::new()), ..case.clone() }, 0, 0, 0);
        result.outcome = Outcome::Error;
        result.detail = Some(why.to_owned());
        result
    }

    fn run_case(&self, case: &PlannedCase, control_ms: u64, index: usize, total: usize) -> CaseResult {
        let mut result = CaseResult {
            name: case.name.clone(),
            request: case.request.clone(),
            expected: case.expect,
            expected_statuses: case.statuses.clone(),
            status: None,
            outcome: Outcome::Skipped,
            finding: None,
            fix: None,
            detail: case.skip_reason.clone(),
            elapsed_ms: 0,
            fetches: None,
        };
        if case.skip_reason.is_none() {
            self.evaluate(case, control_ms, &mut result);
        }
        if self.progress && total > 0 {
            let _ = writeln!(std::io::stderr(), "[{index:>3}/{total}] {:<34} {:?}", case.name, result.outcome);
        }
        result
    }

    fn evaluate(&self, case: &PlannedCase, control_ms: u64, result: &mut CaseResult) {
        let minted = match self.mint(case) {
            Ok(minted) => minted,
            Err((outcome, detail)) => {
                result.outcome = outcome;
                result.detail = Some(detail);
                return;
            }
        };
        let owner = match &case.kind {
            CaseKind::Object { owner, .. } => Some(owner.clone()),
            _ => self.scenario.requests[&case.request].owner.clone(),
        };
        let began = Instant::now();
        let status = match self.send(&case.request, &minted.token, owner.as_deref()) {
            Ok(status) => status,
            Err(err) => {
                result.outcome = Outcome::Error;
                let watched = matches!(case.kind, CaseKind::Pitfall(id) if pitfall::find(id).is_ok_and(|p| p.watch == Some(Watch::Latency)));
                result.detail = Some(if watched {
                    format!("{err} (a timeout here may mean the API acted on the token, e.g. ran the kid as a command)")
                } else {
                    err
                });
                return;
            }
        };
        result.elapsed_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        result.status = Some(status);
        let pitfall = match case.kind {
            CaseKind::Pitfall(id) => pitfall::find(id).ok(),
            _ => None,
        };
        let matches = case.status_matches(status);
        let accepted = (200..300).contains(&status);
        // `oversized`: reject, or handle without harm; accepting it is
        // reported with its latency, not counted as a finding.
        let oversized = pitfall.is_some_and(|p| p.id == "oversized");
        let statuses = &self.scenario.statuses;
        let refused =
            statuses.reject.contains(&status) || statuses.forbid.contains(&status) || (400..500).contains(&status);
        result.outcome = match case.expect {
            Verdict::Warn if accepted => Outcome::Warning,
            Verdict::Warn if refused => Outcome::Pass,
            _ if oversized && accepted => Outcome::Warning,
            _ if matches => Outcome::Pass,
            _ => Outcome::Finding,
        };
        if oversized && accepted {
            result.detail = Some(format!("accepted a 64 KiB token in {} ms", result.elapsed_ms));
        }
        if result.outcome == Outcome::Finding {
            let expected = match case.expect {
                Verdict::Warn => "2xx (warn) or a rejection".to_owned(),
                verdict => format!("{verdict} ({})", statuses_text(&case.statuses)),
            };
            result.finding = Some(match (case.expect, accepted) {
                (Verdict::Reject | Verdict::Forbid, true) => format!("accepted with {status}; expected {expected}"),
                _ => format!("answered {status}; expected {expected}"),
            });
            result.fix =
                Some(pitfall.map_or_else(|| "check this request's authorisation".to_owned(), |p| p.fix.to_owned()));
        }
        match pitfall.and_then(|p| p.watch) {
            Some(Watch::HeaderUrlFetch) => {
                let Some(fetch_id) = minted.fetch_id.as_deref() else {
                    result.outcome = Outcome::Error;
                    result.detail = Some("the provider gave no fetch counter for this token".into());
                    return;
                };
                match self.tokens.fetches(fetch_id) {
                    Ok(0) => result.fetches = Some(0),
                    Ok(fetches) => {
                        result.fetches = Some(fetches);
                        result.outcome = Outcome::Finding;
                        result.finding =
                            Some(format!("fetched the URL named in the token header {fetches} time(s) (SSRF)"));
                        result.fix = pitfall.map(|p| p.fix.to_owned());
                    }
                    Err(err) => {
                        result.outcome = Outcome::Error;
                        result.detail = Some(err);
                    }
                }
            }
            Some(Watch::Latency) if result.elapsed_ms > control_ms + self.scenario.target.slow_ms => {
                let slow = format!("answered in {} ms, the control in {control_ms} ms", result.elapsed_ms);
                result.finding = Some(match result.finding.take() {
                    Some(earlier) => format!("{earlier}; {slow}"),
                    None => slow,
                });
                result.outcome = Outcome::Finding;
                result.fix = pitfall.map(|p| p.fix.to_owned());
            }
            _ => {}
        }
    }

    /// Sends `request` with `token` placed as the scenario says; the status, or why there is none.
    fn send(&self, name: &str, token: &str, owner: Option<&str>) -> Result<u16, String> {
        let request = &self.scenario.requests[name];
        let target = &self.scenario.target;
        let path = request.path.replace("{owner}", owner.unwrap_or_default());
        let mut url = format!("{}{path}", target.url.value.trim_end_matches('/'));
        let mut builder = ureq::http::Request::builder().method(request.method.as_str());
        let placement = &target.token;
        match placement.location {
            TokenLocation::Header => {
                let header = placement.name.as_deref().unwrap_or("authorization");
                builder = builder.header(header, format!("Bearer {token}"));
            }
            TokenLocation::Cookie => {
                let cookie = placement.name.as_deref().unwrap_or("access_token");
                builder = builder.header("cookie", format!("{cookie}={token}"));
            }
            TokenLocation::Query => {
                let param = placement.name.as_deref().unwrap_or("access_token");
                let query: String = form_urlencoded::Serializer::new(String::new()).append_pair(param, token).finish();
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&query);
            }
        }
        for (name, value) in &target.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = match &request.body {
            Some(body) => {
                builder = builder.header("content-type", "application/json");
                serde_json::to_vec(body).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let request =
            builder.uri(&url).body(body).map_err(|err| format!("cannot build the request to {url}: {err}"))?;
        let mut response = self.agent.run(request).map_err(|err| format!("{url}: {err}"))?;
        // Read the body so the connection can be reused; its content is not judged.
        let _ = response.body_mut().read_to_vec();
        Ok(response.status().as_u16())
    }
}
