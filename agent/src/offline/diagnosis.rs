//! Answers from the diagnosis engine: health of a scope, why one object fails (any kind),
//! how to fix it with the command kai would run, and the nodes.

use kai_tools::Kind;
use kai_tools::diagnosis::{Finding, Severity};
use kai_tools::inventory::Object;
use kai_tools::registry::ToolOutput;
use serde_json::json;

use super::{Answer, Ctx, Runner, block, call};

/// Findings of a `diagnose` output.
pub(super) fn findings_of(out: &ToolOutput) -> Vec<Finding> {
    out.json
        .get("findings")
        .cloned()
        .and_then(|f| serde_json::from_value(f).ok())
        .unwrap_or_default()
}

/// Runs `diagnose` over `scope` (None: every namespace).
async fn diagnose(runner: &mut impl Runner, scope: Option<&str>) -> anyhow::Result<Vec<Finding>> {
    let args = match scope {
        Some(ns) => json!({"namespace": ns}),
        None => json!({"all_namespaces": true}),
    };
    Ok(findings_of(&call(runner, "diagnose", args).await?))
}

/// Health of the question's scope: the count and the worst first, then each finding.
pub(super) async fn health(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let scope = ctx.scope();
    let findings = diagnose(runner, scope.as_deref()).await?;
    let text = health_text(&findings, &ctx.scope_words());
    Ok(Answer {
        text,
        findings,
        ..Answer::default()
    })
}

fn health_text(findings: &[Finding], scope: &str) -> String {
    let problems: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .collect();
    if problems.is_empty() {
        let mut text = format!("No problems found in {scope}.\n");
        for f in findings {
            text.push_str(&format!("- note: {}: {}\n", f.subject(), f.message));
        }
        return text;
    }
    let names: Vec<String> = problems
        .iter()
        .take(4)
        .map(|f| format!("{} ({})", f.subject(), f.reason))
        .collect();
    let more = problems.len().saturating_sub(4);
    let mut text = format!(
        "{} in {scope}: {}{}.\n\n",
        count_line(findings),
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
    for f in problems {
        text.push_str(&finding_block(f));
    }
    text
}

/// Whether finding `f` is about `t` (the object, its owner, or what it owns or serves).
fn about(f: &Finding, t: &Object) -> bool {
    let same_ns = f.namespace == t.namespace || t.namespace.is_empty() || f.namespace.is_empty();
    if !same_ns {
        return false;
    }
    let owner = t.owner.as_ref().map(|(_, n)| n.as_str());
    f.name == t.name
        || Some(f.name.as_str()) == owner
        || f.related
            .iter()
            .any(|r| r.rsplit('/').next() == Some(t.name.as_str()))
        || (t.kind.is_workload() || t.kind == Kind::CronJob)
            && f.name.starts_with(&format!("{}-", t.name))
}

/// Why the target fails, or that it does not.
pub(super) async fn why(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let Some(t) = ctx.q.target.clone() else {
        return health(ctx, runner).await;
    };
    let scope = (!t.namespace.is_empty()).then_some(t.namespace.as_str());
    let findings = diagnose(runner, scope).await?;
    let (mine, others): (Vec<&Finding>, Vec<&Finding>) = findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .partition(|f| about(f, &t));
    let mut text = String::new();
    if mine.is_empty() {
        let facts = super::facts::state_line(ctx.cluster, &t).await;
        text.push_str(&format!(
            "I found no problem with {}{facts}.\n",
            t.display()
        ));
    } else {
        for f in &mine {
            text.push_str(&finding_block(f));
        }
    }
    if !others.is_empty() {
        let place = scope.map_or("the cluster".to_string(), |n| format!("namespace {n}"));
        text.push_str(&format!("\nAlso in {place}:\n"));
        for f in &others {
            text.push_str(&format!(
                "- {} ({}, {}): {}\n",
                f.subject(),
                f.reason,
                f.severity.as_str(),
                f.message
            ));
        }
    }
    Ok(Answer {
        text,
        findings,
        target: Some(t),
        ..Answer::default()
    })
}

/// How to fix the target's problem (or the scope's worst): the suggestion, and the command kai
/// would run for it.
pub(super) async fn fix(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let target = ctx.q.target.clone();
    let scope = match &target {
        Some(t) if t.namespace.is_empty() => None,
        Some(t) => Some(t.namespace.clone()),
        None => ctx.scope(),
    };
    let findings = diagnose(runner, scope.as_deref()).await?;
    let chosen: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .filter(|f| target.as_ref().is_none_or(|t| about(f, t)))
        .collect();
    let mut text = String::new();
    if chosen.is_empty() {
        let what = target
            .as_ref()
            .map_or_else(|| ctx.scope_words(), Object::display);
        text.push_str(&format!(
            "Nothing to fix: I found no problem with {what}.\n"
        ));
    }
    for f in chosen.iter().take(3) {
        text.push_str(&format!(
            "To fix {} ({}): {}\n",
            f.subject(),
            f.reason,
            if f.suggestion.is_empty() {
                "see the cause below"
            } else {
                f.suggestion.as_str()
            }
        ));
        text.push_str(&format!("- cause: {}\n", f.message));
        if let Some(e) = f.evidence.first() {
            text.push_str(&format!("- evidence: `{}`\n", e.replace('`', "'")));
        }
        text.push_str(&format!("- {}\n\n", command_for(f)));
    }
    Ok(Answer {
        text,
        findings,
        target,
        ..Answer::default()
    })
}

/// The command kai would run for a finding (through the approval gate), or the kubectl
/// command for a change kai has no tool for.
fn command_for(f: &Finding) -> String {
    let s = f.suggestion.to_ascii_lowercase();
    let ns = &f.namespace;
    let name = &f.name;
    if f.kind == "deployment" && (s.contains("roll back") || s.contains("rollback")) {
        return format!(
            "kai would run: `rollout_undo deployment {ns}/{name}` — say `kai -n {ns} \"roll back {name}\"` (it shows the change and asks first)"
        );
    }
    if f.reason == "OOMKilled" {
        return format!(
            "kai has no tool to change limits; run: `kubectl -n {ns} set resources {}/{name} --limits=memory=<more>` (see `kai -n {ns} \"how much memory does {name} use\"`)",
            f.kind
        );
    }
    if matches!(f.kind.as_str(), "deployment" | "statefulset" | "daemonset")
        && (s.contains("restart") || f.reason == "Evicted")
    {
        return format!(
            "kai would run: `restart {} {ns}/{name}` — say `kai -n {ns} \"restart {name}\"` (asks first)",
            f.kind
        );
    }
    "kai has no tool for this change; it is a change to the manifests (then re-check with `kai health`)"
        .to_string()
}

/// The nodes: which are not healthy, then the list.
pub(super) async fn nodes(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let all = ctx
        .inv
        .objects
        .iter()
        .filter(|o| o.kind == Kind::Node)
        .count();
    let findings = findings_of(
        &call(
            runner,
            "diagnose",
            json!({"all_namespaces": true, "kind": "node"}),
        )
        .await?,
    );
    let bad: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind == "node" && f.severity > Severity::Info)
        .collect();
    let list = call(runner, "list_resources", json!({"kind": "nodes"})).await?;
    let mut text = if bad.is_empty() {
        format!(
            "All {all} node{} healthy.\n\n",
            if all == 1 { " is" } else { "s are" }
        )
    } else {
        let names: Vec<String> = bad
            .iter()
            .map(|f| format!("{} ({})", f.name, f.reason))
            .collect();
        format!(
            "{} of {all} nodes {} a problem: {}.\n\n",
            bad.len(),
            if bad.len() == 1 { "has" } else { "have" },
            names.join(", ")
        )
    };
    for f in &bad {
        text.push_str(&finding_block(f));
    }
    text.push_str(&block(&list.text));
    Ok(Answer {
        text,
        findings,
        ..Answer::default()
    })
}

/// "I found nothing named X", then the health of the scope.
pub(super) async fn missing(
    ctx: &Ctx<'_>,
    runner: &mut impl Runner,
    name: &str,
) -> anyhow::Result<Answer> {
    if let Some(e) = ctx.unlisted(Some(name)) {
        return Err(e);
    }
    let ns = ctx
        .scope()
        .unwrap_or_else(|| ctx.cluster.ns(None).to_string());
    let close = kai_tools::suggest::closest(name, ctx.inv.objects.iter().map(|o| o.name.as_str()));
    let mut text = format!(
        "I found nothing named \"{name}\" in namespace {ns} or any other namespace of context {}.{}\n\n",
        ctx.cluster.context,
        close.map_or(String::new(), |c| format!(" Did you mean \"{c}\"?"))
    );
    let findings = diagnose(runner, ctx.scope().as_deref()).await?;
    text.push_str(&health_text(&findings, &ctx.scope_words()));
    Ok(Answer {
        text,
        findings,
        ..Answer::default()
    })
}

fn count_line(findings: &[Finding]) -> String {
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    let (c, w) = (n(Severity::Critical), n(Severity::Warning));
    let s = |n: usize| if n == 1 { "" } else { "s" };
    match (c, w) {
        (c, 0) => format!("{c} critical problem{}", s(c)),
        (0, w) => format!("{w} warning{}", s(w)),
        (c, w) => format!("{} problems ({c} critical, {w} warning{})", c + w, s(w)),
    }
}

/// One finding: the subject and reason first, then cause, evidence, next step.
pub(super) fn finding_block(f: &Finding) -> String {
    let mut s = format!(
        "## {}: {} ({})\n\n**Cause:** {}\n",
        f.subject(),
        f.reason,
        f.severity.as_str(),
        f.message
    );
    if !f.evidence.is_empty() {
        s.push_str("\n**Evidence:**\n");
        for e in f.evidence.iter().take(5) {
            s.push_str(&format!("- `{}`\n", e.replace('`', "'")));
        }
    }
    if !f.suggestion.is_empty() {
        s.push_str(&format!("\n**Next step:** {}\n", f.suggestion));
    }
    if !f.related.is_empty() {
        s.push_str(&format!("\nRelated: {}\n", f.related.join(", ")));
    }
    s.push('\n');
    s
}
