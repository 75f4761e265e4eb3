//! Renderings of a health outcome: text for people, JSON for scripts, markdown for pull
//! requests and job summaries, JUnit XML for CI systems.

use std::collections::BTreeMap;
use std::fmt::Write;

use kai_tools::diagnosis::{Finding, Report, Severity};
use serde_json::json;

use super::{ClusterResult, Outcome, format_duration};

fn paint(on: bool, code: &str, s: &str) -> String {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn sev_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::Warning => "1;33",
        Severity::Info => "1;34",
    }
}

/// `2 critical, 1 warning` over a report.
fn counts(r: &Report) -> String {
    let mut parts = Vec::new();
    for s in [Severity::Critical, Severity::Warning, Severity::Info] {
        let n = r.count(s);
        if n > 0 {
            parts.push(format!("{n} {s}"));
        }
    }
    parts.join(", ")
}

fn place(c: &ClusterResult, many: bool) -> String {
    let scope = c
        .report
        .as_ref()
        .map_or(c.scope.as_str(), |r| r.scope.as_str());
    if many {
        format!("{scope} (context {})", c.context)
    } else {
        scope.to_string()
    }
}

/// A finding's message as its cause chain: the symptom, then `← cause` lines, then `· note`
/// lines (revision, consequences), so the chain reads at a glance.
fn chain_lines(message: &str) -> Vec<String> {
    let mut segments = message.split("; ");
    let first = segments.next().unwrap_or_default();
    let mut out = Vec::new();
    match first.split_once(" because ") {
        Some((head, causes)) => {
            out.push(head.to_string());
            out.extend(causes.split(", and ").map(|c| format!("← {c}")));
        }
        None => out.push(first.to_string()),
    }
    out.extend(segments.map(|n| format!("· {n}")));
    out
}

/// Text for people: per cluster, findings grouped by namespace, each with its cause chain,
/// evidence and fix; a summary line per cluster.
pub fn text(o: &Outcome, color: bool) -> String {
    let mut s = String::new();
    let many = o.clusters.len() > 1;
    for c in &o.clusters {
        if many {
            let server = if c.server.is_empty() {
                "not connected"
            } else {
                &c.server
            };
            let title = format!("== context {} ({server}) ==", c.context);
            let _ = writeln!(s, "{}", paint(color, "1", &title));
        }
        let r = match &c.report {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(s, "{} {e}", paint(color, "1;31", "kai: error:"));
                let _ = writeln!(s, "Could not check {}.\n", place(c, many));
                continue;
            }
        };
        let mut by_ns: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
        for f in &r.findings {
            by_ns.entry(f.namespace.as_str()).or_default().push(f);
        }
        for (ns, findings) in &by_ns {
            let title = if ns.is_empty() {
                "cluster".to_string()
            } else {
                format!("namespace {ns}")
            };
            let _ = writeln!(s, "{}", paint(color, "1", &title));
            for f in findings {
                finding_text(&mut s, f, color);
            }
            s.push('\n');
        }
        if !r.not_checked.is_empty() {
            let _ = writeln!(s, "Not checked: {}", r.not_checked.join("; "));
        }
        let _ = writeln!(s, "{}", summary_line(o, c, r, many, color));
        if many {
            s.push('\n');
        }
    }
    if let Some(d) = o.timed_out {
        let still = if o.matched_nothing() && !o.failing() {
            "still nothing to check (above)"
        } else {
            "still unhealthy (the findings above)"
        };
        let line = format!("timed out after {}: {still}", format_duration(d));
        let _ = writeln!(s, "{}", paint(color, "1;31", &line));
    }
    s
}

/// One finding: severity, object and reason, its cause chain, evidence, fix and related objects.
fn finding_text(s: &mut String, f: &Finding, color: bool) {
    let name = if f.namespace.is_empty() {
        format!("{} {}", f.kind, f.name)
    } else {
        format!("{}/{}", f.kind, f.name)
    };
    let _ = writeln!(
        s,
        "  {} {} {}",
        paint(color, sev_color(f.severity), sev_label(f.severity)),
        paint(color, "1", &name),
        paint(color, "2", &format!("({})", f.reason))
    );
    let mut lines = chain_lines(&f.message).into_iter();
    if let Some(head) = lines.next() {
        let _ = writeln!(s, "    {head}");
    }
    for l in lines {
        let _ = writeln!(s, "      {l}");
    }
    if !f.evidence.is_empty() {
        let _ = writeln!(s, "    {}", paint(color, "2", "evidence:"));
    }
    for e in &f.evidence {
        let _ = writeln!(s, "      - {e}");
    }
    if !f.suggestion.is_empty() {
        let _ = writeln!(s, "    {} {}", paint(color, "32", "fix:"), f.suggestion);
    }
    if !f.related.is_empty() {
        let _ = writeln!(
            s,
            "    {} {}",
            paint(color, "2", "related:"),
            f.related.join(", ")
        );
    }
}

/// A cluster's last line: what was not checked, no problems, or the counts (a second line when
/// the check was incomplete: never "No problems found" about what was not checked).
fn summary_line(o: &Outcome, c: &ClusterResult, r: &Report, many: bool, color: bool) -> String {
    let at = place(c, many);
    if let Some(note) = o.incomplete_note(c, &at) {
        let note = paint(color, "1;33", &format!("{note}."));
        return if r.findings.is_empty() {
            note
        } else {
            format!("{} in {at}\n{note}", paint(color, "1", &counts(r)))
        };
    }
    let failing = r.findings.iter().any(|f| o.fail_on.fails(f.severity));
    if r.findings.is_empty() {
        paint(color, "1;32", &format!("No problems found in {at}."))
    } else if !failing && r.findings.iter().all(|f| f.severity == Severity::Info) {
        paint(
            color,
            "1;32",
            &format!("No problems found in {at} ({}).", counts(r)),
        )
    } else {
        format!("{} in {at}", paint(color, "1", &counts(r)))
    }
}

/// One JSON document: status, exit code, summary and per-cluster findings.
pub fn json(o: &Outcome) -> String {
    let clusters: Vec<serde_json::Value> = o
        .clusters
        .iter()
        .map(|c| match &c.report {
            Ok(r) => json!({
                "context": c.context,
                "server": c.server,
                "scope": r.scope,
                "findings": r.findings,
                "not_checked": r.not_checked,
                "unreadable": r.unreadable,
                "incomplete": o.incomplete_note(c, &r.scope),
                "checked": r.checked,
            }),
            Err(e) => json!({
                "context": c.context,
                "server": c.server,
                "scope": c.scope,
                "findings": [],
                "not_checked": [],
                "error": e.to_string(),
            }),
        })
        .collect();
    let mut doc = json!({
        "status": o.status(),
        "exit_code": o.exit_code(),
        "fail_on": format!("{:?}", o.fail_on).to_ascii_lowercase(),
        "summary": {
            "critical": o.count(Severity::Critical),
            "warning": o.count(Severity::Warning),
            "info": o.count(Severity::Info),
        },
        "clusters": clusters,
    });
    if let Some(d) = o.timed_out {
        doc["timed_out"] = json!(format!("timed out after {}", format_duration(d)));
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', "<br>")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace("&lt;br&gt;", "<br>")
}

/// Markdown for a pull-request comment or a GitHub job summary.
pub fn markdown(o: &Outcome) -> String {
    let mut s = String::new();
    let icon = match o.exit_code() {
        0 => "✅",
        1 => "❌",
        _ => "⚠️",
    };
    let total = [Severity::Critical, Severity::Warning, Severity::Info]
        .iter()
        .map(|sev| (o.count(*sev), sev))
        .filter(|(n, _)| *n > 0)
        .map(|(n, sev)| format!("{n} {sev}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        s,
        "## {icon} kai health: {}{}\n",
        o.status(),
        if total.is_empty() {
            String::new()
        } else {
            format!(" ({total})")
        }
    );
    if let Some(d) = o.timed_out {
        let _ = writeln!(
            s,
            "**Timed out after {}**: still unhealthy.\n",
            format_duration(d)
        );
    }
    let many = o.clusters.len() > 1;
    for c in &o.clusters {
        let _ = writeln!(
            s,
            "### Context `{}`: {}\n",
            md_cell(&c.context),
            md_cell(&place(c, false))
        );
        let r = match &c.report {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(s, "Could not check: {}\n", md_cell(&e.to_string()));
                continue;
            }
        };
        let note = o.incomplete_note(c, &place(c, many));
        if let Some(n) = &note.as_ref().filter(|_| r.findings.is_empty()) {
            let _ = writeln!(s, "**{}.**\n", md_cell(n));
        } else if r.findings.is_empty() {
            let _ = writeln!(s, "No problems found in {}.\n", md_cell(&place(c, many)));
        } else {
            let _ = writeln!(
                s,
                "| Severity | Object | Reason | Problem |\n|---|---|---|---|"
            );
            for f in &r.findings {
                let badge = match f.severity {
                    Severity::Critical => "🔴 critical",
                    Severity::Warning => "🟠 warning",
                    Severity::Info => "🔵 info",
                };
                let _ = writeln!(
                    s,
                    "| {badge} | `{}` | {} | {} |",
                    md_cell(&f.subject()),
                    md_cell(&f.reason),
                    md_cell(&f.message)
                );
            }
            s.push('\n');
            let _ = writeln!(s, "<details><summary>Evidence and fixes</summary>\n");
            for f in &r.findings {
                let _ = writeln!(
                    s,
                    "**{}** ({})\n",
                    md_cell(&f.subject()),
                    md_cell(&f.reason)
                );
                for e in &f.evidence {
                    let _ = writeln!(s, "- `{}`", e.replace('`', "'"));
                }
                if !f.suggestion.is_empty() {
                    let _ = writeln!(s, "- Fix: {}", md_cell(&f.suggestion));
                }
                s.push('\n');
            }
            let _ = writeln!(s, "</details>\n");
        }
        if !r.not_checked.is_empty() {
            let _ = writeln!(s, "Not checked: {}\n", md_cell(&r.not_checked.join("; ")));
        }
        if let Some(n) = note.filter(|_| !r.findings.is_empty()) {
            let _ = writeln!(s, "**{}.**\n", md_cell(&n));
        }
    }
    s
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 forbids.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A JUnit test case: a workload, or another object with a finding.
struct Case {
    name: String,
    classname: String,
    failures: Vec<String>,
    notes: Vec<String>,
}

/// An error case of a suite: (test case name, error type, message).
type ErrorCase = (&'static str, &'static str, String);

/// A JUnit test suite: its name, its cases, and the error that stood in for them.
type Suite = (String, Vec<Case>, Option<ErrorCase>);

/// JUnit XML: a test suite per cluster and namespace, a test case per workload checked (and
/// per other object with a finding), a failure per finding at or above `--fail-on`.
pub fn junit(o: &Outcome) -> String {
    let mut suites: Vec<Suite> = Vec::new();
    for c in &o.clusters {
        let r = match &c.report {
            Ok(r) => r,
            Err(e) => {
                suites.push((
                    format!("{} {}", c.context, c.scope),
                    Vec::new(),
                    Some(("connect", "CouldNotCheck", e.to_string())),
                ));
                continue;
            }
        };
        if let Some(note) = o.incomplete_note(c, &r.scope) {
            let (case, kind) = if c.matched_nothing() {
                ("scope", "NothingToCheck")
            } else {
                ("not checked", "NotChecked")
            };
            suites.push((
                format!("{} {}", c.context, r.scope),
                Vec::new(),
                Some((case, kind, note)),
            ));
        }
        suites.extend(namespace_suites(o, c, r));
    }
    junit_xml(&suites)
}

/// One suite per namespace of a cluster's report: a case per workload, its findings as failures
/// (at or above `--fail-on`) or notes.
fn namespace_suites(o: &Outcome, c: &ClusterResult, r: &Report) -> Vec<Suite> {
    let case = |ns: &str, key: String| Case {
        name: key,
        classname: format!(
            "{}.{}",
            c.context,
            if ns.is_empty() { "cluster" } else { ns }
        ),
        failures: Vec::new(),
        notes: Vec::new(),
    };
    let mut by_ns: BTreeMap<String, BTreeMap<String, Case>> = BTreeMap::new();
    for w in &r.workloads {
        let key = format!("{}/{}", w.kind, w.name);
        by_ns
            .entry(w.namespace.clone())
            .or_default()
            .insert(key.clone(), case(&w.namespace, key));
    }
    for f in &r.findings {
        let key = format!("{}/{}", f.kind, f.name);
        let entry = by_ns
            .entry(f.namespace.clone())
            .or_default()
            .entry(key.clone())
            .or_insert_with(|| case(&f.namespace, key));
        if o.fail_on.fails(f.severity) {
            entry.failures.push(failure_xml(f));
        } else {
            entry
                .notes
                .push(format!("{} {}: {}", f.severity, f.reason, f.message));
        }
    }
    if by_ns.is_empty() {
        by_ns.entry(String::new()).or_default();
    }
    by_ns
        .into_iter()
        .map(|(ns, cases)| {
            let name = if ns.is_empty() {
                format!("{} cluster", c.context)
            } else {
                format!("{} namespace {ns}", c.context)
            };
            (name, cases.into_values().collect(), None)
        })
        .collect()
}

/// A finding as a `<failure>`: its message, evidence and fix in the body.
fn failure_xml(f: &Finding) -> String {
    let mut body = format!("{}\n", f.message);
    for e in &f.evidence {
        body.push_str(&format!("evidence: {e}\n"));
    }
    if !f.suggestion.is_empty() {
        body.push_str(&format!("fix: {}\n", f.suggestion));
    }
    format!(
        "<failure type=\"{}\" message=\"{}\">{}</failure>",
        xml_escape(&f.reason),
        xml_escape(&format!("{} {}: {}", f.severity, f.reason, f.message)),
        xml_escape(&body)
    )
}

/// The suites as one JUnit XML document with their totals.
fn junit_xml(suites: &[Suite]) -> String {
    let tests: usize = suites
        .iter()
        .map(|s| s.1.len().max(usize::from(s.2.is_some())))
        .sum();
    let failures: usize = suites
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(|c| !c.failures.is_empty())
        .count();
    let errors = suites.iter().filter(|s| s.2.is_some()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"kai health\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for (name, cases, error) in suites {
        let f = cases.iter().filter(|c| !c.failures.is_empty()).count();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"{}\">",
            xml_escape(name),
            cases.len().max(usize::from(error.is_some())),
            usize::from(error.is_some())
        );
        if let Some((case, kind, e)) = error {
            let _ = writeln!(
                x,
                "    <testcase classname=\"{}\" name=\"{case}\"><error type=\"{kind}\" message=\"{}\"/></testcase>",
                xml_escape(name),
                xml_escape(e)
            );
        }
        for c in cases {
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\">",
                xml_escape(&c.classname),
                xml_escape(&c.name)
            );
            for f in &c.failures {
                x.push_str(f);
            }
            if !c.notes.is_empty() {
                let _ = write!(
                    x,
                    "<system-out>{}</system-out>",
                    xml_escape(&c.notes.join("\n"))
                );
            }
            x.push_str("</testcase>\n");
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
