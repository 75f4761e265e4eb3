//! The statefulset controller: ordinal pods, claims from `volumeClaimTemplates`, ordered
//! start, scale-down from the top and rolling updates.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::admission::admit;
use super::{new_pod, pods_by_owner, ready};
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::kinds::Kinds;
use crate::sim::naming::template_hash;
use crate::sim::object::{arr, i, name, namespace, terminating, uid};
use crate::sim::timestamps::time;
use crate::store::Store;

/// The statefulset controller: ordinal pods, claims from templates, ordered start.
pub fn statefulsets(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let sets = sim.scoped_trees(store, Kinds::statefulsets());
    if sets.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    for sts in sets {
        if sim.is_frozen(&sts) || terminating(&sts) {
            continue;
        }
        let ns = namespace(&sts).to_string();
        let sname = name(&sts).to_string();
        let want = i(&sts, "/spec/replicas").unwrap_or(1).max(0);
        let parallel = sts["spec"]["podManagementPolicy"] == "Parallel";
        let revision = format!("{sname}-{}", template_hash(&sts["spec"]["template"]));
        let mine: Vec<Arc<Value>> = pods
            .get(uid(&sts))
            .map(|v| v.iter().filter(|p| !terminating(p)).cloned().collect())
            .unwrap_or_default();
        let by_ord: HashMap<i64, &Arc<Value>> = mine
            .iter()
            .filter_map(|p| {
                name(p)
                    .strip_prefix(&format!("{sname}-"))
                    .and_then(|o| o.parse().ok())
                    .map(|o| (o, p))
            })
            .collect();
        let source = || Source::Controller("statefulset-controller");
        for ord in 0..want {
            if by_ord.contains_key(&ord) {
                continue;
            }
            if !parallel && (0..ord).any(|o| by_ord.get(&o).is_none_or(|p| !ready(p))) {
                break;
            }
            create_ordinal(sim, store, &sts, ord, &revision, now);
            if !parallel {
                break;
            }
        }
        // Scale down from the highest ordinal; roll outdated pods one at a time.
        let mut ords: Vec<i64> = by_ord.keys().copied().collect();
        ords.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(&top) = ords.first().filter(|&&o| o >= want) {
            sim.delete(store, Kinds::pods(), &ns, &format!("{sname}-{top}"));
            events::record(
                sim,
                store,
                &sts,
                Ev::once(
                    "SuccessfulDelete",
                    format!("delete Pod {sname}-{top} in StatefulSet {sname} successful"),
                    false,
                    source(),
                    now,
                ),
            );
        } else if by_ord.len() as i64 == want
            && by_ord.values().all(|p| ready(p))
            && let Some(&o) = ords.iter().find(|o| {
                by_ord[o]["metadata"]["labels"]["controller-revision-hash"] != json!(revision)
            })
        {
            sim.delete(store, Kinds::pods(), &ns, &format!("{sname}-{o}"));
        }
        let current: Vec<&&Arc<Value>> = by_ord.values().collect();
        let updated = current
            .iter()
            .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(revision))
            .count();
        let ready_n = current.iter().filter(|p| ready(p)).count();
        let mut v = (*sts).clone();
        v["status"] = json!({"observedGeneration": sts["metadata"]["generation"],
            "replicas": current.len(), "readyReplicas": ready_n, "availableReplicas": ready_n,
            "currentReplicas": updated, "updatedReplicas": updated,
            "currentRevision": revision, "updateRevision": revision, "collisionCount": 0});
        if ready_n == 0
            && let Some(m) = v["status"].as_object_mut()
        {
            m.remove("readyReplicas");
        }
        if v != *sts {
            sim.write(store, Kinds::statefulsets(), v);
        }
    }
}

/// Creates the pod of ordinal `ord`, and the claims of its `volumeClaimTemplates`.
fn create_ordinal(
    sim: &mut Simulator,
    store: &mut Store,
    sts: &Value,
    ord: i64,
    revision: &str,
    now: Timestamp,
) {
    let ns = namespace(sts).to_string();
    let sname = name(sts).to_string();
    let source = || Source::Controller("statefulset-controller");
    let pod_name = format!("{sname}-{ord}");
    let mut template = sts["spec"]["template"].clone();
    let labels = &mut template["metadata"]["labels"];
    labels["controller-revision-hash"] = json!(revision);
    labels["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
    labels["apps.kubernetes.io/pod-index"] = json!(ord.to_string());
    let mut volumes = template["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for vct in arr(sts, "/spec/volumeClaimTemplates") {
        let tname = name(vct);
        let claim = format!("{tname}-{pod_name}");
        if store.get(Kinds::pvcs(), &ns, &claim).is_none() {
            let mut pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": ns, "creationTimestamp": time(now),
                    "labels": sts["spec"]["selector"]["matchLabels"]},
                "spec": vct["spec"]});
            if pvc["spec"]["volumeMode"].is_null() {
                pvc["spec"]["volumeMode"] = json!("Filesystem");
            }
            if sim.create(store, Kinds::pvcs(), pvc).is_some() {
                events::record(
                    sim,
                    store,
                    sts,
                    Ev::once(
                        "SuccessfulCreate",
                        format!(
                            "create Claim {claim} Pod {pod_name} in StatefulSet {sname} success"
                        ),
                        false,
                        source(),
                        now,
                    ),
                );
            }
        }
        volumes.retain(|v| v["name"] != tname);
        volumes.push(json!({"name": tname, "persistentVolumeClaim": {"claimName": claim}}));
    }
    if !volumes.is_empty() {
        template["spec"]["volumes"] = json!(volumes);
    }
    template["spec"]["hostname"] = json!(pod_name);
    if let Some(svc) = sts["spec"]["serviceName"].as_str() {
        template["spec"]["subdomain"] = json!(svc);
    }
    let pod = new_pod(sts, &template, &pod_name, now);
    let pod = match admit(store, sts, &pod_name, pod) {
        Ok(pod) => pod,
        Err(msg) => {
            let msg = format!("create Pod {pod_name} in StatefulSet {sname} failed error: {msg}");
            events::record(
                sim,
                store,
                sts,
                Ev::once("FailedCreate", msg, true, source(), now),
            );
            return;
        }
    };
    if sim.create(store, Kinds::pods(), pod).is_some() {
        events::record(
            sim,
            store,
            sts,
            Ev::once(
                "SuccessfulCreate",
                format!("create Pod {pod_name} in StatefulSet {sname} successful"),
                false,
                source(),
                now,
            ),
        );
    }
}
