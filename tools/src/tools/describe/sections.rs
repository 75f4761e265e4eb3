//! The sections of a description built from the object alone: metadata, containers (env as
//! references, probes, states), pod status, volumes, workload, service and node summaries,
//! conditions, and a masked flattening for other kinds.

use serde_json::{Map, Value, json};

use super::Doc;
use crate::format::{age, truncate};
use crate::k8s::{self, arr, at, i, map_str, name, s, selector_string};
use crate::kinds::Kind;
use crate::mask::{MASK, is_secret_like_name, mask_text};
use crate::pods;
use crate::tools::list_pods;
use crate::tools::list_resources::spec_replicas;

/// Most pods listed under a workload, service or node.
pub(super) const MAX_PODS: usize = 20;
/// Most events shown.
pub(super) const MAX_EVENTS: usize = 15;
/// Annotations that are dropped: they can carry whole manifests with secrets.
pub(super) const DROPPED_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "meta.helm.sh/release-values",
];

pub(super) fn metadata(d: &mut Doc, obj: &Value, now: jiff::Timestamp) {
    d.field("Created", format!("{} ago", age(k8s::created(obj), now)));
    let labels = map_str(at(obj, &["metadata", "labels"]));
    d.field("Labels", labels.clone());
    d.json.insert(
        "labels".into(),
        at(obj, &["metadata", "labels"])
            .cloned()
            .unwrap_or(json!({})),
    );
    let mut ann = Map::new();
    if let Some(a) = at(obj, &["metadata", "annotations"]).and_then(Value::as_object) {
        for (k, v) in a {
            if DROPPED_ANNOTATIONS.contains(&k.as_str()) {
                continue;
            }
            let v = v.as_str().unwrap_or_default();
            let shown = if is_secret_like_name(k) {
                MASK.to_string()
            } else {
                truncate(&mask_text(v).replace('\n', " "), 160)
            };
            ann.insert(k.clone(), json!(shown));
        }
    }
    if !ann.is_empty() {
        let text: Vec<String> = ann
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        d.field("Annotations", text.join(", "));
    }
    d.json.insert("annotations".into(), Value::Object(ann));
    if let Some((k, n)) = k8s::controller(obj) {
        d.field("Controlled by", format!("{}/{n}", k.to_ascii_lowercase()));
        d.json.insert("owner".into(), json!({"kind": k, "name": n}));
    }
}

/// An env var as shown: references for secretKeyRef/configMapKeyRef/fieldRef, masked literal
/// values under secret-like names, masked tokens elsewhere.
pub fn env_value(e: &Value) -> String {
    let n = s(e, &["name"]);
    if let Some(vf) = e.get("valueFrom") {
        if let Some(r) = vf.get("secretKeyRef") {
            return format!("<secret {}/{}>", s(r, &["name"]), s(r, &["key"]));
        }
        if let Some(r) = vf.get("configMapKeyRef") {
            return format!("<configmap {}/{}>", s(r, &["name"]), s(r, &["key"]));
        }
        if let Some(r) = vf.get("fieldRef") {
            return format!("<field {}>", s(r, &["fieldPath"]));
        }
        if let Some(r) = vf.get("resourceFieldRef") {
            return format!("<resource {}>", s(r, &["resource"]));
        }
        return "<from source>".into();
    }
    let v = s(e, &["value"]);
    if is_secret_like_name(n) && !v.is_empty() {
        MASK.to_string()
    } else {
        truncate(&mask_text(v), 120)
    }
}

pub(super) fn container_spec(
    d: &mut Doc,
    c: &Value,
    status: Option<&Value>,
    now: jiff::Timestamp,
) -> Value {
    let cname = s(c, &["name"]);
    d.line(format!("  {cname}:"));
    d.line(format!("    Image: {}", s(c, &["image"])));
    let mut j = Map::new();
    j.insert("name".into(), json!(cname));
    j.insert("image".into(), json!(s(c, &["image"])));
    if !arr(c, &["command"]).is_empty() || !arr(c, &["args"]).is_empty() {
        let cmd: Vec<String> = arr(c, &["command"])
            .iter()
            .chain(arr(c, &["args"]).iter())
            .filter_map(Value::as_str)
            .map(mask_text)
            .collect();
        d.line(format!("    Command: {}", truncate(&cmd.join(" "), 200)));
    }
    let ports: Vec<String> = arr(c, &["ports"])
        .iter()
        .map(|p| {
            let proto = match s(p, &["protocol"]) {
                "" => "TCP",
                x => x,
            };
            format!("{}/{proto}", i(p, &["containerPort"]))
        })
        .collect();
    if !ports.is_empty() {
        d.line(format!("    Ports: {}", ports.join(", ")));
    }
    if let Some(st) = status {
        let state = container_state(st.get("state"), now);
        let last = container_state(st.get("lastState"), now);
        d.line(format!(
            "    State: {state}  Ready: {}  Restarts: {}",
            st.get("ready").and_then(Value::as_bool).unwrap_or(false),
            i(st, &["restartCount"])
        ));
        if last != "<none>" {
            d.line(format!("    Last state: {last}"));
        }
        j.insert("state".into(), json!(state));
        j.insert("last_state".into(), json!(last));
        j.insert(
            "ready".into(),
            json!(st.get("ready").and_then(Value::as_bool).unwrap_or(false)),
        );
        j.insert("restarts".into(), json!(i(st, &["restartCount"])));
    }
    let env: Vec<(String, String)> = arr(c, &["env"])
        .iter()
        .map(|e| (s(e, &["name"]).to_string(), env_value(e)))
        .collect();
    if !env.is_empty() {
        let parts: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        d.line(format!("    Env: {}", parts.join(", ")));
    }
    let env_from: Vec<String> = arr(c, &["envFrom"])
        .iter()
        .map(|e| {
            if let Some(r) = e.get("secretRef") {
                format!("<all keys of secret {}>", s(r, &["name"]))
            } else if let Some(r) = e.get("configMapRef") {
                format!("<all keys of configmap {}>", s(r, &["name"]))
            } else {
                "<source>".into()
            }
        })
        .collect();
    if !env_from.is_empty() {
        d.line(format!("    Env from: {}", env_from.join(", ")));
    }
    j.insert(
        "env".into(),
        json!(
            env.iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect::<Vec<_>>()
        ),
    );
    j.insert("env_from".into(), json!(env_from));
    let req = map_str(at(c, &["resources", "requests"]));
    let lim = map_str(at(c, &["resources", "limits"]));
    if !req.is_empty() || !lim.is_empty() {
        d.line(format!(
            "    Requests: {}  Limits: {}",
            if req.is_empty() { "<none>" } else { &req },
            if lim.is_empty() { "<none>" } else { &lim }
        ));
    }
    j.insert(
        "requests".into(),
        at(c, &["resources", "requests"])
            .cloned()
            .unwrap_or(json!({})),
    );
    j.insert(
        "limits".into(),
        at(c, &["resources", "limits"])
            .cloned()
            .unwrap_or(json!({})),
    );
    probe_lines(d, c);
    Value::Object(j)
}

pub(super) fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

pub(super) fn container_state(state: Option<&Value>, now: jiff::Timestamp) -> String {
    let Some(st) = state else {
        return "<none>".into();
    };
    if let Some(r) = st.get("running") {
        return format!(
            "Running (started {} ago)",
            age(at(r, &["startedAt"]).and_then(Value::as_str), now)
        );
    }
    if let Some(w) = st.get("waiting") {
        let msg = s(w, &["message"]);
        return if msg.is_empty() {
            format!("Waiting ({})", s(w, &["reason"]))
        } else {
            format!(
                "Waiting ({}: {})",
                s(w, &["reason"]),
                truncate(&mask_text(msg), 200)
            )
        };
    }
    if let Some(t) = st.get("terminated") {
        // The runtime's message says why a container could not start (StartError).
        let msg = s(t, &["message"]);
        let msg = if msg.is_empty() {
            String::new()
        } else {
            format!(": {}", truncate(&mask_text(msg), 300))
        };
        return format!(
            "Terminated ({}, exit code {}, finished {} ago{msg})",
            match s(t, &["reason"]) {
                "" => "Error",
                r => r,
            },
            i(t, &["exitCode"]),
            age(at(t, &["finishedAt"]).and_then(Value::as_str), now)
        );
    }
    "<none>".into()
}

pub(super) fn pod_section(d: &mut Doc, pod: &Value, now: jiff::Timestamp) {
    let (r, t) = pods::ready(pod);
    d.field(
        "Status",
        format!(
            "{} (phase {})",
            pods::status(pod),
            s(pod, &["status", "phase"])
        ),
    );
    d.field("Ready", format!("{r}/{t}"));
    d.field("Node", s(pod, &["spec", "nodeName"]));
    d.field("IP", s(pod, &["status", "podIP"]));
    d.field("QoS", s(pod, &["status", "qosClass"]));
    d.field("Message", mask_text(s(pod, &["status", "message"])));
    d.json.insert(
        "status".into(),
        json!({"status": pods::status(pod), "phase": s(pod, &["status", "phase"]),
            "ready": format!("{r}/{t}"), "restarts": pods::restarts(pod),
            "node": s(pod, &["spec", "nodeName"]), "ip": s(pod, &["status", "podIP"])}),
    );
    let statuses = arr(pod, &["status", "containerStatuses"]);
    let init_statuses = arr(pod, &["status", "initContainerStatuses"]);
    let mut cs = Vec::new();
    if !arr(pod, &["spec", "initContainers"]).is_empty() {
        d.line("Init containers:");
        for c in arr(pod, &["spec", "initContainers"]) {
            let st = init_statuses
                .iter()
                .find(|x| s(x, &["name"]) == s(c, &["name"]));
            cs.push(container_spec(d, c, st, now));
        }
    }
    d.line("Containers:");
    for c in arr(pod, &["spec", "containers"]) {
        let st = statuses.iter().find(|x| s(x, &["name"]) == s(c, &["name"]));
        cs.push(container_spec(d, c, st, now));
    }
    d.json.insert("containers".into(), json!(cs));
    volumes(d, at(pod, &["spec"]));
    let sel = map_str(at(pod, &["spec", "nodeSelector"]));
    d.field("Node selector", sel);
}

pub(super) fn volumes(d: &mut Doc, spec: Option<&Value>) {
    let Some(spec) = spec else { return };
    let vols: Vec<String> = arr(spec, &["volumes"])
        .iter()
        .map(|v| {
            let n = s(v, &["name"]);
            if let Some(x) = v.get("secret") {
                format!("{n}: secret {}", s(x, &["secretName"]))
            } else if let Some(x) = v.get("configMap") {
                format!("{n}: configmap {}", s(x, &["name"]))
            } else if let Some(x) = v.get("persistentVolumeClaim") {
                format!("{n}: pvc {}", s(x, &["claimName"]))
            } else if v.get("emptyDir").is_some() {
                format!("{n}: emptyDir")
            } else if v.get("projected").is_some() {
                format!("{n}: projected")
            } else {
                format!("{n}: other")
            }
        })
        .collect();
    if !vols.is_empty() {
        d.field("Volumes", vols.join(", "));
        d.json.insert("volumes".into(), json!(vols));
    }
}

pub(super) fn revision(o: &Value) -> &str {
    s(
        o,
        &[
            "metadata",
            "annotations",
            "deployment.kubernetes.io/revision",
        ],
    )
}

pub(super) fn workload_section(d: &mut Doc, kind: Kind, obj: &Value) {
    let st = |f: &str| i(obj, &["status", f]);
    let status = match kind {
        Kind::Deployment => format!(
            "{} desired | {} updated | {} total | {} ready | {} available | {} unavailable",
            spec_replicas(obj),
            st("updatedReplicas"),
            st("replicas"),
            st("readyReplicas"),
            st("availableReplicas"),
            st("unavailableReplicas")
        ),
        Kind::StatefulSet | Kind::ReplicaSet => format!(
            "{} desired | {} current | {} ready",
            spec_replicas(obj),
            st("replicas"),
            st("readyReplicas")
        ),
        Kind::DaemonSet => format!(
            "{} desired | {} current | {} ready | {} available",
            st("desiredNumberScheduled"),
            st("currentNumberScheduled"),
            st("numberReady"),
            st("numberAvailable")
        ),
        _ => format!(
            "{} active | {} succeeded | {} failed (backoff limit {})",
            st("active"),
            st("succeeded"),
            st("failed"),
            at(obj, &["spec", "backoffLimit"])
                .and_then(Value::as_i64)
                .unwrap_or(6)
        ),
    };
    d.field("Replicas", status.clone());
    d.json.insert("status".into(), json!({"summary": status, "replicas": spec_replicas(obj),
        "ready": st("readyReplicas"), "available": st("availableReplicas"), "updated": st("updatedReplicas")}));
    if kind == Kind::Deployment {
        d.field("Revision", revision(obj));
        d.field("Strategy", s(obj, &["spec", "strategy", "type"]));
        if at(obj, &["spec", "paused"]).and_then(Value::as_bool) == Some(true) {
            d.line("Paused: true (rollouts are paused)");
        }
        d.json.insert("revision".into(), json!(revision(obj)));
    }
    let sel = selector_string(at(obj, &["spec", "selector"]));
    d.field("Selector", sel.clone());
    d.json.insert("selector".into(), json!(sel));
    d.line("Pod template:");
    let tspec = at(obj, &["spec", "template", "spec"]);
    let mut cs = Vec::new();
    for c in tspec.map(|t| arr(t, &["containers"])).unwrap_or(&[]) {
        cs.push(container_spec(d, c, None, jiff::Timestamp::UNIX_EPOCH));
    }
    d.json.insert("containers".into(), json!(cs));
    volumes(d, tspec);
}

pub(super) fn pods_table(d: &mut Doc, pods: &[Value], now: jiff::Timestamp) {
    let mut sorted: Vec<&Value> = pods.iter().collect();
    sorted.sort_by_key(|p| name(p).to_string());
    let unhealthy = pods.iter().filter(|p| !pods::healthy(p)).count();
    let mut rows = Vec::new();
    let mut j = Vec::new();
    for p in sorted.iter().take(MAX_PODS) {
        let (summary, mut cells) = list_pods::pod_row(p, now);
        cells.remove(0);
        rows.push(cells);
        j.push(summary);
    }
    let title = if pods.len() > MAX_PODS {
        format!(
            "Pods ({} total, {unhealthy} unhealthy; first {MAX_PODS} shown)",
            pods.len()
        )
    } else {
        format!("Pods ({} total, {unhealthy} unhealthy)", pods.len())
    };
    d.table(
        &title,
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"],
        &rows,
    );
    d.json.insert("pods".into(), json!(j));
}

pub(super) fn service_section(d: &mut Doc, svc: &Value) {
    d.field("Type", s(svc, &["spec", "type"]));
    d.field("Cluster IP", s(svc, &["spec", "clusterIP"]));
    let ports: Vec<String> = arr(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let target = scalar(p.get("targetPort"));
            let n = s(p, &["name"]);
            format!(
                "{}{}→{}/{}",
                if n.is_empty() {
                    String::new()
                } else {
                    format!("{n} ")
                },
                i(p, &["port"]),
                if target.is_empty() {
                    i(p, &["port"]).to_string()
                } else {
                    target
                },
                match s(p, &["protocol"]) {
                    "" => "TCP",
                    x => x,
                }
            )
        })
        .collect();
    d.field("Ports", ports.join(", "));
    let sel = map_str(at(svc, &["spec", "selector"]));
    d.field(
        "Selector",
        if sel.is_empty() {
            "<none>".into()
        } else {
            sel.clone()
        },
    );
    d.json.insert(
        "service".into(),
        json!({"type": s(svc, &["spec", "type"]),
        "cluster_ip": s(svc, &["spec", "clusterIP"]), "ports": ports, "selector": sel}),
    );
}

pub(super) fn node_section(d: &mut Doc, node: &Value) {
    let cap_ = map_str(at(node, &["status", "capacity"]));
    let alloc = map_str(at(node, &["status", "allocatable"]));
    d.field("Capacity", crate::format::quantities(&cap_));
    d.field("Allocatable", crate::format::quantities(&alloc));
    let taints: Vec<String> = arr(node, &["spec", "taints"])
        .iter()
        .map(|t| {
            let v = s(t, &["value"]);
            if v.is_empty() {
                format!("{}:{}", s(t, &["key"]), s(t, &["effect"]))
            } else {
                format!("{}={v}:{}", s(t, &["key"]), s(t, &["effect"]))
            }
        })
        .collect();
    d.field(
        "Taints",
        if taints.is_empty() {
            "<none>".into()
        } else {
            taints.join(", ")
        },
    );
    if at(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        d.line("Unschedulable: true (cordoned)");
    }
    d.field(
        "Kubelet",
        s(node, &["status", "nodeInfo", "kubeletVersion"]),
    );
    d.json.insert(
        "node".into(),
        json!({"taints": taints,
        "capacity": at(node, &["status", "capacity"]).cloned().unwrap_or(json!({})),
        "allocatable": at(node, &["status", "allocatable"]).cloned().unwrap_or(json!({}))}),
    );
}

pub(super) fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>, depth: usize) {
    if out.len() > 40 || depth > 6 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if is_secret_like_name(k) && !x.is_object() && !x.is_array() {
                    out.push((p, MASK.into()));
                } else {
                    flatten(&p, x, out, depth + 1);
                }
            }
        }
        Value::Array(a) => {
            for (idx, x) in a.iter().enumerate().take(10) {
                flatten(&format!("{prefix}[{idx}]"), x, out, depth + 1);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push((prefix.to_string(), truncate(&mask_text(s), 160))),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

pub(super) fn generic_section(d: &mut Doc, kind: Kind, obj: &Value) {
    for (label, field) in [("Spec", "spec"), ("Status", "status")] {
        let mut flat = Vec::new();
        if let Some(v) = obj.get(field) {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("conditions");
            }
            flatten("", &v, &mut flat, 0);
        }
        if kind == Kind::Event && field == "spec" {
            for k in [
                "type",
                "reason",
                "message",
                "count",
                "lastTimestamp",
                "eventTime",
            ] {
                if let Some(x) = obj.get(k) {
                    flatten(k, x, &mut flat, 0);
                }
            }
        }
        if !flat.is_empty() {
            d.line(format!("{label}:"));
            for (k, v) in &flat {
                d.line(format!("  {k}: {v}"));
            }
            let m: Map<String, Value> = flat.into_iter().map(|(k, v)| (k, json!(v))).collect();
            d.json.insert(field.into(), Value::Object(m));
        }
    }
}

pub(super) fn conditions(d: &mut Doc, obj: &Value, now: jiff::Timestamp) {
    let conds = arr(obj, &["status", "conditions"]);
    if conds.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = conds
        .iter()
        .map(|c| {
            let t = at(c, &["lastTransitionTime"])
                .and_then(Value::as_str)
                .or_else(|| at(c, &["lastUpdateTime"]).and_then(Value::as_str));
            vec![
                s(c, &["type"]).to_string(),
                s(c, &["status"]).to_string(),
                s(c, &["reason"]).to_string(),
                t.map_or(String::new(), |t| age(Some(t), now)),
                truncate(&mask_text(s(c, &["message"])), 200),
            ]
        })
        .collect();
    d.table(
        "Conditions",
        &["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
        &rows,
    );
    d.json.insert(
        "conditions".into(),
        json!(
            rows.iter()
                .map(|r| json!({"type": r[0], "status": r[1], "reason": r[2], "message": r[4]}))
                .collect::<Vec<_>>()
        ),
    );
}

/// The liveness, readiness and startup probes of a container, one line each.
fn probe_lines(d: &mut Doc, c: &Value) {
    for (label, key) in [
        ("Liveness", "livenessProbe"),
        ("Readiness", "readinessProbe"),
        ("Startup", "startupProbe"),
    ] {
        if let Some(p) = c.get(key) {
            let what = if let Some(h) = p.get("httpGet") {
                format!("http-get :{}{}", scalar(h.get("port")), s(h, &["path"]))
            } else if let Some(t) = p.get("tcpSocket") {
                format!("tcp-socket :{}", scalar(t.get("port")))
            } else if let Some(e) = p.get("exec") {
                let cmd: Vec<&str> = arr(e, &["command"])
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                format!("exec [{}]", mask_text(&cmd.join(" ")))
            } else {
                "other".into()
            };
            d.line(format!(
                "    {label}: {what} delay={}s period={}s failure-threshold={}",
                i(p, &["initialDelaySeconds"]),
                at(p, &["periodSeconds"])
                    .and_then(Value::as_i64)
                    .unwrap_or(10),
                at(p, &["failureThreshold"])
                    .and_then(Value::as_i64)
                    .unwrap_or(3)
            ));
        }
    }
}
