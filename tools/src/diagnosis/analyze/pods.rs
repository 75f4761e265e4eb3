//! Pod-level rules: what is wrong with one pod (containers, init containers, scheduling,
//! mounts, probes, eviction, termination), with the evidence that proves it.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::containers::{attach_log, container_issue};
use super::issue::Issue;
use super::{Ctx, PodRef, age, describe_event, name_of, ns_of, seconds_since};
use crate::diagnosis::Severity;
use crate::diagnosis::signatures::{Class, Signature, scan};
use crate::mask::mask_text;

pub(crate) fn statuses(pod: &Pod, init: bool) -> &[ContainerStatus] {
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

pub(crate) fn pod_on_bad_node<'p>(ctx: &Ctx<'_>, pod: impl Into<PodRef<'p>>) -> bool {
    pod.into()
        .node()
        .is_some_and(|n| ctx.not_ready_nodes.contains(n))
}

/// The problems of one pod, most telling first (empty when healthy).
pub(crate) fn pod_issues(ctx: &Ctx<'_>, pod: &Pod) -> Vec<Issue> {
    if let Some(i) = evicted(pod) {
        return vec![i];
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return stuck_terminating(ctx, pod).into_iter().collect();
    }
    if let Some(i) = unschedulable(ctx, pod) {
        return vec![i];
    }
    // Init containers first: the app containers wait for them.
    for cs in statuses(pod, true) {
        if let Some(i) = container_issue(ctx, pod, cs, true) {
            return vec![i];
        }
    }
    let out: Vec<Issue> = statuses(pod, false)
        .iter()
        .filter_map(|cs| container_issue(ctx, pod, cs, false))
        .collect();
    if !out.is_empty() {
        return out;
    }
    stuck_creating(ctx, pod)
        .or_else(|| log_signal(ctx, pod))
        .into_iter()
        .collect()
}

/// A running pod whose log shows a specific failure (a host that does not resolve, refused
/// connections, forbidden API calls, a full disk): the pod looks healthy, its log does not.
fn log_signal(ctx: &Ctx<'_>, pod: &Pod) -> Option<Issue> {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    for c in ctx.pod_containers(pod) {
        let Some(tail) = ctx.snap.log(ns, name, &c.name) else {
            continue;
        };
        let Some(sig) = scan(&tail.text)
            .into_iter()
            .find(|s| s.class.specific() && (s.class != Class::Timeout || s.target.host.is_some()))
        else {
            continue;
        };
        let label = format!("container {}", c.name);
        let mut i = Issue::new(
            Severity::Warning,
            sig.class.reason(),
            35,
            Some(&c.name),
            format!("is running, but {label} {}", symptom(&sig)),
        );
        i.log_only = true;
        i.suggestion = format!(
            "fix what the log of {label} reports (`kubectl logs {name} -n {ns} -c {}`)",
            c.name
        );
        attach_log(ctx, pod, &c.name, &mut i);
        if i.target_ready {
            // The service it names answers now: the lines are from before, not a fault.
            continue;
        }
        // The line is the symptom already said; keep the followed causes only.
        i.because.retain(|b| !b.starts_with("its log says"));
        return Some(i);
    }
    None
}

/// What a signature says the container cannot do, as a verb phrase.
fn symptom(sig: &Signature) -> String {
    let host = sig
        .target
        .host
        .as_deref()
        .map_or(String::new(), |h| match sig.target.port {
            Some(p) => format!(" {h}:{p}"),
            None => format!(" {h}"),
        });
    match sig.class {
        Class::NameResolution => format!("cannot resolve host{host}"),
        Class::ConnectionRefused => format!("is refused connecting to{host}"),
        Class::Timeout => format!("times out reaching{host}"),
        Class::ConnectionReset => format!("loses its connections to{host}"),
        Class::Tls => format!("fails TLS with{host}"),
        Class::Forbidden => match &sig.target.api {
            Some(a) => format!("is forbidden to {} {}", a.verb, a.resource),
            None => "is forbidden by the API".into(),
        },
        Class::DiskFull => "runs out of disk space".into(),
        Class::ReadOnlyFs => "writes to a read-only file system".into(),
        Class::PermissionDenied => "is denied file access".into(),
        Class::DbAuth => "is refused by its database (authentication)".into(),
        Class::DbLimit => "hits a connection limit".into(),
        Class::Unauthorized => "is refused as unauthorized".into(),
        Class::MissingConfig => "misses configuration".into(),
        Class::RuntimeRefusal => "refuses to run as configured".into(),
        Class::OutOfMemory => "runs out of memory".into(),
        Class::Segfault => "crashes (segmentation fault)".into(),
        _ => "logs errors".into(),
    }
    .to_string()
        + &format!(": {}", mask_text(&sig.line))
}

/// An evicted pod: it is done, nothing else about it matters.
fn evicted(pod: &Pod) -> Option<Issue> {
    let name = name_of(&pod.metadata);
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or_default();
    if !(phase == "Failed" && status.and_then(|s| s.reason.as_deref()) == Some("Evicted")) {
        return None;
    }
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
    Some(i)
}

/// A pod deleted long ago that is still there (finalizers, a lost node).
fn stuck_terminating(ctx: &Ctx<'_>, pod: &Pod) -> Option<Issue> {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let del = pod.metadata.deletion_timestamp.as_ref()?;
    let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(30);
    let over = seconds_since(ctx.now, del.0);
    if over <= grace.max(0) + 300 {
        return None;
    }
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
    Some(i)
}

/// A pod the scheduler cannot place (or that waits on scheduling gates).
fn unschedulable(ctx: &Ctx<'_>, pod: &Pod) -> Option<Issue> {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let status = pod.status.as_ref();
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
        return Some(i);
    }
    None
}

/// Stuck creating: mount and sandbox failures are only visible in events.
fn stuck_creating(ctx: &Ctx<'_>, pod: &Pod) -> Option<Issue> {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default();
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
        let missing = super::refs::missing_refs(ctx, pod);
        for m in &missing {
            i.because.push(m.text.clone());
            i.related.push(m.related.clone());
        }
        i.suggestion = if missing.is_empty() {
            "check the volume sources of the pod (PVC bound, ConfigMap/Secret present, CSI driver installed)".into()
        } else {
            missing[0].fix.clone()
        };
        return Some(i);
    }
    None
}

fn first_sentence(s: &str) -> String {
    let s = s.trim();
    let cut = s.find(". ").map_or(s, |i| &s[..i]);
    cut.trim_end_matches('.').chars().take(300).collect()
}

fn scheduling_suggestion(ctx: &Ctx<'_>, pod: &Pod, msg: &str) -> String {
    let lower = msg.to_ascii_lowercase();
    // The scheduler lists every reason; the pod's own constraints come first.
    if lower.contains("anti-affinity") {
        return anti_affinity_suggestion(ctx, pod);
    }
    if lower.contains("topology spread") {
        return topology_suggestion(ctx, pod);
    }
    let extended: Vec<&str> = msg
        .split("Insufficient ")
        .skip(1)
        .filter_map(|s| s.split(',').next())
        .map(|s| {
            s.split(". ")
                .next()
                .unwrap_or(s)
                .trim()
                .trim_end_matches('.')
        })
        .filter(|r| *r != "cpu" && *r != "memory" && r.contains('/'))
        .collect();
    if let Some(r) = extended.first() {
        return extended_suggestion(ctx, pod, r);
    }
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

/// An extended resource (`nvidia.com/gpu`) no node has free: which nodes offer it at all.
fn extended_suggestion(ctx: &Ctx<'_>, pod: &Pod, resource: &str) -> String {
    let wanted: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .filter_map(|c| {
            let q = c.resources.as_ref()?.limits.as_ref()?.get(resource)?;
            Some(format!("container {} asks for {}", c.name, q.0))
        })
        .collect();
    let offering: Vec<String> = ctx
        .snap
        .nodes
        .iter()
        .filter_map(|n| {
            let q = n.status.as_ref()?.allocatable.as_ref()?.get(resource)?;
            (q.0 != "0").then(|| format!("{} ({})", name_of(&n.metadata), q.0))
        })
        .collect();
    let wants = if wanted.is_empty() {
        String::new()
    } else {
        format!(" ({})", wanted.join(", "))
    };
    if offering.is_empty() {
        format!(
            "no node offers {resource}{wants}: add a node with {resource} (and its device plugin), or remove the {resource} request if the pod can run without it"
        )
    } else {
        format!(
            "every node offering {resource} is in use ({}){wants}: free one (scale down another {resource} workload) or add a node with {resource}",
            offering.join(", ")
        )
    }
}

/// Required pod anti-affinity that leaves no node: say the rule and how many nodes there are.
fn anti_affinity_suggestion(ctx: &Ctx<'_>, pod: &Pod) -> String {
    let spec = ctx.pod_spec(pod);
    let key = spec
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .and_then(|r| r.first())
        .map(|t| t.topology_key.clone());
    let nodes = ctx
        .snap
        .nodes
        .iter()
        .filter(|n| n.spec.as_ref().and_then(|s| s.unschedulable) != Some(true))
        .count();
    match key {
        Some(k) => format!(
            "its required pod anti-affinity on {k} allows one such pod per {k} value and the cluster has {nodes} schedulable nodes: lower the replicas to {nodes}, add nodes, or make the rule preferredDuringSchedulingIgnoredDuringExecution"
        ),
        None => "relax the pod anti-affinity (preferred instead of required), lower the replicas, or add nodes".into(),
    }
}

/// Topology spread constraints that cannot be met: say the constraint.
fn topology_suggestion(ctx: &Ctx<'_>, pod: &Pod) -> String {
    let c = ctx
        .pod_spec(pod)
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .and_then(|t| t.first());
    match c {
        Some(c) => format!(
            "its topology spread constraint (maxSkew {} on {}, whenUnsatisfiable {}) cannot be met by the schedulable nodes: raise maxSkew, use whenUnsatisfiable: ScheduleAnyway, or add nodes in the missing {} values",
            c.max_skew, c.topology_key, c.when_unsatisfiable, c.topology_key
        ),
        None => {
            "relax the topology spread constraints (maxSkew, ScheduleAnyway) or add nodes".into()
        }
    }
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
