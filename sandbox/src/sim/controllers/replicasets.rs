//! The replica set controller: pods to the desired count, admission refusals as
//! `FailedCreate` events and the `ReplicaFailure` condition.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::admission::admit;
use super::{active, available, new_pod, pods_by_owner, ready};
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::kinds::Kinds;
use crate::sim::labels::selects;
use crate::sim::object::{arr, i, name, namespace, s, terminating, uid};
use crate::sim::timestamps::{time, ts};
use crate::store::Store;

/// Who reports the replica set controller's events.
const SOURCE: Source = Source::Controller("replicaset-controller");

/// The replica set controller.
pub fn replicasets(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let sets = sim.scoped_trees(store, Kinds::replicasets());
    if sets.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    for rs in sets {
        if sim.is_frozen(&rs) || terminating(&rs) {
            continue;
        }
        let want = i(&rs, "/spec/replicas").unwrap_or(1).max(0);
        let min_ready = i(&rs, "/spec/minReadySeconds").unwrap_or(0);
        let mut mine: Vec<Arc<Value>> = pods
            .get(uid(&rs))
            .map(|v| v.iter().filter(|p| active(p)).cloned().collect())
            .unwrap_or_default();
        let have = mine.len() as i64;
        let source = || Source::Controller("replicaset-controller");
        let refused = if have < want {
            create_pods(sim, store, &rs, want - have, &mut mine, now)
        } else {
            None
        };
        if let Some(msg) = &refused {
            report_refusal(sim, store, &rs, msg, now);
        } else if have > want {
            // Unscheduled first, then not ready, then the newest.
            mine.sort_by_key(|p| {
                (
                    !s(p, "/spec/nodeName").is_empty(),
                    ready(p),
                    std::cmp::Reverse(s(p, "/metadata/creationTimestamp").to_string()),
                )
            });
            let doomed: Vec<String> = mine
                .drain(..(have - want) as usize)
                .map(|p| name(&p).to_string())
                .collect();
            for pod_name in doomed {
                sim.delete(store, Kinds::pods(), namespace(&rs), &pod_name);
                events::record(
                    sim,
                    store,
                    &rs,
                    Ev::once(
                        "SuccessfulDelete",
                        format!("Deleted pod: {pod_name}"),
                        false,
                        source(),
                        now,
                    ),
                );
            }
        }
        let labelled = mine
            .iter()
            .filter(|p| selects(&rs["spec"]["selector"], &p["metadata"]["labels"]))
            .count();
        let mut status = json!({"replicas": mine.len(), "fullyLabeledReplicas": labelled,
            "readyReplicas": mine.iter().filter(|p| ready(p)).count(),
            "availableReplicas": mine.iter().filter(|p| available(p, min_ready, now)).count(),
            "observedGeneration": rs["metadata"]["generation"]});
        if let Some(msg) = &refused {
            let since = arr(&rs, "/status/conditions")
                .iter()
                .find(|c| c["type"] == "ReplicaFailure" && c["message"] == msg.as_str())
                .map_or_else(|| time(now), |c| c["lastTransitionTime"].clone());
            status["conditions"] = json!([{"type": "ReplicaFailure", "status": "True",
                "reason": "FailedCreate", "message": msg, "lastTransitionTime": since}]);
        }
        for k in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
            if status[k] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove(k);
            }
        }
        if rs.get("status") != Some(&status) {
            let mut v = (*rs).clone();
            v["status"] = status;
            sim.write(store, Kinds::replicasets(), v);
        }
    }
}

/// Creates up to `n` pods of the ReplicaSet (each through admission) into `mine`; returns
/// the API server's refusal, if one stopped it.
fn create_pods(
    sim: &mut Simulator,
    store: &mut Store,
    rs: &Value,
    n: i64,
    mine: &mut Vec<Arc<Value>>,
    now: Timestamp,
) -> Option<String> {
    for _ in 0..n.min(500) {
        let pod_name = format!("{}-{}", name(rs), store.suffix());
        let pod = new_pod(rs, &rs["spec"]["template"], &pod_name, now);
        let pod = match admit(store, rs, &format!("{}-", name(rs)), pod) {
            Ok(pod) => pod,
            Err(msg) => return Some(msg),
        };
        if let Some(p) = sim.create(store, Kinds::pods(), pod) {
            mine.push(p);
            let msg = format!("Created pod: {pod_name}");
            let ev = Ev::once("SuccessfulCreate", msg, false, SOURCE, now);
            events::record(sim, store, rs, ev);
        }
    }
    None
}

/// Admission refused the pods: the controller reports it (`FailedCreate`) and retries
/// with back-off.
fn report_refusal(sim: &mut Simulator, store: &mut Store, rs: &Value, msg: &str, now: Timestamp) {
    let since = arr(rs, "/status/conditions")
        .iter()
        .find(|c| c["type"] == "ReplicaFailure")
        .and_then(|c| ts(&c["lastTransitionTime"]))
        .unwrap_or(now)
        .min(now);
    let (count, last, next) = crate::sim::kubelet::retries(since, now);
    sim.wake_at(now, next, namespace(rs));
    let ev = Ev {
        field_path: None,
        warning: true,
        reason: "FailedCreate",
        message: format!("Error creating: {msg}"),
        source: SOURCE,
        count,
        first: since,
        last,
    };
    events::record(sim, store, rs, ev);
}
