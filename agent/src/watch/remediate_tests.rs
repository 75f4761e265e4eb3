use super::*;

fn rev(revision: i64, rs: &str, created: &str, replicas: i64, current: bool) -> Revision {
    Revision {
        revision,
        replica_set: rs.into(),
        images: vec![],
        created: created.into(),
        change_cause: String::new(),
        replicas,
        current,
    }
}

fn crash(related: &[&str]) -> Finding {
    Finding {
        severity: Severity::Critical,
        kind: "deployment".into(),
        namespace: "shop".into(),
        name: "backend".into(),
        reason: "CrashLoopBackOff".into(),
        message: "crashes".into(),
        evidence: vec![],
        suggestion: String::new(),
        related: related.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn only_failing_deployments_are_candidates() {
    assert!(Remediator::wants(&crash(&[])));
    let mut svc = crash(&[]);
    svc.kind = "service".into();
    assert!(!Remediator::wants(&svc));
    let mut pending = crash(&[]);
    pending.reason = "Unschedulable".into();
    assert!(!Remediator::wants(&pending));
}

#[test]
fn picks_the_current_newest_revision_and_the_one_before() {
    let h = vec![
        rev(1, "backend-a", "2026-01-01T00:00:00Z", 0, false),
        rev(3, "backend-c", "2026-01-03T00:00:00Z", 2, true),
        rev(2, "backend-b", "2026-01-02T00:00:00Z", 0, false),
    ];
    let (newest, previous) = pick(&h).unwrap();
    assert_eq!((newest.revision, previous.revision), (3, 2));
    // Not current (a rollback already happened elsewhere): no action.
    let h = vec![
        rev(2, "backend-b", "2026-01-02T00:00:00Z", 0, false),
        rev(1, "backend-a", "2026-01-01T00:00:00Z", 2, true),
    ];
    assert!(pick(&h).is_none());
    // One revision: nothing to go back to.
    assert!(pick(&[rev(1, "backend-a", "2026-01-01T00:00:00Z", 2, true)]).is_none());
}

#[test]
fn the_previous_revision_must_be_known_healthy() {
    let r = Remediator::new(false, Duration::from_secs(600), 3);
    let newest = rev(2, "backend-b", "2026-01-03T00:00:00Z", 2, true);
    let long = rev(1, "backend-a", "2026-01-01T00:00:00Z", 0, false);
    assert_eq!(
        r.unhealthy_previous("shop", "backend", &newest, &long),
        None
    );
    let brief = rev(1, "backend-a", "2026-01-02T23:58:00Z", 0, false);
    let why = r
        .unhealthy_previous("shop", "backend", &newest, &brief)
        .unwrap();
    assert!(why.contains("ran for only 120s"), "{why}");
    // Still serving next to the new one: healthy.
    let serving = rev(1, "backend-a", "2026-01-02T23:58:00Z", 1, false);
    assert_eq!(
        r.unhealthy_previous("shop", "backend", &newest, &serving),
        None
    );
    let mut seen = Remediator::new(false, Duration::from_secs(600), 3);
    seen.failed.insert(("shop".into(), "backend".into(), 1));
    assert!(
        seen.unhealthy_previous("shop", "backend", &newest, &long)
            .unwrap()
            .contains("failed too")
    );
}

#[test]
fn the_failing_pods_must_be_the_newest_revisions() {
    let newest = rev(2, "backend-7d9", "", 2, true);
    assert!(failing_pods_are_of(
        &crash(&["pod/backend-7d9-abcde"]),
        &newest
    ));
    assert!(!failing_pods_are_of(
        &crash(&["pod/backend-5c4-abcde"]),
        &newest
    ));
    assert!(failing_pods_are_of(&crash(&["secret/db"]), &newest));
}
