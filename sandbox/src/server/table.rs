//! `meta.k8s.io/v1` Table answers: the columns `kubectl get` prints, computed as the API
//! server's printers compute them (pod STATUS, READY, RESTARTS, AGE ...).

use serde_json::{Value, json};

use jiff::Timestamp;

use crate::resources::ResourceType;

mod cluster;
mod columns;
mod format;
mod network;
mod pods;
#[cfg(test)]
mod tests;
mod workloads;

use columns::column_definitions;

/// What each Table row carries in `object` (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// From the `includeObject` query parameter.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// One Table row for `obj`.
pub fn row(rt: &ResourceType, obj: &Value, now: Timestamp, include: IncludeObject) -> Value {
    let cells = cells(rt.kind, obj, now);
    let mut r = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Object => r["object"] = obj.clone(),
        IncludeObject::Metadata => {
            r["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
            })
        }
    }
    r
}

/// A whole Table for a list answer.
pub fn table<'a>(
    rt: &ResourceType,
    items: impl Iterator<Item = &'a Value>,
    now: Timestamp,
    include: IncludeObject,
    list_meta: Value,
) -> Value {
    let rows: Vec<Value> = items.map(|o| row(rt, o, now, include)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_definitions(rt),
        "rows": rows,
    })
}

/// Writes a whole Table for a list answer straight into `buf`: each row's metadata is
/// serialized from the stored object, not copied first.
pub fn write_table(
    rt: &ResourceType,
    items: &[std::sync::Arc<Value>],
    now: Timestamp,
    include: IncludeObject,
    list_meta: &Value,
    buf: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    buf.extend_from_slice(br#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":"#);
    serde_json::to_writer(&mut *buf, list_meta)?;
    buf.extend_from_slice(br#","columnDefinitions":"#);
    serde_json::to_writer(&mut *buf, &column_definitions(rt))?;
    buf.extend_from_slice(br#","rows":["#);
    for (n, o) in items.iter().enumerate() {
        if n > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(br#"{"cells":"#);
        serde_json::to_writer(&mut *buf, &cells(rt.kind, o, now))?;
        match include {
            IncludeObject::None => {}
            IncludeObject::Object => {
                buf.extend_from_slice(br#","object":"#);
                serde_json::to_writer(&mut *buf, &**o)?;
            }
            IncludeObject::Metadata => {
                buf.extend_from_slice(
                    br#","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#,
                );
                match o.get("metadata") {
                    Some(m) => serde_json::to_writer(&mut *buf, m)?,
                    None => buf.extend_from_slice(b"{}"),
                }
                buf.push(b'}');
            }
        }
        buf.push(b'}');
    }
    buf.extend_from_slice(b"]}");
    Ok(())
}

/// The cells of one row of `kind`.
fn cells(kind: &str, o: &Value, now: Timestamp) -> Vec<Value> {
    match kind {
        "Pod" => pods::pod_cells(o, now),
        "Deployment" => workloads::deployment_cells(o, now),
        "ReplicaSet" => workloads::replica_set_cells(o, now),
        "StatefulSet" => workloads::stateful_set_cells(o, now),
        "DaemonSet" => workloads::daemon_set_cells(o, now),
        "Service" => network::service_cells(o, now),
        "Node" => cluster::node_cells(o, now),
        "Event" => cluster::event_cells(o, now),
        "Namespace" => cluster::namespace_cells(o, now),
        "Job" => workloads::job_cells(o, now),
        "CronJob" => workloads::cron_job_cells(o, now),
        "PersistentVolumeClaim" => cluster::persistent_volume_claim_cells(o, now),
        "ConfigMap" => cluster::config_map_cells(o, now),
        "Secret" => cluster::secret_cells(o, now),
        "Endpoints" => network::endpoints_cells(o, now),
        "EndpointSlice" => network::endpoint_slice_cells(o, now),
        "ServiceAccount" => cluster::service_account_cells(o, now),
        "Lease" => cluster::lease_cells(o, now),
        "Ingress" => network::ingress_cells(o, now),
        "HorizontalPodAutoscaler" => workloads::horizontal_pod_autoscaler_cells(o, now),
        _ => vec![
            json!(
                o.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
            json!(format::age(o, now)),
        ],
    }
}
