//! Tests of the health renderings: text, JSON, markdown and JUnit XML.

use super::*;
use crate::health::{ClusterResult, FailOn, Outcome};
use kai_tools::diagnosis::{ObjectRef, Report};

fn outcome() -> Outcome {
    let f = Finding {
        severity: Severity::Critical,
        kind: "deployment".into(),
        namespace: "shop".into(),
        name: "backend".into(),
        reason: "CrashLoopBackOff".into(),
        message: "Deployment backend is down <&> \"quoted\" | pipe".into(),
        evidence: vec!["log: KeyError: 'DATABASE_URL'".into()],
        suggestion: "roll back".into(),
        related: vec!["pod/backend-1".into()],
    };
    let w = |n: &str| ObjectRef {
        kind: "deployment".into(),
        namespace: "shop".into(),
        name: n.into(),
    };
    Outcome {
        clusters: vec![
            ClusterResult {
                context: "kind-a".into(),
                server: "https://127.0.0.1:1".into(),
                report: Ok(Report {
                    findings: vec![f],
                    scope: "namespace shop".into(),
                    workloads: vec![w("backend"), w("frontend")],
                    ..Report::default()
                }),
                scope: "namespace shop".into(),
            },
            ClusterResult {
                context: "down".into(),
                server: String::new(),
                report: Err(kai_tools::ToolError::Config("no such context".into())),
                scope: "namespace shop".into(),
            },
        ],
        fail_on: FailOn::Critical,
        timed_out: None,
        selector: None,
        allow_unchecked: Vec::new(),
    }
}

#[test]
fn junit_escapes_and_counts() {
    let x = junit(&outcome());
    assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{x}");
    assert!(x.contains("&lt;&amp;&gt; &quot;quoted&quot;"), "{x}");
    assert!(
        x.contains("name=\"deployment/frontend\"></testcase>"),
        "{x}"
    );
    assert!(!x.contains("<&>"));
    assert_eq!(xml_escape("a\u{1}b'"), "ab&apos;");
}

#[test]
fn json_and_exit_code() {
    let o = outcome();
    assert_eq!(o.exit_code(), 2);
    let v: serde_json::Value = serde_json::from_str(&json(&o)).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["summary"]["critical"], 1);
    assert_eq!(
        v["clusters"][0]["findings"][0]["reason"],
        "CrashLoopBackOff"
    );
    assert_eq!(v["clusters"][1]["error"], "no such context");
}

#[test]
fn chain_lines_split_causes_and_notes() {
    let l = chain_lines(
        "A is down: pods crash because its log says X, and env has no Y; it started with revision 2; so service b has no ready endpoints",
    );
    assert_eq!(
        l,
        vec![
            "A is down: pods crash",
            "← its log says X",
            "← env has no Y",
            "· it started with revision 2",
            "· so service b has no ready endpoints"
        ]
    );
}

#[test]
fn unread_kinds_and_empty_scopes_are_never_reported_healthy() {
    let mut o = outcome();
    o.clusters.truncate(1);
    let Ok(r) = &mut o.clusters[0].report else {
        panic!()
    };
    r.findings.clear();
    r.unreadable = vec!["pods".into()];
    r.not_checked = vec!["pods: forbidden".into()];
    r.checked.workloads = 2;
    assert_eq!((o.exit_code(), o.status()), (2, "incomplete"));
    let t = text(&o, false);
    assert!(!t.contains("No problems found"), "{t}");
    assert!(
        t.contains("Incomplete: pods could not be read in namespace shop"),
        "{t}"
    );
    let m = markdown(&o);
    assert!(m.contains("⚠️") && m.contains("Incomplete: pods"), "{m}");
    assert!(!m.contains("No problems found"), "{m}");
    let v: serde_json::Value = serde_json::from_str(&json(&o)).unwrap();
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["clusters"][0]["unreadable"][0], "pods");
    let x = junit(&o);
    assert!(x.contains("<error type=\"NotChecked\""), "{x}");
    // Accepted gaps: still named, no longer failing the check.
    o.allow_unchecked = vec!["pods".into()];
    assert_eq!(o.exit_code(), 0);
    // What was checked and fails still says 1.
    o.allow_unchecked.clear();
    let failing = outcome().clusters[0].report.clone().unwrap().findings;
    if let Ok(r) = &mut o.clusters[0].report {
        r.findings = failing;
    }
    assert_eq!(o.exit_code(), 1);
    let t = text(&o, false);
    assert!(
        t.contains("1 critical in namespace shop") && t.contains("Incomplete"),
        "{t}"
    );
    // A selector that matches nothing.
    let mut o = outcome();
    o.clusters.truncate(1);
    o.selector = Some("app=typo".into());
    if let Ok(r) = &mut o.clusters[0].report {
        r.findings.clear();
        r.workloads.clear();
    }
    assert_eq!(o.exit_code(), 2);
    let t = text(&o, false);
    assert!(
        t.contains("Nothing to check: selector app=typo matches no pod, workload or service in namespace shop"),
        "{t}"
    );
    assert!(junit(&o).contains("NothingToCheck"));
}

#[test]
fn text_and_markdown() {
    let mut o = outcome();
    o.clusters.truncate(1);
    assert_eq!(o.exit_code(), 1);
    let t = text(&o, false);
    assert!(
        t.contains("CRITICAL deployment/backend (CrashLoopBackOff)"),
        "{t}"
    );
    assert!(t.contains("1 critical in namespace shop"), "{t}");
    let m = markdown(&o);
    assert!(m.contains("\\| pipe"), "{m}");
    o.fail_on = FailOn::Never;
    assert_eq!(o.exit_code(), 0);
}
