//! Pod-level rules: what is wrong with one pod (containers, init containers, scheduling,
//! mounts, probes, eviction, termination), with the evidence that proves it.

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

use super::{Ctx, LogRequest, age, describe_event, name_of, ns_of, seconds_since};
use crate::diagnosis::Severity;
use crate::diagnosis::logs::{error_signatures, missing_env_names};
use crate::mask::mask_text;

/// One problem of one pod.
#[derive(Debug, Clone)]
pub(crate) struct Issue {
    pub severity: Severity,
    /// Kubernetes' word.
    pub reason: String,
    /// How deep a cause this is (higher wins when pods of a workload differ).
    pub rank: u8,
    /// The container concerned.
    pub container: Option<String>,
    /// What the pods do, as a verb phrase: `crash-loop: container api exits with code 1 (Error)`.
    pub what: String,
    /// Proven causes, deepest last: `its log says KeyError: 'DATABASE_URL'`.
    pub because: Vec<String>,
    pub evidence: Vec<String>,
    pub suggestion: String,
    pub related: Vec<String>,
    /// Config names the log says are missing.
    pub missing_env: Vec<String>,
    /// Whether a log tail backed this issue (preferred as the group's representative).
    pub has_log: bool,
}

impl Issue {
    fn new(
        severity: Severity,
        reason: &str,
        rank: u8,
        container: Option<&str>,
        what: String,
    ) -> Issue {
        Issue {
            severity,
            reason: reason.to_string(),
            rank,
            container: container.map(str::to_string),
            what,
            because: Vec::new(),
            evidence: Vec::new(),
            suggestion: String::new(),
            related: Vec::new(),
            missing_env: Vec::new(),
            has_log: false,
        }
    }
}

const IMAGE_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];
const CONFIG_REASONS: &[&str] = &["CreateContainerConfigError", "CreateContainerError"];
const RESTART_WINDOW_SECS: i64 = 3600;

/// What an exit code usually means.
pub(crate) fn exit_meaning(code: i32) -> &'static str {
    match code {
        0 => "completed",
        1 => "application error",
        2 => "misuse or bad arguments",
        126 => "command not executable",
        127 => "command not found",
        128 => "invalid exit argument",
        134 => "aborted (SIGABRT)",
        137 => "killed (SIGKILL, often out of memory)",
        139 => "segmentation fault (SIGSEGV)",
        143 => "terminated (SIGTERM)",
        _ => "error",
    }
}

fn spec_container<'p>(pod: &'p Pod, name: &str, init: bool) -> Option<&'p Container> {
    let spec = pod.spec.as_ref()?;
    if init {
        spec.init_containers
            .as_ref()?
            .iter()
            .find(|c| c.name == name)
    } else {
        spec.containers.iter().find(|c| c.name == name)
    }
}

fn statuses(pod: &Pod, init: bool) -> &[ContainerStatus] {
    let Some(st) = pod.status.as_ref() else {
        return &[];
    };
    let list = if init {
        st.init_container_statuses.as_ref()
    } else {
        st.container_statuses.as_ref()
    };
    list.map_or(&[], Vec::as_slice)
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

const MAX_LOG_REQUESTS: usize = 40;

pub(crate) fn log_requests_for(ctx: &Ctx<'_>) -> Vec<LogRequest> {
    let mut seen: HashSet<(String, String, String, bool)> = HashSet::new();
    let mut out = Vec::new();
    for pod in &ctx.snap.pods {
        if pod_on_bad_node(ctx, pod) {
            continue;
        }
        let wl = ctx.workload_of(pod);
        let key_base = format!("{}/{}/{}", wl.kind, wl.namespace, wl.name);
        for init in [true, false] {
            for cs in statuses(pod, init) {
                let Some(previous) = log_target(cs) else {
                    continue;
                };
                if seen.insert((key_base.clone(), cs.name.clone(), String::new(), previous)) {
                    out.push(LogRequest {
                        namespace: ns_of(&pod.metadata).to_string(),
                        pod: name_of(&pod.metadata).to_string(),
                        container: cs.name.clone(),
                        previous,
                    });
                }
            }
        }
        if out.len() >= MAX_LOG_REQUESTS {
            break;
        }
    }
    out
}

pub(crate) fn pod_on_bad_node(ctx: &Ctx<'_>, pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| ctx.not_ready_nodes.contains(n))
}

/// The problems of one pod, most telling first (empty when healthy).
pub(crate) fn pod_issues(ctx: &Ctx<'_>, pod: &Pod) -> Vec<Issue> {
    let mut out = Vec::new();
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or_default();

    // Evicted pods are done; nothing else about them matters.
    if phase == "Failed" && status.and_then(|s| s.reason.as_deref()) == Some("Evicted") {
        let msg = status.and_then(|s| s.message.clone()).unwrap_or_default();
        let mut i = Issue::new(
            Severity::Warning,
            "Evicted",
            20,
            None,
            format!("were evicted: {}", msg.trim_end_matches('.')),
        );
        i.evidence
            .push(format!("pod {name}: status.reason Evicted: {msg}"));
        i.suggestion = "set resource requests/limits that fit the node (memory, ephemeral-storage) and delete the evicted pods".into();
        out.push(i);
        return out;
    }

    // Stuck terminating.
    if let Some(del) = pod.metadata.deletion_timestamp.as_ref() {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(30);
        let over = seconds_since(ctx.now, del.0);
        if over > grace.max(0) + 300 {
            let finalizers = pod.metadata.finalizers.clone().unwrap_or_default();
            let mut i = Issue::new(
                Severity::Warning,
                "Terminating",
                10,
                None,
                format!("are stuck terminating for {}", age(ctx.now, del.0)),
            );
            i.evidence.push(format!(
                "pod {name}: metadata.deletionTimestamp {} ({} ago)",
                del.0,
                age(ctx.now, del.0)
            ));
            if !finalizers.is_empty() {
                i.because.push(format!(
                    "finalizers {} are not removed",
                    finalizers.join(", ")
                ));
                i.evidence
                    .push(format!("pod {name}: finalizers {}", finalizers.join(", ")));
            }
            i.suggestion = if finalizers.is_empty() {
                format!(
                    "check the node of the pod; force delete with `kubectl delete pod {name} -n {ns} --grace-period=0 --force` if the node is gone"
                )
            } else {
                "find out why the controller owning the finalizers does not remove them before removing them by hand".into()
            };
            out.push(i);
        }
        return out;
    }

    // Scheduling.
    let conditions = status.and_then(|s| s.conditions.as_ref());
    if let Some(c) = conditions
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    {
        let reason = c.reason.as_deref().unwrap_or("Unschedulable");
        let msg = c.message.clone().unwrap_or_default();
        let mut i = Issue::new(
            Severity::Critical,
            if reason == "SchedulingGated" {
                "SchedulingGated"
            } else {
                "Unschedulable"
            },
            60,
            None,
            format!("cannot be scheduled: {}", msg.trim_end_matches('.')),
        );
        i.evidence.push(format!(
            "pod {name}: condition PodScheduled=False ({reason}): {msg}"
        ));
        if let Some(e) = ctx.event("Pod", ns, name, &["FailedScheduling"]) {
            i.evidence.push(describe_event(ctx, e));
        }
        i.suggestion = scheduling_suggestion(ctx, pod, &msg);
        out.push(i);
        return out;
    }

    // Init containers first: the app containers wait for them.
    for cs in statuses(pod, true) {
        if let Some(i) = container_issue(ctx, pod, cs, true) {
            out.push(i);
            return out;
        }
    }
    for cs in statuses(pod, false) {
        if let Some(i) = container_issue(ctx, pod, cs, false) {
            out.push(i);
        }
    }
    if !out.is_empty() {
        return out;
    }

    // Stuck creating: mount and sandbox failures are only visible in events.
    if phase == "Pending"
        && let Some(e) = ctx.event(
            "Pod",
            ns,
            name,
            &[
                "FailedMount",
                "FailedAttachVolume",
                "FailedCreatePodSandBox",
            ],
        )
    {
        let reason = e.reason.clone().unwrap_or_default();
        let msg = mask_text(e.message.as_deref().unwrap_or_default());
        let mut i = Issue::new(
            Severity::Critical,
            &reason,
            75,
            None,
            format!("are stuck in ContainerCreating: {}", first_sentence(&msg)),
        );
        i.evidence.push(describe_event(ctx, e));
        let missing = super::workloads::missing_refs(ctx, pod);
        for m in &missing {
            i.because.push(m.text.clone());
            i.related.push(m.related.clone());
        }
        i.suggestion = if missing.is_empty() {
            "check the volume sources of the pod (PVC bound, ConfigMap/Secret present, CSI driver installed)".into()
        } else {
            missing[0].fix.clone()
        };
        out.push(i);
    }
    out
}

fn first_sentence(s: &str) -> String {
    let s = s.trim();
    let cut = s.find(". ").map_or(s, |i| &s[..i]);
    cut.trim_end_matches('.').chars().take(300).collect()
}

fn scheduling_suggestion(ctx: &Ctx<'_>, pod: &Pod, msg: &str) -> String {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("insufficient") {
        let requests = pod_requests(pod);
        let largest = ctx
            .snap
            .nodes
            .iter()
            .filter_map(|n| n.status.as_ref()?.allocatable.as_ref())
            .map(|a| {
                let cpu = a.get("cpu").map(|q| q.0.clone()).unwrap_or_default();
                let mem = a.get("memory").map(|q| q.0.clone()).unwrap_or_default();
                format!("cpu {cpu}, memory {mem}")
            })
            .next();
        let mut s = format!("lower the pod's resource requests ({requests})");
        if let Some(l) = largest {
            s.push_str(&format!(" to fit a node (a node offers {l})"));
        }
        s.push_str(" or add capacity to the cluster");
        return s;
    }
    if lower.contains("node affinity")
        || lower.contains("node selector")
        || lower.contains("nodeselector")
    {
        let sel = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_selector.as_ref())
            .map(super::labels_text)
            .unwrap_or_default();
        if !sel.is_empty() {
            let keys: Vec<&String> = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_selector.as_ref())
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            let node_values: Vec<String> = ctx
                .snap
                .nodes
                .iter()
                .filter_map(|n| {
                    let labels = n.metadata.labels.as_ref()?;
                    let have: Vec<String> = keys
                        .iter()
                        .filter_map(|k| labels.get(*k).map(|v| format!("{k}={v}")))
                        .collect();
                    Some(format!(
                        "{} has {}",
                        name_of(&n.metadata),
                        if have.is_empty() {
                            "none of these labels".to_string()
                        } else {
                            have.join(",")
                        }
                    ))
                })
                .take(3)
                .collect();
            let nodes = if node_values.is_empty() {
                String::new()
            } else {
                format!(" ({})", node_values.join("; "))
            };
            return format!(
                "no node matches nodeSelector {sel}{nodes}: fix the nodeSelector or label a node (`kubectl label node NODE {sel}`)"
            );
        }
        return "fix the pod's node affinity or label a node to match it".into();
    }
    if lower.contains("taint") {
        return "add a toleration for the node taint to the pod template, or remove the taint from a node".into();
    }
    if lower.contains("persistentvolumeclaim") {
        return "make the pod's PersistentVolumeClaim bind (storage class, capacity, access mode)"
            .into();
    }
    if lower.contains("anti-affinity") || lower.contains("affinity") {
        return "relax the pod (anti-)affinity rules or add nodes".into();
    }
    "read the scheduler message above and adjust the pod's requests, selectors or tolerations"
        .into()
}

fn pod_requests(pod: &Pod) -> String {
    let mut parts = Vec::new();
    for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
        if let Some(r) = c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
            let mut v = Vec::new();
            if let Some(q) = r.get("cpu") {
                v.push(format!("cpu {}", q.0));
            }
            if let Some(q) = r.get("memory") {
                v.push(format!("memory {}", q.0));
            }
            if !v.is_empty() {
                parts.push(format!("{}: {}", c.name, v.join(", ")));
            }
        }
    }
    if parts.is_empty() {
        "none set".into()
    } else {
        parts.join("; ")
    }
}

/// The problem of one container, if it has one.
fn container_issue(ctx: &Ctx<'_>, pod: &Pod, cs: &ContainerStatus, init: bool) -> Option<Issue> {
    let ns = ns_of(&pod.metadata);
    let pod_name = name_of(&pod.metadata);
    let c = cs.name.as_str();
    let label = if init {
        format!("init container {c}")
    } else {
        format!("container {c}")
    };
    let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref());
    let waiting_reason = waiting
        .and_then(|w| w.reason.as_deref())
        .unwrap_or_default();
    let waiting_msg = waiting.and_then(|w| w.message.clone()).unwrap_or_default();
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let term = cs.state.as_ref().and_then(|s| s.terminated.as_ref());
    let running = cs.state.as_ref().and_then(|s| s.running.as_ref());
    let prefix = if init { "Init:" } else { "" };

    if IMAGE_REASONS.contains(&waiting_reason) {
        let image = spec_container(pod, c, init)
            .and_then(|s| s.image.clone())
            .unwrap_or_else(|| cs.image.clone());
        let mut i = Issue::new(
            Severity::Critical,
            waiting_reason,
            70,
            Some(c),
            format!("cannot pull image {image} ({label})"),
        );
        i.evidence.push(format!(
            "pod {pod_name}: {label} waiting: {waiting_reason}{}",
            if waiting_msg.is_empty() {
                String::new()
            } else {
                format!(": {}", mask_text(&waiting_msg))
            }
        ));
        if let Some(e) = ctx.event("Pod", ns, pod_name, &["Failed"]) {
            i.evidence.push(describe_event(ctx, e));
        }
        let text = format!(
            "{waiting_msg} {}",
            ctx.event("Pod", ns, pod_name, &["Failed"])
                .and_then(|e| e.message.clone())
                .unwrap_or_default()
        )
        .to_ascii_lowercase();
        let pull_secrets: Vec<String> = pod
            .spec
            .as_ref()
            .and_then(|s| s.image_pull_secrets.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.name)
            .collect();
        let missing_secrets: Vec<&String> = if ctx.snap.listed("secrets") {
            pull_secrets
                .iter()
                .filter(|s| {
                    !ctx.snap
                        .secrets
                        .iter()
                        .any(|x| ns_of(&x.metadata) == ns && name_of(&x.metadata) == s.as_str())
                })
                .collect()
        } else {
            Vec::new()
        };
        if let Some(s) = missing_secrets.first() {
            i.because
                .push(format!("its imagePullSecret {s} does not exist"));
            i.related.push(format!("secret/{s}"));
            i.suggestion = format!(
                "create the image pull secret {s} in namespace {ns}, or fix imagePullSecrets"
            );
        } else if text.contains("unauthorized")
            || text.contains("denied")
            || text.contains("authentication")
        {
            i.because.push("the registry refused access".into());
            i.suggestion =
                "give the pod registry credentials (imagePullSecrets) or make the image public"
                    .into();
        } else if text.contains("not found")
            || text.contains("manifest unknown")
            || waiting_reason == "InvalidImageName"
        {
            i.because.push(format!("image {image} does not exist"));
            i.suggestion = format!(
                "fix the image name or tag of {label} (is {image} pushed?), or roll back to the previous revision"
            );
        } else {
            i.suggestion =
                format!("check that image {image} exists and the node can reach its registry");
        }
        i.related.push(format!("pod/{pod_name}"));
        return Some(i);
    }

    if CONFIG_REASONS.contains(&waiting_reason) {
        let mut i = Issue::new(
            Severity::Critical,
            waiting_reason,
            80,
            Some(c),
            format!("cannot start {label}: {}", mask_text(&waiting_msg)),
        );
        i.evidence.push(format!(
            "pod {pod_name}: {label} waiting: {waiting_reason}: {}",
            mask_text(&waiting_msg)
        ));
        let missing = super::workloads::missing_refs(ctx, pod);
        for m in &missing {
            i.because.push(m.text.clone());
            i.related.push(m.related.clone());
        }
        i.suggestion = match missing.first() {
            Some(m) => m.fix.clone(),
            None => "create the ConfigMap/Secret (or key) the container references, or fix the reference".into(),
        };
        return Some(i);
    }

    // A crash loop, or a container that terminated with an error and will not restart.
    let crash = waiting_reason == "CrashLoopBackOff" || waiting_reason == "RunContainerError";
    let failed_terminal = term.is_some_and(|t| t.exit_code != 0) && !crash;
    let recent_restart = running.is_some()
        && cs.restart_count > 0
        && last
            .and_then(|t| t.finished_at.as_ref())
            .is_some_and(|f| seconds_since(ctx.now, f.0) < RESTART_WINDOW_SECS);
    if crash || failed_terminal || recent_restart {
        let t = if failed_terminal { term } else { last };
        let oom = t.and_then(|t| t.reason.as_deref()) == Some("OOMKilled");
        let exit = t.map(|t| t.exit_code);
        let treason = t
            .and_then(|t| t.reason.clone())
            .unwrap_or_else(|| "Error".into());
        let (severity, reason, rank, what) = if oom {
            let limit = spec_container(pod, c, init).and_then(|s| {
                s.resources
                    .as_ref()?
                    .limits
                    .as_ref()?
                    .get("memory")
                    .map(|q| q.0.clone())
            });
            let limit = limit.map_or_else(
                || " (no memory limit set)".to_string(),
                |l| format!(" (memory limit {l})"),
            );
            let sev = if crash {
                Severity::Critical
            } else {
                Severity::Warning
            };
            let what = if crash {
                format!(
                    "crash-loop: {label} is OOMKilled{limit}, restarted {} times",
                    cs.restart_count
                )
            } else {
                format!(
                    "were OOMKilled recently: {label} exceeded its memory{limit}, restarted {} times",
                    cs.restart_count
                )
            };
            (sev, "OOMKilled".to_string(), 55, what)
        } else if crash {
            let code = exit.map_or(String::new(), |e| {
                format!(" with code {e} ({})", exit_meaning(e))
            });
            (
                Severity::Critical,
                format!("{prefix}CrashLoopBackOff"),
                50,
                format!(
                    "crash-loop: {label} exits{code}, restarted {} times",
                    cs.restart_count
                ),
            )
        } else if failed_terminal {
            let code = exit.map_or(String::new(), |e| {
                format!(" with code {e} ({})", exit_meaning(e))
            });
            (
                Severity::Critical,
                if init {
                    "Init:Error".to_string()
                } else {
                    treason.clone()
                },
                45,
                format!("failed: {label} exited{code}"),
            )
        } else {
            let code = exit.map_or(String::new(), |e| {
                format!(" with code {e} ({})", exit_meaning(e))
            });
            (
                Severity::Warning,
                "Restarting".to_string(),
                30,
                format!(
                    "restarted recently: {label} exited{code}, {} restarts",
                    cs.restart_count
                ),
            )
        };
        // A container restarted once long ago and ready now is not a problem.
        if !crash && !failed_terminal && !oom && cs.ready && cs.restart_count < 3 {
            return None;
        }
        let mut i = Issue::new(severity, &reason, rank, Some(c), what);
        if let Some(t) = t {
            let at = t
                .finished_at
                .as_ref()
                .map_or(String::new(), |f| format!(" at {}", f.0));
            let state = if failed_terminal {
                "state.terminated"
            } else {
                "lastState.terminated"
            };
            i.evidence.push(format!(
                "pod {pod_name}: {label} {state}: exitCode {} ({treason}){at}",
                t.exit_code
            ));
        }
        if oom {
            i.suggestion = format!("raise the memory limit of {label} or reduce its memory use");
        } else {
            i.suggestion = match exit {
                Some(126 | 127) => format!(
                    "fix the command of {label}: the executable is missing or not runnable in the image"
                ),
                Some(137) => {
                    format!("{label} was killed: check its memory limit and liveness probe")
                }
                _ => format!(
                    "read the log of the {}container (`kubectl logs {pod_name} -n {ns} -c {c}{}`) and fix the error",
                    if failed_terminal { "" } else { "previous " },
                    if failed_terminal { "" } else { " --previous" }
                ),
            };
        }
        if let Some(e) = ctx.events("Pod", ns, pod_name).iter().find(|e| {
            e.reason.as_deref() == Some("Killing")
                && e.message
                    .as_deref()
                    .unwrap_or_default()
                    .contains("liveness")
                || e.reason.as_deref() == Some("Unhealthy")
                    && e.message
                        .as_deref()
                        .unwrap_or_default()
                        .starts_with("Liveness")
        }) {
            i.because.push("its liveness probe fails".into());
            i.evidence.push(describe_event(ctx, e));
            if !oom {
                i.suggestion = format!(
                    "fix the liveness probe of {label} (path, port, timing) or the endpoint it checks"
                );
            }
        }
        attach_log(ctx, pod, c, &mut i);
        return Some(i);
    }

    // Running but not ready: readiness probe failing.
    if !init && running.is_some() && !cs.ready {
        let probe_event = ctx.events("Pod", ns, pod_name).iter().copied().find(|e| {
            e.reason.as_deref() == Some("Unhealthy")
                && e.message
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .contains("readiness")
        });
        let started = running.and_then(|r| r.started_at.as_ref()).map(|t| t.0);
        let long_enough = started.is_some_and(|s| seconds_since(ctx.now, s) > 120);
        if probe_event.is_none() && !long_enough {
            return None;
        }
        let mut i = Issue::new(
            Severity::Critical,
            "Unhealthy",
            40,
            Some(c),
            format!("are not ready: the readiness probe of {label} fails"),
        );
        i.evidence
            .push(format!("pod {pod_name}: {label} running but ready=false"));
        if let Some(e) = probe_event {
            i.evidence.push(describe_event(ctx, e));
        }
        let probe = spec_container(pod, c, false).and_then(|s| s.readiness_probe.as_ref());
        if let Some(p) = probe {
            let target = if let Some(h) = &p.http_get {
                format!(
                    "GET {}:{}",
                    h.path.clone().unwrap_or_else(|| "/".into()),
                    int_or_str(&h.port)
                )
            } else if let Some(t) = &p.tcp_socket {
                format!("TCP :{}", int_or_str(&t.port))
            } else if p.exec.is_some() {
                "exec command".to_string()
            } else {
                "probe".to_string()
            };
            i.evidence.push(format!("{label} readinessProbe: {target}"));
            i.suggestion = format!(
                "make {label} answer its readiness probe ({target}) or fix the probe's path/port/timing"
            );
        } else {
            i.suggestion = format!("check why {label} does not report ready");
        }
        attach_log(ctx, pod, c, &mut i);
        return Some(i);
    }
    None
}

fn int_or_str(v: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString) -> String {
    match v {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    }
}

/// Adds the log's error signature (masked) and the config it says is missing.
fn attach_log(ctx: &Ctx<'_>, pod: &Pod, container: &str, i: &mut Issue) {
    let ns = ns_of(&pod.metadata);
    let Some(tail) = ctx.snap.log(ns, name_of(&pod.metadata), container) else {
        return;
    };
    let sigs = error_signatures(&tail.text);
    if let Some(first) = sigs.first() {
        let line = mask_text(first);
        i.because.push(format!("its log says {line}"));
        let which = if tail.previous { "previous log" } else { "log" };
        i.evidence
            .push(format!("{which} of pod {}: {line}", tail.pod));
        for s in sigs.iter().skip(1).take(2) {
            i.evidence
                .push(format!("{which} of pod {}: {}", tail.pod, mask_text(s)));
        }
        i.has_log = true;
        if sigs.iter().any(|s| {
            let l = s.to_ascii_lowercase();
            l.contains("forbidden") && (l.contains("serviceaccount") || l.contains("cannot"))
        }) {
            i.suggestion = "grant the pod's service account the permission its log says is forbidden (Role/RoleBinding)".into();
        }
    }
    i.missing_env = missing_env_names(&tail.text);
}
