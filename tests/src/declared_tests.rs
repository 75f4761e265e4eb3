//! Every end-to-end file in tests/tests/ is declared as a test of the `kai` package, so none is
//! silently skipped: Cargo discovers nothing there by itself (`autotests = false`).

use std::collections::BTreeSet;
use std::path::Path;

/// The `[[test]]` targets of agent/Cargo.toml that point into tests/tests/: (name, path).
fn declared(manifest: &str) -> Vec<(String, String)> {
    let doc: toml::Table = toml::from_str(manifest).expect("agent/Cargo.toml is TOML");
    doc.get("test")
        .and_then(toml::Value::as_array)
        .map(|tests| {
            tests
                .iter()
                .map(|t| {
                    let field = |k: &str| t.get(k).and_then(toml::Value::as_str).unwrap_or("");
                    (field("name").to_string(), field("path").to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_end_to_end_file_is_a_declared_test_of_kai() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: BTreeSet<String> = std::fs::read_dir(here.join("tests"))
        .expect("read tests/tests")
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f.ends_with(".rs"))
        .collect();
    assert!(
        !files.is_empty(),
        "no end-to-end files found in tests/tests"
    );
    let manifest =
        std::fs::read_to_string(here.join("../agent/Cargo.toml")).expect("read agent/Cargo.toml");
    let declared = declared(&manifest);
    let mut missing = Vec::new();
    for f in &files {
        let stem = f.trim_end_matches(".rs");
        let path = format!("../tests/tests/{f}");
        if !declared.iter().any(|(n, p)| n == stem && *p == path) {
            missing.push(format!("[[test]]\nname = \"{stem}\"\npath = \"{path}\""));
        }
    }
    assert!(
        missing.is_empty(),
        "end-to-end files not declared in agent/Cargo.toml (they would never run); add:\n{}",
        missing.join("\n\n")
    );
    let stale: Vec<&str> = declared
        .iter()
        .filter_map(|(_, p)| p.strip_prefix("../tests/tests/"))
        .filter(|f| !files.contains(*f))
        .collect();
    assert!(
        stale.is_empty(),
        "agent/Cargo.toml declares tests/tests files that do not exist: {stale:?}"
    );
}

#[test]
fn cargo_does_not_also_build_them_as_tests_of_kai_tests() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("read tests/Cargo.toml");
    let doc: toml::Table = toml::from_str(&manifest).expect("tests/Cargo.toml is TOML");
    let autotests = doc["package"]
        .get("autotests")
        .and_then(toml::Value::as_bool);
    assert_eq!(
        autotests,
        Some(false),
        "tests/Cargo.toml needs `autotests = false`: the files run as tests of the kai package"
    );
}
