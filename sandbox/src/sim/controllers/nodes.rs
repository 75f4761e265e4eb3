//! The node side of the control plane: default nodes, node status as the kubelet posts it,
//! and the node lifecycle controller (Unknown after 40s, unreachable taints, eviction).

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::scenario::parse_duration;
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::kinds::Kinds;
use crate::sim::object::{arr, name, namespace, s, terminating};
use crate::sim::timestamps::{plus, time, ts};
use crate::store::Store;

/// A node as `kind` or a small cloud cluster shows it: Ready, 4 CPUs, 16 GiB.
pub fn default_node(n: u32, at: Timestamp) -> Value {
    let name = format!("node-{n}");
    let zone = ["a", "b", "c"][(n as usize - 1) % 3];
    let mut node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": time(at), "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": format!("zone-{zone}"),
            "node.kubernetes.io/instance-type": "standard-4"}},
        "spec": {"podCIDR": format!("10.244.{n}.0/24"), "podCIDRs": [format!("10.244.{n}.0/24")],
            "providerID": format!("kai-sandbox://{name}")},
    });
    node["status"] = node_status(&node, n, at);
    node
}

/// A Ready node status with the kubelet's condition wording.
fn node_status(node: &Value, n: u32, at: Timestamp) -> Value {
    let t = time(at);
    let cond = |ty: &str, status: &str, reason: &str, msg: &str| {
        json!({"type": ty, "status": status, "reason": reason, "message": msg,
            "lastHeartbeatTime": t, "lastTransitionTime": t})
    };
    // Defaults, with what the node document gives (extended resources) on top.
    let with_given = |mut base: Value, field: &str| {
        for (k, v) in node["status"][field].as_object().into_iter().flatten() {
            base[k] = v.clone();
        }
        base
    };
    let capacity = with_given(
        json!({"cpu": "4", "memory": "16393216Ki", "pods": "110", "ephemeral-storage": "102687672Ki", "hugepages-2Mi": "0"}),
        "capacity",
    );
    let mut allocatable = with_given(
        json!({"cpu": "3800m", "memory": "15241216Ki", "pods": "110", "ephemeral-storage": "94644578Ki", "hugepages-2Mi": "0"}),
        "allocatable",
    );
    // Allocatable defaults to capacity for what only capacity names.
    for (k, v) in capacity.as_object().into_iter().flatten() {
        if allocatable.get(k).is_none() {
            allocatable[k] = v.clone();
        }
    }
    json!({
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": format!("10.0.0.{}", 10 + n)},
            {"type": "Hostname", "address": name(node)}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"architecture": "amd64", "bootID": format!("00000000-0000-4000-8000-{n:012}"),
            "containerRuntimeVersion": "containerd://1.7.24", "kernelVersion": "6.8.0-1015-generic",
            "kubeProxyVersion": "v1.32.0", "kubeletVersion": "v1.32.0",
            "machineID": format!("{n:032x}"), "operatingSystem": "linux",
            "osImage": "Ubuntu 24.04.1 LTS", "systemUUID": format!("00000000-0000-4000-8000-{n:012}")},
    })
}

/// Nodes given without a status get one; a node annotated not-ready goes down.
pub fn nodes(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    for (n, node) in store.list(Kinds::nodes(), None).iter().enumerate() {
        if sim.is_frozen(node) {
            continue;
        }
        let down = node["metadata"]["annotations"][NOT_READY]
            .as_str()
            .and_then(parse_duration)
            .and_then(|d| sim.loaded_at?.checked_sub(d).ok());
        match down {
            Some(down) => node_lifecycle(sim, store, node, n as u32 + 1, down, now),
            None if node["status"]["conditions"].is_array() => {}
            None => {
                let mut v = (**node).clone();
                let since = ts(&node["metadata"]["creationTimestamp"]).unwrap_or(now);
                v["status"] = node_status(node, n as u32 + 1, since);
                sim.write(store, Kinds::nodes(), v);
            }
        }
    }
}
/// The annotation that makes a node's kubelet stop posting status that long before the
/// scenario's start (`sandbox.kai.dev/not-ready: 15m`).
pub const NOT_READY: &str = "sandbox.kai.dev/not-ready";

/// Seconds without a heartbeat before the node controller marks a node unknown.
const NODE_GRACE: f64 = 40.0;
/// `tolerationSeconds` of the default `unreachable:NoExecute` toleration.
const EVICTION_SECS: f64 = 300.0;

/// The node lifecycle controller for a node whose kubelet stops at `down`: the node goes
/// Unknown and is tainted, its pods become not ready and, five minutes later, are evicted
/// (left Terminating, since no kubelet confirms).
fn node_lifecycle(
    sim: &mut Simulator,
    store: &mut Store,
    node: &Value,
    n: u32,
    down: Timestamp,
    now: Timestamp,
) {
    let born = ts(&node["metadata"]["creationTimestamp"]).unwrap_or(now);
    let unknown_at = plus(down, NODE_GRACE);
    let evict_at = plus(unknown_at, EVICTION_SECS);
    let mut v = node.clone();
    let mut status = node_status(node, n, born.min(down));
    if now < unknown_at {
        v["status"] = status;
        if v != *node {
            sim.write(store, Kinds::nodes(), v);
        }
        sim.wake_at(now, unknown_at, "");
        return;
    }
    sim.wake_at(now, evict_at, "");
    for c in status["conditions"].as_array_mut().into_iter().flatten() {
        c["status"] = json!("Unknown");
        c["reason"] = json!("NodeStatusUnknown");
        c["message"] = json!("Kubelet stopped posting node status.");
        c["lastHeartbeatTime"] = time(down);
        c["lastTransitionTime"] = time(unknown_at);
    }
    v["status"] = status;
    let mut taints: Vec<Value> = arr(node, "/spec/taints")
        .iter()
        .filter(|t| t["key"] != "node.kubernetes.io/unreachable")
        .cloned()
        .collect();
    for effect in ["NoSchedule", "NoExecute"] {
        taints.push(json!({"key": "node.kubernetes.io/unreachable", "effect": effect, "timeAdded": time(unknown_at)}));
    }
    v["spec"]["taints"] = json!(taints);
    if v != *node {
        sim.write(store, Kinds::nodes(), v.clone());
        events::record(
            sim,
            store,
            &v,
            Ev::once(
                "NodeNotReady",
                format!("Node {} status is now: NodeNotReady", name(node)),
                false,
                Source::Controller("node-controller"),
                unknown_at,
            ),
        );
    }
    for pod in store.list_trees(Kinds::pods(), None) {
        if s(&pod, "/spec/nodeName") != name(node) || sim.is_frozen(&pod) {
            continue;
        }
        let mut p = (*pod).clone();
        for c in p["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if c["type"] == "Ready" && c["status"] != "False" {
                c["status"] = json!("False");
                c["lastTransitionTime"] = time(unknown_at);
                c.as_object_mut().map(|m| m.remove("reason"));
                c.as_object_mut().map(|m| m.remove("message"));
            }
        }
        let evictable = now >= evict_at && !terminating(&pod);
        if evictable {
            p["metadata"]["deletionTimestamp"] = time(evict_at);
            p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        }
        if p != *pod {
            sim.write(store, Kinds::pods(), p);
            events::record(
                sim,
                store,
                &pod,
                Ev::once(
                    "NodeNotReady",
                    "Node is not ready".into(),
                    true,
                    Source::Controller("node-controller"),
                    unknown_at,
                ),
            );
            if evictable {
                events::record(
                    sim,
                    store,
                    &pod,
                    Ev::once(
                        "TaintManagerEviction",
                        format!(
                            "Marking for deletion Pod {}/{}",
                            namespace(&pod),
                            name(&pod)
                        ),
                        false,
                        Source::Controller("taint-eviction-controller"),
                        evict_at,
                    ),
                );
            }
        }
    }
}
