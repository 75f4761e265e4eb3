//! The controllers of kube-controller-manager the sandbox plays, one per file, and what they
//! share: pods by owner, pod readiness and availability, pods made from templates.

mod admission;
mod autoscalers;
mod daemonsets;
mod deployments;
mod garbage;
mod jobs;
mod namespaces;
mod nodes;
mod replicasets;
mod statefulsets;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Simulator;
use super::kinds::Kinds;
use super::object::{arr, controller_uid, namespace, obj_mut, owner_ref, s, terminating};
use super::timestamps::{secs_between, time, ts};
use crate::store::Store;

pub use admission::quotas;
pub use autoscalers::autoscalers;
pub use daemonsets::daemonsets;
pub use deployments::deployments;
pub use garbage::collect_garbage;
pub use jobs::jobs;
pub use namespaces::namespaces;
pub use nodes::{default_node, nodes};
pub use replicasets::replicasets;
pub use statefulsets::statefulsets;

/// Pods of the namespaces in scope by controller uid.
fn pods_by_owner(sim: &Simulator, store: &Store) -> HashMap<String, Vec<Arc<Value>>> {
    let mut m: HashMap<String, Vec<Arc<Value>>> = HashMap::new();
    for p in sim.scoped(store, Kinds::pods()) {
        if let Some(u) = controller_uid(&p) {
            m.entry(u.to_string()).or_default().push(p.clone());
        }
    }
    m
}

/// Whether a pod still counts: not terminating and not finished.
fn active(p: &Value) -> bool {
    !terminating(p) && !matches!(s(p, "/status/phase"), "Succeeded" | "Failed")
}

/// Whether a pod is Ready.
fn ready(p: &Value) -> bool {
    arr(p, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Ready for at least `min_ready` seconds.
fn available(p: &Value, min_ready: i64, now: Timestamp) -> bool {
    arr(p, "/status/conditions").iter().any(|c| {
        c["type"] == "Ready"
            && c["status"] == "True"
            && ts(&c["lastTransitionTime"])
                .is_some_and(|t| secs_between(t, now) >= min_ready as f64)
    })
}

/// A pod made from a template, with the defaults the API server fills in.
fn new_pod(owner: &Value, template: &Value, pod_name: &str, now: Timestamp) -> Value {
    let mut spec = template["spec"].clone();
    let sp = obj_mut(&mut spec);
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("serviceAccountName", json!("default")),
        ("serviceAccount", json!("default")),
        ("securityContext", json!({})),
        ("enableServiceLinks", json!(true)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
        ("priority", json!(0)),
    ] {
        sp.entry(k).or_insert(v);
    }
    let mut tolerations = sp
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerations.iter().any(|t| t["key"] == key) {
            tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    sp.insert("tolerations".into(), json!(tolerations));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = sp.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs {
                let image = c["image"].as_str().unwrap_or("").to_string();
                let m = obj_mut(c);
                let latest = !image.rsplit('/').next().unwrap_or("").contains(':')
                    || image.ends_with(":latest");
                m.entry("imagePullPolicy").or_insert(json!(if latest {
                    "Always"
                } else {
                    "IfNotPresent"
                }));
                m.entry("terminationMessagePath")
                    .or_insert(json!("/dev/termination-log"));
                m.entry("terminationMessagePolicy").or_insert(json!("File"));
                m.entry("resources").or_insert(json!({}));
                for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                    if let Some(p) = m.get_mut(probe).and_then(Value::as_object_mut) {
                        p.entry("timeoutSeconds").or_insert(json!(1));
                        p.entry("periodSeconds").or_insert(json!(10));
                        p.entry("successThreshold").or_insert(json!(1));
                        p.entry("failureThreshold").or_insert(json!(3));
                        if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                            h.entry("scheme").or_insert(json!("HTTP"));
                        }
                    }
                }
            }
        }
    }
    let mut meta = json!({"name": pod_name, "namespace": namespace(owner),
        "creationTimestamp": time(now), "ownerReferences": [owner_ref(owner)]});
    for f in ["labels", "annotations"] {
        if template["metadata"][f].is_object() {
            meta[f] = template["metadata"][f].clone();
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
        "status": {"phase": "Pending", "qosClass": super::kubelet::qos_class(&json!({"spec": template["spec"]}))}})
}

#[cfg(test)]
mod tests;
