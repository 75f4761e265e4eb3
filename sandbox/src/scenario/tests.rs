//! Tests of scenario parsing: built-ins, malformed documents, lists and dumps, file lookup.

use super::*;

#[test]
fn every_builtin_parses_with_a_description() {
    for (name, desc) in Scenario::builtins() {
        let s = Scenario::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!desc.is_empty(), "{name} has no description");
        assert_eq!(s.description, desc);
        assert!(!s.objects.is_empty(), "{name}");
    }
    assert!(matches!(
        Scenario::builtin("nope"),
        Err(SandboxError::UnknownScenario(_))
    ));
}

#[test]
fn malformed_documents_name_document_and_field() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: sandbox.kai.dev/v1\nkind: Behavior\nspec:\n  selector: {matchLabels: {app: x}}\n  exitCode: x\n";
    let e = Scenario::from_yaml("demo.yaml", yaml)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "demo.yaml: document 3: Behavior.spec.exitCode: invalid type: string \"x\", expected"
        ),
        "{e}"
    );
    let typo =
        "apiVersion: sandbox.kai.dev/v1\nkind: Behavior\nspec:\n  selector: {}\n  exitcode: 1\n";
    let e = Scenario::from_yaml("t.yaml", typo).unwrap_err().to_string();
    assert!(e.contains("document 1") && e.contains("exitcode"), "{e}");
    // A custom resource loads schemaless (see crd.rs); a kind of a built-in group does not.
    let custom = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n";
    assert!(Scenario::from_yaml("c.yaml", custom).is_ok());
    let unknown = "apiVersion: apps/v1\nkind: Widget\nmetadata: {name: w}\n";
    let e = Scenario::from_yaml("u.yaml", unknown)
        .unwrap_err()
        .to_string();
    assert!(e.contains("kind Widget (apps/v1) is not served"), "{e}");
    let bad_yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkey: [unclosed\n";
    let e = Scenario::from_yaml("y.yaml", bad_yaml)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("y.yaml: document 2:"), "{e}");
    let bad_age = "apiVersion: sandbox.kai.dev/v1\nkind: Settings\nspec: {age: soon}\n";
    let e = Scenario::from_yaml("a.yaml", bad_age)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Settings.spec.age"), "{e}");
}

#[test]
fn lists_and_dumps_load() {
    let yaml = "---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a, namespace: x}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n  spec: {}\n...\n";
    let s = Scenario::from_yaml("l.yaml", yaml).unwrap();
    assert_eq!(s.objects.len(), 2);
    let bad = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {}\n";
    let e = Scenario::from_yaml("l.yaml", bad).unwrap_err().to_string();
    assert!(e.contains("items[0]: Pod.metadata.name"), "{e}");
}

#[test]
fn load_resolves_builtins_then_files() {
    assert_eq!(Scenario::load("demo").unwrap().name, "demo");
    assert!(matches!(
        Scenario::load("/no/such/file.yaml"),
        Err(SandboxError::UnknownScenario(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.yaml");
    std::fs::write(&p, "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n").unwrap();
    let s = Scenario::load(p.to_str().unwrap()).unwrap();
    assert_eq!(s.name, "mine");
    assert_eq!(s.objects.len(), 1);
}
