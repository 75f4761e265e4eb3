//! The controllers of kube-controller-manager the sandbox plays: namespaces, nodes,
//! garbage collection, Deployments (with revisions and rolling updates), ReplicaSets,
//! StatefulSets, DaemonSets and Jobs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Simulator;
use super::events::{self, Ev, Source};
use super::util::{
    Kinds, arr, controller_uid, i, name, namespace, owner_ref, plus, s, secs_between, selects,
    template_hash, terminating, time, ts, uid,
};
use crate::resources::{RESOURCES, storage_of};
use crate::store::Store;

const REVISION: &str = "deployment.kubernetes.io/revision";

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
    let capacity = node["status"]["capacity"].clone();
    let capacity = if capacity.is_object() {
        capacity
    } else {
        json!({"cpu": "4", "memory": "16393216Ki", "pods": "110", "ephemeral-storage": "102687672Ki", "hugepages-2Mi": "0"})
    };
    let allocatable = node["status"]["allocatable"].clone();
    let allocatable = if allocatable.is_object() {
        allocatable
    } else {
        json!({"cpu": "3800m", "memory": "15241216Ki", "pods": "110", "ephemeral-storage": "94644578Ki", "hugepages-2Mi": "0"})
    };
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

/// Namespace status and default service accounts; nodes given without a status get one.
pub fn namespaces(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    for ns in store.list(Kinds::namespaces(), None) {
        if sim.is_frozen(&ns) {
            continue;
        }
        if terminating(&ns) {
            sim.delete(store, Kinds::namespaces(), "", name(&ns));
            continue;
        }
        let mut v = (*ns).clone();
        v["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name(&ns));
        if v["spec"]["finalizers"].is_null() {
            v["spec"]["finalizers"] = json!(["kubernetes"]);
        }
        v["status"] = json!({"phase": "Active"});
        if v != *ns {
            sim.write(store, Kinds::namespaces(), v);
        }
        if store
            .get(Kinds::serviceaccounts(), name(&ns), "default")
            .is_none()
        {
            let sa = json!({"metadata": {"name": "default", "namespace": name(&ns),
                "creationTimestamp": ns["metadata"]["creationTimestamp"]}});
            sim.create(store, Kinds::serviceaccounts(), sa);
        }
    }
    for (n, node) in store.list(Kinds::nodes(), None).iter().enumerate() {
        if sim.is_frozen(node) {
            continue;
        }
        let down = node["metadata"]["annotations"][NOT_READY]
            .as_str()
            .and_then(super::util::parse_duration)
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
    for pod in store.list(Kinds::pods(), None) {
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

/// Deletes dependents of deleted owners and everything in deleted namespaces.
pub fn collect_garbage(sim: &mut Simulator, store: &mut Store) {
    let uids = std::mem::take(&mut sim.gone_uids);
    let namespaces = std::mem::take(&mut sim.gone_namespaces);
    if uids.is_empty() && namespaces.is_empty() {
        return;
    }
    // Owners and dependents share a namespace, unless the owner is cluster-scoped.
    let everywhere = uids.values().any(String::is_empty);
    let mut where_: Vec<&str> = uids.values().map(String::as_str).collect();
    where_.extend(namespaces.iter().map(String::as_str));
    where_.sort_unstable();
    where_.dedup();
    let mut seen = HashSet::new();
    for rt in RESOURCES {
        let rt = storage_of(rt);
        if !seen.insert(rt.key) {
            continue;
        }
        let objects: Vec<Arc<Value>> = if everywhere || (!rt.namespaced && !namespaces.is_empty()) {
            store.list(rt, None)
        } else if rt.namespaced {
            where_
                .iter()
                .flat_map(|ns| store.list(rt, Some(ns)))
                .collect()
        } else {
            Vec::new()
        };
        for obj in objects {
            let owned_by_gone = arr(&obj, "/metadata/ownerReferences")
                .iter()
                .any(|r| r["uid"].as_str().is_some_and(|u| uids.contains_key(u)));
            let in_gone_ns = rt.namespaced && namespaces.contains(namespace(&obj));
            if owned_by_gone || in_gone_ns {
                sim.delete(store, rt, namespace(&obj), name(&obj));
            }
        }
    }
}

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

fn active(p: &Value) -> bool {
    !terminating(p) && !matches!(s(p, "/status/phase"), "Succeeded" | "Failed")
}

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
    let sp = super::util::obj_mut(&mut spec);
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
                let m = super::util::obj_mut(c);
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

fn scale_event(
    sim: &mut Simulator,
    store: &mut Store,
    d: &Value,
    rs: &str,
    from: i64,
    to: i64,
    now: Timestamp,
) {
    let dir = if to > from { "up" } else { "down" };
    events::record(
        sim,
        store,
        d,
        Ev::once(
            "ScalingReplicaSet",
            format!("Scaled {dir} replica set {rs} from {from} to {to}"),
            false,
            Source::Controller("deployment-controller"),
            now,
        ),
    );
}

/// Resolves `maxSurge`/`maxUnavailable` (an int or a percentage) against `replicas`.
pub fn resolve(v: &Value, default: &str, replicas: i64, round_up: bool) -> i64 {
    let text = match v {
        Value::Number(n) => return n.as_i64().unwrap_or(0),
        Value::String(t) => t.as_str(),
        _ => default,
    };
    match text.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
        Some(pct) => {
            let x = pct * replicas as f64 / 100.0;
            (if round_up { x.ceil() } else { x.floor() }) as i64
        }
        None => text.parse().unwrap_or(0),
    }
}

/// The deployment controller.
pub fn deployments(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let deployments = sim.scoped(store, Kinds::deployments());
    if deployments.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    for d in deployments {
        if sim.is_frozen(&d) || terminating(&d) {
            continue;
        }
        deployment(sim, store, &d, &pods, now);
    }
}

fn deployment(
    sim: &mut Simulator,
    store: &mut Store,
    d0: &Value,
    pods: &HashMap<String, Vec<Arc<Value>>>,
    now: Timestamp,
) {
    let ns = namespace(d0).to_string();
    let dname = name(d0).to_string();
    let mut d = d0.clone();
    // API server defaults.
    {
        let spec = super::util::obj_mut(&mut d["spec"]);
        spec.entry("replicas").or_insert(json!(1));
        spec.entry("revisionHistoryLimit").or_insert(json!(10));
        spec.entry("progressDeadlineSeconds").or_insert(json!(600));
        let strategy = spec.entry("strategy").or_insert(json!({}));
        if strategy["type"].is_null() {
            strategy["type"] = json!("RollingUpdate");
        }
        if strategy["type"] == "RollingUpdate" && strategy["rollingUpdate"].is_null() {
            strategy["rollingUpdate"] = json!({"maxSurge": "25%", "maxUnavailable": "25%"});
        }
    }
    let replicas = i(&d, "/spec/replicas").unwrap_or(1).max(0);
    let template = d["spec"]["template"].clone();
    let min_ready = i(&d, "/spec/minReadySeconds").unwrap_or(0);
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let paused = d["spec"]["paused"].as_bool() == Some(true);
    let duid = uid(&d).to_string();
    let mut rss: Vec<Value> = store
        .list(Kinds::replicasets(), Some(&ns))
        .iter()
        .filter(|rs| controller_uid(rs) == Some(duid.as_str()))
        .map(|rs| (**rs).clone())
        .collect();
    rss.sort_by_key(revision);
    let hash = template_hash(&template);
    let max_rev = rss.iter().map(revision).max().unwrap_or(0);
    let mut new_idx = rss
        .iter()
        .position(|rs| template_hash(&rs["spec"]["template"]) == hash);
    let count = |rs: &Value| -> (i64, i64, i64) {
        let ps = pods.get(uid(rs)).map_or(&[][..], Vec::as_slice);
        let act: Vec<_> = ps.iter().filter(|p| active(p)).collect();
        (
            act.len() as i64,
            act.iter().filter(|p| ready(p)).count() as i64,
            act.iter().filter(|p| available(p, min_ready, now)).count() as i64,
        )
    };
    if new_idx.is_none() && !paused {
        let rs_name = format!("{dname}-{hash}");
        let mut t = template.clone();
        t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        let mut selector = d["spec"]["selector"].clone();
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let mut annotations = d["metadata"]["annotations"].clone();
        if !annotations.is_object() {
            annotations = json!({});
        }
        if let Some(a) = annotations.as_object_mut() {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
            a.insert(REVISION.into(), json!((max_rev + 1).to_string()));
            // Annotation values are strings in Kubernetes; typed clients reject numbers.
            a.insert(
                "deployment.kubernetes.io/desired-replicas".into(),
                json!(replicas.to_string()),
            );
            a.insert(
                "deployment.kubernetes.io/max-replicas".into(),
                json!(
                    (replicas
                        + resolve(
                            &d["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
                            "25%",
                            replicas,
                            true
                        ))
                    .to_string()
                ),
            );
        }
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": ns, "labels": t["metadata"]["labels"],
                "annotations": annotations, "ownerReferences": [owner_ref(&d)],
                "creationTimestamp": time(now)},
            "spec": {"replicas": 0, "minReadySeconds": min_ready, "selector": selector, "template": t}});
        if let Some(created) = sim.create(store, Kinds::replicasets(), rs) {
            rss.push((*created).clone());
            new_idx = Some(rss.len() - 1);
        }
    }
    let Some(new_idx) = new_idx else {
        write_deployment_status(sim, store, d0, d, &rss, None, &count, now);
        return;
    };
    // A template that matches an old ReplicaSet (a rollback) makes it the newest revision.
    if revision(&rss[new_idx]) < max_rev {
        let old_rev = revision(&rss[new_idx]);
        let rs = &mut rss[new_idx];
        rs["metadata"]["annotations"][REVISION] = json!((max_rev + 1).to_string());
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] =
            json!(old_rev.to_string());
        let rs = rs.clone();
        sim.write(store, Kinds::replicasets(), rs);
        events::record(
            sim,
            store,
            &d,
            Ev::once(
                "DeploymentRollback",
                format!("Rolled back deployment \"{dname}\" to revision {old_rev}"),
                false,
                Source::Controller("deployment-controller"),
                now,
            ),
        );
    }
    let new_rev = revision(&rss[new_idx]);
    d["metadata"]["annotations"][REVISION] = json!(new_rev.to_string());
    if !paused {
        let spec_of = |rs: &Value| i(rs, "/spec/replicas").unwrap_or(0);
        let mut targets: Vec<i64> = rss.iter().map(spec_of).collect();
        let olds: Vec<usize> = (0..rss.len()).filter(|n| *n != new_idx).collect();
        if recreate {
            for &o in &olds {
                targets[o] = 0;
            }
            let old_pods: i64 = olds.iter().map(|&o| count(&rss[o]).0).sum();
            if old_pods == 0 {
                targets[new_idx] = replicas;
            }
        } else {
            let surge = resolve(
                &d["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
                "25%",
                replicas,
                true,
            );
            let mut unav = resolve(
                &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
                "25%",
                replicas,
                false,
            );
            if surge == 0 && unav == 0 {
                unav = 1;
            }
            if olds.iter().all(|&o| targets[o] == 0) || targets[new_idx] > replicas {
                targets[new_idx] = replicas;
            } else {
                let total: i64 = targets.iter().sum();
                let room = replicas + surge - total;
                if room > 0 && targets[new_idx] < replicas {
                    targets[new_idx] = (targets[new_idx] + room).min(replicas);
                }
                let avail_all: i64 = rss.iter().map(|rs| count(rs).2).sum();
                let min_avail = replicas - unav;
                let new_unavail = spec_of(&rss[new_idx]) - count(&rss[new_idx]).2;
                let total: i64 = rss.iter().map(spec_of).sum();
                let mut budget = (total - min_avail - new_unavail).max(0);
                // First the old replicas that are not available anyway, then available ones.
                for &o in &olds {
                    let unhealthy = (targets[o] - count(&rss[o]).2).max(0);
                    let take = unhealthy.min(budget);
                    targets[o] -= take;
                    budget -= take;
                }
                let mut budget = (avail_all - min_avail).max(0);
                for &o in &olds {
                    let take = targets[o].min(budget);
                    targets[o] -= take;
                    budget -= take;
                }
            }
        }
        for (n, rs) in rss.iter_mut().enumerate() {
            let from = spec_of(rs);
            let to = targets[n];
            let mut changed = from != to;
            if n == new_idx {
                let want = json!(replicas.to_string());
                if rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"]
                    != want
                {
                    rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                        want;
                    changed = true;
                }
            }
            if changed {
                rs["spec"]["replicas"] = json!(to);
                sim.write(store, Kinds::replicasets(), rs.clone());
                if from != to {
                    scale_event(sim, store, &d, name(rs), from, to, now);
                }
            }
        }
        // Revision history: drop the oldest empty ReplicaSets beyond the limit.
        let limit = i(&d, "/spec/revisionHistoryLimit").unwrap_or(10).max(0) as usize;
        let empty: Vec<&Value> = rss
            .iter()
            .enumerate()
            .filter(|(n, rs)| *n != new_idx && spec_of(rs) == 0 && count(rs).0 == 0)
            .map(|(_, rs)| rs)
            .collect();
        if empty.len() > limit {
            let doomed: Vec<String> = empty[..empty.len() - limit]
                .iter()
                .map(|rs| name(rs).to_string())
                .collect();
            for n in doomed {
                sim.delete(store, Kinds::replicasets(), &ns, &n);
                rss.retain(|rs| name(rs) != n);
            }
        }
    }
    let new_name = rss
        .iter()
        .find(|rs| revision(rs) == new_rev)
        .map(|rs| name(rs).to_string());
    write_deployment_status(sim, store, d0, d, &rss, new_name, &count, now);
}

fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

#[allow(clippy::too_many_arguments)]
fn write_deployment_status(
    sim: &mut Simulator,
    store: &mut Store,
    d0: &Value,
    mut d: Value,
    rss: &[Value],
    new_rs: Option<String>,
    count: &dyn Fn(&Value) -> (i64, i64, i64),
    now: Timestamp,
) {
    let replicas = i(&d, "/spec/replicas").unwrap_or(1);
    let (mut total, mut ready_n, mut avail, mut updated, mut spec_total) = (0, 0, 0, 0, 0);
    for rs in rss {
        let (t, r, a) = count(rs);
        total += t;
        ready_n += r;
        avail += a;
        spec_total += i(rs, "/spec/replicas").unwrap_or(0);
        if new_rs.as_deref() == Some(name(rs)) {
            updated = t;
        }
    }
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let unav = if recreate || replicas == 0 {
        0
    } else {
        resolve(
            &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
            "25%",
            replicas,
            false,
        )
    };
    let old = &d0["status"];
    let mut status = json!({
        "observedGeneration": d["metadata"]["generation"],
        "replicas": total, "updatedReplicas": updated, "readyReplicas": ready_n,
        "availableReplicas": avail,
    });
    let unavailable = (spec_total.max(replicas) - avail).max(0);
    if unavailable > 0 {
        status["unavailableReplicas"] = json!(unavailable);
    }
    for k in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        if status[k] == 0
            && let Some(m) = status.as_object_mut()
        {
            m.remove(k);
        }
    }
    let cond_of = |ty: &str| {
        arr(old, "/conditions")
            .iter()
            .find(|c| c["type"] == ty)
            .cloned()
    };
    let mk = |ty: &str, st: &str, reason: &str, msg: String, prev: Option<Value>, update: bool| {
        let same_status = prev.as_ref().is_some_and(|p| p["status"] == st);
        let transition = prev
            .as_ref()
            .filter(|_| same_status)
            .map_or(time(now), |p| p["lastTransitionTime"].clone());
        let unchanged = prev
            .as_ref()
            .is_some_and(|p| p["reason"] == reason && same_status);
        let last_update = if update || !unchanged {
            time(now)
        } else {
            prev.as_ref()
                .map_or(time(now), |p| p["lastUpdateTime"].clone())
        };
        json!({"type": ty, "status": st, "reason": reason, "message": msg,
            "lastUpdateTime": last_update, "lastTransitionTime": transition})
    };
    let available_cond = if avail >= replicas - unav {
        mk(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            cond_of("Available"),
            false,
        )
    } else {
        mk(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            cond_of("Available"),
            false,
        )
    };
    let rs_name = new_rs.clone().unwrap_or_default();
    let complete = updated == replicas && avail == replicas && total == replicas;
    let progressed = [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ]
    .iter()
    .any(|k| old[*k] != status[*k])
        || d0["metadata"]["annotations"][REVISION] != d["metadata"]["annotations"][REVISION];
    let prev = cond_of("Progressing");
    let deadline = i(&d, "/spec/progressDeadlineSeconds").unwrap_or(600) as f64;
    let progressing = if complete {
        mk(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            prev,
            false,
        )
    } else if progressed || prev.is_none() || d["spec"]["paused"].as_bool() == Some(true) {
        mk(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
            prev,
            true,
        )
    } else {
        let p = prev.clone().unwrap_or(Value::Null);
        let since = ts(&p["lastUpdateTime"]).unwrap_or(now);
        if p["reason"] == "ProgressDeadlineExceeded" || secs_between(since, now) >= deadline {
            let mut c = mk(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                prev,
                false,
            );
            if p["reason"] == "ProgressDeadlineExceeded" {
                c["lastUpdateTime"] = p["lastUpdateTime"].clone();
            }
            c
        } else {
            sim.wake_at(now, plus(since, deadline), namespace(d0));
            p
        }
    };
    let mut conditions = vec![available_cond, progressing];
    // The deployment controller surfaces its ReplicaSets' failures to create pods.
    if let Some(f) = rss.iter().find_map(|rs| {
        arr(rs, "/status/conditions")
            .iter()
            .find(|c| c["type"] == "ReplicaFailure" && c["status"] == "True")
            .cloned()
    }) {
        conditions.push(
            json!({"type": "ReplicaFailure", "status": "True", "reason": f["reason"],
            "message": f["message"], "lastUpdateTime": f["lastTransitionTime"],
            "lastTransitionTime": f["lastTransitionTime"]}),
        );
    }
    status["conditions"] = json!(conditions);
    d["status"] = status;
    if d != *d0 {
        sim.write(store, Kinds::deployments(), d);
    }
}

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
            let (count, last, next) = super::kubelet::retries(since, now);
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

/// The statefulset controller: ordinal pods, claims from templates, ordered start.
pub fn statefulsets(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let sets = sim.scoped(store, Kinds::statefulsets());
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
            for vct in arr(&sts, "/spec/volumeClaimTemplates") {
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
                            &sts,
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
            let pod = new_pod(&sts, &template, &pod_name, now);
            if sim.create(store, Kinds::pods(), pod).is_some() {
                events::record(
                    sim,
                    store,
                    &sts,
                    Ev::once(
                        "SuccessfulCreate",
                        format!("create Pod {pod_name} in StatefulSet {sname} successful"),
                        false,
                        source(),
                        now,
                    ),
                );
            }
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

/// The daemonset controller: one pod per eligible node.
pub fn daemonsets(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let sets = sim.scoped(store, Kinds::daemonsets());
    if sets.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    let nodes = super::scheduler::node_fits(store);
    for ds in sets {
        if sim.is_frozen(&ds) || terminating(&ds) {
            continue;
        }
        let ns = namespace(&ds).to_string();
        let mut template = ds["spec"]["template"].clone();
        let revision = template_hash(&template);
        template["metadata"]["labels"]["controller-revision-hash"] = json!(revision);
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
        let probe = json!({"spec": template["spec"]});
        let eligible: Vec<&super::scheduler::NodeFit> = nodes
            .iter()
            .filter(|n| {
                super::scheduler::affinity_matches(&probe, n)
                    && n.taints.iter().all(|t| {
                        !matches!(s(t, "/effect"), "NoSchedule" | "NoExecute")
                            || super::scheduler::tolerated(&probe, t)
                    })
            })
            .collect();
        let mine: Vec<Arc<Value>> = pods
            .get(uid(&ds))
            .map(|v| v.iter().filter(|p| active(p)).cloned().collect())
            .unwrap_or_default();
        let node_of = |p: &Value| -> String {
            let n = s(p, "/spec/nodeName");
            if !n.is_empty() {
                return n.to_string();
            }
            arr(p, "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
                .first()
                .and_then(|t| arr(t, "/matchFields").first().cloned())
                .and_then(|f| arr(&f, "/values").first().and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default()
        };
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

/// The job controller: pods until completions succeed or the back-off limit is passed.
pub fn jobs(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let jobs = sim.scoped(store, Kinds::jobs());
    if jobs.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    for job in jobs {
        if sim.is_frozen(&job) || terminating(&job) {
            continue;
        }
        let mut j = (*job).clone();
        let juid = uid(&job).to_string();
        let jname = name(&job).to_string();
        let ns = namespace(&job).to_string();
        // API server defaults: selector and labels tying pods to this job.
        if j["spec"]["selector"].is_null() {
            j["spec"]["selector"] =
                json!({"matchLabels": {"batch.kubernetes.io/controller-uid": juid}});
            let labels = &mut j["spec"]["template"]["metadata"]["labels"];
            labels["batch.kubernetes.io/controller-uid"] = json!(juid);
            labels["batch.kubernetes.io/job-name"] = json!(jname);
            labels["controller-uid"] = json!(juid);
            labels["job-name"] = json!(jname);
        }
        let spec = super::util::obj_mut(&mut j["spec"]);
        spec.entry("parallelism").or_insert(json!(1));
        spec.entry("completions").or_insert(json!(1));
        spec.entry("backoffLimit").or_insert(json!(6));
        if j["spec"]["template"]["spec"]["restartPolicy"].is_null() {
            j["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        }
        let parallelism = i(&j, "/spec/parallelism").unwrap_or(1);
        let completions = i(&j, "/spec/completions").unwrap_or(1);
        let limit = i(&j, "/spec/backoffLimit").unwrap_or(6);
        let all: Vec<Arc<Value>> = pods.get(&juid).cloned().unwrap_or_default();
        let succeeded = all
            .iter()
            .filter(|p| s(p, "/status/phase") == "Succeeded")
            .count() as i64;
        let failed_pods: Vec<&Arc<Value>> = all
            .iter()
            .filter(|p| s(p, "/status/phase") == "Failed")
            .collect();
        let restarts: i64 = all
            .iter()
            .flat_map(|p| arr(p, "/status/containerStatuses").iter())
            .map(|c| c["restartCount"].as_i64().unwrap_or(0))
            .sum();
        let failed = failed_pods.len() as i64 + restarts;
        let running: Vec<&Arc<Value>> = all.iter().filter(|p| active(p)).collect();
        let finished = |ty: &str| {
            arr(&job, "/status/conditions")
                .iter()
                .any(|c| c["type"] == ty && c["status"] == "True")
        };
        let last_finish = |ps: &[&Arc<Value>]| {
            ps.iter()
                .flat_map(|p| arr(p, "/status/containerStatuses").iter())
                .filter_map(|c| ts(&c["state"]["terminated"]["finishedAt"]))
                .max()
        };
        let source = || Source::Controller("job-controller");
        let mut status = j["status"].clone();
        if !status.is_object() {
            status = json!({});
        }
        let start = status["startTime"].clone();
        status["startTime"] = if start.is_string() { start } else { time(now) };
        let done = finished("Complete") || finished("Failed");
        if !done && failed > limit {
            let at = last_finish(&failed_pods).unwrap_or(now);
            let msg = "Job has reached the specified backoff limit";
            status["conditions"] = json!([
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": msg,
                 "lastProbeTime": time(at), "lastTransitionTime": time(at)},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": msg,
                 "lastProbeTime": time(at), "lastTransitionTime": time(at)}]);
            for p in &running {
                sim.delete(store, Kinds::pods(), &ns, name(p));
            }
            events::record(
                sim,
                store,
                &job,
                Ev::once("BackoffLimitExceeded", msg.into(), true, source(), at),
            );
        } else if !done && succeeded >= completions {
            let all_refs: Vec<&Arc<Value>> = all.iter().collect();
            let at = last_finish(&all_refs).unwrap_or(now);
            status["conditions"] = json!([
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": time(at), "lastTransitionTime": time(at)},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": time(at), "lastTransitionTime": time(at)}]);
            status["completionTime"] = time(at);
            events::record(
                sim,
                store,
                &job,
                Ev::once("Completed", "Job completed".into(), false, source(), at),
            );
        } else if !done {
            let want = parallelism.min(completions - succeeded) - running.len() as i64;
            if want > 0 {
                let delay = if failed_pods.is_empty() {
                    0.0
                } else {
                    (10.0 * 2f64.powi(failed_pods.len() as i32 - 1)).min(360.0)
                };
                let ready_at = last_finish(&failed_pods).map_or(now, |t| plus(t, delay));
                if ready_at > now {
                    sim.wake_at(now, ready_at, &ns);
                } else {
                    for _ in 0..want.min(100) {
                        let pod_name = format!("{jname}-{}", store.suffix());
                        let pod = new_pod(&j, &j["spec"]["template"], &pod_name, now);
                        if sim.create(store, Kinds::pods(), pod).is_some() {
                            events::record(
                                sim,
                                store,
                                &job,
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
                }
            }
        }
        let still: Vec<&Arc<Value>> = all.iter().filter(|p| active(p)).collect();
        let now_done = status["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| matches!(c["type"].as_str(), Some("Complete" | "Failed")))
        });
        status["active"] = json!(if now_done { 0 } else { still.len() });
        status["ready"] = json!(still.iter().filter(|p| ready(p)).count());
        status["terminating"] = json!(0);
        status["uncountedTerminatedPods"] = json!({});
        if succeeded > 0 {
            status["succeeded"] = json!(succeeded);
        }
        if failed > 0 {
            status["failed"] = json!(failed);
        }
        if status["active"] == 0
            && let Some(m) = status.as_object_mut()
        {
            m.remove("active");
        }
        j["status"] = status;
        if j != *job {
            sim.write(store, Kinds::jobs(), j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_and_unavailable_round_like_kubernetes() {
        assert_eq!(resolve(&Value::Null, "25%", 2, true), 1);
        assert_eq!(resolve(&Value::Null, "25%", 2, false), 0);
        assert_eq!(resolve(&json!("50%"), "25%", 3, true), 2);
        assert_eq!(resolve(&json!(2), "25%", 10, false), 2);
        assert_eq!(resolve(&json!("1"), "25%", 10, false), 1);
    }
}
