//! Project automation, run as `cargo xtask <task>`.
//!
//! - `docs`: regenerates `docs/pitfalls.md` from the pitfall catalogue and
//!   `scenarios/scenario.schema.json` from the scenario types (tests fail
//!   when either is stale).
//! - `docker`: builds a static `mockidp` binary and the `mockidp:<version>`
//!   image from `docker/Dockerfile` (FROM scratch: nothing to pull).
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
        Some("docker") => docker(),
        _ => {
            eprintln!("usage: cargo xtask bench | cargo xtask docs | cargo xtask docker");
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

/// The image tag: the workspace version, never `latest`.
fn image_tag() -> String {
    format!("mockidp:{}", env!("CARGO_PKG_VERSION"))
}

fn docker() -> anyhow::Result<()> {
    let target = "x86_64-unknown-linux-gnu";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // A static binary runs in an empty image; `--target` keeps the static
    // flags away from build scripts and proc macros.
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .args(["build", "--release", "--target", target, "--bin", "mockidp"])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the static binary failed with {status}");
    }
    let context = target_dir().join("docker-context");
    std::fs::create_dir_all(&context)?;
    std::fs::copy(target_dir().join(target).join("release/mockidp"), context.join("mockidp"))
        .context("cannot copy the binary into the image context")?;
    // Line tables serve backtraces on the host; the image carries none (80 MB -> 10 MB).
    let stripped = Command::new("strip").arg(context.join("mockidp")).status();
    if !stripped.is_ok_and(|status| status.success()) {
        eprintln!("xtask: `strip` is not available; the image keeps the binary's debug info");
    }
    let dockerfile = workspace_root().join("docker/Dockerfile");
    let status = Command::new("docker")
        .args(["build", "--tag", &image_tag(), "--file"])
        .arg(&dockerfile)
        .arg(&context)
        .status()
        .context("cannot run docker (is the Docker engine installed and running?)")?;
    if !status.success() {
        bail!("docker build failed with {status}");
    }
    println!("built {}", image_tag());
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
