use kai_tools::diagnosis::Severity;

use super::*;

fn finding(ns: &str, name: &str, reason: &str, severity: Severity, message: &str) -> Finding {
    Finding {
        severity,
        kind: "deployment".into(),
        namespace: ns.into(),
        name: name.into(),
        reason: reason.into(),
        message: message.into(),
        evidence: vec![],
        suggestion: String::new(),
        related: vec![],
    }
}

fn words(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| format!("{} {}", c.transition.as_str(), c.finding.subject()))
        .collect()
}

#[test]
fn opens_changes_and_resolves_only_within_what_a_pass_covered() {
    let mut open = Open::default();
    let crash = finding(
        "shop",
        "backend",
        "CrashLoopBackOff",
        Severity::Critical,
        "crashes",
    );
    let other = finding(
        "web",
        "api",
        "ImagePullBackOff",
        Severity::Critical,
        "no image",
    );
    let first = open.apply(&Covered::All, vec![crash.clone(), other.clone()]);
    assert_eq!(
        words(&first),
        [
            "opened deployment shop/backend",
            "opened deployment web/api"
        ]
    );
    // The same findings again: nothing to say.
    assert!(
        open.apply(&Covered::All, vec![crash.clone(), other.clone()])
            .is_empty()
    );
    // Only a count changed: nothing to say.
    let counted = finding(
        "shop",
        "backend",
        "CrashLoopBackOff",
        Severity::Critical,
        "crashes 9 times",
    );
    assert_eq!(
        words(&open.apply(&Covered::All, vec![counted, other.clone()])),
        ["changed deployment shop/backend"]
    );
    let more = finding(
        "shop",
        "backend",
        "CrashLoopBackOff",
        Severity::Critical,
        "crashes 12 times",
    );
    assert!(
        open.apply(&Covered::All, vec![more, other.clone()])
            .is_empty()
    );
    // A pass over shop alone leaves web's finding open, and sees backend's change.
    let worse = finding(
        "shop",
        "backend",
        "CrashLoopBackOff",
        Severity::Warning,
        "1 of 2",
    );
    let shop = Covered::Namespaces(["shop".to_string()].into());
    assert_eq!(
        words(&open.apply(&shop, vec![worse])),
        ["changed deployment shop/backend"]
    );
    assert_eq!(
        words(&open.apply(&shop, vec![])),
        ["resolved deployment shop/backend"]
    );
    assert_eq!(open.iter().count(), 1);
    assert_eq!(
        words(&open.apply(&Covered::All, vec![])),
        ["resolved deployment web/api"]
    );
}
