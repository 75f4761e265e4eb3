//! Compact text of a report for a model: one block per finding, no YAML, no noise.

use std::fmt::Write;

use super::{Report, Severity};

/// The report as compact text: a summary line, then per finding its severity, subject,
/// reason and message, the evidence, the fix and the related objects; then what was not checked.
pub fn render_compact(report: &Report) -> String {
    let mut s = String::new();
    let c = &report.checked;
    if report.findings.is_empty() {
        let _ = writeln!(
            s,
            "No problems found in {} (checked {} pods, {} workloads, {} services, {} nodes).",
            report.scope, c.pods, c.workloads, c.services, c.nodes
        );
    } else {
        let _ = writeln!(
            s,
            "{} in {} (checked {} pods, {} workloads, {} services, {} nodes):",
            summary(report),
            report.scope,
            c.pods,
            c.workloads,
            c.services,
            c.nodes
        );
    }
    for f in &report.findings {
        let _ = writeln!(
            s,
            "\n{} {} [{}]: {}",
            f.severity.as_str().to_ascii_uppercase(),
            f.subject(),
            f.reason,
            f.message
        );
        for e in &f.evidence {
            let _ = writeln!(s, "  evidence: {e}");
        }
        if !f.suggestion.is_empty() {
            let _ = writeln!(s, "  fix: {}", f.suggestion);
        }
        if !f.related.is_empty() {
            let _ = writeln!(s, "  related: {}", f.related.join(", "));
        }
    }
    if !report.not_checked.is_empty() {
        let _ = writeln!(s, "\nNot checked: {}", report.not_checked.join("; "));
    }
    s
}

/// `2 critical, 1 warning` (info only when nothing else).
pub(crate) fn summary(report: &Report) -> String {
    let mut parts = Vec::new();
    for sev in [Severity::Critical, Severity::Warning, Severity::Info] {
        let n = report.count(sev);
        if n > 0 {
            parts.push(format!("{n} {sev}"));
        }
    }
    parts.join(", ")
}
