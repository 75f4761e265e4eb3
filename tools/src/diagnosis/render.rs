//! Compact text of a report for a model: one block per finding, no YAML, no noise; within a
//! byte budget, findings grouped and counted by reason and the rest cut with a note.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Finding, Report, Severity};
use crate::format::thousands;

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
        s.push_str(&block(f));
    }
    if !report.not_checked.is_empty() {
        let _ = writeln!(s, "\nNot checked: {}", report.not_checked.join("; "));
    }
    s
}

/// Related objects named per finding in the budgeted form; the rest are counted.
const RELATED_SHOWN: usize = 10;

/// [`render_compact`] within `budget` bytes, whatever the cluster's size: when everything does
/// not fit, the findings are first counted by severity and reason, then shown in full (most
/// severe first) while they fit, and a note says how many were left out and how to narrow the
/// question. The summary and the note are always kept.
pub fn render_budgeted(report: &Report, budget: usize) -> String {
    let full = render_compact(report);
    if full.len() <= budget {
        return full;
    }
    let c = &report.checked;
    let mut head = format!(
        "{} in {} (checked {} pods, {} workloads, {} services, {} nodes):\n",
        summary(report),
        report.scope,
        thousands(c.pods),
        thousands(c.workloads),
        thousands(c.services),
        thousands(c.nodes)
    );
    // Grouped and counted: (severity, reason) → findings, most severe first.
    let mut groups: BTreeMap<(std::cmp::Reverse<Severity>, &str), usize> = BTreeMap::new();
    for f in &report.findings {
        *groups
            .entry((std::cmp::Reverse(f.severity), f.reason.as_str()))
            .or_default() += 1;
    }
    let mut namespaces: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *namespaces.entry(f.namespace.as_str()).or_default() += 1;
    }
    let line = groups
        .iter()
        .take(12)
        .map(|((sev, reason), n)| format!("{} {reason} {}", sev.0, thousands(*n)))
        .collect::<Vec<_>>()
        .join(", ");
    let more = groups.len().saturating_sub(12);
    let _ = writeln!(
        head,
        "by reason: {line}{}",
        if more > 0 {
            format!(" (and {more} more reasons)")
        } else {
            String::new()
        }
    );
    let _ = writeln!(head, "in {} namespaces", thousands(namespaces.len()));
    let mut tail = String::new();
    if !report.not_checked.is_empty() {
        let nc = report.not_checked.join("; ");
        let nc = crate::format::truncate(&nc, 512);
        let _ = writeln!(tail, "\nNot checked: {nc}");
    }
    // Room for the note, which has at most a few numbers in it.
    let reserve = 200;
    let mut body = String::new();
    let mut shown = 0usize;
    for f in &report.findings {
        let b = short_block(f);
        if head.len() + body.len() + b.len() + tail.len() + reserve > budget {
            break;
        }
        body.push_str(&b);
        shown += 1;
    }
    let left = report.findings.len() - shown;
    let mut out = head;
    out.push_str(&body);
    if left > 0 {
        let _ = writeln!(
            out,
            "\n… {} more findings not shown (showing {} of {}, most severe first); ask diagnose for one namespace, kind or name to see them",
            thousands(left),
            thousands(shown),
            thousands(report.findings.len())
        );
    }
    out.push_str(&tail);
    out
}

/// One finding's block: header, evidence, fix, related.
fn block(f: &Finding) -> String {
    let mut s = String::new();
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
    s
}

/// A finding's block with long parts bounded: three evidence lines, ten related objects.
fn short_block(f: &Finding) -> String {
    let mut g = f.clone();
    let evidence = g.evidence.len();
    g.evidence.truncate(3);
    g.evidence = g
        .evidence
        .iter()
        .map(|e| crate::format::truncate(e, 400))
        .collect();
    if evidence > 3 {
        g.evidence.push(format!("({} more)", evidence - 3));
    }
    let related = g.related.len();
    g.related.truncate(RELATED_SHOWN);
    if related > RELATED_SHOWN {
        g.related
            .push(format!("and {} more", thousands(related - RELATED_SHOWN)));
    }
    block(&g)
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

#[cfg(test)]
mod tests;
