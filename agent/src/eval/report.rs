//! The eval's report: a table for people, one JSON document for scripts.

use serde_json::json;

use super::runner::RunResult;
use super::task::Task;
use crate::render;

/// Who was measured, for the report's last line and the JSON.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `model` or `offline`.
    pub mode: &'static str,
    /// The model's name, if a model answered.
    pub model: Option<String>,
    /// Its endpoint.
    pub base_url: Option<String>,
}

/// Passed runs over all runs (0 when there were none).
pub fn score(results: &[RunResult]) -> f64 {
    if results.is_empty() {
        return 0.0;
    }
    let passed = results.iter().filter(|r| r.passed).count();
    passed as f64 / results.len() as f64
}

/// `kai eval --list`: name, kind and description of each task.
pub fn list(tasks: &[Task]) {
    let width = tasks.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in tasks {
        render::print_line(&format!(
            "{:width$}  {:8}  {}",
            t.name,
            t.kind.word(),
            t.description
        ));
    }
}

/// The table: one row per run, the failure's reason under it, and the score.
// Laid out here rather than by `kai_tools::format::table` (the tools' one table printer): its
// numbers are right-aligned and a failed run's reason sits under its row.
pub fn text(results: &[RunResult], subject: &Subject, repeat: usize) -> String {
    let name = |r: &RunResult| {
        if repeat > 1 {
            format!("{} #{}", r.task, r.run)
        } else {
            r.task.clone()
        }
    };
    let width = results
        .iter()
        .map(|r| name(r).len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:width$}  {:8}  {:6}  {:>5}  {:>10}  {:>7}  {:>6}\n",
        "TASK", "KIND", "PASSED", "STEPS", "TOOL CALLS", "TOKENS", "TIME"
    );
    for r in results {
        let steps = if subject.mode == "offline" {
            "-".to_string()
        } else {
            r.steps.to_string()
        };
        let tokens = r.tokens.map_or("-".to_string(), |t| compact(t.total));
        out.push_str(&format!(
            "{:width$}  {:8}  {:6}  {:>5}  {:>10}  {:>7}  {:>5.1}s\n",
            name(r),
            r.kind.word(),
            if r.passed { "yes" } else { "no" },
            steps,
            r.tool_calls,
            tokens,
            r.seconds
        ));
        if !r.passed {
            out.push_str(&format!("{:width$}  why: {}\n", "", r.reason));
        }
    }
    let passed = results.iter().filter(|r| r.passed).count();
    let seconds: f64 = results.iter().map(|r| r.seconds).sum();
    let who = match (&subject.model, &subject.base_url) {
        (Some(m), Some(u)) => format!("model {m} at {u}"),
        (Some(m), None) => format!("model {m}"),
        _ => "offline (no model: the diagnosis engine)".to_string(),
    };
    out.push_str(&format!(
        "\nScore: {passed}/{} passed ({:.0}%) · {who} · {seconds:.1}s\n",
        results.len(),
        score(results) * 100.0
    ));
    out
}

/// The JSON document: who, the score, and one object per run.
pub fn json(results: &[RunResult], subject: &Subject) -> String {
    let passed = results.iter().filter(|r| r.passed).count();
    let doc = json!({
        "mode": subject.mode,
        "model": subject.model,
        "base_url": subject.base_url,
        "passed": passed,
        "total": results.len(),
        "score": score(results),
        "tasks": results,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// 950, 12.3k, 1.2M.
fn compact(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1_000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}
