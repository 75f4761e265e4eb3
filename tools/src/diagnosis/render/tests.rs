use super::*;
use crate::diagnosis::{Checked, Finding};

fn finding(i: usize, severity: Severity, reason: &str) -> Finding {
    Finding {
        severity,
        kind: "deployment".into(),
        namespace: format!("team-{:03}", i / 10),
        name: format!("svc-{i:04}"),
        reason: reason.into(),
        message: format!("Deployment svc-{i:04} is not ready: its container exits with code 1"),
        evidence: (0..6)
            .map(|k| format!("log line {k} of svc-{i:04}: {}", "x".repeat(120)))
            .collect(),
        suggestion: "read the log and fix the crash".into(),
        related: (0..40).map(|k| format!("pod/svc-{i:04}-{k}")).collect(),
    }
}

fn report(n: usize) -> Report {
    let mut findings: Vec<Finding> = (0..n)
        .map(|i| match i % 3 {
            0 => finding(i, Severity::Critical, "CrashLoopBackOff"),
            1 => finding(i, Severity::Critical, "ImagePullBackOff"),
            _ => finding(i, Severity::Warning, "ProgressDeadlineExceeded"),
        })
        .collect();
    crate::diagnosis::sort_findings(&mut findings);
    Report {
        findings,
        not_checked: vec!["secrets: forbidden".into()],
        unreadable: vec!["secrets".into()],
        scope: "all namespaces".into(),
        checked: Checked {
            pods: 100_000,
            workloads: 20_000,
            services: 20_000,
            nodes: 1_250,
            ..Checked::default()
        },
        workloads: Vec::new(),
    }
}

#[test]
fn a_small_report_is_the_compact_one() {
    let r = report(2);
    assert_eq!(render_budgeted(&r, 64 * 1024), render_compact(&r));
}

#[test]
fn any_number_of_findings_fits_the_budget_grouped_counted_and_noted() {
    for n in [10, 300, 5_000] {
        let r = report(n);
        let text = render_budgeted(&r, 8 * 1024);
        assert!(text.len() <= 8 * 1024, "{n} findings: {} bytes", text.len());
        let crit = r.count(Severity::Critical);
        assert!(text.starts_with(&format!("{crit} critical")), "{text}");
        // Counted by reason, every reason named with its count.
        let crash = r
            .findings
            .iter()
            .filter(|f| f.reason == "CrashLoopBackOff")
            .count();
        assert!(
            text.contains(&format!("critical CrashLoopBackOff {}", thousands(crash))),
            "{text}"
        );
        assert!(text.contains("warning ProgressDeadlineExceeded"), "{text}");
        // Most severe first, the rest cut with a note that says how many.
        assert!(text.contains("\nCRITICAL deployment "), "{text}");
        let shown = text.matches("\nCRITICAL ").count() + text.matches("\nWARNING ").count();
        assert!(shown >= 1 && shown < n, "{shown} of {n}");
        assert!(
            text.contains(&format!(
                "{} more findings not shown (showing {shown} of {}",
                thousands(n - shown),
                thousands(n)
            )),
            "{text}"
        );
        // Long parts of a shown finding are bounded and counted.
        assert!(text.contains("and 30 more"), "{text}");
        assert!(text.contains("(3 more)"), "{text}");
        assert!(text.contains("Not checked: secrets: forbidden"), "{text}");
    }
}
