//! The catalogue against its specification and its generated docs page.

use std::{collections::BTreeSet, path::Path};

use mockidp_core::pitfall;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The ids of sections A to C of a PITFALLS.md: first-column ids, and the
/// variant ids named in a row (`alg-none-capitalized`).
fn spec_ids(spec: &str) -> BTreeSet<String> {
    let sections = spec.split("## D.").next().expect("the spec has sections");
    let mut ids = BTreeSet::new();
    for row in sections.lines().filter(|line| line.starts_with("| `")) {
        let id = row.trim_start_matches("| `").split('`').next().unwrap().to_owned();
        for (index, word) in row.split('`').enumerate() {
            if index % 2 == 1 && word.starts_with(&format!("{id}-")) {
                ids.insert(word.to_owned());
            }
        }
        ids.insert(id);
    }
    ids
}

#[test]
fn every_spec_id_of_sections_a_to_c_is_in_the_catalogue() {
    let spec = std::fs::read_to_string(workspace().join("docs/spec/PITFALLS.md")).unwrap();
    let ids: BTreeSet<&str> = pitfall::catalogue().iter().map(|p| p.id).collect();
    let wanted = spec_ids(&spec);
    assert!(wanted.len() >= 50, "the spec parser found only {wanted:?}");
    let missing: Vec<&String> = wanted.iter().filter(|id| !ids.contains(id.as_str())).collect();
    assert!(missing.is_empty(), "ids in docs/spec/PITFALLS.md missing from the catalogue: {missing:?}");
}

/// The spec is vendored so the repository stands alone; where the team's
/// shared copy sits beside the checkout (as in CI), the two must agree.
#[test]
fn the_vendored_spec_matches_the_shared_one_when_present() {
    let shared = workspace().join("../shared/PITFALLS.md");
    let Ok(shared) = std::fs::read_to_string(&shared) else { return };
    let vendored = std::fs::read_to_string(workspace().join("docs/spec/PITFALLS.md")).unwrap();
    assert!(
        shared == vendored,
        "docs/spec/PITFALLS.md differs from ../shared/PITFALLS.md: copy the shared one over it and add the new cases"
    );
}

#[test]
fn the_docs_page_is_generated_from_the_catalogue() {
    let path = workspace().join("docs/pitfalls.md");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == pitfall::markdown(),
        "docs/pitfalls.md is out of date with the catalogue: run `cargo xtask docs` and commit the result"
    );
}

#[test]
fn every_case_has_a_title_rule_and_fix() {
    for case in pitfall::catalogue() {
        assert!(
            !case.title.is_empty() && !case.rule.is_empty() && !case.fix.is_empty() && !case.emits.is_empty(),
            "{}",
            case.id
        );
    }
}
