//! Answers that run one registry tool through the gate: logs, events, lists, describe, and
//! the writes (restart, scale, roll back), each on the object the question named.

use kai_tools::Kind;
use kai_tools::inventory::Object;
use serde_json::{Value, json};

use super::{Answer, CallError, Ctx, Intent, Runner, block, call};

/// "Which one?" when a question needs an object and names none: the workloads in scope.
fn which_one(ctx: &Ctx<'_>, what: &str, example: &str) -> anyhow::Result<Answer> {
    if let Some(e) = ctx.unlisted(None) {
        return Err(e);
    }
    let scope = ctx.scope();
    let names: Vec<&str> = ctx
        .inv
        .objects
        .iter()
        .filter(|o| o.kind.is_workload() || o.kind == Kind::CronJob)
        .filter(|o| scope.as_ref().is_none_or(|s| *s == o.namespace))
        .map(|o| o.name.as_str())
        .take(8)
        .collect();
    let first = names.first().copied().unwrap_or("backend");
    Ok(Answer::text(format!(
        "{what} of which workload? In {}: {}. For example: \"{}\".\n",
        ctx.scope_words(),
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        },
        example.replace("{}", first)
    )))
}

/// Logs (or their error lines) of the target: a workload's most failing pod.
pub(super) async fn logs(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let Some(t) = ctx.q.target.clone() else {
        return which_one(ctx, "Logs", "logs of {}");
    };
    let mut args = json!({"namespace": t.namespace, "tail_lines": 50});
    match t.kind {
        Kind::Pod => args["pod"] = json!(t.name),
        k if k.is_workload() => args["workload"] = json!(format!("{}/{}", k, t.name)),
        _ => {
            // A service, cronjob or claim has no logs of its own: the workload of the same name.
            args["workload"] = json!(t.name);
        }
    }
    if ctx.q.previous {
        args["previous"] = json!(true);
    }
    if ctx.q.errors_only {
        args["grep"] = json!("(?i)error|exception|fatal|panic|traceback|fail");
    }
    let out = match runner.call("get_logs", args).await {
        Ok(out) => out,
        Err(CallError::Failed(reason)) | Err(CallError::Denied(reason)) => {
            // No logs yet (a container that never started): say so, then why.
            let mut a = super::diagnosis::why(ctx, runner).await?;
            a.text = format!("No logs from {}: {reason}\n\n{}", t.display(), a.text);
            return Ok(a);
        }
    };
    let what = match (ctx.q.errors_only, ctx.q.previous) {
        (true, _) => "Error lines in the logs",
        (false, true) => "Logs of the previous (crashed) container",
        _ => "Logs",
    };
    let body = out.text.trim_end();
    let lead = body
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with(['[', '(']))
        .map(|l| format!(" Last line: {}", l.trim()))
        .unwrap_or_default();
    Ok(Answer {
        text: format!("{what} of {}.{lead}\n\n{}", t.display(), block(body)),
        target: Some(t),
        ..Answer::default()
    })
}

/// Events of the target, or of the scope; warnings unless all events are asked for.
pub(super) async fn events(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let mut args = json!({"warnings_only": ctx.q.warnings_only});
    let subject = match &ctx.q.target {
        Some(t) => {
            if !t.namespace.is_empty() {
                args["namespace"] = json!(t.namespace);
            }
            args["kind"] = json!(t.kind.as_str());
            args["name"] = json!(t.name);
            t.display()
        }
        None => {
            match ctx.scope() {
                Some(ns) => args["namespace"] = json!(ns),
                None => args["all_namespaces"] = json!(true),
            }
            ctx.scope_words()
        }
    };
    let out = call(runner, "get_events", args).await?;
    let what = if ctx.q.warnings_only {
        "Recent warnings"
    } else {
        "Recent events"
    };
    let n = out
        .json
        .get("events")
        .and_then(Value::as_array)
        .map(Vec::len);
    let lead = match n {
        Some(0) => format!("No {} about {subject}.\n", what.to_lowercase()),
        Some(n) => format!("{what} about {subject}: {n}.\n\n"),
        None => format!("{what} about {subject}:\n\n"),
    };
    let body = if n == Some(0) {
        String::new()
    } else {
        block(&out.text)
    };
    Ok(Answer {
        text: format!("{lead}{body}"),
        target: ctx.q.target.clone(),
        ..Answer::default()
    })
}

/// A list of one kind in scope.
pub(super) async fn list(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let kind = ctx.q.kind.unwrap_or(Kind::Pod);
    let mut args = json!({});
    if kind.namespaced() {
        match ctx.scope() {
            Some(ns) => args["namespace"] = json!(ns),
            None => args["all_namespaces"] = json!(true),
        }
    }
    let tool = if kind == Kind::Pod {
        "list_pods"
    } else {
        args["kind"] = json!(kind.plural());
        "list_resources"
    };
    let out = call(runner, tool, args).await?;
    let rows = out
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
        .saturating_sub(1);
    let title = plural_title(kind);
    let place = if kind.namespaced() {
        format!(" in {}", ctx.scope_words())
    } else {
        String::new()
    };
    Ok(Answer::text(format!(
        "{title}{place} ({rows}):\n\n{}",
        block(&out.text)
    )))
}

/// Describe the target.
pub(super) async fn describe(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let Some(t) = ctx.q.target.clone() else {
        if ctx.q.kind.is_some() {
            return list(ctx, runner).await;
        }
        return which_one(ctx, "Describe", "describe {}");
    };
    let mut args = json!({"kind": t.kind.as_str(), "name": t.name});
    if !t.namespace.is_empty() {
        args["namespace"] = json!(t.namespace);
    }
    let out = call(runner, "describe", args).await?;
    Ok(Answer {
        text: format!("{}:\n\n{}", t.display(), block(&out.text)),
        target: Some(t),
        ..Answer::default()
    })
}

/// The workload a write acts on: the target itself, a pod's owner, or the workload sharing a
/// service's name.
fn workload_for(ctx: &Ctx<'_>, t: &Object, kinds: &[Kind]) -> Option<Object> {
    if kinds.contains(&t.kind) {
        return Some(t.clone());
    }
    let wanted = match &t.owner {
        Some((k, n)) if kinds.contains(k) => n.clone(),
        _ => t.name.clone(),
    };
    ctx.inv
        .objects
        .iter()
        .find(|o| kinds.contains(&o.kind) && o.namespace == t.namespace && o.name == wanted)
        .cloned()
}

/// Restart, scale or roll back the target, through the gate.
pub(super) async fn write(ctx: &Ctx<'_>, runner: &mut impl Runner) -> anyhow::Result<Answer> {
    let q = ctx.q;
    let (tool, verb, kinds): (&str, &str, &[Kind]) = match q.intent {
        Intent::Scale => ("scale", "Scale", &[Kind::Deployment, Kind::StatefulSet]),
        Intent::Rollback => ("rollout_undo", "Roll back", &[Kind::Deployment]),
        _ => (
            "restart",
            "Restart",
            &[
                Kind::Deployment,
                Kind::StatefulSet,
                Kind::DaemonSet,
                Kind::Pod,
            ],
        ),
    };
    let Some(named) = q.target.clone() else {
        return which_one(ctx, verb, &format!("{} {{}}", verb.to_lowercase()));
    };
    let Some(t) = workload_for(ctx, &named, kinds) else {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        return Ok(Answer {
            text: format!(
                "Nothing was changed: {} is a {}, and kai can {} only a {}.\n",
                named.display(),
                named.kind,
                verb.to_lowercase(),
                kinds.join(" or ")
            ),
            target: Some(named),
            ..Answer::default()
        });
    };
    let mut args = json!({"kind": t.kind.as_str(), "name": t.name, "namespace": t.namespace});
    if q.intent == Intent::Scale {
        args["replicas"] = json!(u32::try_from(q.number.unwrap_or(1)).unwrap_or(u32::MAX));
    }
    if q.intent == Intent::Rollback
        && let Some(r) = q.revision
    {
        args["to_revision"] = json!(r);
    }
    match runner.call(tool, args).await {
        Ok(out) => Ok(Answer {
            text: format!("Done: {}\n", out.text.trim_end()),
            target: Some(t),
            ..Answer::default()
        }),
        Err(CallError::Denied(reason)) => Ok(Answer {
            text: format!("Nothing was changed on {}: {reason}\n", t.display()),
            denied: true,
            target: Some(t),
            ..Answer::default()
        }),
        Err(CallError::Failed(reason)) => {
            Err(anyhow::anyhow!("{tool} {} failed: {reason}", t.display()))
        }
    }
}

/// "StorageClasses", "NetworkPolicies", "Ingresses": the kind's API name, plural.
fn plural_title(kind: Kind) -> String {
    let k = kind.api_kind();
    if kind == Kind::Endpoints {
        k.to_string()
    } else if let Some(stem) = k.strip_suffix('y') {
        format!("{stem}ies")
    } else if k.ends_with('s') {
        format!("{k}es")
    } else {
        format!("{k}s")
    }
}
