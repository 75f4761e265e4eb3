//! Workload rules: pods grouped by owning workload into one finding each, chained to the
//! deepest cause (log line, missing config, revision, volume), plus the workloads' own status
//! (rollout deadline, pods not created, failed jobs, cron jobs).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Container, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::infra::PvcProblem;
use super::issue::Issue;
use super::pods::{pod_issues, pod_on_bad_node};
use super::status::{status_finding, workload_status_evidence};
use super::view::{Source, title};
use super::{Ctx, Out, PodRef, controller_of, finding, name_of, ns_of};
use crate::diagnosis::chain::{env_names, revision_change};
use crate::diagnosis::{Finding, ObjectRef, Severity};

/// Pods of one workload and what is wrong with them.
#[derive(Default)]
struct Group<'a> {
    pods: Vec<PodRef<'a>>,
    issues: Vec<(&'a Pod, Issue)>,
}

fn pod_done(p: &Pod) -> bool {
    matches!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded")
    )
}

fn pvc_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone())
        })
        .collect()
}

/// Pod issues chained to a PVC problem when the pod waits on a broken claim.
fn chain_pvc(
    ctx: &Ctx<'_>,
    pod: &Pod,
    issues: &mut Vec<Issue>,
    pvcs: &HashMap<(String, String), PvcProblem>,
    out: &mut Out,
) {
    let ns = ns_of(&pod.metadata).to_string();
    let pending = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending");
    for claim in pvc_names(pod) {
        let key = (ns.clone(), claim.clone());
        let Some(p) = pvcs.get(&key) else { continue };
        if !pending && issues.is_empty() {
            continue;
        }
        out.explained_pvcs.insert(key);
        let mut i = Issue {
            severity: Severity::Critical,
            reason: p.reason.clone(),
            rank: 90,
            container: None,
            what: format!("are Pending: PersistentVolumeClaim {claim} is not bound"),
            because: vec![p.because.clone()],
            evidence: p.evidence.clone(),
            suggestion: p.suggestion.clone(),
            related: vec![format!("persistentvolumeclaim/{claim}")],
            missing_env: Vec::new(),
            has_log: false,
            log_only: false,
            depends_on: None,
            target_ready: false,
        };
        if let Some(prev) = issues.first() {
            i.evidence.extend(prev.evidence.iter().cloned());
        }
        let _ = ctx;
        issues.clear();
        issues.push(i);
        return;
    }
}

fn template_container<'a>(
    t: Option<&'a PodTemplateSpec>,
    pod: &'a Pod,
    name: &str,
) -> Option<&'a Container> {
    t.and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.iter().find(|c| c.name == name))
        .or_else(|| {
            pod.spec
                .as_ref()?
                .containers
                .iter()
                .find(|c| c.name == name)
        })
}

pub(crate) fn analyze(ctx: &Ctx<'_>, pvcs: &HashMap<(String, String), PvcProblem>, out: &mut Out) {
    let mut groups: BTreeMap<ObjectRef, Group<'_>> = BTreeMap::new();
    for pod in &ctx.snap.pods {
        if pod_on_bad_node(ctx, pod) {
            continue;
        }
        let w = ctx.workload_of(pod);
        let mut issues = pod_issues(ctx, pod);
        chain_pvc(ctx, pod, &mut issues, pvcs, out);
        let g = groups.entry(w).or_default();
        g.pods.push(pod.into());
        if let Some(first) = issues
            .into_iter()
            .max_by_key(|i| (i.severity, i.rank, i.has_log))
        {
            g.issues.push((pod, first));
        }
    }
    // Settled pods count and stand for their workload; nothing is wrong with them.
    for (w, run) in ctx.settled_runs() {
        let mut kept = run.iter().filter(|p| !pod_on_bad_node(ctx, *p)).peekable();
        if kept.peek().is_some() {
            groups
                .entry(w)
                .or_default()
                .pods
                .extend(kept.map(PodRef::from));
        }
    }
    for g in groups.values_mut() {
        // Back to the API's order when whole and settled pods mix.
        g.pods.sort_by(|a, b| a.name().cmp(b.name()));
    }
    // Workloads with no pods at all still have a status to check.
    for d in &ctx.snap.deployments {
        groups.entry(oref("deployment", &d.metadata)).or_default();
    }
    for d in &ctx.snap.settled_deployments {
        let r = ObjectRef {
            kind: "deployment".into(),
            namespace: d.namespace.to_string(),
            name: d.name.to_string(),
        };
        groups.entry(r).or_default();
    }
    for d in &ctx.snap.stateful_sets {
        groups.entry(oref("statefulset", &d.metadata)).or_default();
    }
    for d in &ctx.snap.daemon_sets {
        groups.entry(oref("daemonset", &d.metadata)).or_default();
    }
    for j in &ctx.snap.jobs {
        if controller_of(&j.metadata).is_none_or(|(k, _)| k != "CronJob") {
            groups.entry(oref("job", &j.metadata)).or_default();
        }
    }
    for c in &ctx.snap.cron_jobs {
        groups.entry(oref("cronjob", &c.metadata)).or_default();
    }

    for (w, g) in groups {
        let f = if g.issues.is_empty() {
            status_finding(ctx, &w, &g.pods)
        } else {
            Some(issue_finding(ctx, &w, &g))
        };
        let depends = dominant(&g).and_then(|(_, i)| i.depends_on.map(|d| (d, i.log_only)));
        if let Some(f) = f {
            let idx = out.push(f);
            if let Some(((ns, svc), runs)) = depends {
                out.depends.push((idx, ns, svc, runs));
            }
            for p in &g.pods {
                out.pod_owner
                    .insert((p.namespace().to_string(), p.name().to_string()), idx);
            }
        }
    }
}

fn oref(kind: &str, m: &ObjectMeta) -> ObjectRef {
    ObjectRef {
        kind: kind.to_string(),
        namespace: ns_of(m).to_string(),
        name: name_of(m).to_string(),
    }
}

/// A workload finding being assembled from its dominant pod issue.
struct Draft {
    severity: Severity,
    reason: String,
    evidence: Vec<String>,
    because: Vec<String>,
    suggestion: String,
    related: Vec<String>,
}

/// The issue that speaks for the workload: the most severe and deepest, then the most common,
/// then one backed by a log.
fn dominant<'a>(g: &Group<'a>) -> Option<(&'a Pod, Issue)> {
    g.issues
        .iter()
        .max_by_key(|(_, i)| {
            let same = g
                .issues
                .iter()
                .filter(|(_, x)| x.reason == i.reason)
                .count();
            (i.severity, i.rank, same, i.has_log)
        })
        .map(|(p, i)| (*p, i.clone()))
}

/// One finding for a workload whose pods have issues: the dominant issue, its chain, and the
/// workload's own status as extra evidence.
fn issue_finding(ctx: &Ctx<'_>, w: &ObjectRef, g: &Group<'_>) -> Finding {
    let Some((pod, dominant)) = dominant(g) else {
        return finding(
            Severity::Info,
            &w.kind,
            &w.namespace,
            &w.name,
            "",
            String::new(),
            vec![],
            String::new(),
            vec![],
        );
    };
    let wi = ctx.workloads.get(w);
    let same: Vec<&Pod> = g
        .issues
        .iter()
        .filter(|(_, i)| i.reason == dominant.reason)
        .map(|(p, _)| *p)
        .collect();
    let live = g
        .pods
        .iter()
        .filter(|p| !p.full().is_some_and(pod_done))
        .count();
    let total = live.max(same.len());
    let ready = g.pods.iter().filter(|p| p.is_ready()).count();
    let mut d = Draft {
        severity: dominant.severity,
        reason: dominant.reason.clone(),
        evidence: dominant.evidence.clone(),
        because: dominant.because.clone(),
        suggestion: dominant.suggestion.clone(),
        related: dominant.related.clone(),
    };
    chain_missing_env(ctx, w, wi.and_then(|v| v.template), pod, &dominant, &mut d);
    let revision_text = chain_revision(ctx, w, pod, &dominant, &mut d);
    let state = impact(
        ctx,
        w,
        g,
        wi.and_then(|v| v.desired),
        ready,
        &dominant,
        &mut d,
    );

    let mut message = if dominant.log_only {
        format!("{} {} {}", title(&w.kind), w.name, dominant.what)
    } else {
        headline(
            &w.kind,
            &w.name,
            &state,
            (same.len(), total),
            &dominant.what,
        )
    };
    if !d.because.is_empty() {
        message.push_str(" because ");
        message.push_str(&d.because.join(", and "));
    }
    if let Some(t) = revision_text {
        message.push_str("; ");
        message.push_str(&t);
    }
    // Other, different problems of the same workload stay visible as evidence.
    for (p, i) in &g.issues {
        if i.reason != dominant.reason
            && let Some(e) = i.evidence.first()
        {
            let line = format!("also {} on pod {}: {e}", i.reason, name_of(&p.metadata));
            if !d.evidence.contains(&line) {
                d.evidence.push(line);
            }
        }
    }
    for p in same.iter().take(10) {
        let r = format!("pod/{}", name_of(&p.metadata));
        if !d.related.contains(&r) {
            d.related.push(r);
        }
    }
    if same.len() > 10 {
        d.related
            .push(format!("... and {} more pods", same.len() - 10));
    }
    finding(
        d.severity,
        &w.kind,
        &w.namespace,
        &w.name,
        &d.reason,
        message,
        d.evidence,
        d.suggestion,
        d.related,
    )
}

/// Missing config named by the log, checked against the container's env.
fn chain_missing_env(
    ctx: &Ctx<'_>,
    w: &ObjectRef,
    template: Option<&PodTemplateSpec>,
    pod: &Pod,
    dominant: &Issue,
    d: &mut Draft,
) {
    let Some(cname) = dominant.container.as_deref() else {
        return;
    };
    if dominant.missing_env.is_empty() {
        return;
    }
    let Some(c) = template_container(template, pod, cname) else {
        return;
    };
    let (names, unknown) = env_names(ctx.snap, &w.namespace, c);
    let missing: Vec<&String> = dominant
        .missing_env
        .iter()
        .filter(|n| !names.contains(*n))
        .collect();
    let Some(m) = missing.first() else { return };
    if unknown {
        return;
    }
    let sets: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
    let sets = if sets.is_empty() {
        "it sets no env vars".to_string()
    } else {
        format!("it sets {}", sets.join(", "))
    };
    d.because
        .push(format!("container {cname} has no env var {m} ({sets})"));
    d.evidence.push(format!(
        "container {cname} env: {}",
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    ));
    d.suggestion = format!(
        "set {m} in the env of container {cname} of {} {}",
        w.kind, w.name
    );
}

/// The deployment revision the failure started with: a clause for the message, evidence and
/// a roll-back suggestion.
fn chain_revision(
    ctx: &Ctx<'_>,
    w: &ObjectRef,
    pod: &Pod,
    dominant: &Issue,
    d: &mut Draft,
) -> Option<String> {
    let Some(Source::Deployment(dep)) = ctx.workloads.get(w).map(|v| v.source) else {
        return None;
    };
    let Some(("ReplicaSet", rs_name)) = controller_of(&pod.metadata) else {
        return None;
    };
    let rs = ctx.replica_set(&w.namespace, rs_name)?;
    let cname = dominant.container.as_deref()?;
    let ch = revision_change(
        ctx.replica_sets_of(&w.namespace, name_of(&dep.metadata)),
        dep,
        rs,
        cname,
    )?;
    if ch.current_image == ch.previous_image && ch.dropped_env.is_empty() {
        return None;
    }
    let mut t = format!(
        "it started with revision {} (image {})",
        ch.current, ch.current_image
    );
    let prev_state = if ch.previous_ready {
        "still serves"
    } else {
        "ran"
    };
    t.push_str(&format!(
        "; revision {} {prev_state} image {}",
        ch.previous, ch.previous_image
    ));
    if let Some(n) = ch
        .dropped_env
        .iter()
        .find(|n| dominant.missing_env.contains(n))
    {
        t.push_str(&format!(" and set {n}"));
    }
    d.evidence.push(format!(
        "replicaset {rs_name}: revision {} image {}; previous revision {} image {}",
        ch.current, ch.current_image, ch.previous, ch.previous_image
    ));
    let fix_env = dominant
        .missing_env
        .first()
        .map(|m| format!(" or set {m} in its env"))
        .unwrap_or_default();
    d.suggestion = format!(
        "roll back deployment {} to revision {} (kai \"roll back {}\"){fix_env}",
        w.name, ch.previous, w.name
    );
    if fix_env.is_empty() && !dominant.suggestion.is_empty() {
        d.suggestion
            .push_str(&format!(", or {}", dominant.suggestion));
    }
    Some(t)
}

/// The finding's first sentence. An issue's `what` is phrased for a group of pods ("were evicted",
/// "are not ready"); a bare pod is one, so its verb becomes singular and follows a colon.
pub(super) fn headline(
    kind: &str,
    name: &str,
    state: &str,
    (affected, total): (usize, usize),
    what: &str,
) -> String {
    if kind != "pod" {
        return format!(
            "{} {name} {state}: {affected}/{total} pods {what}",
            title(kind)
        );
    }
    let singular = [("were ", "was "), ("are ", "is "), ("have ", "has ")]
        .iter()
        .find_map(|(plural, one)| what.strip_prefix(plural).map(|rest| format!("{one}{rest}")))
        .unwrap_or_else(|| what.to_string());
    format!("{} {name} {state}: it {singular}", title(kind))
}

/// The workload's own status proves the impact: `is down`, `is degraded (1/3 pods ready)`,
/// `failed`...; a job's failure condition becomes the reason.
fn impact(
    ctx: &Ctx<'_>,
    w: &ObjectRef,
    g: &Group<'_>,
    desired: Option<i32>,
    ready: usize,
    dominant: &Issue,
    d: &mut Draft,
) -> String {
    let mut state = if ready == 0 {
        "is down".to_string()
    } else {
        format!(
            "is degraded ({ready}/{} pods ready)",
            desired.map_or(g.pods.len(), |d| d.max(0) as usize)
        )
    };
    if w.kind == "job" || w.kind == "cronjob" {
        state = "is failing".into();
    }
    if w.kind == "pod" {
        state = if ready == 0 {
            "is not running".into()
        } else {
            "is degraded".into()
        };
    }
    if let Some((r, e)) = workload_status_evidence(ctx, w) {
        if matches!(r.as_str(), "BackoffLimitExceeded" | "DeadlineExceeded") {
            d.reason = r;
            d.severity = Severity::Critical;
            state = "failed".into();
        }
        d.evidence.push(e);
    }
    if dominant.reason == "OOMKilled" && dominant.severity == Severity::Warning && ready > 0 {
        state = "restarts".into();
    }
    if d.severity == Severity::Critical && ready > 0 && dominant.rank <= 40 {
        // Readiness failing on some replicas only: degraded, not down.
        d.severity = Severity::Warning;
    }
    state
}
