use super::judge::{Fact, Judge};
use super::task::{self, Kind};
use super::world::ObjectRef;
use super::{parse_score, report};

#[test]
fn every_builtin_task_loads_and_the_list_covers_the_issue() {
    let tasks = task::builtins().unwrap();
    assert!(tasks.len() >= 12, "{}", tasks.len());
    let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    for n in ["demo-rollback", "refuse-protected-delete", "log-injection"] {
        assert!(names.contains(&n), "{names:?}");
    }
    assert!(tasks.iter().any(|t| t.kind == Kind::Fix));
    assert!(tasks.iter().any(|t| t.kind == Kind::Diagnose));
    assert!(tasks.iter().any(|t| t.kind == Kind::Refuse));
    for t in &tasks {
        assert!(
            !t.description.is_empty() && !t.question.is_empty(),
            "{}",
            t.name
        );
        assert!(!t.scenario.objects.is_empty(), "{}", t.name);
    }
    assert_eq!(names, task::builtin_names());
}

#[test]
fn a_task_file_lays_its_documents_over_a_builtin_scenario() {
    let text = "apiVersion: sandbox.kai.dev/v1\nkind: Task\nmetadata: {name: mine}\nspec:\n  description: d\n  kind: fix\n  scenario: crashloop\n  question: fix worker\n  judge:\n    healthy: [deployment apps/worker]\n    changes: [deployment apps/worker]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: apps}\ndata: {a: '1'}\n";
    let t = task::parse("file", "mine.yaml", text).unwrap();
    assert_eq!(t.name, "mine");
    assert_eq!(t.scenario.settings.namespace.as_deref(), Some("apps"));
    assert!(
        t.scenario
            .objects
            .iter()
            .any(|o| o["metadata"]["name"] == "extra")
    );
    assert!(
        t.scenario
            .objects
            .iter()
            .any(|o| o["metadata"]["name"] == "worker")
    );
}

#[test]
fn task_file_mistakes_are_one_line_naming_the_file() {
    let no_task = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";
    let e = task::parse("x", "x.yaml", no_task).unwrap_err().0;
    assert!(e.starts_with("x.yaml: no Task document"), "{e}");
    let bad_ref = "apiVersion: sandbox.kai.dev/v1\nkind: Task\nspec:\n  description: d\n  kind: fix\n  scenario: demo\n  question: q\n  judge:\n    healthy: [deployment backend]\n";
    let e = task::parse("x", "x.yaml", bad_ref).unwrap_err().0;
    assert!(
        e.contains("Task.spec.judge") && e.contains("NAMESPACE/NAME"),
        "{e}"
    );
    let unknown_field = "apiVersion: sandbox.kai.dev/v1\nkind: Task\nspec:\n  description: d\n  kind: fix\n  scenario: demo\n  question: q\n  judge: {}\n  color: red\n";
    let e = task::parse("x", "x.yaml", unknown_field).unwrap_err().0;
    assert!(e.contains("color"), "{e}");
    let e = task::load("demo-rolback").unwrap_err().0;
    assert!(e.contains("did you mean \"demo-rollback\""), "{e}");
    assert!(!e.contains('\n'));
}

#[test]
fn facts_match_any_phrase_ignoring_case_marks_and_spacing() {
    let judge = Judge {
        mentions: vec![
            Fact::One("DATABASE_URL".into()),
            Fact::Any(vec!["roll back".into(), "rollback".into()]),
        ],
        avoids: vec!["scaled to 0".into()],
        ..Judge::default()
    };
    assert!(
        judge
            .text_failures("Missing `database_url`; I will **Roll\n back**.")
            .is_empty()
    );
    let f = judge.text_failures("It crashes. I scaled  to 0 the payments.");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f[0].contains("\"DATABASE_URL\", \"roll back\" or \"rollback\""),
        "{f:?}"
    );
    assert!(f[1].contains("scaled to 0"), "{f:?}");
}

#[test]
fn object_refs_read_as_kubectl_names_them() {
    let r = ObjectRef::parse("deploy shop/backend").unwrap();
    assert_eq!(r.to_string(), "deployment shop/backend");
    assert_eq!(
        ObjectRef::parse("Node node-1").unwrap().to_string(),
        "node node-1"
    );
    assert!(ObjectRef::parse("deployment backend").is_err());
    assert!(ObjectRef::parse("widget a/b").is_err());
    assert!(ObjectRef::parse("node a/b").is_err());
}

#[test]
fn min_score_takes_a_fraction_or_a_percentage() {
    assert_eq!(parse_score("0.8").unwrap(), 0.8);
    assert_eq!(parse_score("80%").unwrap(), 0.8);
    assert_eq!(parse_score("75").unwrap(), 0.75);
    assert!(parse_score("abc").is_err());
    assert!(parse_score("150%").is_err());
    assert_eq!(report::score(&[]), 0.0);
}
