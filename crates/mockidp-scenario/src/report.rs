//! Scan results and their renderings: a table for people, JSON for tools,
//! JUnit XML for CI.

use std::fmt::Write as _;

use mockidp_core::pitfall::Verdict;
use serde::Serialize;

use crate::Outcome;

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case's name: a pitfall id or the scenario's name for it.
    pub name: String,
    /// The request it was sent as.
    pub request: String,
    /// The expected verdict.
    pub expected: Verdict,
    /// The statuses that count as expected (empty: any 2xx).
    pub expected_statuses: Vec<u16>,
    /// The status the API answered, if it answered.
    pub status: Option<u16>,
    /// How it came out.
    pub outcome: Outcome,
    /// For a finding: what is wrong, in one line.
    pub finding: Option<String>,
    /// For a finding: how to fix it, in one line.
    pub fix: Option<String>,
    /// For a skip or an error: why.
    pub detail: Option<String>,
    /// How long the API took, in milliseconds.
    pub elapsed_ms: u64,
    /// For `jku`/`x5u` cases: how often the API fetched the header's URL.
    pub fetches: Option<u64>,
}

/// Counts per outcome.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Cases as expected.
    pub passed: usize,
    /// Cases not as expected.
    pub findings: usize,
    /// Accepted `warn` cases.
    pub warnings: usize,
    /// Cases that could not run here.
    pub skipped: usize,
    /// Requests that failed.
    pub errors: usize,
}

/// A whole scan.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario file.
    pub scenario: String,
    /// The target's base URL.
    pub target: String,
    /// Wall-clock duration of the scan, in milliseconds.
    pub duration_ms: u64,
    /// Counts.
    pub summary: Summary,
    /// Every case, the controls first and last.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// A report from results, counting them.
    pub fn new(scenario: String, target: String, duration_ms: u64, cases: Vec<CaseResult>) -> Self {
        let mut summary = Summary::default();
        for case in &cases {
            match case.outcome {
                Outcome::Pass => summary.passed += 1,
                Outcome::Finding => summary.findings += 1,
                Outcome::Warning => summary.warnings += 1,
                Outcome::Skipped => summary.skipped += 1,
                Outcome::Error => summary.errors += 1,
            }
        }
        Self { scenario, target, duration_ms, summary, cases }
    }

    /// 0 all good, 1 findings, 2 the scan could not run completely: an
    /// error is never counted as a pass or a finding.
    pub fn exit_code(&self) -> i32 {
        if self.summary.errors > 0 {
            2
        } else if self.summary.findings > 0 {
            1
        } else {
            0
        }
    }

    /// The names of the cases that are findings.
    pub fn findings(&self) -> Vec<&str> {
        self.cases.iter().filter(|c| c.outcome == Outcome::Finding).map(|c| c.name.as_str()).collect()
    }

    /// A plain-text table: case, expected, got, verdict, finding and fix.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let width = self.cases.iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(out, "{:<width$}  {:<8}  {:<5}  {:<8}  finding", "case", "expected", "got", "verdict");
        for case in &self.cases {
            let got = case.status.map_or("-".to_owned(), |s| s.to_string());
            let outcome = match case.outcome {
                Outcome::Pass => "ok",
                Outcome::Finding => "FINDING",
                Outcome::Warning => "warn",
                Outcome::Skipped => "skipped",
                Outcome::Error => "ERROR",
            };
            let note = match (&case.finding, &case.fix, &case.detail) {
                (Some(finding), Some(fix), _) => format!("{finding} (fix: {fix})"),
                (Some(finding), None, _) => finding.clone(),
                (None, _, Some(detail)) => detail.clone(),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<width$}  {:<8}  {:<5}  {:<8}  {note}",
                case.name,
                case.expected.to_string(),
                got,
                outcome
            );
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\n{} passed, {} findings, {} warnings, {} skipped, {} errors in {} ms",
            s.passed, s.findings, s.warnings, s.skipped, s.errors, self.duration_ms
        );
        out
    }

    /// The report as JSON (the shape of this type; documented in `scenarios/README.md`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }

    /// JUnit XML: one test suite, a test case per case; findings are
    /// failures, request errors are errors, skipped cases are skipped.
    pub fn to_junit(&self) -> String {
        let s = &self.summary;
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"mockidp scan\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            self.cases.len(),
            s.findings,
            s.errors,
            s.skipped,
            self.duration_ms as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml(&self.scenario),
            self.cases.len(),
            s.findings,
            s.errors,
            s.skipped,
            self.duration_ms as f64 / 1000.0
        );
        for case in &self.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"mockidp.{}\" name=\"{}\" time=\"{:.3}\"",
                xml(&case.request),
                xml(&case.name),
                case.elapsed_ms as f64 / 1000.0
            );
            let message = case.finding.clone().or_else(|| case.detail.clone()).unwrap_or_default();
            match case.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Warning => {
                    let _ = write!(
                        out,
                        ">\n      <system-out>warning: {}</system-out>\n    </testcase>\n",
                        xml(case.detail.as_deref().unwrap_or("accepted; acceptable, but worth a look"))
                    );
                }
                Outcome::Finding => {
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"finding\">{}; got {}; fix: {}</failure>\n    </testcase>\n",
                        xml(&message),
                        xml(&message),
                        case.status.map_or("no answer".to_owned(), |s| s.to_string()),
                        xml(case.fix.as_deref().unwrap_or("-"))
                    );
                }
                Outcome::Error => {
                    let _ = write!(
                        out,
                        ">\n      <error message=\"{}\" type=\"error\"/>\n    </testcase>\n",
                        xml(&message)
                    );
                }
                Outcome::Skipped => {
                    let _ = write!(out, ">\n      <skipped message=\"{}\"/>\n    </testcase>\n", xml(&message));
                }
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}

/// "401", "403 or 404", "2xx".
pub fn statuses_text(statuses: &[u16]) -> String {
    if statuses.is_empty() {
        return "2xx".to_owned();
    }
    if statuses.len() == 100 && statuses[0] == 400 {
        return "4xx".to_owned();
    }
    statuses.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
}

/// Escapes for XML 1.0, replacing characters it cannot hold at all.
fn xml(text: &str) -> String {
    let text: String =
        text.chars().map(|c| if c.is_control() && !matches!(c, '\t' | '\n' | '\r') { '\u{FFFD}' } else { c }).collect();
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}
