//! Node, Namespace, Event, PersistentVolumeClaim, ConfigMap, Secret, ServiceAccount and Lease rows.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::format::*;
use crate::sim::object::{arr, i, s};

/// The `kubectl get` cells computed by `node`.
pub(super) fn node_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let mut status: Vec<String> = Vec::new();
    for c in arr(o, "/status/conditions") {
        if s(c, "/type") == "Ready" {
            status.push(
                match s(c, "/status") {
                    "True" => "Ready",
                    "False" => "NotReady",
                    _ => "Unknown",
                }
                .into(),
            );
        }
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".into());
    }
    let mut roles: Vec<String> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| {
                    if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                        (!r.is_empty()).then(|| r.to_string())
                    } else if k == "kubernetes.io/role" {
                        v.as_str().map(str::to_string)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    let addr = |ty: &str| {
        arr(o, "/status/addresses")
            .iter()
            .find(|a| s(a, "/type") == ty)
            .map(|a| s(a, "/address").to_string())
            .unwrap_or_default()
    };
    vec![
        json!(s(o, "/metadata/name")),
        json!(status.join(",")),
        json!(or_none(roles.join(","))),
        json!(age(o, now)),
        json!(s(o, "/status/nodeInfo/kubeletVersion")),
        json!(or_none(addr("InternalIP"))),
        json!(or_none(addr("ExternalIP"))),
        json!(s(o, "/status/nodeInfo/osImage")),
        json!(s(o, "/status/nodeInfo/kernelVersion")),
        json!(s(o, "/status/nodeInfo/containerRuntimeVersion")),
    ]
}

/// The `kubectl get` cells computed by `event`.
pub(super) fn event_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let first = [
        s(o, "/firstTimestamp"),
        s(o, "/eventTime"),
        s(o, "/metadata/creationTimestamp"),
    ]
    .into_iter()
    .find(|t| !t.is_empty())
    .unwrap_or("");
    let last = [
        s(o, "/series/lastObservedTime"),
        s(o, "/lastTimestamp"),
        first,
    ]
    .into_iter()
    .find(|t| !t.is_empty())
    .unwrap_or("");
    let count = o
        .pointer("/series/count")
        .and_then(Value::as_i64)
        .unwrap_or_else(|| i(o, "/count").unwrap_or(0));
    let last_seen = if count > 1 {
        format!("{} (x{count} over {})", since(last, now), since(first, now))
    } else {
        since(last, now)
    };
    let source = {
        let comp = match s(o, "/source/component") {
            "" => s(o, "/reportingComponent"),
            c => c,
        };
        let host = s(o, "/source/host");
        if host.is_empty() {
            comp.to_string()
        } else {
            format!("{comp}, {host}")
        }
    };
    vec![
        json!(last_seen),
        json!(s(o, "/type")),
        json!(s(o, "/reason")),
        json!(format!(
            "{}/{}",
            s(o, "/involvedObject/kind").to_lowercase(),
            s(o, "/involvedObject/name")
        )),
        json!(s(o, "/involvedObject/fieldPath")),
        json!(source),
        json!(s(o, "/message").trim()),
        json!(since(first, now)),
        json!(count.max(1).to_string()),
        json!(s(o, "/metadata/name")),
    ]
}

/// The `kubectl get` cells of a Namespace.
pub(super) fn namespace_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    vec![
        name,
        json!(match s(o, "/status/phase") {
            "" => "Active",
            p => p,
        }),
        json!(age(o, now)),
    ]
}

/// The `kubectl get` cells of a PersistentVolumeClaim.
pub(super) fn persistent_volume_claim_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let modes: Vec<String> = arr(o, "/status/accessModes")
        .iter()
        .filter_map(Value::as_str)
        .map(|m| {
            match m {
                "ReadWriteOnce" => "RWO",
                "ReadOnlyMany" => "ROX",
                "ReadWriteMany" => "RWX",
                "ReadWriteOncePod" => "RWOP",
                other => other,
            }
            .to_string()
        })
        .collect();
    vec![
        name,
        json!(s(o, "/status/phase")),
        json!(s(o, "/spec/volumeName")),
        json!(s(o, "/status/capacity/storage")),
        json!(modes.join(",")),
        json!(s(o, "/spec/storageClassName")),
        json!(or_none(s(o, "/spec/volumeAttributesClassName").to_string())),
        json!(age(o, now)),
        json!(match s(o, "/spec/volumeMode") {
            "" => "Filesystem",
            m => m,
        }),
    ]
}

/// The `kubectl get` cells of a ConfigMap.
pub(super) fn config_map_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let n = o
        .get("data")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
        + o.get("binaryData")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
    vec![name, json!(n), json!(age(o, now))]
}

/// The `kubectl get` cells of a Secret.
pub(super) fn secret_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let n = o
        .get("data")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
        + o.get("stringData")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
    let ty = match s(o, "/type") {
        "" => "Opaque",
        t => t,
    };
    vec![name, json!(ty), json!(n), json!(age(o, now))]
}

/// The `kubectl get serviceaccounts` cells.
pub(super) fn service_account_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(s(o, "/metadata/name")),
        json!(arr(o, "/secrets").len()),
        json!(age(o, now)),
    ]
}

/// The `kubectl get` cells of a Lease: name, holder, age.
pub(super) fn lease_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        json!(s(o, "/metadata/name")),
        json!(s(o, "/spec/holderIdentity")),
        json!(age(o, now)),
    ]
}
