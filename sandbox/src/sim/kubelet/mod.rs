//! The kubelet: mounts, config references, image pulls, container runs with restarts and
//! back-off, probes, pod status and conditions, kubelet events, and container logs.
//!
//! A container's history is a pure function of when it first could start, what its
//! `Behavior` makes it do, and the clock: restart counts and back-off waits follow from the
//! elapsed time, so the same scenario at the same age always looks the same.

mod client;
mod container;
mod context;
mod images;
mod logs;
mod pod;
mod references;
mod timeline;

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value;

use super::Simulator;
use super::behavior::Life;
use super::events::{self, Ev, Source};
use super::kinds::Kinds;
use super::network::Outcome;
use super::object::{arr, name, namespace, s, terminating, uid};
use crate::store::Store;
use timeline::Term;

pub use images::full_image;
pub use logs::logs;
pub use pod::qos_class;
pub use timeline::retries;

/// What the kubelet remembers about a pod between passes.
#[derive(Debug, Clone, Default)]
pub struct PodRuntime {
    scheduled: Option<Timestamp>,
    volumes_ok: Option<Timestamp>,
    mount_blocked: Option<Timestamp>,
    init: Vec<Ctr>,
    containers: Vec<Ctr>,
}

/// What the kubelet remembers about one container.
#[derive(Debug, Clone, Default)]
pub struct Ctr {
    blocked_since: Option<Timestamp>,
    /// Start of the first instance under the current lifecycle.
    start: Option<Timestamp>,
    first_start: Option<Timestamp>,
    life: Option<Life>,
    restarts_before: u32,
    last_before: Option<Term>,
    /// What an instance of the current lifecycle logs, as a previous container.
    life_logs: Vec<String>,
    /// The same for the lifecycle before the last change.
    prev_life_logs: Option<Vec<String>>,
    /// Which Behavior applied from when: logs written while running follow it.
    segments: Vec<(Timestamp, Option<usize>)>,
    /// What its `connects` came to, from when (and under which Behavior): the client's
    /// log lines follow it.
    net: Vec<NetSegment>,
}

/// From a moment on, the outcome of each `connects` entry of a Behavior.
#[derive(Debug, Clone, PartialEq)]
pub struct NetSegment {
    /// Since when.
    pub from: Timestamp,
    /// The Behavior (its index).
    pub behavior: usize,
    /// One outcome per `connects` entry.
    pub outcomes: Vec<Outcome>,
}

/// Most behaviour changes remembered per container.
const MAX_SEGMENTS: usize = 64;

/// Facts about a node the kubelet needs.
pub struct NodeInfo {
    index: usize,
    ip: String,
    ready: bool,
}

/// Runs the kubelet of every Ready node over its pods.
pub fn run(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let nodes: HashMap<String, NodeInfo> = store
        .list(Kinds::nodes(), None)
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let ip = arr(node, "/status/addresses")
                .iter()
                .find(|a| a["type"] == "InternalIP")
                .and_then(|a| a["address"].as_str())
                .unwrap_or("10.0.0.1")
                .to_string();
            (
                name(node).to_string(),
                NodeInfo {
                    index: n + 1,
                    ip,
                    ready: node_ready(node),
                },
            )
        })
        .collect();
    for pod in store.list_trees(Kinds::pods(), None) {
        if sim.is_frozen(&pod) {
            continue;
        }
        let node_name = s(&pod, "/spec/nodeName").to_string();
        if node_name.is_empty() {
            continue;
        }
        let Some(node) = nodes.get(&node_name) else {
            continue;
        };
        if !node.ready {
            // No kubelet runs there: its pods keep their last status, and a deleted one
            // stays Terminating.
            continue;
        }
        if terminating(&pod) {
            // The containers stop at once: the sandbox has no processes to wait for.
            sim.delete(store, Kinds::pods(), namespace(&pod), name(&pod));
            sim.runtime.remove(uid(&pod));
            continue;
        }
        let pod_uid = uid(&pod).to_string();
        let mut rt = sim.runtime.remove(&pod_uid).unwrap_or_default();
        let mut evs = Vec::new();
        let policy = s(&pod, "/spec/restartPolicy");
        let cx = context::PodCtx {
            sim,
            store,
            pod: &pod,
            policy: if policy.is_empty() { "Always" } else { policy },
            kubelet: Source::Kubelet(node_name.clone()),
            now,
            ip: pod::assign_ip(&pod, node),
        };
        let status = pod::pod_status(&cx, node, &mut rt, &mut evs);
        sim.runtime.insert(pod_uid, rt);
        if pod.get("status") != Some(&status) {
            let mut updated = (*pod).clone();
            updated["status"] = status;
            sim.write(store, Kinds::pods(), updated);
        }
        let pod_now = store
            .get(Kinds::pods(), namespace(&pod), name(&pod))
            .unwrap_or(pod);
        for (ev, wake) in evs {
            if let Some(w) = wake {
                sim.wake_at(now, w, namespace(&pod_now));
            }
            if let Some(ev) = ev {
                events::record(sim, store, &pod_now, ev);
            }
        }
    }
}

/// Whether a node's Ready condition is True.
pub fn node_ready(node: &Value) -> bool {
    arr(node, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Events to record and moments to wake at, gathered while a pod's status is computed.
pub type Pending = Vec<(Option<Ev>, Option<Timestamp>)>;

#[cfg(test)]
mod tests;
