use kai_tools::diagnosis::{Finding, Severity};

use super::*;

fn change(transition: Transition, message: &str) -> Change {
    Change {
        transition,
        finding: Finding {
            severity: Severity::Critical,
            kind: "deployment".into(),
            namespace: "shop".into(),
            name: "backend".into(),
            reason: "CrashLoopBackOff".into(),
            message: message.into(),
            evidence: vec![],
            suggestion: String::new(),
            related: vec![],
        },
    }
}

#[test]
fn a_finding_is_posted_once_while_open_and_resolved_once() {
    let mut posted = Posted::default();
    let opened = posted.text(&change(Transition::Opened, "crashes")).unwrap();
    assert_eq!(
        opened,
        "kai: opened critical deployment shop/backend CrashLoopBackOff: crashes"
    );
    // Opened again while open (another replica's line, a resync) and changed: nothing.
    assert_eq!(posted.text(&change(Transition::Opened, "crashes")), None);
    assert_eq!(posted.text(&change(Transition::Changed, "down")), None);
    assert_eq!(
        posted
            .text(&change(Transition::Resolved, "crashes"))
            .unwrap(),
        "kai: resolved deployment shop/backend CrashLoopBackOff"
    );
    assert_eq!(posted.text(&change(Transition::Resolved, "crashes")), None);
    // Open again after it resolved: a new message.
    assert!(
        posted
            .text(&change(Transition::Opened, "crashes"))
            .is_some()
    );
}

#[test]
fn texts_are_masked() {
    let mut posted = Posted::default();
    let text = posted
        .text(&change(
            Transition::Opened,
            "DB_PASSWORD=hunter2hunter2 in the log",
        ))
        .unwrap();
    assert!(!text.contains("hunter2hunter2"), "{text}");
}
