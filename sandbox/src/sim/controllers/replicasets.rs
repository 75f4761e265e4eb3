//! The replica set controller: pods to the desired count, admission refusals as
//! `FailedCreate` events and the `ReplicaFailure` condition.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{active, available, new_pod, pods_by_owner, ready};
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::kinds::Kinds;
use crate::sim::labels::selects;
use crate::sim::object::{arr, i, name, namespace, s, terminating, uid};
use crate::sim::timestamps::{time, ts};
use crate::store::Store;

/// The replica set controller.
pub fn replicasets(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let sets = sim.scoped(store, Kinds::replicasets());
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
        let refused = admission_error(store, &rs);
        if let (true, Some(msg)) = (have < want, &refused) {
            // Admission refuses the pods: the controller reports it and retries.
            let since = ts(&rs["metadata"]["creationTimestamp"])
                .unwrap_or(now)
                .min(now);
            let (count, last, next) = crate::sim::kubelet::retries(since, now);
            sim.wake_at(now, next, namespace(&rs));
            events::record(
                sim,
                store,
                &rs,
                Ev {
                    field_path: None,
                    warning: true,
                    reason: "FailedCreate",
                    message: format!("Error creating: {msg}"),
                    source: source(),
                    count,
                    first: since,
                    last,
                },
            );
        } else if have < want {
            for _ in 0..(want - have).min(500) {
                let pod_name = format!("{}-{}", name(&rs), store.suffix());
                let pod = new_pod(&rs, &rs["spec"]["template"], &pod_name, now);
                if let Some(p) = sim.create(store, Kinds::pods(), pod) {
                    mine.push(p);
                    events::record(
                        sim,
                        store,
                        &rs,
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
                .find(|c| c["type"] == "ReplicaFailure")
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

/// Why the API server would refuse the ReplicaSet's pods: a missing service account.
fn admission_error(store: &Store, rs: &Value) -> Option<String> {
    let sa = s(rs, "/spec/template/spec/serviceAccountName");
    if sa.is_empty() || sa == "default" {
        return None;
    }
    let ns = namespace(rs);
    store
        .get(Kinds::serviceaccounts(), ns, sa)
        .is_none()
        .then(|| {
            format!(
                "pods \"{}-\" is forbidden: error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found",
                name(rs)
            )
        })
}
