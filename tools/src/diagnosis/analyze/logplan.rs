//! Which container logs a diagnosis reads: the failing containers of each workload (the
//! previous container's log after a restart), and the current log of one running pod per
//! workload, where failure signatures of a healthy-looking pod show (DNS, refused
//! connections, forbidden API calls). Both bounded; what is not read is counted.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::pods::{pod_on_bad_node, statuses};
use super::{Ctx, PodRef, name_of, ns_of};
use crate::diagnosis::ObjectRef;

/// Most failing-container logs read.
const MAX_FAILING: usize = 40;
/// Most running workloads whose log is read (one pod each).
const MAX_SAMPLED_WORKLOADS: usize = 24;
/// Most containers read of a sampled pod.
const MAX_SAMPLE_CONTAINERS: usize = 2;

/// A container log tail the analysis wants (fetched by the collector before analysis).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogRequest {
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// The previous (terminated) container's log.
    pub previous: bool,
    /// A running, not failing container read for failure signatures.
    pub sample: bool,
}

/// The logs to read, and how many running workloads were left unread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPlan {
    /// Requests, failing containers first.
    pub requests: Vec<LogRequest>,
    /// Running workloads whose log is read.
    pub sampled_workloads: usize,
    /// Running workloads whose log is not read (over the limit).
    pub skipped_workloads: usize,
}

/// Whether a container is failing enough to read its log, and which one (previous or current).
fn log_target(cs: &ContainerStatus) -> Option<bool> {
    let waiting = cs
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref());
    let last_failed = cs
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    let term_failed = cs
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    let running_not_ready = cs.state.as_ref().is_some_and(|s| s.running.is_some()) && !cs.ready;
    if matches!(waiting, Some("CrashLoopBackOff" | "RunContainerError"))
        || (last_failed && cs.restart_count > 0)
    {
        return Some(last_failed);
    }
    if term_failed {
        return Some(false);
    }
    if running_not_ready {
        return Some(false);
    }
    None
}

/// The plan for a snapshot; `focus` (a name the question is about) is sampled first.
pub(crate) fn plan(ctx: &Ctx<'_>, focus: Option<&str>) -> LogPlan {
    let mut out = LogPlan::default();
    let mut failing_workloads: HashSet<ObjectRef> = HashSet::new();
    let mut seen: HashSet<(ObjectRef, String, bool)> = HashSet::new();
    // Running pods by workload: (priority, pod), one kept per workload.
    let mut running: BTreeMap<ObjectRef, (u8, PodRef<'_>)> = BTreeMap::new();
    for pod in &ctx.snap.pods {
        if pod_on_bad_node(ctx, pod) {
            continue;
        }
        let wl = ctx.workload_of(pod);
        let mut failing = false;
        for init in [true, false] {
            for cs in statuses(pod, init) {
                let Some(previous) = log_target(cs) else {
                    continue;
                };
                failing = true;
                if out.requests.len() < MAX_FAILING
                    && seen.insert((wl.clone(), cs.name.clone(), previous))
                {
                    out.requests.push(LogRequest {
                        namespace: ns_of(&pod.metadata).to_string(),
                        pod: name_of(&pod.metadata).to_string(),
                        container: cs.name.clone(),
                        previous,
                        sample: false,
                    });
                }
            }
        }
        if failing {
            failing_workloads.insert(wl);
            continue;
        }
        if runs(pod) {
            sample_candidate(ctx, &mut running, pod.into(), wl, focus);
        }
    }
    for (wl, run) in ctx.settled_runs() {
        // The run's first pod by priority stands for it (one workload, one sample).
        let best = run
            .iter()
            .filter(|p| !pod_on_bad_node(ctx, *p))
            .map(|p| (priority(ctx, p.into(), &wl, focus), p))
            .min_by_key(|(prio, _)| *prio);
        if let Some((_, pod)) = best {
            sample_candidate(ctx, &mut running, pod.into(), wl, focus);
        }
    }
    let mut sampled: Vec<(u8, ObjectRef, PodRef<'_>)> = running
        .into_iter()
        .filter(|(w, _)| !failing_workloads.contains(w))
        .map(|(w, (p, pod))| (p, w, pod))
        .collect();
    sampled.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out.skipped_workloads = sampled.len().saturating_sub(MAX_SAMPLED_WORKLOADS);
    for (_, _, pod) in sampled.into_iter().take(MAX_SAMPLED_WORKLOADS) {
        out.sampled_workloads += 1;
        for c in ctx
            .container_names(pod)
            .into_iter()
            .take(MAX_SAMPLE_CONTAINERS)
        {
            out.requests.push(LogRequest {
                namespace: pod.namespace().to_string(),
                pod: pod.name().to_string(),
                container: c.to_string(),
                previous: false,
                sample: true,
            });
        }
    }
    out
}

/// A pod that runs now (not being deleted, not finished).
fn runs(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// Keeps a running pod as its workload's log sample when it comes first.
fn sample_candidate<'a>(
    ctx: &Ctx<'_>,
    running: &mut BTreeMap<ObjectRef, (u8, PodRef<'a>)>,
    pod: PodRef<'a>,
    wl: ObjectRef,
    focus: Option<&str>,
) {
    let prio = priority(ctx, pod, &wl, focus);
    let entry = running.entry(wl).or_insert((prio, pod));
    if prio < entry.0 {
        *entry = (prio, pod);
    }
}

/// Lower is read first: the workload the question names, then pods with warning events.
fn priority(ctx: &Ctx<'_>, pod: PodRef<'_>, wl: &ObjectRef, focus: Option<&str>) -> u8 {
    let focus = focus.map(str::trim).filter(|f| !f.is_empty());
    if focus.is_some_and(|f| wl.name == f || pod.name() == f) {
        return 0;
    }
    let warned = ctx
        .events("Pod", pod.namespace(), pod.name())
        .iter()
        .any(|e| e.type_.as_deref() == Some("Warning"));
    if warned { 1 } else { 2 }
}
