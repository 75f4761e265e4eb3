//! Workload status rules: what a workload's own status says when its pods show no problem
//! (pods not created, rollout stuck, job failed, cron job never succeeding), and the workload
//! condition quoted as evidence beside pod problems.

use k8s_openapi::api::apps::v1::Deployment;

use super::view::{Source, title};
use super::{Ctx, PodRef, controller_of, describe_event, finding, name_of, ns_of, seconds_since};
use crate::diagnosis::{Finding, ObjectRef, Severity};

/// A workload-level condition worth quoting: (reason, evidence line).
pub(crate) fn workload_status_evidence(ctx: &Ctx<'_>, w: &ObjectRef) -> Option<(String, String)> {
    let s = ctx.snap;
    match w.kind.as_str() {
        "deployment" => {
            let Source::Deployment(d) = ctx.workloads.get(w)?.source else {
                return None;
            };
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
        "job" => match ctx.workloads.get(w)?.source {
            Source::Job(j) => job_failed(j),
            _ => None,
        },
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
pub(crate) fn status_finding(ctx: &Ctx<'_>, w: &ObjectRef, pods: &[PodRef<'_>]) -> Option<Finding> {
    pods_not_created(ctx, w, pods)
        .or_else(|| kind_status(ctx, w, pods))
        .or_else(|| cron_job_status(ctx, w))
}

/// Pods not created: FailedCreate on the workload or its replica sets.
fn pods_not_created(ctx: &Ctx<'_>, w: &ObjectRef, pods: &[PodRef<'_>]) -> Option<Finding> {
    let wi = ctx.workloads.get(w);
    let title = title(&w.kind);
    let ns = w.namespace.as_str();
    let name = w.name.as_str();

    // Pods not created: FailedCreate on the workload or its replica sets.
    let mut create_sources: Vec<(String, String)> = vec![(title.to_string(), name.to_string())];
    if w.kind == "deployment" {
        for rs in ctx.replica_sets_of(ns, name) {
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
                            ctx,
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
    let missing_pods = wi.and_then(|v| v.desired).is_some_and(|d| d > 0)
        && pods.is_empty()
        && ctx.snap.listed("pods");
    if missing_pods || w.kind == "job" || w.kind == "statefulset" || w.kind == "daemonset" {
        for (k, n) in &create_sources {
            if let Some(e) = ctx.event(k, ns, n, &["FailedCreate"]) {
                let t = e.event_time_or_any();
                let recent = t.is_none_or(|t| seconds_since(ctx.now, t) < 3600);
                if recent
                    && (missing_pods
                        || wi.and_then(|v| v.ready).unwrap_or(0)
                            < wi.and_then(|v| v.desired).unwrap_or(0)
                        || w.kind == "job")
                {
                    let msg = crate::mask::mask_text(e.message.as_deref().unwrap_or_default());
                    return Some(failed_create(
                        ctx,
                        w,
                        title,
                        &msg,
                        vec![describe_event(ctx, e)],
                    ));
                }
            }
        }
    }
    None
}

/// What the workload's own status says, per kind: a stuck rollout, a failed job, a missing
/// governing service, misscheduled daemon pods.
fn kind_status(ctx: &Ctx<'_>, w: &ObjectRef, pods: &[PodRef<'_>]) -> Option<Finding> {
    let wi = ctx.workloads.get(w);
    let title = title(&w.kind);
    let ns = w.namespace.as_str();
    let name = w.name.as_str();

    match w.kind.as_str() {
        "deployment" => {
            let Source::Deployment(d) = wi?.source else {
                return None;
            };
            deployment_status(ctx, d, wi.and_then(|v| v.ready).unwrap_or(0))
        }
        "job" | "cronjob" => {
            let (reason, ev) = workload_status_evidence(ctx, w)?;
            let mut evidence = vec![ev];
            let mut related = Vec::new();
            for p in pods.iter().take(5) {
                related.push(format!("pod/{}", p.name()));
            }
            if let Some(p) = pods.first().and_then(|p| p.full())
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
            let Source::StatefulSet(s) = wi?.source else {
                return None;
            };
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
                    .any(|x| &*x.namespace == ns && *x.name == *svc)
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
            let Source::DaemonSet(d) = wi?.source else {
                return None;
            };
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
    }
}

fn failed_create(
    ctx: &Ctx<'_>,
    w: &ObjectRef,
    title: &str,
    msg: &str,
    mut evidence: Vec<String>,
) -> Finding {
    let lower = msg.to_ascii_lowercase();
    let suggestion = if lower.contains("quota") {
        quota_suggestion(ctx, w, msg, &mut evidence)
    } else if lower.contains("serviceaccount") || lower.contains("service account") {
        "create the service account the pod template names, or fix serviceAccountName".to_string()
    } else if lower.contains("webhook") {
        "fix or remove the admission webhook that rejects the pods".to_string()
    } else if lower.contains("limitrange")
        || lower.contains("maximum")
        || lower.contains("minimum")
        || lower.contains("per container")
    {
        limit_range_suggestion(ctx, w, msg, &mut evidence)
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
    let Source::CronJob(cj) = ctx.workloads.get(w)?.source else {
        return None;
    };
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

/// The quota a refusal names, as evidence, and a fix for that cause: limits missing from the
/// template (add them), or the quota used up (lower the requests or raise the quota).
fn quota_suggestion(ctx: &Ctx<'_>, w: &ObjectRef, msg: &str, evidence: &mut Vec<String>) -> String {
    let quota_name = msg
        .split_once("quota: ")
        .map(|(_, r)| r)
        .and_then(|r| r.split([',', ':']).next())
        .map(str::trim)
        .unwrap_or_default();
    if let Some(q) = ctx
        .snap
        .resource_quotas
        .iter()
        .find(|q| ns_of(&q.metadata) == w.namespace && name_of(&q.metadata) == quota_name)
    {
        let st = q.status.as_ref();
        let hard = st.and_then(|s| s.hard.as_ref());
        let used = st.and_then(|s| s.used.as_ref());
        let parts: Vec<String> = hard
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let u = used.and_then(|u| u.get(k)).map_or("?", |q| q.0.as_str());
                format!("{k} {u}/{}", v.0)
            })
            .collect();
        evidence.push(format!(
            "resourcequota {quota_name}: used/hard {}",
            parts.join(", ")
        ));
    }
    let containers = ctx
        .workloads
        .get(w)
        .and_then(|v| v.template)
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    if msg.contains("must specify") {
        let missing: Vec<&str> = msg
            .split("must specify ")
            .nth(1)
            .map(|r| {
                r.split([';', ','])
                    .filter_map(|p| p.split_whitespace().next())
                    .filter(|p| p.contains('.'))
                    .collect()
            })
            .unwrap_or_default();
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        return format!(
            "set {} on every container of the pod template ({}): ResourceQuota {quota_name} requires them; or give the namespace a LimitRange with defaults. Raising the quota does not help",
            if missing.is_empty() {
                "resources.requests and limits".to_string()
            } else {
                format!("resources {}", missing.join(", "))
            },
            names.join(", ")
        );
    }
    format!(
        "the namespace's ResourceQuota {quota_name} is used up: lower the requests of {} {} (or its replicas), free quota from other workloads, or raise the quota",
        w.kind, w.name
    )
}

/// The LimitRange a refusal breaks, as evidence, and the container value to change.
fn limit_range_suggestion(
    ctx: &Ctx<'_>,
    w: &ObjectRef,
    msg: &str,
    evidence: &mut Vec<String>,
) -> String {
    for lr in ctx
        .snap
        .limit_ranges
        .iter()
        .filter(|l| ns_of(&l.metadata) == w.namespace)
    {
        for item in lr
            .spec
            .as_ref()
            .map(|s| s.limits.as_slice())
            .unwrap_or_default()
        {
            let fmt = |m: Option<
                &std::collections::BTreeMap<
                    String,
                    k8s_openapi::apimachinery::pkg::api::resource::Quantity,
                >,
            >| {
                m.map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k} {}", v.0))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
            };
            evidence.push(format!(
                "limitrange {} ({}): max {}; min {}",
                name_of(&lr.metadata),
                item.type_,
                fmt(item.max.as_ref()),
                fmt(item.min.as_ref())
            ));
        }
    }
    // "maximum cpu usage per Container is 1, but limit is 2"
    let what = msg
        .split("forbidden: ")
        .nth(1)
        .unwrap_or(msg)
        .trim_end_matches('.');
    format!(
        "change the pod template of {} {} to fit the namespace's LimitRange ({what}); lower the container's value rather than widening the LimitRange unless the workload needs it",
        w.kind, w.name
    )
}
