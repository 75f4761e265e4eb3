//! Answers from the cluster's facts: what changed recently, rollout history, replicas, images,
//! requests vs limits vs use, and restarts — each led by the answer, then a few sorted lines.

use kai_tools::format::{age, parse_time};
use kai_tools::history::{self, Change};
use kai_tools::inventory::Object;
use kai_tools::usage::{ContainerResources, human_bytes, human_cpu};
use kai_tools::workloads::{self, Workload};
use kai_tools::{Cluster, Kind};

use super::{Answer, Ctx};

/// Most lines of a list in an answer.
const MAX_LINES: usize = 12;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Whether a pod or workload name belongs to the target (the object, or pods of a workload).
fn belongs(name: &str, ns: &str, t: &Object) -> bool {
    (t.namespace.is_empty() || t.namespace == ns)
        && (name == t.name
            || name.starts_with(&format!("{}-", t.name))
            || t.owner
                .as_ref()
                .is_some_and(|(_, o)| name == o || name.starts_with(&format!("{o}-"))))
}

/// `, 2/2 replicas ready, image web=nginx:1.27` for a healthy-looking object.
pub(super) async fn state_line(cluster: &Cluster, t: &Object) -> String {
    if !matches!(
        t.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet
    ) {
        return String::new();
    }
    let Ok(list) = workloads::workloads(cluster, Some(&t.namespace)).await else {
        return String::new();
    };
    list.iter()
        .find(|w| w.name == t.name && w.kind == t.kind.as_str())
        .map(|w| {
            format!(
                ": {}/{} replicas ready, image {}",
                w.ready,
                w.desired,
                w.images.join(", ")
            )
        })
        .unwrap_or_default()
}

/// What changed recently, newest first.
pub(super) async fn changes(ctx: &Ctx<'_>) -> anyhow::Result<Answer> {
    let scope = ctx.scope();
    let mut list = history::timeline(ctx.cluster, scope.as_deref()).await?;
    if let Some(t) = &ctx.q.target {
        list.retain(|c| {
            let name = c.object.rsplit('/').next().unwrap_or_default();
            belongs(name, &t.namespace, t) || c.object.ends_with(&format!("/{}", t.name))
        });
    }
    let what = ctx
        .q
        .target
        .as_ref()
        .map_or_else(|| ctx.scope_words(), Object::display);
    // Changes people made lead; failures since then follow, a few lines only.
    let made: Vec<&Change> = list.iter().filter(|c| !c.warning).take(8).collect();
    let failed: Vec<&Change> = list.iter().filter(|c| c.warning).collect();
    let mut shown: Vec<&Change> = made.clone();
    shown.extend(failed.iter().take(5));
    shown.sort_by_key(|c| std::cmp::Reverse(parse_time(&c.at)));
    let mut text = match (made.first(), failed.first()) {
        (None, None) => format!("Nothing changed recently in {what} that the cluster records.\n"),
        (Some(c), _) => format!(
            "Latest change in {what}: {} ago, {}: {}{}.\n",
            age(Some(&c.at), now()),
            c.object,
            c.what,
            match failed.iter().filter(|f| f.at >= c.at).count() {
                0 => String::new(),
                n => format!("; since then {n} failure{}", if n == 1 { "" } else { "s" }),
            }
        ),
        (None, Some(f)) => format!(
            "No rollout or configuration change recorded in {what}; latest failure {} ago, {}: {}.\n",
            age(Some(&f.at), now()),
            f.object,
            f.what
        ),
    };
    if !shown.is_empty() {
        text.push_str("\nTimeline (newest first):\n");
        for c in shown {
            text.push_str(&change_line(c));
        }
    }
    Ok(Answer::text(text))
}

fn change_line(c: &Change) -> String {
    format!(
        "- {:>4} ago  {}{}: {}\n",
        age(Some(&c.at), now()),
        if c.warning { "⚠ " } else { "" },
        c.object,
        c.what
    )
}

/// Rollout history of a deployment (or, with no target, of every deployment in scope).
pub(super) async fn history(ctx: &Ctx<'_>) -> anyhow::Result<Answer> {
    let targets: Vec<Object> = match &ctx.q.target {
        Some(t) if t.kind == Kind::Deployment => vec![t.clone()],
        Some(t) => match owner_deployment(ctx, t) {
            Some(d) => vec![d],
            None => {
                return Ok(Answer::text(format!(
                    "kai reads rollout history of deployments only; {} is a {}. Try \"what changed recently in {}\".\n",
                    t.display(),
                    t.kind,
                    if t.namespace.is_empty() {
                        "the cluster"
                    } else {
                        &t.namespace
                    }
                )));
            }
        },
        None => {
            let scope = ctx.scope();
            ctx.inv
                .objects
                .iter()
                .filter(|o| o.kind == Kind::Deployment)
                .filter(|o| scope.as_ref().is_none_or(|s| *s == o.namespace))
                .cloned()
                .collect()
        }
    };
    if targets.is_empty() {
        return Ok(Answer::text(format!(
            "There are no deployments in {}.\n",
            ctx.scope_words()
        )));
    }
    let mut text = String::new();
    for t in targets.iter().take(MAX_LINES) {
        let revs = history::rollout_history(ctx.cluster, &t.namespace, &t.name).await?;
        let Some(cur) = revs.iter().find(|r| r.current).or(revs.first()) else {
            text.push_str(&format!("{}: no revisions recorded.\n", t.display()));
            continue;
        };
        text.push_str(&format!(
            "{} is at revision {} ({}), rolled out {} ago; {} revision{} kept.\n",
            t.display(),
            cur.revision,
            cur.images.join(", "),
            age(Some(&cur.created), now()),
            revs.len(),
            if revs.len() == 1 { "" } else { "s" }
        ));
        for r in &revs {
            text.push_str(&format!(
                "- revision {}{}: {} — created {} ago, {} pod{}{}\n",
                r.revision,
                if r.current { " (current)" } else { "" },
                r.images.join(", "),
                age(Some(&r.created), now()),
                r.replicas,
                if r.replicas == 1 { "" } else { "s" },
                if r.change_cause.is_empty() {
                    String::new()
                } else {
                    format!(", cause: {}", r.change_cause)
                }
            ));
        }
        if targets.len() == 1
            && let Some(prev) = revs
                .iter()
                .find(|r| !r.current && r.revision < cur.revision)
        {
            text.push_str(&format!(
                "\nTo go back: `kai -n {} \"roll back {} to revision {}\"` (asks first).\n",
                t.namespace, t.name, prev.revision
            ));
        }
        text.push('\n');
    }
    Ok(Answer {
        text,
        target: (targets.len() == 1).then(|| targets[0].clone()),
        ..Answer::default()
    })
}

/// The deployment that owns a pod (or shares a service's name).
fn owner_deployment(ctx: &Ctx<'_>, t: &Object) -> Option<Object> {
    let wanted = match &t.owner {
        Some((Kind::Deployment, n)) => n.clone(),
        _ => t.name.clone(),
    };
    ctx.inv
        .objects
        .iter()
        .find(|o| o.kind == Kind::Deployment && o.namespace == t.namespace && o.name == wanted)
        .cloned()
}

async fn workloads_in_scope(ctx: &Ctx<'_>) -> anyhow::Result<Vec<Workload>> {
    let ns = match &ctx.q.target {
        Some(t) if !t.namespace.is_empty() => Some(t.namespace.clone()),
        _ => ctx.scope(),
    };
    let mut list = workloads::workloads(ctx.cluster, ns.as_deref()).await?;
    if let Some(t) = &ctx.q.target {
        let own: Vec<Workload> = list
            .iter()
            .filter(|w| belongs(&w.name, &w.namespace, t))
            .cloned()
            .collect();
        if !own.is_empty() {
            list = own;
        }
    }
    Ok(list)
}

fn subject(w: &Workload) -> String {
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// Replicas wanted and ready; workloads short of ready first.
pub(super) async fn replicas(ctx: &Ctx<'_>) -> anyhow::Result<Answer> {
    let mut list = workloads_in_scope(ctx).await?;
    list.sort_by_key(|w| (w.ready >= w.desired, w.namespace.clone(), w.name.clone()));
    let text = match list.as_slice() {
        [] => format!(
            "There are no deployments, statefulsets or daemonsets in {}.\n",
            ctx.scope_words()
        ),
        [w] => format!(
            "{} has {}/{} replicas ready ({} wanted, {} on the current revision).\n",
            subject(w),
            w.ready,
            w.desired,
            w.desired,
            w.updated
        ),
        many => {
            let short = many.iter().filter(|w| w.ready < w.desired).count();
            let mut text = format!(
                "{} workloads in {}; {}.\n\n",
                many.len(),
                ctx.scope_words(),
                if short == 0 {
                    "all have their replicas ready".to_string()
                } else {
                    format!("{short} short of ready replicas")
                }
            );
            for w in many.iter().take(MAX_LINES) {
                text.push_str(&format!(
                    "- {}: {}/{} ready\n",
                    subject(w),
                    w.ready,
                    w.desired
                ));
            }
            text
        }
    };
    Ok(Answer::text(text))
}

/// Images each workload runs.
pub(super) async fn images(ctx: &Ctx<'_>) -> anyhow::Result<Answer> {
    let list = workloads_in_scope(ctx).await?;
    let text = match list.as_slice() {
        [] => format!(
            "There are no deployments, statefulsets or daemonsets in {}.\n",
            ctx.scope_words()
        ),
        [w] => format!("{} runs {}.\n", subject(w), w.images.join(", ")),
        many => {
            let mut text = format!("Images in {}:\n\n", ctx.scope_words());
            for w in many.iter().take(MAX_LINES) {
                text.push_str(&format!("- {}: {}\n", subject(w), w.images.join(", ")));
            }
            text
        }
    };
    Ok(Answer::text(text))
}

fn fmt_or(v: Option<f64>, f: fn(f64) -> String, none: &str) -> String {
    v.map_or_else(|| none.to_string(), f)
}

/// `uses 18Mi of a 128Mi limit (requests 64Mi)`, `no limit, no request`.
fn summary(
    request: Option<f64>,
    limit: Option<f64>,
    used: Option<f64>,
    f: fn(f64) -> String,
) -> String {
    let limit = limit.map_or_else(|| "no limit".to_string(), |l| format!("limit {}", f(l)));
    let request = request.map_or_else(|| "no request".to_string(), |r| format!("request {}", f(r)));
    match used {
        Some(u) => format!("uses {} ({limit}, {request})", f(u)),
        None => format!("{limit}, {request}"),
    }
}

/// Requests vs limits vs use, per container; the closest to its memory limit first.
pub(super) async fn resources(ctx: &Ctx<'_>) -> anyhow::Result<Answer> {
    let ns = match &ctx.q.target {
        Some(t) if !t.namespace.is_empty() => Some(t.namespace.clone()),
        _ => ctx.scope(),
    };
    let (mut list, metrics) = kai_tools::usage::resources(ctx.cluster, ns.as_deref()).await?;
    if let Some(t) = &ctx.q.target {
        list.retain(|c| belongs(&c.pod, &c.namespace, t));
    }
    let ratio = |c: &ContainerResources| match (c.memory_used, c.memory_limit) {
        (Some(u), Some(l)) if l > 0.0 => u / l,
        _ => 0.0,
    };
    list.sort_by(|a, b| {
        ratio(b)
            .total_cmp(&ratio(a))
            .then_with(|| a.pod.cmp(&b.pod))
    });
    let what = ctx
        .q
        .target
        .as_ref()
        .map_or_else(|| ctx.scope_words(), Object::display);
    let Some(first) = list.first() else {
        return Ok(Answer::text(format!("No running containers in {what}.\n")));
    };
    let use_note = if !metrics {
        " Use is unknown: the cluster serves no metrics API (metrics.k8s.io); install metrics-server to see it."
    } else if first.memory_used.is_none() {
        " No use is reported for it: it is not running."
    } else {
        ""
    };
    let total = |f: fn(&ContainerResources) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = list.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    let mut text = if ctx.q.target.is_none() && list.len() > 1 {
        format!(
            "In {what}, {} containers: memory {}; cpu {}; closest to its memory limit: {}/{}.{use_note}\n\n",
            list.len(),
            summary(
                total(|c| c.memory_request),
                total(|c| c.memory_limit),
                total(|c| c.memory_used),
                human_bytes
            ),
            summary(
                total(|c| c.cpu_request),
                total(|c| c.cpu_limit),
                total(|c| c.cpu_used),
                human_cpu
            ),
            first.pod,
            first.container,
        )
    } else {
        format!(
            "{what}: container {} memory {}; cpu {}.{use_note}\n\n",
            first.container,
            summary(
                first.memory_request,
                first.memory_limit,
                first.memory_used,
                human_bytes
            ),
            summary(
                first.cpu_request,
                first.cpu_limit,
                first.cpu_used,
                human_cpu
            ),
        )
    };
    text.push_str("pod/container: memory used / request / limit; cpu used / request / limit\n");
    for c in list.iter().take(MAX_LINES) {
        text.push_str(&format!(
            "- {}/{}: memory {} / {} / {}; cpu {} / {} / {}\n",
            c.pod,
            c.container,
            fmt_or(c.memory_used, human_bytes, "?"),
            fmt_or(c.memory_request, human_bytes, "-"),
            fmt_or(c.memory_limit, human_bytes, "-"),
            fmt_or(c.cpu_used, human_cpu, "?"),
            fmt_or(c.cpu_request, human_cpu, "-"),
            fmt_or(c.cpu_limit, human_cpu, "-"),
        ));
    }
    Ok(Answer::text(text))
}

/// Restarts, most first.
pub(super) async fn restarts(ctx: &Ctx<'_>) -> anyhow::Result<Answer> {
    let ns = match &ctx.q.target {
        Some(t) if !t.namespace.is_empty() => Some(t.namespace.clone()),
        _ => ctx.scope(),
    };
    let mut list = workloads::restarts(ctx.cluster, ns.as_deref()).await?;
    if let Some(t) = &ctx.q.target {
        list.retain(|r| belongs(&r.pod, &r.namespace, t));
    }
    let what = ctx
        .q
        .target
        .as_ref()
        .map_or_else(|| ctx.scope_words(), Object::display);
    let Some(top) = list.first() else {
        return Ok(Answer::text(format!("No container restarted in {what}.\n")));
    };
    let last = |r: &workloads::Restarts| {
        let when = parse_time(&r.last_at).map_or(String::new(), |_| {
            format!(", {} ago", age(Some(&r.last_at), now()))
        });
        if r.last_reason.is_empty() {
            when
        } else {
            format!(
                "; last: {} (exit code {}){when}",
                r.last_reason, r.exit_code
            )
        }
    };
    let mut text = format!(
        "Most restarts in {what}: pod {}/{} (container {}) restarted {} times{}.\n\n",
        top.namespace,
        top.pod,
        top.container,
        top.count,
        last(top)
    );
    for r in list.iter().take(MAX_LINES) {
        text.push_str(&format!(
            "- {:>4}  {}/{} ({}){}\n",
            r.count,
            r.namespace,
            r.pod,
            r.container,
            last(r)
        ));
    }
    Ok(Answer::text(text))
}
