//! The endpoints and endpointslice controllers, and the API server's Service defaults
//! (cluster IP, ports' protocol and target port).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Simulator;
use super::kinds::Kinds;
use super::labels::map_selects;
use super::object::{arr, name, namespace, owner_ref, s, terminating, uid};
use super::timestamps::time;
use crate::store::Store;

/// The parts of a pod that its Endpoints and EndpointSlice entries are made of.
const POD_FIELDS: &[&str] = &[
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/uid",
    "/metadata/labels",
    "/metadata/deletionTimestamp",
    "/spec/nodeName",
    "/spec/containers/ports",
    "/status/podIP",
    "/status/phase",
    "/status/conditions",
];

/// Keeps every selector Service's Endpoints and EndpointSlice in line with its pods.
pub fn endpoints(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let mut by_ns: BTreeMap<String, Vec<Arc<Value>>> = BTreeMap::new();
    for svc in sim.scoped_trees(store, Kinds::services()) {
        if !sim.is_frozen(&svc) {
            by_ns
                .entry(namespace(&svc).to_string())
                .or_default()
                .push(svc);
        }
    }
    // One namespace at a time, and of frozen (encoded) pods only what endpoints are made of:
    // a large cluster's pods are never all decoded at once.
    for (ns, services) in by_ns {
        // Endpoints are made of the namespace's own objects: none changed, none to change.
        if sim.endpoints_done.get(&ns) == Some(&store.namespace_version(&ns)) {
            continue;
        }
        let pods = store.list_projected(Kinds::pods(), Some(&ns), POD_FIELDS);
        for svc in services {
            let svc = defaults(sim, store, &svc);
            let selector = &svc["spec"]["selector"];
            if selector.as_object().is_none_or(|m| m.is_empty()) {
                continue;
            }
            let pods: Vec<&Arc<Value>> = pods
                .iter()
                .filter(|p| map_selects(selector, &p["metadata"]["labels"]))
                .filter(|p| {
                    !s(p, "/status/podIP").is_empty()
                        && !terminating(p)
                        && !matches!(s(p, "/status/phase"), "Succeeded" | "Failed")
                })
                .collect();
            write_endpoints(sim, store, &svc, &pods, now);
            write_slice(sim, store, &svc, &pods);
        }
        let done = store.namespace_version(&ns);
        sim.endpoints_done.insert(ns, done);
    }
}

/// Fills what the API server fills on create: cluster IP, protocols, target ports (the empty
/// load-balancer status is a store default, `defaults.rs`).
fn defaults(sim: &mut Simulator, store: &mut Store, svc: &Arc<Value>) -> Arc<Value> {
    let mut v = (**svc).clone();
    let spec = &mut v["spec"];
    let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    spec["type"] = json!(ty);
    if spec["clusterIP"].as_str().is_none() && ty != "ExternalName" {
        sim.service_ips += 1;
        let n = sim.service_ips + 9;
        let ip = format!("10.96.{}.{}", n / 250, n % 250 + 1);
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
    }
    if spec["sessionAffinity"].is_null() {
        spec["sessionAffinity"] = json!("None");
    }
    if spec["ipFamilies"].is_null() && ty != "ExternalName" {
        spec["ipFamilies"] = json!(["IPv4"]);
        spec["ipFamilyPolicy"] = json!("SingleStack");
        spec["internalTrafficPolicy"] = json!("Cluster");
    }
    if let Some(ports) = spec["ports"].as_array_mut() {
        for p in ports {
            if p["protocol"].is_null() {
                p["protocol"] = json!("TCP");
            }
            if p["targetPort"].is_null() {
                p["targetPort"] = p["port"].clone();
            }
        }
    }
    if v == **svc {
        return svc.clone();
    }
    sim.write(store, Kinds::services(), v);
    store
        .get(Kinds::services(), namespace(svc), name(svc))
        .unwrap_or_else(|| svc.clone())
}

/// The pod port a service port targets: a number, or a named container port.
fn target_port(port: &Value, pod: &Value) -> Option<i64> {
    match &port["targetPort"] {
        Value::Number(n) => n.as_i64(),
        Value::String(named) => {
            if let Ok(n) = named.parse() {
                return Some(n);
            }
            arr(pod, "/spec/containers").iter().find_map(|c| {
                arr(c, "/ports")
                    .iter()
                    .find(|p| p["name"].as_str() == Some(named))
                    .and_then(|p| p["containerPort"].as_i64())
            })
        }
        _ => port["port"].as_i64(),
    }
}

fn pod_ready(p: &Value) -> bool {
    arr(p, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn address(p: &Value) -> Value {
    let mut a = json!({"ip": s(p, "/status/podIP"),
        "targetRef": {"kind": "Pod", "namespace": namespace(p), "name": name(p), "uid": uid(p)}});
    if !s(p, "/spec/nodeName").is_empty() {
        a["nodeName"] = json!(s(p, "/spec/nodeName"));
    }
    a
}

fn write_endpoints(
    sim: &mut Simulator,
    store: &mut Store,
    svc: &Value,
    pods: &[&Arc<Value>],
    now: Timestamp,
) {
    let ns = namespace(svc);
    let existing = store.get(Kinds::endpoints(), ns, name(svc));
    if existing.as_ref().is_some_and(|e| sim.is_frozen(e)) {
        return;
    }
    let svc_ports = arr(svc, "/spec/ports");
    // Pods grouped by the ports they resolve to, as the endpoints controller does.
    let mut subsets: Vec<(Vec<Value>, Vec<Value>, Vec<Value>)> = Vec::new();
    for p in pods {
        let ports: Vec<Value> = svc_ports
            .iter()
            .filter_map(|sp| {
                target_port(sp, p).map(|tp| {
                    let mut port =
                        json!({"port": tp, "protocol": sp["protocol"].as_str().unwrap_or("TCP")});
                    if let Some(n) = sp["name"].as_str() {
                        port["name"] = json!(n);
                    }
                    port
                })
            })
            .collect();
        let idx = match subsets.iter().position(|(pp, _, _)| *pp == ports) {
            Some(i) => i,
            None => {
                subsets.push((ports, Vec::new(), Vec::new()));
                subsets.len() - 1
            }
        };
        if pod_ready(p) {
            subsets[idx].1.push(address(p));
        } else {
            subsets[idx].2.push(address(p));
        }
    }
    // Vecs are moved into place, not copied through `json!` (which serializes them).
    let subsets: Vec<Value> = subsets
        .into_iter()
        .map(|(ports, ready, not_ready)| {
            let mut ss = json!({"ports": Value::Array(ports)});
            if !ready.is_empty() {
                ss["addresses"] = Value::Array(ready);
            }
            if !not_ready.is_empty() {
                ss["notReadyAddresses"] = Value::Array(not_ready);
            }
            ss
        })
        .collect();
    let mut labels = svc["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["endpoints.kubernetes.io/managed-by"] = json!("endpoint-controller");
    match existing {
        Some(old) => {
            let same = old
                .get("subsets")
                .map_or(subsets.is_empty(), |s| s.as_array() == Some(&subsets));
            if !same {
                let mut e = (*old).clone();
                if subsets.is_empty() {
                    if let Some(m) = e.as_object_mut() {
                        m.remove("subsets");
                    }
                } else {
                    e["subsets"] = Value::Array(subsets);
                }
                e["metadata"]["annotations"] =
                    json!({"endpoints.kubernetes.io/last-change-trigger-time": time(now)});
                sim.write(store, Kinds::endpoints(), e);
            }
        }
        None => {
            let mut e = json!({"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name(svc), "namespace": ns, "labels": labels,
                    "creationTimestamp": time(now),
                    "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": time(now)}}});
            if !subsets.is_empty() {
                e["subsets"] = Value::Array(subsets);
            }
            sim.create(store, Kinds::endpoints(), e);
        }
    }
}

fn write_slice(sim: &mut Simulator, store: &mut Store, svc: &Value, pods: &[&Arc<Value>]) {
    let ns = namespace(svc);
    let existing = store
        .list(Kinds::slices(), Some(ns))
        .into_iter()
        .find(|e| e["metadata"]["labels"]["kubernetes.io/service-name"] == name(svc));
    if existing.as_ref().is_some_and(|e| sim.is_frozen(e)) {
        return;
    }
    let ports: Vec<Value> = arr(svc, "/spec/ports")
        .iter()
        .filter_map(|sp| {
            let tp = pods
                .first()
                .and_then(|p| target_port(sp, p))
                .or_else(|| sp["targetPort"].as_i64().or_else(|| sp["port"].as_i64()))?;
            let mut port =
                json!({"port": tp, "protocol": sp["protocol"].as_str().unwrap_or("TCP")});
            port["name"] = json!(sp["name"].as_str().unwrap_or(""));
            Some(port)
        })
        .collect();
    let endpoints: Vec<Value> = pods
        .iter()
        .map(|p| {
            let ready = pod_ready(p);
            let mut e = json!({"addresses": [s(p, "/status/podIP")],
                "conditions": {"ready": ready, "serving": ready, "terminating": false},
                "targetRef": {"kind": "Pod", "namespace": ns, "name": name(p), "uid": uid(p)}});
            if !s(p, "/spec/nodeName").is_empty() {
                e["nodeName"] = json!(s(p, "/spec/nodeName"));
            }
            e
        })
        .collect();
    match existing {
        Some(old) => {
            if old["endpoints"].as_array() != Some(&endpoints)
                || old["ports"].as_array() != Some(&ports)
            {
                let mut e = (*old).clone();
                e["endpoints"] = Value::Array(endpoints);
                e["ports"] = Value::Array(ports);
                sim.write(store, Kinds::slices(), e);
            }
        }
        None => {
            let e = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"generateName": format!("{}-", name(svc)), "namespace": ns,
                    "labels": {"kubernetes.io/service-name": name(svc),
                        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                    "ownerReferences": [owner_ref(svc)]},
                "addressType": "IPv4", "endpoints": Value::Array(endpoints),
                "ports": Value::Array(ports)});
            sim.create(store, Kinds::slices(), e);
        }
    }
}
