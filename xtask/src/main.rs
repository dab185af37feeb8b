//! Project automation, run as `cargo xtask <task>`.
//!
//! - `docs`: regenerates `docs/pitfalls.md` from the pitfall catalogue and
//!   `scenarios/scenario.schema.json` from the scenario types (tests fail
//!   when either is stale).
//! - `bench`: runs the criterion benchmarks of the test helper in the bench
//!   (release) profile and in the dev profile tests use, and prints the
//!   medians next to their targets.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

/// Benchmarks and their targets: (criterion id, release target ms, dev target ms).
const TARGETS: [(&str, &str, Option<f64>, Option<f64>); 4] = [
    ("start", "MockIdp::start", Some(5.0), Some(50.0)),
    ("start", "mint RS256 access token", None, None),
    ("start", "mint ES256 access token", None, None),
    ("scan", "full scan", Some(2000.0), None),
];

fn main() -> std::process::ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("bench") => bench(),
        Some("docs") => docs(),
        _ => {
            eprintln!("usage: cargo xtask bench | cargo xtask docs");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

fn docs() -> anyhow::Result<()> {
    let generated = [
        ("docs/pitfalls.md", mockidp_core::pitfall::markdown()),
        ("scenarios/scenario.schema.json", mockidp_scenario::json_schema()),
    ];
    for (file, text) in generated {
        let path = workspace_root().join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for profile in ["bench", "dev"] {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        // The scan is measured in the release build only: its target is for users.
        let benches: &[&str] = if profile == "bench" { &["start", "scan"] } else { &["start"] };
        for bench in benches {
            let status = Command::new(&cargo)
                .current_dir(workspace_root())
                .args(["bench", "-p", "mockidp", "--bench", bench, "--profile", profile])
                .status()
                .context("cannot run cargo bench")?;
            if !status.success() {
                bail!("cargo bench --bench {bench} --profile {profile} failed with {status}");
            }
        }
        for (bench, id, release_target, dev_target) in TARGETS {
            if !benches.contains(&bench) {
                continue;
            }
            let median_ms = median_ms(id)?;
            let target = if profile == "bench" { release_target } else { dev_target };
            rows.push((profile, id, median_ms, target));
        }
    }
    println!();
    println!("{:<8} {:<28} {:>12} {:>10}", "profile", "benchmark", "median", "target");
    let mut missed = Vec::new();
    for (profile, id, median, target) in rows {
        let target_text = target.map_or("-".to_owned(), |t| format!("<= {t} ms"));
        println!("{profile:<8} {id:<28} {median:>9.3} ms {target_text:>10}");
        if let Some(target) = target
            && median > target
        {
            missed.push(format!("{id} ({profile}): {median:.3} ms > {target} ms"));
        }
    }
    if !missed.is_empty() {
        bail!("targets missed: {}", missed.join("; "));
    }
    Ok(())
}

/// The median of the last run of a criterion benchmark, in milliseconds.
fn median_ms(id: &str) -> anyhow::Result<f64> {
    // criterion replaces the characters that are not safe in file names.
    let dir: String = id.chars().map(|c| if "?\"/\\*<>:|^".contains(c) { '_' } else { c }).collect();
    let path = target_dir().join("criterion").join(&dir).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let estimates: serde_json::Value = serde_json::from_str(&text)?;
    let nanos =
        estimates["median"]["point_estimate"].as_f64().with_context(|| format!("{} has no median", path.display()))?;
    Ok(nanos / 1e6)
}
