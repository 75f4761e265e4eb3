//! Workload rules: pods grouped by owning workload into one finding each, chained to the
//! deepest cause (log line, missing config, revision, volume), plus the workloads' own status
//! (rollout deadline, pods not created, failed jobs, cron jobs).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::infra::PvcProblem;
use super::pods::{Issue, pod_issues, pod_on_bad_node};
use super::{Ctx, Out, controller_of, describe_event, finding, name_of, ns_of, seconds_since};
use crate::diagnosis::chain::{env_names, revision_change};
use crate::diagnosis::{Finding, ObjectRef, Severity};

/// A reference the pod makes to an object (or key) that does not exist.
pub(crate) struct MissingRef {
    /// `secret db has no key url (keys: host, user)`.
    pub text: String,
    /// `secret/db`.
    pub related: String,
    /// A next step.
    pub fix: String,
}

fn secret_keys(ctx: &Ctx<'_>, ns: &str, name: &str) -> Option<Vec<String>> {
    let s = ctx
        .snap
        .secrets
        .iter()
        .find(|s| ns_of(&s.metadata) == ns && name_of(&s.metadata) == name)?;
    Some(
        s.data
            .iter()
            .flat_map(|d| d.keys().cloned())
            .chain(s.string_data.iter().flat_map(|d| d.keys().cloned()))
            .collect(),
    )
}

fn config_map_keys(ctx: &Ctx<'_>, ns: &str, name: &str) -> Option<Vec<String>> {
    let c = ctx
        .snap
        .config_maps
        .iter()
        .find(|s| ns_of(&s.metadata) == ns && name_of(&s.metadata) == name)?;
    Some(
        c.data
            .iter()
            .flat_map(|d| d.keys().cloned())
            .chain(c.binary_data.iter().flat_map(|d| d.keys().cloned()))
            .collect(),
    )
}

/// References of a pod to Secrets, ConfigMaps or keys that do not exist (only for kinds that
/// could be listed: otherwise absence is unknown).
pub(crate) fn missing_refs(ctx: &Ctx<'_>, pod: &Pod) -> Vec<MissingRef> {
    let ns = ns_of(&pod.metadata);
    let mut out: Vec<MissingRef> = Vec::new();
    let secrets_ok = ctx.snap.listed("secrets");
    let cms_ok = ctx.snap.listed("configmaps");
    let check = |kind: &str,
                 name: &str,
                 key: Option<&str>,
                 optional: bool,
                 out: &mut Vec<MissingRef>| {
        if optional {
            return;
        }
        let keys = match kind {
            "secret" if secrets_ok => secret_keys(ctx, ns, name),
            "configmap" if cms_ok => config_map_keys(ctx, ns, name),
            _ => return,
        };
        let related = format!("{kind}/{name}");
        let m = match (keys, key) {
            (None, _) => MissingRef {
                text: format!("{kind} {name} does not exist"),
                related: related.clone(),
                fix: format!(
                    "create {kind} {name} in namespace {ns} (or fix the reference in the pod template)"
                ),
            },
            (Some(keys), Some(k)) if !keys.iter().any(|x| x == k) => MissingRef {
                text: format!(
                    "{kind} {name} has no key {k} (keys: {})",
                    if keys.is_empty() {
                        "none".to_string()
                    } else {
                        keys.join(", ")
                    }
                ),
                related: related.clone(),
                fix: format!("add key {k} to {kind} {name}, or reference one of its existing keys"),
            },
            _ => return,
        };
        if !out.iter().any(|o| o.text == m.text) {
            out.push(m);
        }
    };
    let Some(spec) = pod.spec.as_ref() else {
        return out;
    };
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        for e in c.env.iter().flatten() {
            let Some(from) = &e.value_from else { continue };
            if let Some(s) = &from.secret_key_ref {
                check(
                    "secret",
                    &s.name,
                    Some(&s.key),
                    s.optional == Some(true),
                    &mut out,
                );
            }
            if let Some(s) = &from.config_map_key_ref {
                check(
                    "configmap",
                    &s.name,
                    Some(&s.key),
                    s.optional == Some(true),
                    &mut out,
                );
            }
        }
        for f in c.env_from.iter().flatten() {
            if let Some(s) = &f.secret_ref {
                check("secret", &s.name, None, s.optional == Some(true), &mut out);
            }
            if let Some(s) = &f.config_map_ref {
                check(
                    "configmap",
                    &s.name,
                    None,
                    s.optional == Some(true),
                    &mut out,
                );
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(s) = &v.secret {
            if let Some(n) = &s.secret_name {
                check("secret", n, None, s.optional == Some(true), &mut out);
            }
            for item in s.items.iter().flatten() {
                if let Some(n) = &s.secret_name {
                    check(
                        "secret",
                        n,
                        Some(&item.key),
                        s.optional == Some(true),
                        &mut out,
                    );
                }
            }
        }
        if let Some(s) = &v.config_map {
            check(
                "configmap",
                &s.name,
                None,
                s.optional == Some(true),
                &mut out,
            );
            for item in s.items.iter().flatten() {
                check(
                    "configmap",
                    &s.name,
                    Some(&item.key),
                    s.optional == Some(true),
                    &mut out,
                );
            }
        }
    }
    out
}

/// Pods of one workload and what is wrong with them.
#[derive(Default)]
struct Group<'a> {
    pods: Vec<&'a Pod>,
    issues: Vec<(&'a Pod, Issue)>,
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_done(p: &Pod) -> bool {
    matches!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded")
    )
}

fn kind_title(kind: &str) -> &str {
    match kind {
        "deployment" => "Deployment",
        "statefulset" => "StatefulSet",
        "daemonset" => "DaemonSet",
        "replicaset" => "ReplicaSet",
        "job" => "Job",
        "cronjob" => "CronJob",
        _ => "Pod",
    }
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

struct WorkloadInfo<'a> {
    desired: Option<i32>,
    ready: Option<i32>,
    template: Option<&'a PodTemplateSpec>,
}

fn info<'a>(ctx: &Ctx<'a>, w: &ObjectRef) -> WorkloadInfo<'a> {
    let s = ctx.snap;
    let find = |m: &ObjectMeta| ns_of(m) == w.namespace && name_of(m) == w.name;
    match w.kind.as_str() {
        "deployment" => s
            .deployments
            .iter()
            .find(|d| find(&d.metadata))
            .map_or(none(), |d| WorkloadInfo {
                desired: Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                ready: Some(
                    d.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                ),
                template: d.spec.as_ref().map(|s| &s.template),
            }),
        "statefulset" => s
            .stateful_sets
            .iter()
            .find(|d| find(&d.metadata))
            .map_or(none(), |d| WorkloadInfo {
                desired: Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                ready: Some(
                    d.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                ),
                template: d.spec.as_ref().map(|s| &s.template),
            }),
        "daemonset" => s
            .daemon_sets
            .iter()
            .find(|d| find(&d.metadata))
            .map_or(none(), |d| WorkloadInfo {
                desired: d.status.as_ref().map(|s| s.desired_number_scheduled),
                ready: d.status.as_ref().map(|s| s.number_ready),
                template: d.spec.as_ref().map(|s| &s.template),
            }),
        "job" => s
            .jobs
            .iter()
            .find(|d| find(&d.metadata))
            .map_or(none(), |d| WorkloadInfo {
                desired: None,
                ready: None,
                template: d.spec.as_ref().map(|s| &s.template),
            }),
        "cronjob" => s
            .cron_jobs
            .iter()
            .find(|d| find(&d.metadata))
            .map_or(none(), |d| WorkloadInfo {
                desired: None,
                ready: None,
                template: d
                    .spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template),
            }),
        _ => none(),
    }
}

fn none<'a>() -> WorkloadInfo<'a> {
    WorkloadInfo {
        desired: None,
        ready: None,
        template: None,
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
        g.pods.push(pod);
        if let Some(first) = issues
            .into_iter()
            .max_by_key(|i| (i.severity, i.rank, i.has_log))
        {
            g.issues.push((pod, first));
        }
    }
    // Workloads with no pods at all still have a status to check.
    for d in &ctx.snap.deployments {
        groups.entry(oref("deployment", &d.metadata)).or_default();
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
            status_finding(ctx, &w, &g)
        } else {
            Some(issue_finding(ctx, &w, &g))
        };
        if let Some(f) = f {
            let idx = out.push(f);
            for p in &g.pods {
                out.pod_owner.insert(
                    (
                        ns_of(&p.metadata).to_string(),
                        name_of(&p.metadata).to_string(),
                    ),
                    idx,
                );
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

/// One finding for a workload whose pods have issues: the dominant issue, its chain, and the
/// workload's own status as extra evidence.
fn issue_finding(ctx: &Ctx<'_>, w: &ObjectRef, g: &Group<'_>) -> Finding {
    let Some((pod, dominant)) = g
        .issues
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
    else {
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
    let wi = info(ctx, w);
    let same: Vec<&Pod> = g
        .issues
        .iter()
        .filter(|(_, i)| i.reason == dominant.reason)
        .map(|(p, _)| *p)
        .collect();
    let live: Vec<&&Pod> = g.pods.iter().filter(|p| !pod_done(p)).collect();
    let total = live.len().max(same.len());
    let ready = g.pods.iter().filter(|p| pod_ready(p)).count();
    let title = kind_title(&w.kind);
    let mut severity = dominant.severity;
    let mut reason = dominant.reason.clone();
    let mut evidence = dominant.evidence.clone();
    let mut because = dominant.because.clone();
    let mut suggestion = dominant.suggestion.clone();
    let mut related: Vec<String> = dominant.related.clone();

    // Missing config named by the log, checked against the container's env.
    if let Some(cname) = dominant.container.as_deref()
        && !dominant.missing_env.is_empty()
        && let Some(c) = template_container(wi.template, pod, cname)
    {
        let (names, unknown) = env_names(ctx.snap, &w.namespace, c);
        let missing: Vec<&String> = dominant
            .missing_env
            .iter()
            .filter(|n| !names.contains(*n))
            .collect();
        if let Some(m) = missing.first()
            && !unknown
        {
            let sets: Vec<&String> = names.iter().take(6).collect();
            let sets = if sets.is_empty() {
                "it sets no env vars".to_string()
            } else {
                format!(
                    "it sets {}",
                    sets.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            because.push(format!("container {cname} has no env var {m} ({sets})"));
            evidence.push(format!(
                "container {cname} env: {}",
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
            suggestion = format!(
                "set {m} in the env of container {cname} of {} {}",
                w.kind, w.name
            );
        }
    }

    // The revision the failure started with.
    let mut revision_text = None;
    if w.kind == "deployment"
        && let Some(d) = ctx
            .snap
            .deployments
            .iter()
            .find(|d| ns_of(&d.metadata) == w.namespace && name_of(&d.metadata) == w.name)
        && let Some(("ReplicaSet", rs_name)) = controller_of(&pod.metadata)
        && let Some(rs) = ctx.replica_set(&w.namespace, rs_name)
        && let Some(cname) = dominant.container.as_deref()
        && let Some(ch) = revision_change(ctx.snap, d, rs, cname)
        && (ch.current_image != ch.previous_image || !ch.dropped_env.is_empty())
    {
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
        let dropped: Vec<&String> = ch
            .dropped_env
            .iter()
            .filter(|n| dominant.missing_env.contains(n))
            .collect();
        if let Some(n) = dropped.first() {
            t.push_str(&format!(" and set {n}"));
        }
        evidence.push(format!(
            "replicaset {rs_name}: revision {} image {}; previous revision {} image {}",
            ch.current, ch.current_image, ch.previous, ch.previous_image
        ));
        let fix_env = dominant
            .missing_env
            .first()
            .map(|m| format!(" or set {m} in its env"))
            .unwrap_or_default();
        suggestion = format!(
            "roll back deployment {} to revision {} (kai \"roll back {}\"){fix_env}",
            w.name, ch.previous, w.name
        );
        if fix_env.is_empty() && !dominant.suggestion.is_empty() {
            suggestion.push_str(&format!(", or {}", dominant.suggestion));
        }
        revision_text = Some(t);
    }

    // The workload's own status proves the impact.
    let mut state = if ready == 0 {
        "is down".to_string()
    } else {
        format!(
            "is degraded ({ready}/{} pods ready)",
            wi.desired.map_or(g.pods.len(), |d| d.max(0) as usize)
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
            reason = r;
            severity = Severity::Critical;
            state = "failed".into();
        }
        evidence.push(e);
    }
    if dominant.reason == "OOMKilled" && dominant.severity == Severity::Warning && ready > 0 {
        state = "restarts".into();
    }
    if severity == Severity::Critical && ready > 0 && dominant.rank <= 40 {
        // Readiness failing on some replicas only: degraded, not down.
        severity = Severity::Warning;
    }

    let who = if w.kind == "pod" {
        String::new()
    } else {
        format!(": {}/{} pods", same.len(), total)
    };
    let mut message = format!("{title} {} {state}{who} {}", w.name, dominant.what);
    if !because.is_empty() {
        message.push_str(" because ");
        message.push_str(&because.join(", and "));
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
            if !evidence.contains(&line) {
                evidence.push(line);
            }
        }
    }
    for p in same.iter().take(10) {
        let r = format!("pod/{}", name_of(&p.metadata));
        if !related.contains(&r) {
            related.push(r);
        }
    }
    if same.len() > 10 {
        related.push(format!("... and {} more pods", same.len() - 10));
    }
    finding(
        severity,
        &w.kind,
        &w.namespace,
        &w.name,
        &reason,
        message,
        evidence,
        suggestion,
        related,
    )
}

/// A workload-level condition worth quoting: (reason, evidence line).
fn workload_status_evidence(ctx: &Ctx<'_>, w: &ObjectRef) -> Option<(String, String)> {
    let s = ctx.snap;
    match w.kind.as_str() {
        "deployment" => {
            let d = s
                .deployments
                .iter()
                .find(|d| ns_of(&d.metadata) == w.namespace && name_of(&d.metadata) == w.name)?;
            let c = d
                .status
                .as_ref()?
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "Progressing" && c.status == "False")?;
            Some((
                c.reason.clone().unwrap_or_default(),
                format!(
                    "deployment {}: condition Progressing=False ({}): {}",
                    w.name,
                    c.reason.as_deref().unwrap_or_default(),
                    c.message.as_deref().unwrap_or_default()
                ),
            ))
        }
        "job" => job_failed(
            s.jobs
                .iter()
                .find(|d| ns_of(&d.metadata) == w.namespace && name_of(&d.metadata) == w.name)?,
        ),
        "cronjob" => {
            // The newest failed job of the cron job.
            s.jobs
                .iter()
                .filter(|j| {
                    ns_of(&j.metadata) == w.namespace
                        && controller_of(&j.metadata) == Some(("CronJob", w.name.as_str()))
                })
                .max_by_key(|j| j.metadata.creation_timestamp.as_ref().map(|t| t.0))
                .and_then(job_failed)
        }
        _ => None,
    }
}

fn job_failed(j: &k8s_openapi::api::batch::v1::Job) -> Option<(String, String)> {
    let c = j
        .status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed" && c.status == "True")?;
    let failed = j.status.as_ref().and_then(|s| s.failed).unwrap_or(0);
    Some((
        c.reason.clone().unwrap_or_else(|| "Failed".into()),
        format!(
            "job {}: condition Failed ({}): {} ({} failed pods)",
            name_of(&j.metadata),
            c.reason.as_deref().unwrap_or_default(),
            c.message.as_deref().unwrap_or_default(),
            failed
        ),
    ))
}

/// A finding for a workload without pod issues, from its own status, if any is wrong.
fn status_finding(ctx: &Ctx<'_>, w: &ObjectRef, g: &Group<'_>) -> Option<Finding> {
    let wi = info(ctx, w);
    let title = kind_title(&w.kind);
    let ns = w.namespace.as_str();
    let name = w.name.as_str();

    // Pods not created: FailedCreate on the workload or its replica sets.
    let mut create_sources: Vec<(String, String)> = vec![(title.to_string(), name.to_string())];
    if w.kind == "deployment" {
        for rs in &ctx.snap.replica_sets {
            if ns_of(&rs.metadata) == ns
                && controller_of(&rs.metadata) == Some(("Deployment", name))
            {
                let wants = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
                if wants > 0 {
                    create_sources.push(("ReplicaSet".into(), name_of(&rs.metadata).to_string()));
                    if let Some(c) = rs
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .and_then(|c| {
                            c.iter()
                                .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
                        })
                    {
                        let msg = c.message.clone().unwrap_or_default();
                        return Some(failed_create(
                            w,
                            title,
                            &msg,
                            vec![format!(
                                "replicaset {}: condition ReplicaFailure ({}): {msg}",
                                name_of(&rs.metadata),
                                c.reason.as_deref().unwrap_or_default()
                            )],
                        ));
                    }
                }
            }
        }
    }
    let missing_pods = wi.desired.is_some_and(|d| d > 0) && g.pods.is_empty();
    if missing_pods || w.kind == "job" || w.kind == "statefulset" || w.kind == "daemonset" {
        for (k, n) in &create_sources {
            if let Some(e) = ctx.event(k, ns, n, &["FailedCreate"]) {
                let t = e.event_time_or_any();
                let recent = t.is_none_or(|t| seconds_since(ctx.now, t) < 3600);
                if recent
                    && (missing_pods
                        || wi.ready.unwrap_or(0) < wi.desired.unwrap_or(0)
                        || w.kind == "job")
                {
                    let msg = crate::mask::mask_text(e.message.as_deref().unwrap_or_default());
                    return Some(failed_create(w, title, &msg, vec![describe_event(ctx, e)]));
                }
            }
        }
    }

    let primary = (|| match w.kind.as_str() {
        "deployment" => {
            let d = ctx
                .snap
                .deployments
                .iter()
                .find(|d| ns_of(&d.metadata) == ns && name_of(&d.metadata) == name)?;
            deployment_status(ctx, d, wi.ready.unwrap_or(0))
        }
        "job" | "cronjob" => {
            let (reason, ev) = workload_status_evidence(ctx, w)?;
            let mut evidence = vec![ev];
            let mut related = Vec::new();
            for p in g.pods.iter().take(5) {
                related.push(format!("pod/{}", name_of(&p.metadata)));
            }
            if let Some(p) = g.pods.first()
                && let Some(t) = p
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .and_then(|c| c.iter().find_map(|c| c.state.as_ref()?.terminated.as_ref()))
            {
                evidence.push(format!(
                    "pod {}: state.terminated: exitCode {} ({})",
                    name_of(&p.metadata),
                    t.exit_code,
                    t.reason.as_deref().unwrap_or("Error")
                ));
            }
            Some(finding(
                Severity::Critical,
                &w.kind,
                ns,
                name,
                &reason,
                format!("{title} {name} failed ({reason}): its pods did not complete"),
                evidence,
                format!(
                    "read the logs of the job's pods (`kubectl logs job/{name} -n {ns}`), fix the error and re-run the job"
                ),
                related,
            ))
        }
        "statefulset" => {
            let s = ctx
                .snap
                .stateful_sets
                .iter()
                .find(|d| ns_of(&d.metadata) == ns && name_of(&d.metadata) == name)?;
            let svc = s
                .spec
                .as_ref()
                .and_then(|s| s.service_name.clone())
                .filter(|s| !s.is_empty());
            if let Some(svc) = svc
                && ctx.snap.listed("services")
                && !ctx
                    .snap
                    .services
                    .iter()
                    .any(|x| ns_of(&x.metadata) == ns && name_of(&x.metadata) == svc)
            {
                return Some(finding(
                    Severity::Warning,
                    "statefulset",
                    ns,
                    name,
                    "ServiceNotFound",
                    format!(
                        "StatefulSet {name} names governing service {svc}, which does not exist, so its pods get no stable DNS names"
                    ),
                    vec![format!("statefulset {name}: spec.serviceName {svc}")],
                    format!(
                        "create the headless service {svc} (clusterIP: None) in namespace {ns}"
                    ),
                    vec![format!("service/{svc}")],
                ));
            }
            None
        }
        "daemonset" => {
            let d = ctx
                .snap
                .daemon_sets
                .iter()
                .find(|d| ns_of(&d.metadata) == ns && name_of(&d.metadata) == name)?;
            let st = d.status.as_ref()?;
            if st.number_misscheduled > 0 {
                return Some(finding(
                    Severity::Warning,
                    "daemonset",
                    ns,
                    name,
                    "Misscheduled",
                    format!(
                        "DaemonSet {name} runs {} pods on nodes it should not run on",
                        st.number_misscheduled
                    ),
                    vec![format!(
                        "daemonset {name}: status.numberMisscheduled {}",
                        st.number_misscheduled
                    )],
                    "check the daemon set's node selector and tolerations against the node labels"
                        .into(),
                    Vec::new(),
                ));
            }
            None
        }
        _ => None,
    })();
    primary.or_else(|| cron_job_status(ctx, w))
}

fn failed_create(w: &ObjectRef, title: &str, msg: &str, evidence: Vec<String>) -> Finding {
    let lower = msg.to_ascii_lowercase();
    let suggestion = if lower.contains("quota") {
        "raise the ResourceQuota of the namespace or lower the pods' requests".to_string()
    } else if lower.contains("serviceaccount") || lower.contains("service account") {
        "create the service account the pod template names, or fix serviceAccountName".to_string()
    } else if lower.contains("webhook") {
        "fix or remove the admission webhook that rejects the pods".to_string()
    } else if lower.contains("limitrange") || lower.contains("maximum") || lower.contains("minimum")
    {
        "fit the pods' requests/limits into the namespace's LimitRange".to_string()
    } else {
        "fix what the API server refused (message above) in the pod template or namespace policy"
            .to_string()
    };
    finding(
        Severity::Critical,
        &w.kind,
        &w.namespace,
        &w.name,
        "FailedCreate",
        format!(
            "{title} {} cannot create its pods: {}",
            w.name,
            msg.trim_end_matches('.')
        ),
        evidence,
        suggestion,
        Vec::new(),
    )
}

fn deployment_status(ctx: &Ctx<'_>, d: &Deployment, ready: i32) -> Option<Finding> {
    let ns = ns_of(&d.metadata);
    let name = name_of(&d.metadata);
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let conds = d.status.as_ref().and_then(|s| s.conditions.as_ref());
    if let Some(c) = conds
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "Progressing" && c.status == "False")
    {
        let r = c
            .reason
            .clone()
            .unwrap_or_else(|| "ProgressDeadlineExceeded".into());
        let sev = if ready == 0 && desired > 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        return Some(finding(
            sev,
            "deployment",
            ns,
            name,
            &r,
            format!("Deployment {name} rollout is stuck ({r}): {ready}/{desired} replicas ready"),
            vec![format!(
                "deployment {name}: condition Progressing=False ({r}): {}",
                c.message.as_deref().unwrap_or_default()
            )],
            format!(
                "check the new replica set's pods (`kubectl describe rs -n {ns} -l ...`) or roll back (kai \"roll back {name}\")"
            ),
            Vec::new(),
        ));
    }
    // A rollout that is still within its deadline is not a fault yet: say it is rolling out,
    // so "is it healthy now?" right after a fix gets "not yet, starting" instead of a false cause.
    let deadline = d
        .spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .unwrap_or(600);
    if desired > 0
        && ready < desired
        && let Some(p) = conds.into_iter().flatten().find(|c| {
            c.type_ == "Progressing"
                && c.status == "True"
                && matches!(
                    c.reason.as_deref(),
                    Some("ReplicaSetUpdated" | "NewReplicaSetCreated" | "FoundNewReplicaSet")
                )
        })
        && let Some(updated) = p.last_update_time.as_ref()
        && seconds_since(ctx.now, updated.0) < i64::from(deadline)
    {
        let sev = if ready == 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        return Some(finding(
            sev,
            "deployment",
            ns,
            name,
            "ReplicaSetUpdated",
            format!(
                "Deployment {name} is rolling out: {ready}/{desired} replicas ready, the new pods are still starting"
            ),
            vec![format!(
                "deployment {name}: condition Progressing=True (ReplicaSetUpdated): {}",
                p.message.as_deref().unwrap_or_default()
            )],
            format!(
                "wait for the rollout (`kai health -n {ns} --wait 2m`); it fails after {deadline}s without progress"
            ),
            Vec::new(),
        ));
    }
    if desired > 0
        && let Some(c) = conds
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "Available" && c.status == "False")
        && c.last_transition_time
            .as_ref()
            .is_some_and(|t| seconds_since(ctx.now, t.0) > 300)
    {
        let sev = if ready == 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        return Some(finding(
            sev,
            "deployment",
            ns,
            name,
            c.reason.as_deref().unwrap_or("MinimumReplicasUnavailable"),
            format!("Deployment {name} is unavailable: {ready}/{desired} replicas ready"),
            vec![format!(
                "deployment {name}: condition Available=False: {}",
                c.message.as_deref().unwrap_or_default()
            )],
            format!(
                "describe the deployment's pods (`kubectl describe pods -n {ns}`) to see why they are not ready"
            ),
            Vec::new(),
        ));
    }
    None
}

fn cron_job_status(ctx: &Ctx<'_>, w: &ObjectRef) -> Option<Finding> {
    if w.kind != "cronjob" {
        return None;
    }
    let cj = ctx
        .snap
        .cron_jobs
        .iter()
        .find(|c| ns_of(&c.metadata) == w.namespace && name_of(&c.metadata) == w.name)?;
    let spec = cj.spec.as_ref()?;
    if !valid_schedule(&spec.schedule) {
        return Some(finding(
            Severity::Warning,
            "cronjob",
            &w.namespace,
            &w.name,
            "InvalidSchedule",
            format!(
                "CronJob {} never runs: its schedule \"{}\" is not a valid cron expression",
                w.name, spec.schedule
            ),
            vec![format!(
                "cronjob {}: spec.schedule \"{}\"",
                w.name, spec.schedule
            )],
            "use five fields (minute hour day-of-month month day-of-week) or a macro like @hourly"
                .into(),
            Vec::new(),
        ));
    }
    if spec.suspend == Some(true) {
        return None;
    }
    let st = cj.status.as_ref()?;
    let last_schedule = st.last_schedule_time.as_ref()?.0;
    let last_success = st.last_successful_time.as_ref().map(|t| t.0);
    // Scheduled runs since the last success have all failed.
    if let Some(ok) = last_success
        && last_schedule > ok
        && seconds_since(last_schedule, ok) > 86_400
    {
        return Some(finding(
            Severity::Warning,
            "cronjob",
            &w.namespace,
            &w.name,
            "NoRecentSuccess",
            format!(
                "CronJob {} has not succeeded for {} although it keeps being scheduled",
                w.name,
                super::age(last_schedule, ok)
            ),
            vec![format!(
                "cronjob {}: status.lastSuccessfulTime {ok}, lastScheduleTime {last_schedule}",
                w.name
            )],
            format!(
                "read the logs of its latest job (`kubectl get jobs -n {}`)",
                w.namespace
            ),
            Vec::new(),
        ));
    }
    None
}

/// A light validity check of a cron schedule: five fields of cron characters, or a macro.
pub(crate) fn valid_schedule(s: &str) -> bool {
    let s = s.trim();
    let s = s
        .strip_prefix("CRON_TZ=")
        .or_else(|| s.strip_prefix("TZ="))
        .and_then(|r| r.split_once(' ').map(|x| x.1))
        .unwrap_or(s);
    if s.starts_with('@') {
        return matches!(
            s,
            "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly"
        ) || s.starts_with("@every ");
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    fields.len() == 5
        && fields.iter().all(|f| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-' | '?'))
        })
}

trait EventTime {
    fn event_time_or_any(&self) -> Option<jiff::Timestamp>;
}

impl EventTime for k8s_openapi::api::core::v1::Event {
    fn event_time_or_any(&self) -> Option<jiff::Timestamp> {
        super::event_time(self)
    }
}
