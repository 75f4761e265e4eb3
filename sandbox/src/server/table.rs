//! `meta.k8s.io/v1` Table answers: the columns `kubectl get` prints, computed as the API
//! server's printers compute them (pod STATUS, READY, RESTARTS, AGE ...).

use serde_json::{Value, json};

use jiff::Timestamp;

use crate::resources::ResourceType;

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

type Col = (&'static str, &'static str, u8);

fn columns(kind: &str) -> &'static [Col] {
    match kind {
        "Pod" => &[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        "Deployment" => &[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "ReplicaSet" => &[
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "StatefulSet" => &[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        "DaemonSet" => &[
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "Service" => &[
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        "Node" => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        "Event" => &[
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ],
        "Namespace" => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Age", "string", 0),
        ],
        "Job" => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "CronJob" => &[
            ("Name", "string", 0),
            ("Schedule", "string", 0),
            ("Timezone", "string", 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "PersistentVolumeClaim" => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Age", "string", 0),
            ("VolumeMode", "string", 1),
        ],
        "ConfigMap" => &[
            ("Name", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        "Secret" => &[
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        "Endpoints" => &[
            ("Name", "string", 0),
            ("Endpoints", "string", 0),
            ("Age", "string", 0),
        ],
        "EndpointSlice" => &[
            ("Name", "string", 0),
            ("AddressType", "string", 0),
            ("Ports", "string", 0),
            ("Endpoints", "string", 0),
            ("Age", "string", 0),
        ],
        "ServiceAccount" => &[
            ("Name", "string", 0),
            ("Secrets", "integer", 0),
            ("Age", "string", 0),
        ],
        "Ingress" => &[
            ("Name", "string", 0),
            ("Class", "string", 0),
            ("Hosts", "string", 0),
            ("Address", "string", 0),
            ("Ports", "string", 0),
            ("Age", "string", 0),
        ],
        "HorizontalPodAutoscaler" => &[
            ("Name", "string", 0),
            ("Reference", "string", 0),
            ("Targets", "string", 0),
            ("MinPods", "string", 0),
            ("MaxPods", "integer", 0),
            ("Replicas", "integer", 0),
            ("Age", "string", 0),
        ],
        _ => &[("Name", "string", 0), ("Age", "string", 0)],
    }
}

/// The column definitions of a Table of `rt`.
pub fn column_definitions(rt: &ResourceType) -> Value {
    Value::Array(
        columns(rt.kind)
            .iter()
            .map(|(name, ty, prio)| {
                let format = if *name == "Name" { "name" } else { "" };
                json!({"name": name, "type": ty, "format": format, "description": description(name), "priority": prio})
            })
            .collect(),
    )
}

fn description(col: &str) -> &'static str {
    match col {
        "Name" => {
            "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
        }
        "Age" => {
            "CreationTimestamp is a timestamp representing the server time when this object was created."
        }
        _ => "",
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

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn or_none(x: String) -> String {
    if x.is_empty() { "<none>".into() } else { x }
}

fn age(obj: &Value, now: Timestamp) -> String {
    since(s(obj, "/metadata/creationTimestamp"), now)
}

/// `translateTimestampSince`: the human duration from an RFC 3339 time to now.
fn since(ts: &str, now: Timestamp) -> String {
    match ts.parse::<Timestamp>() {
        Ok(t) => human_duration(now.as_second() - t.as_second()),
        Err(_) => "<unknown>".into(),
    }
}

/// `duration.HumanDuration` of apimachinery, from seconds.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn containers_images(obj: &Value, ptr: &str) -> (String, String) {
    let cs = arr(obj, ptr);
    let names: Vec<&str> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return "<none>".into();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            parts.push(format!("{k}={}", v.as_str().unwrap_or("")));
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let key = s(e, "/key");
        let values: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        parts.push(match s(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            op => format!("{key} {op} ({})", values.join(",")),
        });
    }
    or_none(parts.join(","))
}

fn map_selector(m: Option<&Value>) -> String {
    let parts: Vec<String> = m
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    or_none(parts.join(","))
}

fn cells(kind: &str, o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    match kind {
        "Pod" => pod_cells(o, now),
        "Deployment" => {
            let (c, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    o.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )),
                json!(i(o, "/status/updatedReplicas")),
                json!(i(o, "/status/availableReplicas")),
                json!(age(o, now)),
                json!(c),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        "ReplicaSet" => {
            let (c, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                name,
                json!(
                    o.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                ),
                json!(i(o, "/status/replicas")),
                json!(i(o, "/status/readyReplicas")),
                json!(age(o, now)),
                json!(c),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        "StatefulSet" => {
            let (c, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    o.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )),
                json!(age(o, now)),
                json!(c),
                json!(im),
            ]
        }
        "DaemonSet" => {
            let (c, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                name,
                json!(i(o, "/status/desiredNumberScheduled")),
                json!(i(o, "/status/currentNumberScheduled")),
                json!(i(o, "/status/numberReady")),
                json!(i(o, "/status/updatedNumberScheduled")),
                json!(i(o, "/status/numberAvailable")),
                json!(map_selector(o.pointer("/spec/template/spec/nodeSelector"))),
                json!(age(o, now)),
                json!(c),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        "Service" => service_cells(o, now),
        "Node" => node_cells(o, now),
        "Event" => event_cells(o, now),
        "Namespace" => vec![
            name,
            json!(match s(o, "/status/phase") {
                "" => "Active",
                p => p,
            }),
            json!(age(o, now)),
        ],
        "Job" => job_cells(o, now),
        "CronJob" => {
            let (c, im) = containers_images(o, "/spec/jobTemplate/spec/template/spec/containers");
            let last = s(o, "/status/lastScheduleTime");
            vec![
                name,
                json!(s(o, "/spec/schedule")),
                json!(or_none(s(o, "/spec/timeZone").to_string())),
                json!(
                    o.pointer("/spec/suspend")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
                json!(arr(o, "/status/active").len()),
                json!(if last.is_empty() {
                    "<none>".to_string()
                } else {
                    since(last, now)
                }),
                json!(age(o, now)),
                json!(c),
                json!(im),
                json!(selector_string(
                    o.pointer("/spec/jobTemplate/spec/selector")
                )),
            ]
        }
        "PersistentVolumeClaim" => {
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
        "ConfigMap" => {
            let n = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            vec![name, json!(n), json!(age(o, now))]
        }
        "Secret" => {
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
        "Endpoints" => {
            let mut eps = Vec::new();
            for subset in arr(o, "/subsets") {
                for a in arr(subset, "/addresses") {
                    let ports = arr(subset, "/ports");
                    if ports.is_empty() {
                        eps.push(s(a, "/ip").to_string());
                    }
                    for p in ports {
                        eps.push(format!("{}:{}", s(a, "/ip"), i(p, "/port")));
                    }
                }
            }
            let shown = if eps.len() > 3 {
                format!("{} + {} more...", eps[..3].join(","), eps.len() - 3)
            } else {
                or_none(eps.join(","))
            };
            vec![name, json!(shown), json!(age(o, now))]
        }
        "EndpointSlice" => {
            let ports: Vec<String> = arr(o, "/ports")
                .iter()
                .map(|p| match p.get("port").and_then(Value::as_i64) {
                    Some(n) => n.to_string(),
                    None => "<unset>".into(),
                })
                .collect();
            let addrs: Vec<String> = arr(o, "/endpoints")
                .iter()
                .flat_map(|e| arr(e, "/addresses").iter())
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            let brief = |v: Vec<String>| {
                if v.len() > 3 {
                    format!("{} + {} more...", v[..3].join(","), v.len() - 3)
                } else if v.is_empty() {
                    "<unset>".into()
                } else {
                    v.join(",")
                }
            };
            vec![
                name,
                json!(s(o, "/addressType")),
                json!(brief(ports)),
                json!(brief(addrs)),
                json!(age(o, now)),
            ]
        }
        "ServiceAccount" => vec![name, json!(arr(o, "/secrets").len()), json!(age(o, now))],
        "Ingress" => {
            let hosts: Vec<&str> = arr(o, "/spec/rules")
                .iter()
                .map(|r| match s(r, "/host") {
                    "" => "*",
                    h => h,
                })
                .collect();
            let addrs: Vec<&str> = arr(o, "/status/loadBalancer/ingress")
                .iter()
                .map(|x| match s(x, "/ip") {
                    "" => s(x, "/hostname"),
                    ip => ip,
                })
                .collect();
            let ports = if arr(o, "/spec/tls").is_empty() {
                "80"
            } else {
                "80, 443"
            };
            vec![
                name,
                json!(or_none(s(o, "/spec/ingressClassName").to_string())),
                json!(if hosts.is_empty() {
                    "*".to_string()
                } else {
                    hosts.join(",")
                }),
                json!(addrs.join(",")),
                json!(ports),
                json!(age(o, now)),
            ]
        }
        "HorizontalPodAutoscaler" => {
            let min = o
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .map_or("<unset>".to_string(), |m| m.to_string());
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    s(o, "/spec/scaleTargetRef/kind"),
                    s(o, "/spec/scaleTargetRef/name")
                )),
                json!(hpa_targets(o)),
                json!(min),
                json!(i(o, "/spec/maxReplicas")),
                json!(i(o, "/status/currentReplicas")),
                json!(age(o, now)),
            ]
        }
        _ => vec![name, json!(age(o, now))],
    }
}

fn hpa_targets(o: &Value) -> String {
    let current = arr(o, "/status/currentMetrics");
    let parts: Vec<String> = arr(o, "/spec/metrics")
        .iter()
        .enumerate()
        .filter(|(_, m)| s(m, "/type") == "Resource")
        .map(|(idx, m)| {
            let res = s(m, "/resource/name");
            let target = m
                .pointer("/resource/target/averageUtilization")
                .and_then(Value::as_i64)
                .map_or("<unknown>".to_string(), |t| format!("{t}%"));
            let cur = current
                .get(idx)
                .and_then(|c| c.pointer("/resource/current/averageUtilization"))
                .and_then(Value::as_i64)
                .map_or("<unknown>".to_string(), |c| format!("{c}%"));
            format!("{res}: {cur}/{target}")
        })
        .collect();
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(", ")
    }
}

/// The pod STATUS column, as `kubectl get pods` computes it.
pub fn pod_status(o: &Value) -> (String, usize, usize, i64, Option<String>) {
    let phase = s(o, "/status/phase");
    let mut reason = match s(o, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    for c in arr(o, "/status/conditions") {
        if s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }
    let init_specs = arr(o, "/spec/initContainers");
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
    };
    let mut total = arr(o, "/spec/containers").len()
        + init_specs
            .iter()
            .filter(|c| s(c, "/restartPolicy") == "Always")
            .count();
    if total == 0 {
        total = arr(o, "/status/containerStatuses").len();
    }
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut restartable_restarts = 0i64;
    let mut last_restart = String::new();
    let mut last_restartable = String::new();
    let later = |cur: &mut String, t: &str| {
        if t > cur.as_str() {
            *cur = t.to_string();
        }
    };
    let mut initializing = false;
    for (idx, c) in arr(o, "/status/initContainerStatuses").iter().enumerate() {
        restarts += i(c, "/restartCount");
        let fin = s(c, "/lastState/terminated/finishedAt");
        later(&mut last_restart, fin);
        let name = s(c, "/name");
        if restartable(name) {
            restartable_restarts += i(c, "/restartCount");
            later(&mut last_restartable, fin);
        }
        let term = c.pointer("/state/terminated");
        let waiting_reason = s(c, "/state/waiting/reason");
        if term.is_some() && i(c, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if restartable(name) && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if term.is_some() {
            let r = s(c, "/state/terminated/reason");
            reason = if r.is_empty() {
                let sig = i(c, "/state/terminated/signal");
                if sig != 0 {
                    format!("Init:Signal:{sig}")
                } else {
                    format!("Init:ExitCode:{}", i(c, "/state/terminated/exitCode"))
                }
            } else {
                format!("Init:{r}")
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{idx}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = arr(o, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == "Initialized" && s(c, "/status") == "True");
    if !initializing || initialized {
        restarts = restartable_restarts;
        last_restart = last_restartable;
        let mut has_running = false;
        for c in arr(o, "/status/containerStatuses").iter().rev() {
            restarts += i(c, "/restartCount");
            later(&mut last_restart, s(c, "/lastState/terminated/finishedAt"));
            let waiting = s(c, "/state/waiting/reason");
            let term = c.pointer("/state/terminated");
            let term_reason = s(c, "/state/terminated/reason");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if term.is_some() && !term_reason.is_empty() {
                reason = term_reason.to_string();
            } else if term.is_some() {
                let sig = i(c, "/state/terminated/signal");
                reason = if sig != 0 {
                    format!("Signal:{sig}")
                } else {
                    format!("ExitCode:{}", i(c, "/state/terminated/exitCode"))
                };
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = arr(o, "/status/conditions")
                .iter()
                .any(|c| s(c, "/type") == "Ready" && s(c, "/status") == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    let deleting = o.pointer("/metadata/deletionTimestamp").is_some();
    if deleting && s(o, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let last = (!last_restart.is_empty()).then_some(last_restart);
    (reason, ready, total, restarts, last)
}

fn pod_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (reason, ready, total, restarts, last) = pod_status(o);
    let restarts_str = match (restarts, last) {
        (0, _) | (_, None) => restarts.to_string(),
        (n, Some(t)) => format!("{n} ({} ago)", since(&t, now)),
    };
    let ip = arr(o, "/status/podIPs")
        .first()
        .map(|p| s(p, "/ip").to_string())
        .unwrap_or_else(|| s(o, "/status/podIP").to_string());
    let gates = arr(o, "/spec/readinessGates");
    let gates_str = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conds = arr(o, "/status/conditions");
        let ok = gates
            .iter()
            .filter(|g| {
                conds
                    .iter()
                    .any(|c| s(c, "/type") == s(g, "/conditionType") && s(c, "/status") == "True")
            })
            .count();
        format!("{ok}/{}", gates.len())
    };
    vec![
        json!(s(o, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_str),
        json!(age(o, now)),
        json!(or_none(ip)),
        json!(or_none(s(o, "/spec/nodeName").to_string())),
        json!(or_none(s(o, "/status/nominatedNodeName").to_string())),
        json!(gates_str),
    ]
}

fn service_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let ty = match s(o, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = match s(o, "/spec/clusterIP") {
        "" => "<none>".to_string(),
        ip => ip.to_string(),
    };
    let mut external: Vec<String> = arr(o, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let external_str = match ty {
        "ExternalName" => s(o, "/spec/externalName").to_string(),
        "LoadBalancer" => {
            for x in arr(o, "/status/loadBalancer/ingress") {
                let v = match s(x, "/ip") {
                    "" => s(x, "/hostname"),
                    ip => ip,
                };
                if !v.is_empty() {
                    external.push(v.to_string());
                }
            }
            if external.is_empty() {
                "<pending>".into()
            } else {
                external.join(",")
            }
        }
        _ => or_none(external.join(",")),
    };
    let ports: Vec<String> = arr(o, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = match s(p, "/protocol") {
                "" => "TCP",
                x => x,
            };
            let np = i(p, "/nodePort");
            if np > 0 {
                format!("{}:{np}/{proto}", i(p, "/port"))
            } else {
                format!("{}/{proto}", i(p, "/port"))
            }
        })
        .collect();
    vec![
        json!(s(o, "/metadata/name")),
        json!(ty),
        json!(cluster_ip),
        json!(external_str),
        json!(or_none(ports.join(","))),
        json!(age(o, now)),
        json!(map_selector(o.pointer("/spec/selector"))),
    ]
}

fn node_cells(o: &Value, now: Timestamp) -> Vec<Value> {
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

fn event_cells(o: &Value, now: Timestamp) -> Vec<Value> {
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
        .unwrap_or_else(|| i(o, "/count"));
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

fn job_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (c, im) = containers_images(o, "/spec/template/spec/containers");
    let cond = |ty: &str| {
        arr(o, "/status/conditions")
            .iter()
            .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
    };
    let status = if cond("Failed") {
        "Failed"
    } else if cond("Complete") {
        "Complete"
    } else if cond("Suspended") {
        "Suspended"
    } else if cond("FailureTarget") {
        "FailureTarget"
    } else if cond("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        "Running"
    };
    let completions = match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(n) => format!("{}/{n}", i(o, "/status/succeeded")),
        None => {
            let p = o
                .pointer("/spec/parallelism")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if p > 1 {
                format!("{}/1 of {p}", i(o, "/status/succeeded"))
            } else {
                format!("{}/1", i(o, "/status/succeeded"))
            }
        }
    };
    let start = s(o, "/status/startTime");
    let done = s(o, "/status/completionTime");
    let duration = match (start.parse::<Timestamp>(), done.parse::<Timestamp>()) {
        (Ok(a), Ok(b)) => human_duration(b.as_second() - a.as_second()),
        (Ok(a), Err(_)) => human_duration(now.as_second() - a.as_second()),
        _ => String::new(),
    };
    vec![
        json!(s(o, "/metadata/name")),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(o, now)),
        json!(c),
        json!(im),
        json!(selector_string(o.pointer("/spec/selector"))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_table_equals_the_built_one() {
        let rt = crate::resources::by_plural("", "pods").unwrap();
        let now: Timestamp = "2026-01-01T00:05:00Z".parse().unwrap();
        let pods: Vec<std::sync::Arc<Value>> = (0..3)
            .map(|i| {
                std::sync::Arc::new(
                    json!({"metadata": {"name": format!("p{i}"), "namespace": "x",
                    "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}}),
                )
            })
            .collect();
        let meta = json!({"resourceVersion": "7"});
        for include in [
            IncludeObject::None,
            IncludeObject::Metadata,
            IncludeObject::Object,
        ] {
            let built = table(rt, pods.iter().map(|p| &**p), now, include, meta.clone());
            let mut buf = Vec::new();
            write_table(rt, &pods, now, include, &meta, &mut buf).unwrap();
            let written: Value = serde_json::from_slice(&buf).unwrap();
            assert_eq!(written, built);
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
    }

    #[test]
    fn pod_status_like_kubectl() {
        let crash = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running",
            "containerStatuses": [{"name": "a", "ready": false, "restartCount": 4,
              "state": {"waiting": {"reason": "CrashLoopBackOff"}},
              "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-01-01T00:00:00Z"}}}]}});
        let (r, ready, total, restarts, _) = pod_status(&crash);
        assert_eq!(
            (r.as_str(), ready, total, restarts),
            ("CrashLoopBackOff", 0, 1, 4)
        );
        let now: Timestamp = "2026-01-01T00:05:00Z".parse().unwrap();
        assert_eq!(pod_cells(&crash, now)[3], json!("4 (5m ago)"));
        let init = json!({"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]}, "status": {"phase": "Pending",
            "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]}});
        assert_eq!(pod_status(&init).0, "Init:0/1");
        let evicted = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Failed", "reason": "Evicted"}});
        assert_eq!(pod_status(&evicted).0, "Evicted");
        let term = json!({"metadata": {"deletionTimestamp": "x"}, "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running"}});
        assert_eq!(pod_status(&term).0, "Terminating");
        let oom = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running",
            "containerStatuses": [{"name": "a", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}});
        assert_eq!(pod_status(&oom).0, "OOMKilled");
    }
}
