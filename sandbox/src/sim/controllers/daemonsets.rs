//! The daemonset controller: one pod per eligible node, rolling updates.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{active, new_pod, pods_by_owner, ready};
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::fit;
use crate::sim::kinds::Kinds;
use crate::sim::naming::template_hash;
use crate::sim::object::{arr, name, namespace, s, terminating, uid};
use crate::store::Store;

/// The daemonset controller: one pod per eligible node.
pub fn daemonsets(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let sets = sim.scoped_trees(store, Kinds::daemonsets());
    if sets.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    let nodes = fit::node_fits(store);
    for ds in sets {
        if sim.is_frozen(&ds) || terminating(&ds) {
            continue;
        }
        let ns = namespace(&ds).to_string();
        let mut template = ds["spec"]["template"].clone();
        let revision = template_hash(&template);
        template["metadata"]["labels"]["controller-revision-hash"] = json!(revision);
        add_default_tolerations(&mut template);
        let probe = json!({"spec": template["spec"]});
        let eligible: Vec<&fit::NodeFit> = nodes
            .iter()
            .filter(|n| {
                fit::affinity_matches(&probe, n)
                    && n.taints.iter().all(|t| {
                        !matches!(s(t, "/effect"), "NoSchedule" | "NoExecute")
                            || fit::tolerated(&probe, t)
                    })
            })
            .collect();
        let mine: Vec<Arc<Value>> = pods
            .get(uid(&ds))
            .map(|v| v.iter().filter(|p| active(p)).cloned().collect())
            .unwrap_or_default();
        let source = || Source::Controller("daemonset-controller");
        for n in &eligible {
            if mine.iter().any(|p| node_of(p) == n.name) {
                continue;
            }
            let mut t = template.clone();
            t["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n.name]}]}]});
            let pod_name = format!("{}-{}", name(&ds), store.suffix());
            let pod = new_pod(&ds, &t, &pod_name, now);
            if sim.create(store, Kinds::pods(), pod).is_some() {
                events::record(
                    sim,
                    store,
                    &ds,
                    Ev::once(
                        "SuccessfulCreate",
                        format!("Created pod: {pod_name}"),
                        false,
                        source(),
                        now,
                    ),
                );
            }
        }
        let eligible_names: HashSet<&str> = eligible.iter().map(|n| n.name.as_str()).collect();
        for p in &mine {
            if !eligible_names.contains(node_of(p).as_str()) {
                sim.delete(store, Kinds::pods(), &ns, name(p));
            }
        }
        let all_ready = mine.iter().all(|p| ready(p));
        if all_ready
            && let Some(p) = mine
                .iter()
                .find(|p| p["metadata"]["labels"]["controller-revision-hash"] != json!(revision))
        {
            sim.delete(store, Kinds::pods(), &ns, name(p));
        }
        let on_eligible: Vec<&Arc<Value>> = mine
            .iter()
            .filter(|p| eligible_names.contains(node_of(p).as_str()))
            .collect();
        let ready_n = on_eligible.iter().filter(|p| ready(p)).count();
        let updated = on_eligible
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(revision))
            .count();
        let mut status = json!({"observedGeneration": ds["metadata"]["generation"],
            "desiredNumberScheduled": eligible.len(), "currentNumberScheduled": on_eligible.len(),
            "numberReady": ready_n, "numberAvailable": ready_n, "numberMisscheduled": 0,
            "updatedNumberScheduled": updated});
        let unavailable = eligible.len().saturating_sub(ready_n);
        if unavailable > 0 {
            status["numberUnavailable"] = json!(unavailable);
        }
        if ready_n == 0
            && let Some(m) = status.as_object_mut()
        {
            m.remove("numberAvailable");
        }
        if ds.get("status") != Some(&status) {
            let mut v = (*ds).clone();
            v["status"] = status;
            sim.write(store, Kinds::daemonsets(), v);
        }
    }
}

/// The tolerations the DaemonSet controller adds to every pod it makes, so daemons stay on
/// nodes that are not ready, unreachable, under pressure or cordoned.
fn add_default_tolerations(template: &mut Value) {
    let mut tolerations = template["spec"]["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (key, effect) in [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ] {
        tolerations.push(json!({"key": key, "operator": "Exists", "effect": effect}));
    }
    template["spec"]["tolerations"] = json!(tolerations);
}

/// The node a daemon pod runs on, or is pinned to by its node affinity before it is bound.
fn node_of(p: &Value) -> String {
    let n = s(p, "/spec/nodeName");
    if !n.is_empty() {
        return n.to_string();
    }
    arr(p, "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .first()
        .and_then(|t| arr(t, "/matchFields").first().cloned())
        .and_then(|f| arr(&f, "/values").first().and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}
