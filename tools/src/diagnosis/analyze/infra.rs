//! Cluster infrastructure rules: nodes, persistent volumes and claims, autoscalers and
//! disruption budgets.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Event, Node, PersistentVolumeClaim};

use super::{Ctx, Out, describe_event, finding, name_of, ns_of, seconds_since};
use crate::diagnosis::Severity;

/// The Ready condition of a NotReady node: (status, reason, message).
pub(crate) fn node_not_ready(n: &Node) -> Option<(String, String, String)> {
    let c = n
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    if c.status == "True" {
        return None;
    }
    Some((
        c.status.clone(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

pub(crate) fn nodes(ctx: &Ctx<'_>, out: &mut Out) {
    for n in &ctx.snap.nodes {
        let name = name_of(&n.metadata);
        let on_node = ctx.pods_on(name);
        if !ctx.cluster_wide() && on_node.is_empty() {
            continue;
        }
        if let Some((status, reason, msg)) = node_not_ready(n) {
            let pods: Vec<String> = on_node
                .iter()
                .map(|p| format!("pod/{}", p.name()))
                .collect();
            let mut workloads: Vec<String> = Vec::new();
            for p in on_node {
                let w = ctx.workload_of(p);
                let t = format!("{}/{}", w.kind, w.name);
                if !workloads.contains(&t) {
                    workloads.push(t);
                }
            }
            let affected = if workloads.is_empty() {
                String::new()
            } else {
                format!(
                    "; the {} on it ({}) cannot run",
                    super::plural(pods.len(), "pod"),
                    workloads
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let mut related = workloads;
            for p in pods.iter().take(10) {
                if !related.contains(p) {
                    related.push(p.clone());
                }
            }
            let mut evidence = vec![format!(
                "node {name}: condition Ready={status} ({reason}): {msg}"
            )];
            if let Some(e) = ctx.event("Node", "", name, &["NodeNotReady"]) {
                evidence.push(describe_event(ctx, e));
            }
            out.push(finding(
                Severity::Critical,
                "node",
                "",
                name,
                "NodeNotReady",
                format!(
                    "Node {name} is NotReady ({}){affected}",
                    if msg.is_empty() { reason.clone() } else { msg.trim_end_matches('.').to_string() }
                ),
                evidence,
                format!("check the node's kubelet and network (`kubectl describe node {name}`); cordon and drain it if it does not come back"),
                related,
            ));
            continue;
        }
        let conds = n.status.as_ref().and_then(|s| s.conditions.as_ref());
        for c in conds.into_iter().flatten() {
            // Only the well-known pressure conditions: unknown condition types are not faults.
            let known = matches!(
                c.type_.as_str(),
                "MemoryPressure" | "DiskPressure" | "PIDPressure" | "NetworkUnavailable"
            );
            if known && c.status == "True" {
                out.push(finding(
                    Severity::Warning,
                    "node",
                    "",
                    name,
                    &c.type_,
                    format!(
                        "Node {name} has {}: {}",
                        c.type_,
                        c.message
                            .as_deref()
                            .unwrap_or("pods may be evicted")
                            .trim_end_matches('.')
                    ),
                    vec![format!(
                        "node {name}: condition {}=True ({})",
                        c.type_,
                        c.reason.as_deref().unwrap_or_default()
                    )],
                    "free resources on the node or move workloads off it".into(),
                    on_node
                        .iter()
                        .take(10)
                        .map(|p| format!("pod/{}", p.name()))
                        .collect(),
                ));
            }
        }
        if n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) && ctx.cluster_wide() {
            out.push(finding(
                Severity::Warning,
                "node",
                "",
                name,
                "SchedulingDisabled",
                format!("Node {name} is cordoned: no new pods are scheduled on it"),
                vec![format!("node {name}: spec.unschedulable true")],
                format!("uncordon it when maintenance is done (`kubectl uncordon {name}`)"),
                Vec::new(),
            ));
        }
    }
}

/// Why a PVC is not bound.
#[derive(Debug, Clone)]
pub(crate) struct PvcProblem {
    pub severity: Severity,
    pub reason: String,
    /// A clause for a cause chain: `storageclass "fast" does not exist`.
    pub because: String,
    pub evidence: Vec<String>,
    pub suggestion: String,
}

pub(crate) fn pvc_problems(ctx: &Ctx<'_>) -> HashMap<(String, String), PvcProblem> {
    let mut out = HashMap::new();
    for pvc in &ctx.snap.pvcs {
        if let Some(p) = pvc_problem(ctx, pvc) {
            let key = (
                ns_of(&pvc.metadata).to_string(),
                name_of(&pvc.metadata).to_string(),
            );
            out.insert(key, p);
        }
    }
    out
}

/// Why one claim is not bound, if it is not and that is a fault.
fn pvc_problem(ctx: &Ctx<'_>, pvc: &PersistentVolumeClaim) -> Option<PvcProblem> {
    let name = name_of(&pvc.metadata);
    let phase = pvc
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    match phase {
        "Lost" => Some(PvcProblem {
            severity: Severity::Critical,
            reason: "ClaimLost".into(),
            because: format!("PersistentVolumeClaim {name} lost its volume"),
            evidence: vec![format!("persistentvolumeclaim {name}: status.phase Lost")],
            suggestion:
                "restore the PersistentVolume the claim was bound to, or recreate the claim".into(),
        }),
        "Pending" => pending_problem(ctx, pvc),
        _ => None,
    }
}

/// Why a Pending claim waits: provisioning that cannot or did not work, or an unexplained wait
/// of over ten minutes.
fn pending_problem(ctx: &Ctx<'_>, pvc: &PersistentVolumeClaim) -> Option<PvcProblem> {
    let ns = ns_of(&pvc.metadata);
    let name = name_of(&pvc.metadata);
    let sc = pvc
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref());
    let event = ctx.event("PersistentVolumeClaim", ns, name, &["ProvisioningFailed"]);
    let mut evidence = vec![format!(
        "persistentvolumeclaim {name}: status.phase Pending, storageClassName {}",
        sc.unwrap_or("(none)")
    )];
    if let Some(e) = event {
        evidence.push(describe_event(ctx, e));
    }
    let class = sc.and_then(|s| {
        ctx.snap
            .storage_classes
            .iter()
            .find(|c| name_of(&c.metadata) == s)
    });
    if let Some((because, suggestion)) = provisioning_failure(ctx, pvc, class.is_some(), event) {
        return Some(PvcProblem {
            severity: Severity::Critical,
            reason: "ProvisioningFailed".into(),
            because,
            evidence,
            suggestion,
        });
    }
    // WaitForFirstConsumer is not a fault; an unexplained long wait is.
    let wffc = class
        .and_then(|c| c.volume_binding_mode.as_deref())
        .is_some_and(|m| m == "WaitForFirstConsumer");
    let old = pvc
        .metadata
        .creation_timestamp
        .as_ref()
        .is_some_and(|t| seconds_since(ctx.now, t.0) > 600);
    (!wffc && old).then(|| PvcProblem {
        severity: Severity::Warning,
        reason: "Pending".into(),
        because: format!("PersistentVolumeClaim {name} has been Pending for over 10 minutes"),
        evidence,
        suggestion: "check the storage provisioner and that a matching PersistentVolume exists"
            .into(),
    })
}

/// Why provisioning the claim cannot work or did not (cause clause, fix): a storage class that
/// does not exist, none named and no default, or the provisioner's failure event.
fn provisioning_failure(
    ctx: &Ctx<'_>,
    pvc: &PersistentVolumeClaim,
    class_exists: bool,
    event: Option<&Event>,
) -> Option<(String, String)> {
    let classes_known = ctx.snap.listed("storageclasses");
    let spec = pvc.spec.as_ref();
    let sc = spec.and_then(|s| s.storage_class_name.as_deref());
    let volume_named = spec
        .and_then(|s| s.volume_name.as_deref())
        .is_some_and(|v| !v.is_empty());
    if let Some(s) = sc.filter(|s| !s.is_empty())
        && classes_known
        && !class_exists
        && !volume_named
    {
        return Some((
            format!("its storage class \"{s}\" does not exist"),
            format!(
                "create StorageClass {s} or set storageClassName to an existing one ({})",
                existing_classes(ctx)
            ),
        ));
    }
    let has_default = ctx.snap.storage_classes.iter().any(|c| {
        c.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("storageclass.kubernetes.io/is-default-class"))
            .is_some_and(|v| v == "true")
    });
    if sc.is_none() && classes_known && !volume_named && !has_default {
        return Some((
            "it names no storage class and the cluster has no default StorageClass".into(),
            format!(
                "set storageClassName on the claim ({}) or mark a StorageClass as default",
                existing_classes(ctx)
            ),
        ));
    }
    event.map(|e| {
        (
            format!(
                "provisioning failed: {}",
                crate::mask::mask_text(e.message.as_deref().unwrap_or_default())
            ),
            "fix what the provisioner reports (storage class parameters, quota, access mode)"
                .into(),
        )
    })
}

fn existing_classes(ctx: &Ctx<'_>) -> String {
    let names: Vec<&str> = ctx
        .snap
        .storage_classes
        .iter()
        .map(|c| name_of(&c.metadata))
        .collect();
    if names.is_empty() {
        "the cluster has none".into()
    } else {
        format!("existing: {}", names.join(", "))
    }
}

/// PVC problems not already named as the cause of a workload's finding.
pub(crate) fn pvcs(ctx: &Ctx<'_>, problems: &HashMap<(String, String), PvcProblem>, out: &mut Out) {
    if ctx.snap.label_selected {
        return;
    }
    let mut keys: Vec<&(String, String)> = problems.keys().collect();
    keys.sort();
    for key in keys {
        if out.explained_pvcs.contains(key) {
            continue;
        }
        let p = &problems[key];
        out.push(finding(
            p.severity,
            "persistentvolumeclaim",
            &key.0,
            &key.1,
            &p.reason,
            format!(
                "PersistentVolumeClaim {} is not bound because {}",
                key.1, p.because
            ),
            p.evidence.clone(),
            p.suggestion.clone(),
            Vec::new(),
        ));
    }
}

pub(crate) fn pvs(ctx: &Ctx<'_>, out: &mut Out) {
    if !ctx.cluster_wide() {
        return;
    }
    for pv in &ctx.snap.pvs {
        let name = name_of(&pv.metadata);
        let phase = pv
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or_default();
        let msg = pv
            .status
            .as_ref()
            .and_then(|s| s.message.clone())
            .unwrap_or_default();
        let claim = pv
            .spec
            .as_ref()
            .and_then(|s| s.claim_ref.as_ref())
            .map(|c| {
                format!(
                    "{}/{}",
                    c.namespace.as_deref().unwrap_or_default(),
                    c.name.as_deref().unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let (sev, text, fix) = match phase {
            "Failed" => (
                Severity::Warning,
                format!(
                    "PersistentVolume {name} failed reclamation{}",
                    if msg.is_empty() {
                        String::new()
                    } else {
                        format!(": {msg}")
                    }
                ),
                "check the storage backend and delete or recycle the volume by hand",
            ),
            "Released" => (
                Severity::Info,
                format!(
                    "PersistentVolume {name} is Released (its claim {claim} was deleted) and cannot be bound again as is"
                ),
                "delete the volume if its data is not needed, or clear its claimRef to reuse it",
            ),
            _ => continue,
        };
        out.push(finding(
            sev,
            "persistentvolume",
            "",
            name,
            phase,
            text,
            vec![format!("persistentvolume {name}: status.phase {phase}")],
            fix.into(),
            Vec::new(),
        ));
    }
}

pub(crate) fn hpas(ctx: &Ctx<'_>, out: &mut Out) {
    for h in &ctx.snap.hpas {
        let ns = ns_of(&h.metadata);
        let name = name_of(&h.metadata);
        let Some(spec) = h.spec.as_ref() else {
            continue;
        };
        let target = &spec.scale_target_ref;
        let related = vec![format!(
            "{}/{}",
            target.kind.to_ascii_lowercase(),
            target.name
        )];
        // Some(None): the target kind was listed and the target is not there.
        let template = match target.kind.as_str() {
            "Deployment" if ctx.snap.listed("deployments") => Some(
                ctx.workloads
                    .find("deployment", ns, &target.name)
                    .and_then(|w| w.template),
            ),
            "StatefulSet" if ctx.snap.listed("statefulsets") => Some(
                ctx.workloads
                    .find("statefulset", ns, &target.name)
                    .and_then(|w| w.template),
            ),
            _ => None,
        };
        if let Some(None) = template {
            out.push(finding(
                Severity::Warning,
                "horizontalpodautoscaler",
                ns,
                name,
                "FailedGetScale",
                format!(
                    "HorizontalPodAutoscaler {name} targets {} {}, which does not exist",
                    target.kind.to_ascii_lowercase(),
                    target.name
                ),
                vec![format!(
                    "hpa {name}: scaleTargetRef {} {}",
                    target.kind, target.name
                )],
                "fix scaleTargetRef or delete the autoscaler".into(),
                related,
            ));
            continue;
        }
        // Resource utilization targets need requests on every container.
        if let Some(Some(t)) = template {
            let containers = t
                .spec
                .as_ref()
                .map(|s| s.containers.as_slice())
                .unwrap_or_default();
            for m in spec.metrics.iter().flatten() {
                let Some(r) = m.resource.as_ref() else {
                    continue;
                };
                if r.target.type_ != "Utilization" {
                    continue;
                }
                let missing: Vec<&str> = containers
                    .iter()
                    .filter(|c| {
                        !c.resources
                            .as_ref()
                            .and_then(|r| r.requests.as_ref())
                            .is_some_and(|q| q.contains_key(&r.name))
                    })
                    .map(|c| c.name.as_str())
                    .collect();
                if !missing.is_empty() {
                    out.push(finding(
                        Severity::Warning,
                        "horizontalpodautoscaler",
                        ns,
                        name,
                        "MissingResourceRequests",
                        format!(
                            "HorizontalPodAutoscaler {name} cannot compute {} utilization: container {} of {} {} has no {} request",
                            r.name,
                            missing.join(", "),
                            target.kind.to_ascii_lowercase(),
                            target.name,
                            r.name
                        ),
                        vec![format!("hpa {name}: metric {} Utilization; containers without requests: {}", r.name, missing.join(", "))],
                        format!("set resources.requests.{} on every container of {}", r.name, target.name),
                        related.clone(),
                    ));
                }
            }
        }
        hpa_conditions(h, name, ns, spec.max_replicas, &related, out);
    }
}

/// Conditions of an autoscaler that say it cannot scale (not ScalingLimited at minReplicas:
/// that is normal).
fn hpa_conditions(
    h: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
    name: &str,
    ns: &str,
    max_replicas: i32,
    related: &[String],
    out: &mut Out,
) {
    let conds = h.status.as_ref().and_then(|s| s.conditions.as_ref());
    for c in conds.into_iter().flatten() {
        let reason = c.reason.clone().unwrap_or_default();
        let msg = c.message.clone().unwrap_or_default();
        let bad = match (c.type_.as_str(), c.status.as_str()) {
            ("AbleToScale", "False") => true,
            // ScalingDisabled means replicas were set to 0 on purpose.
            ("ScalingActive", "False") => reason != "ScalingDisabled",
            // At maxReplicas is worth a warning; at minReplicas (TooFewReplicas) is normal.
            ("ScalingLimited", "True") => reason == "TooManyReplicas",
            _ => false,
        };
        if !bad {
            continue;
        }
        let text = if reason == "TooManyReplicas" {
            format!(
                "HorizontalPodAutoscaler {name} is at maxReplicas ({}) and wants more: {}",
                max_replicas,
                msg.trim_end_matches('.')
            )
        } else {
            format!(
                "HorizontalPodAutoscaler {name} cannot scale ({reason}): {}",
                msg.trim_end_matches('.')
            )
        };
        let fix = match reason.as_str() {
            "TooManyReplicas" => "raise maxReplicas or make the workload cheaper per request".to_string(),
            "FailedGetResourceMetric" | "FailedGetPodsMetric" | "FailedGetExternalMetric" => {
                "check that metrics-server (or the metrics adapter) runs and the target's pods set resource requests".into()
            }
            _ => "read the condition message and fix the target or the metric".into(),
        };
        out.push(finding(
            Severity::Warning,
            "horizontalpodautoscaler",
            ns,
            name,
            &reason,
            text,
            vec![format!(
                "hpa {name}: condition {}={} ({reason}): {msg}",
                c.type_, c.status
            )],
            fix,
            related.to_vec(),
        ));
    }
}

pub(crate) fn pdbs(ctx: &Ctx<'_>, out: &mut Out) {
    for p in &ctx.snap.pdbs {
        let ns = ns_of(&p.metadata);
        let name = name_of(&p.metadata);
        let Some(st) = p.status.as_ref() else {
            continue;
        };
        // Only when everything is healthy: then the budget itself forbids any eviction.
        if st.disruptions_allowed == 0
            && st.expected_pods > 0
            && st.current_healthy >= st.expected_pods
        {
            out.push(finding(
                Severity::Info,
                "poddisruptionbudget",
                ns,
                name,
                "DisruptionBlocked",
                format!(
                    "PodDisruptionBudget {name} allows no disruption even with all {} pods healthy, so node drains will block",
                    st.expected_pods
                ),
                vec![format!(
                    "pdb {name}: status.disruptionsAllowed 0, currentHealthy {}, desiredHealthy {}, expectedPods {}",
                    st.current_healthy, st.desired_healthy, st.expected_pods
                )],
                "lower minAvailable (or raise maxUnavailable), or run more replicas".into(),
                Vec::new(),
            ));
        }
    }
}
