//! Resource use as metrics-server reports it (`metrics.k8s.io/v1beta1` PodMetrics and
//! NodeMetrics): each running container uses what its `Behavior` declares (`cpuMillis`,
//! `memoryMiB`), or a small steady amount of its own.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Simulator;
use super::behavior;
use super::kinds::Kinds;
use super::naming::hex_suffix;
use super::object::{arr, name, namespace, s, uid};
use super::timestamps::{plus, time};
use crate::store::Store;

/// The sampling window metrics-server reports.
const WINDOW_SECS: f64 = 15.0;
/// What a node's system daemons use beside its pods: millicores and bytes.
const SYSTEM_USE: (i64, i64) = (120, 700 << 20);

/// CPU (millicores) and memory (bytes) a running container uses; `None` when it is not
/// running (metrics-server has no sample then).
pub fn container_use(sim: &Simulator, store: &Store, pod: &Value, c: &Value) -> Option<(i64, i64)> {
    let cname = s(c, "/name");
    let running = arr(pod, "/status/containerStatuses")
        .iter()
        .any(|st| st["name"] == cname && st["state"]["running"].is_object());
    if !running {
        return None;
    }
    let b = behavior::find(sim, store, pod, c, false);
    let seed =
        u64::from_str_radix(&hex_suffix(&format!("{}/{cname}", uid(pod)))[..8], 16).unwrap_or(0);
    let cpu = b
        .and_then(|b| b.cpu_millis)
        .map_or(1 + (seed % 4) as i64, |m| m as i64);
    let mem = b
        .and_then(|b| b.memory_mib)
        .map_or((12 + (seed % 20) as i64) << 20, |m| (m as i64) << 20);
    Some((cpu, mem))
}

/// A pod's PodMetrics, if it is running.
pub fn pod_metrics(sim: &Simulator, store: &Store, pod: &Value, now: Timestamp) -> Option<Value> {
    if s(pod, "/status/phase") != "Running" {
        return None;
    }
    let containers: Vec<Value> = arr(pod, "/spec/containers")
        .iter()
        .filter_map(|c| {
            let (cpu, mem) = container_use(sim, store, pod, c)?;
            Some(json!({"name": s(c, "/name"), "usage": usage_json(cpu, mem)}))
        })
        .collect();
    if containers.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name(pod), "namespace": namespace(pod),
            "labels": pod["metadata"]["labels"], "creationTimestamp": time(now)},
        "timestamp": time(plus(now, -WINDOW_SECS)),
        "window": "15s",
        "containers": containers,
    }))
}

/// What each node's running pods use, by node name: millicores and bytes.
pub fn node_usage(sim: &Simulator, store: &Store) -> HashMap<String, (i64, i64)> {
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for p in store.each(Kinds::pods(), None) {
        let node = s(&p, "/spec/nodeName");
        if node.is_empty() {
            continue;
        }
        for c in arr(&p, "/spec/containers") {
            if let Some((cpu, mem)) = container_use(sim, store, &p, c) {
                let e = out.entry(node.to_string()).or_default();
                e.0 += cpu;
                e.1 += mem;
            }
        }
    }
    out
}

/// A node's NodeMetrics: its pods' use (from [`node_usage`]) plus the system's.
pub fn node_metrics(node: &Value, pods_use: Option<&(i64, i64)>, now: Timestamp) -> Value {
    let (pods_cpu, pods_mem) = pods_use.copied().unwrap_or_default();
    let (cpu, mem) = (SYSTEM_USE.0 + pods_cpu, SYSTEM_USE.1 + pods_mem);
    json!({
        "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name(node), "labels": node["metadata"]["labels"],
            "creationTimestamp": time(now)},
        "timestamp": time(plus(now, -WINDOW_SECS)),
        "window": "15s",
        "usage": usage_json(cpu, mem),
    })
}

/// Usage as metrics-server writes it: CPU in nanocores, memory in KiB.
fn usage_json(cpu_millis: i64, mem_bytes: i64) -> Value {
    json!({"cpu": format!("{}n", cpu_millis * 1_000_000), "memory": format!("{}Ki", mem_bytes / 1024)})
}
