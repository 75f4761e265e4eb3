//! The nodes as the scheduler sees them: allocatable and requested resources (extended
//! ones too), labels, taints, the pods bound there; and the node-side filters (tolerations,
//! node selector and required node affinity).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};

use super::kinds::Kinds;
use super::object::{arr, name, s};
use super::quantity::{cpu_millis, mem_bytes, quantity, whole};
use crate::store::Store;

/// A node as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct NodeFit {
    /// Node name.
    pub name: String,
    /// Labels.
    pub labels: Value,
    /// Taints (including the ones the node lifecycle controller adds to NotReady nodes).
    pub taints: Vec<Value>,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// Allocatable CPU (millicores) and memory (bytes) and pods.
    pub cpu: i64,
    /// Allocatable memory in bytes.
    pub mem: i64,
    /// Allocatable pod count.
    pub pods: i64,
    /// CPU, memory and pods already requested by pods bound to the node.
    pub used: (i64, i64, i64),
    /// Allocatable extended resources (`nvidia.com/gpu` ...).
    pub ext: BTreeMap<String, i64>,
    /// Extended resources already requested on the node.
    pub ext_used: BTreeMap<String, i64>,
    /// The pods bound to the node, their namespace and labels (for pod affinity and spreading).
    pub residents: Vec<Arc<Value>>,
}

/// Whether a resource name is an extended resource (not CPU, memory, pods, storage).
pub fn is_extended(res: &str) -> bool {
    !matches!(res, "cpu" | "memory" | "pods" | "ephemeral-storage")
        && !res.starts_with("hugepages-")
}

/// A pod's extended resource requests (limits stand for requests, which must equal them).
pub fn extended_requests(pod: &Value) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for c in arr(pod, "/spec/containers") {
        let r = &c["resources"];
        let mut seen: BTreeMap<String, i64> = BTreeMap::new();
        for field in ["limits", "requests"] {
            for (res, v) in r[field].as_object().into_iter().flatten() {
                if is_extended(res) {
                    seen.insert(res.clone(), whole(quantity(v).unwrap_or(0.0)));
                }
            }
        }
        for (res, n) in seen {
            *out.entry(res).or_default() += n;
        }
    }
    out
}

/// Whether one of the pod's tolerations tolerates `taint`.
pub fn tolerated(pod: &Value, taint: &Value) -> bool {
    arr(pod, "/spec/tolerations").iter().any(|t| {
        let key_ok = match t["key"].as_str() {
            None | Some("") => t["operator"] == "Exists",
            Some(k) => k == s(taint, "/key"),
        };
        let value_ok = t["operator"] == "Exists" || s(t, "/value") == s(taint, "/value");
        let effect_ok = match t["effect"].as_str() {
            None | Some("") => true,
            Some(e) => e == s(taint, "/effect"),
        };
        key_ok && value_ok && effect_ok
    })
}

/// Whether the node satisfies the pod's nodeSelector and required node affinity.
pub fn affinity_matches(pod: &Value, n: &NodeFit) -> bool {
    if let Some(sel) = pod["spec"]["nodeSelector"].as_object()
        && !sel.iter().all(|(k, v)| n.labels.get(k) == Some(v))
    {
        return false;
    }
    let terms = arr(
        pod,
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms",
    );
    if terms.is_empty() {
        return true;
    }
    let fields = json!({"metadata.name": n.name});
    terms.iter().any(|term| {
        arr(term, "/matchExpressions")
            .iter()
            .all(|e| requirement(e, &n.labels))
            && arr(term, "/matchFields")
                .iter()
                .all(|e| requirement(e, &fields))
    })
}

fn requirement(e: &Value, labels: &Value) -> bool {
    let key = s(e, "/key");
    let values: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
    let have = labels.get(key).and_then(Value::as_str);
    match s(e, "/operator") {
        "In" => have.is_some_and(|h| values.contains(&h)),
        "NotIn" => have.is_none_or(|h| !values.contains(&h)),
        "Exists" => have.is_some(),
        "DoesNotExist" => have.is_none(),
        "Gt" | "Lt" => {
            let (Some(h), Some(v)) = (
                have.and_then(|h| h.parse::<i64>().ok()),
                values.first().and_then(|v| v.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if s(e, "/operator") == "Gt" {
                h > v
            } else {
                h < v
            }
        }
        _ => false,
    }
}

/// A pod's CPU (millicores) and memory (bytes) requests: the sum over its containers, or
/// the largest init container if that is more. Requests default to limits.
pub fn requests(pod: &Value) -> (i64, i64) {
    let one = |c: &Value| {
        let r = &c["resources"];
        let get = |k: &str| r["requests"].get(k).or_else(|| r["limits"].get(k));
        (
            get("cpu").map_or(0, cpu_millis),
            get("memory").map_or(0, mem_bytes),
        )
    };
    let (mut cpu, mut mem) = (0, 0);
    for c in arr(pod, "/spec/containers") {
        let (a, b) = one(c);
        cpu += a;
        mem += b;
    }
    for c in arr(pod, "/spec/initContainers") {
        let (a, b) = one(c);
        cpu = cpu.max(a);
        mem = mem.max(b);
    }
    (cpu, mem)
}

/// Builds the scheduler's view of the nodes and their current load.
pub fn node_fits(store: &Store) -> Vec<NodeFit> {
    let mut used: HashMap<String, (i64, i64, i64)> = HashMap::new();
    let mut ext_used: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    let mut residents: HashMap<String, Vec<Arc<Value>>> = HashMap::new();
    for p in store.each(Kinds::pods(), None) {
        let node = s(&p, "/spec/nodeName");
        if node.is_empty() || matches!(s(&p, "/status/phase"), "Succeeded" | "Failed") {
            continue;
        }
        let (c, m) = requests(&p);
        let e = used.entry(node.to_string()).or_default();
        e.0 += c;
        e.1 += m;
        e.2 += 1;
        let ext = extended_requests(&p);
        if !ext.is_empty() {
            let x = ext_used.entry(node.to_string()).or_default();
            for (res, n) in ext {
                *x.entry(res).or_default() += n;
            }
        }
        // Placement looks only at residents' namespaces and labels: keep just those, so a
        // large cluster's pods are not all held decoded at once.
        let resident = json!({"metadata": {"namespace": p["metadata"]["namespace"],
            "labels": p["metadata"]["labels"]}});
        residents
            .entry(node.to_string())
            .or_default()
            .push(Arc::new(resident));
    }
    store
        .list(Kinds::nodes(), None)
        .iter()
        .map(|n| {
            let alloc = &n["status"]["allocatable"];
            let mut taints: Vec<Value> = arr(n, "/spec/taints").to_vec();
            if !super::kubelet::node_ready(n)
                && !taints
                    .iter()
                    .any(|t| s(t, "/key").starts_with("node.kubernetes.io/"))
            {
                taints.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}));
            }
            NodeFit {
                name: name(n).to_string(),
                labels: n["metadata"]["labels"].clone(),
                taints,
                unschedulable: n["spec"]["unschedulable"].as_bool() == Some(true),
                cpu: alloc.get("cpu").map_or(i64::MAX / 4, cpu_millis),
                mem: alloc.get("memory").map_or(i64::MAX / 4, mem_bytes),
                pods: alloc
                    .get("pods")
                    .map_or(110, |p| whole(quantity(p).unwrap_or(110.0))),
                used: used.get(name(n)).copied().unwrap_or_default(),
                ext: alloc
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| is_extended(k))
                    .map(|(k, v)| {
                        let n = whole(quantity(v).unwrap_or(0.0));
                        (k.clone(), n)
                    })
                    .collect(),
                ext_used: ext_used.remove(name(n)).unwrap_or_default(),
                residents: residents.remove(name(n)).unwrap_or_default(),
            }
        })
        .collect()
}
