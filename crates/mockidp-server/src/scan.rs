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

/// Where tokens come from.
enum Tokens {
    Embedded { server: Embedded, issuer: String },
    Remote { agent: ureq::Agent, url: String, issuer: String, admin_token: Option<String> },
}

impl Tokens {
    fn pitfall(&self, id: &str, options: &PitfallOptions) -> Result<Minted, PitfallError> {
        match self {
            Tokens::Embedded { server, issuer } => {
                let minted = server.provider().forge_pitfall(issuer, id, server.uri(), options)?;
                Ok(Minted { token: minted.token, fetch_id: minted.fetch_id })
            }
            Tokens::Remote { url, issuer, .. } => {
                let body = self
                    .admin_post(&format!("{url}/_mockidp/admin/issuers/{issuer}/pitfalls/{id}"), &json!(options))
                    .map_err(|message| PitfallError::NotApplicable {
                        id: pitfall::find(id).map_or("valid", |p| p.id),
                        reason: message,
                    })?;
                Ok(Minted {
                    token: body["token"].as_str().unwrap_or_default().to_owned(),
                    fetch_id: body["fetch_id"].as_str().map(str::to_owned),
                })
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
                let body =
                    self.admin_post(&format!("{url}/_mockidp/admin/issuers/{issuer}/tokens"), &json!(request))?;
                Ok(body["token"].as_str().unwrap_or_default().to_owned())
            }
        }
    }

    fn fetches(&self, fetch_id: &str) -> Option<u64> {
        match self {
            Tokens::Embedded { server, .. } => server.provider().pitfall_fetches(fetch_id),
            Tokens::Remote { agent, url, admin_token, .. } => {
                let mut request = agent.get(format!("{url}/_mockidp/admin/pitfalls/fetches/{fetch_id}"));
                if let Some(token) = admin_token {
                    request = request.header("authorization", &format!("Bearer {token}"));
                }
                let body: Value = request.call().ok()?.body_mut().read_json().ok()?;
                body["fetches"].as_u64()
            }
        }
    }

    fn admin_post(&self, url: &str, body: &Value) -> Result<Value, String> {
        let Tokens::Remote { agent, admin_token, .. } = self else {
            unreachable!("only remote providers are asked over HTTP")
        };
        let mut request = agent.post(url);
        if let Some(token) = admin_token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response =
            request.send_json(body).map_err(|err| format!("cannot reach the provider's admin API: {err}"))?;
        let status = response.status();
        let body: Value = response
            .body_mut()
            .read_json()
            .map_err(|err| format!("the provider answered with something other than JSON: {err}"))?;
        if !status.is_success() {
            return Err(body["error_description"].as_str().unwrap_or("the provider refused").to_owned());
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
    let total = planned.len() + 2;

    let first_control = runner.control("valid", 1, total);
    let control_ms = match (&first_control.outcome, first_control.status) {
        (Outcome::Pass, _) => first_control.elapsed_ms,
        (Outcome::Error, _) => {
            return Err(ScanError::Target(first_control.detail.unwrap_or_else(|| "the control request failed".into())));
        }
        (_, status) => {
            return Err(ScanError::Target(format!(
                "the control (a valid token) got {} instead of 2xx: check that the API trusts issuer `{}` and expects audience `{}`",
                status.map_or("no answer".into(), |s| s.to_string()),
                scenario.provider.issuer,
                scenario.target.audience
            )));
        }
    };
    let mut results = vec![first_control];
    for (index, case) in planned.iter().enumerate() {
        results.push(runner.run_case(case, control_ms, index + 2, total));
    }
    let mut last = runner.control("valid-after", total, total);
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

    fn control(&self, name: &str, index: usize, total: usize) -> CaseResult {
        let request = self.first_request().to_owned();
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
            CaseKind::Control => {
                self.tokens.pitfall("valid", &options).map_err(|err| (Outcome::Error, err.to_string()))
            }
            CaseKind::Pitfall(id) => self.tokens.pitfall(id, &options).map_err(|err| match err {
                PitfallError::NotApplicable { reason, .. } => (Outcome::Skipped, reason),
                other => (Outcome::Error, other.to_string()),
            }),
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
        if self.progress {
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
                result.detail = Some(err);
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
        if oversized && accepted {
            result.detail = Some(format!("accepted a 64 KiB token in {} ms", result.elapsed_ms));
        }
        result.outcome = match (case.expect, matches) {
            (_, _) if oversized && accepted => Outcome::Warning,
            (Verdict::Warn, _) if accepted => Outcome::Warning,
            (Verdict::Warn, _) if self.scenario.statuses.reject.contains(&status) => Outcome::Pass,
            (_, true) => Outcome::Pass,
            (_, false) => Outcome::Finding,
        };
        if result.outcome == Outcome::Finding {
            let expected = format!("{} ({})", case.expect, statuses_text(&case.statuses));
            result.finding = Some(match (case.expect, accepted) {
                (Verdict::Reject | Verdict::Forbid, true) => format!("accepted with {status}; expected {expected}"),
                _ => format!("answered {status}; expected {expected}"),
            });
            result.fix =
                Some(pitfall.map_or_else(|| "check this request's authorisation".to_owned(), |p| p.fix.to_owned()));
        }
        match pitfall.and_then(|p| p.watch) {
            Some(Watch::HeaderUrlFetch) => {
                let fetches = minted.fetch_id.as_deref().and_then(|id| self.tokens.fetches(id)).unwrap_or(0);
                result.fetches = Some(fetches);
                if fetches > 0 {
                    result.outcome = Outcome::Finding;
                    result.finding =
                        Some(format!("fetched the URL named in the token header {fetches} time(s) (SSRF)"));
                    result.fix = pitfall.map(|p| p.fix.to_owned());
                }
            }
            Some(Watch::Latency) if result.elapsed_ms > control_ms + self.scenario.target.slow_ms => {
                result.outcome = Outcome::Finding;
                result.finding = Some(format!("answered in {} ms, the control in {control_ms} ms", result.elapsed_ms));
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
