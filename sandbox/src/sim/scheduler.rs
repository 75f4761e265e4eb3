//! The scheduler: binds pending pods to nodes by node name, unschedulable flag, taints and
//! tolerations, node selector and required affinity, resource requests and claims, and
//! words its refusals as kube-scheduler does (`0/3 nodes are available: ...`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Simulator;
use super::events::{self, Ev, Source};
use super::fit::{NodeFit, affinity_matches, extended_requests, node_fits, requests, tolerated};
use super::kinds::Kinds;
use super::object::{arr, name, namespace, s};
use super::timestamps::{time, ts};
use crate::store::Store;

/// Seconds between retries of an unschedulable pod (kube-scheduler's 5-minute flush).
const RETRY_SECS: f64 = 300.0;

/// Why a node does not fit; the scheduler's wording. Like kube-scheduler, the first filter
/// that fails names the reasons: taints, node affinity, resources, spreading, pod affinity.
fn reasons_for(pod: &Value, n: &NodeFit, all: &[NodeFit]) -> Vec<String> {
    if n.unschedulable && !tolerates_unschedulable(pod) {
        return vec!["node(s) were unschedulable".into()];
    }
    for t in &n.taints {
        let effect = t["effect"].as_str().unwrap_or("");
        if !matches!(effect, "NoSchedule" | "NoExecute") {
            continue;
        }
        if !tolerated(pod, t) {
            return vec![format!(
                "node(s) had untolerated taint {{{}: {}}}",
                s(t, "/key"),
                s(t, "/value")
            )];
        }
    }
    if !affinity_matches(pod, n) {
        return vec!["node(s) didn't match Pod's node affinity/selector".into()];
    }
    let (cpu, mem) = requests(pod);
    let mut out = Vec::new();
    if n.used.2 + 1 > n.pods {
        out.push("Too many pods".into());
    }
    if cpu > 0 && n.used.0 + cpu > n.cpu {
        out.push("Insufficient cpu".into());
    }
    if mem > 0 && n.used.1 + mem > n.mem {
        out.push("Insufficient memory".into());
    }
    for (res, want) in extended_requests(pod) {
        let have = n.ext.get(&res).copied().unwrap_or(0);
        if n.ext_used.get(&res).copied().unwrap_or(0) + want > have {
            out.push(format!("Insufficient {res}"));
        }
    }
    if !out.is_empty() {
        return out;
    }
    if let Some(r) = super::placement::spread_failure(pod, n, all) {
        return vec![r];
    }
    if let Some(r) = super::placement::pod_affinity_failure(pod, n, all) {
        return vec![r];
    }
    out
}

fn tolerates_unschedulable(pod: &Value) -> bool {
    arr(pod, "/spec/tolerations").iter().any(|t| {
        t["key"] == "node.kubernetes.io/unschedulable"
            || (t["key"].is_null() && t["operator"] == "Exists")
    })
}

/// The `0/N nodes are available: ...` message for reasons per node.
pub fn failure_message(total: usize, per_node: &[Vec<String>]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut preemption: BTreeMap<&str, usize> = BTreeMap::new();
    for reasons in per_node {
        for r in reasons {
            *counts.entry(r.clone()).or_default() += 1;
        }
        let resource = reasons.iter().any(|r| {
            r.starts_with("Insufficient")
                || r == "Too many pods"
                || r.ends_with("didn't match pod anti-affinity rules")
                || r.ends_with("didn't match pod topology spread constraints")
        });
        let key = if resource {
            "No preemption victims found for incoming pod"
        } else {
            "Preemption is not helpful for scheduling"
        };
        *preemption.entry(key).or_default() += 1;
    }
    // kube-scheduler sorts the "N reason" strings themselves.
    let join = |mut m: Vec<String>| {
        m.sort();
        m.join(", ")
    };
    format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {}.",
        join(counts.iter().map(|(r, n)| format!("{n} {r}")).collect()),
        join(preemption.iter().map(|(r, n)| format!("{n} {r}")).collect()),
    )
}

/// Binds every pending pod it can; marks the others Unschedulable with a FailedScheduling
/// event.
pub fn schedule(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let candidates = if sim.pods_deleted {
        store.list_trees(Kinds::pods(), None)
    } else {
        sim.scoped_trees(store, Kinds::pods())
    };
    let pending: Vec<_> = candidates
        .into_iter()
        .filter(|p| {
            s(p, "/spec/nodeName").is_empty() && !sim.is_frozen(p) && !super::object::terminating(p)
        })
        .collect();
    if pending.is_empty() {
        return;
    }
    let mut nodes = node_fits(store);
    for pod in pending {
        if let Some(msg) = claim_problem(store, &pod) {
            unschedulable(sim, store, &pod, msg, now);
            continue;
        }
        let per_node: Vec<Vec<String>> =
            nodes.iter().map(|n| reasons_for(&pod, n, &nodes)).collect();
        // Least loaded feasible node, by pod count then name: spreads replicas.
        let best = nodes
            .iter()
            .enumerate()
            .filter(|(n, _)| per_node[*n].is_empty())
            .min_by_key(|(_, n)| (n.used.2, n.name.clone()))
            .map(|(n, _)| n);
        match best {
            Some(idx) => {
                let (c, m) = requests(&pod);
                nodes[idx].used.0 += c;
                nodes[idx].used.1 += m;
                nodes[idx].used.2 += 1;
                for (res, n) in extended_requests(&pod) {
                    *nodes[idx].ext_used.entry(res).or_default() += n;
                }
                nodes[idx].residents.push(pod.clone());
                let node = nodes[idx].name.clone();
                let mut bound = (*pod).clone();
                bound["spec"]["nodeName"] = json!(node);
                bound["status"] = json!({"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                     "lastTransitionTime": time(now)}]});
                sim.write(store, Kinds::pods(), bound);
                let msg = format!(
                    "Successfully assigned {}/{} to {node}",
                    namespace(&pod),
                    name(&pod)
                );
                events::record(
                    sim,
                    store,
                    &pod,
                    Ev::once("Scheduled", msg, false, Source::Scheduler, now),
                );
            }
            None if nodes.is_empty() => {
                unschedulable(
                    sim,
                    store,
                    &pod,
                    "no nodes available to schedule pods".into(),
                    now,
                );
            }
            None => {
                let msg = failure_message(nodes.len(), &per_node);
                unschedulable(sim, store, &pod, msg, now);
            }
        }
    }
}

/// A problem with the pod's PersistentVolumeClaims that stops scheduling.
fn claim_problem(store: &Store, pod: &Value) -> Option<String> {
    let ns = namespace(pod);
    let mut unbound = false;
    for v in arr(pod, "/spec/volumes") {
        let claim = s(v, "/persistentVolumeClaim/claimName");
        if claim.is_empty() {
            continue;
        }
        match store.get(Kinds::pvcs(), ns, claim) {
            None => return Some(format!("persistentvolumeclaim \"{claim}\" not found")),
            Some(pvc) => {
                if s(&pvc, "/status/phase") != "Bound" {
                    let class = s(&pvc, "/spec/storageClassName");
                    let wffc = store
                        .get(Kinds::storageclasses(), "", class)
                        .is_some_and(|sc| sc["volumeBindingMode"] == "WaitForFirstConsumer");
                    if !wffc {
                        unbound = true;
                    }
                }
            }
        }
    }
    unbound.then(|| {
        let n = store.count(Kinds::nodes());
        format!(
            "0/{n} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."
        )
    })
}

fn unschedulable(sim: &mut Simulator, store: &mut Store, pod: &Value, msg: String, now: Timestamp) {
    let old = arr(pod, "/status/conditions")
        .iter()
        .find(|c| c["type"] == "PodScheduled")
        .cloned();
    let since = old
        .as_ref()
        .filter(|c| c["message"].as_str() == Some(msg.as_str()))
        .and_then(|c| ts(&c["lastTransitionTime"]))
        .unwrap_or(now);
    let status = json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "lastProbeTime": null,
         "lastTransitionTime": time(since), "reason": "Unschedulable", "message": msg}]});
    if pod.get("status") != Some(&status) {
        let mut p = pod.clone();
        p["status"] = status;
        sim.write(store, Kinds::pods(), p);
    }
    let tries = (super::timestamps::secs_between(since, now) / RETRY_SECS).floor() as u64 + 1;
    let last = super::timestamps::plus(since, (tries - 1) as f64 * RETRY_SECS);
    sim.wake_at(
        now,
        super::timestamps::plus(last, RETRY_SECS),
        namespace(pod),
    );
    let current = store
        .get(Kinds::pods(), namespace(pod), name(pod))
        .map_or_else(|| pod.clone(), |p| (*p).clone());
    events::record(
        sim,
        store,
        &current,
        Ev {
            field_path: None,
            warning: true,
            reason: "FailedScheduling",
            message: msg,
            source: Source::Scheduler,
            count: tries,
            first: since,
            last,
        },
    );
}

#[cfg(test)]
mod tests;
