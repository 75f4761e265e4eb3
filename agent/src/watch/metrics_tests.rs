use kai_tools::diagnosis::Severity;

use super::*;

#[test]
fn renders_findings_latency_restarts_and_remediations() {
    let mut m = Metrics::default();
    let f = Finding {
        severity: Severity::Critical,
        kind: "deployment".into(),
        namespace: "shop".into(),
        name: "backend".into(),
        reason: "CrashLoop\"x".into(),
        message: String::new(),
        evidence: vec![],
        suggestion: String::new(),
        related: vec![],
    };
    m.set_findings([f.clone(), f].iter());
    m.observe_diagnosis(Duration::from_millis(70));
    m.observe_diagnosis(Duration::from_secs(100));
    m.watch_restarted("pods");
    m.remediated("rollback", "ok");
    let text = m.render();
    assert!(text.contains(
        "kai_findings{namespace=\"shop\",kind=\"deployment\",reason=\"CrashLoop\\\"x\",severity=\"critical\"} 2\n"
    ), "{text}");
    assert!(text.contains("kai_diagnosis_duration_seconds_bucket{le=\"0.05\"} 0\n"));
    assert!(text.contains("kai_diagnosis_duration_seconds_bucket{le=\"0.1\"} 1\n"));
    assert!(text.contains("kai_diagnosis_duration_seconds_bucket{le=\"30\"} 1\n"));
    assert!(text.contains("kai_diagnosis_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert!(text.contains("kai_diagnosis_duration_seconds_count 2\n"));
    assert!(text.contains("kai_watch_restarts_total{kind=\"pods\"} 1\n"));
    assert!(text.contains("kai_remediations_total{action=\"rollback\",result=\"ok\"} 1\n"));
    assert!(text.contains("kai_watch_ready 0\n"));
}
