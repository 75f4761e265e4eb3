//! `list_resources`: any supported kind as a kubectl-like table (Secrets: keys and sizes only).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::cluster::Cluster;
use crate::contract::{Effect, ToolOutput};
use crate::error::ToolError;
use crate::format::{DEFAULT_BUDGET, Keep, age, age_seconds, fit, table};
use crate::k8s::{self, arr, at, i, map_str, name, namespace, s, selector_string};
use crate::kinds::{Kind, resolve_kind};
use crate::mask::mask_text;
use crate::tools::{Tool, events, list_pods, now, scope};

/// Arguments of `list_resources`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListResourcesArgs {
    /// Kind to list, kubectl names accepted: deployments (deploy), statefulsets (sts), daemonsets
    /// (ds), replicasets (rs), jobs, cronjobs (cj), services (svc), endpoints (ep), ingresses
    /// (ing), configmaps (cm), secrets, pvcs, pvs, storageclasses (sc), nodes (no), namespaces
    /// (ns), events (ev), hpas, pdbs, networkpolicies (netpol), pods (po).
    pub kind: String,
    /// Namespace to list; defaults to the current namespace (ignored for cluster-wide kinds).
    #[serde(default)]
    pub namespace: Option<String>,
    /// List in every namespace (do not combine with namespace).
    #[serde(default)]
    pub all_namespaces: bool,
    /// Label selector, e.g. `app=backend`.
    #[serde(default)]
    pub label_selector: Option<String>,
}

/// The `list_resources` tool.
pub struct ListResources;

impl Tool for ListResources {
    const NAME: &'static str = "list_resources";
    const EFFECT: Effect = Effect::Read;
    type Args = ListResourcesArgs;

    fn description() -> &'static str {
        "List objects of one kind as a table with kubectl's columns (deployments, services, nodes, pvcs, events, ...). Secrets show key names and sizes only, never values."
    }

    async fn run(cluster: &Cluster, args: ListResourcesArgs) -> Result<ToolOutput, ToolError> {
        let kind = resolve_kind(&args.kind).map_err(|e| match e {
            ToolError::InvalidArguments { message, .. } => ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message,
            },
            other => other,
        })?;
        let ns = scope(
            Self::NAME,
            cluster,
            args.namespace.as_deref(),
            args.all_namespaces,
        )?;
        let ns = ns.filter(|_| kind.namespaced());
        let selector = args.label_selector.as_deref();
        let items = k8s::list_checked(cluster, kind, ns, selector).await?;
        match kind {
            Kind::Pod => Ok(list_pods::render(&items, ns, false, DEFAULT_BUDGET)),
            Kind::Event => Ok(events::render(&items, ns, false, DEFAULT_BUDGET)),
            _ => Ok(render(kind, &items, ns, DEFAULT_BUDGET)),
        }
    }
}

/// Size in bytes of a base64 value without decoding it.
pub fn b64_len(v: &str) -> usize {
    let v = v.trim();
    let pad = v.chars().rev().take_while(|c| *c == '=').count();
    (v.len() / 4 * 3
        + match v.len() % 4 {
            2 => 1,
            3 => 2,
            _ => 0,
        })
    .saturating_sub(pad)
}

/// A Secret's keys with sizes, never values: `api-key (32 bytes), db-url (41 bytes)`.
pub fn secret_keys(secret: &Value) -> Vec<(String, usize)> {
    let mut keys: Vec<(String, usize)> = Vec::new();
    if let Some(data) = secret.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            keys.push((k.clone(), b64_len(v.as_str().unwrap_or_default())));
        }
    }
    if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
        for (k, v) in data {
            keys.push((k.clone(), v.as_str().map_or(0, str::len)));
        }
    }
    keys.sort();
    keys
}

fn keys_text(keys: &[(String, usize)]) -> String {
    keys.iter()
        .map(|(k, n)| format!("{k}({n}B)"))
        .collect::<Vec<_>>()
        .join(",")
}

fn cm_keys(cm: &Value) -> Vec<(String, usize)> {
    let mut keys = Vec::new();
    for field in ["data", "binaryData"] {
        if let Some(d) = cm.get(field).and_then(Value::as_object) {
            for (k, v) in d {
                let n = v
                    .as_str()
                    .map_or(0, |s| if field == "data" { s.len() } else { b64_len(s) });
                keys.push((k.clone(), n));
            }
        }
    }
    keys.sort();
    keys
}

/// Container images of a pod template, comma separated.
pub fn images(template_spec: Option<&Value>) -> String {
    template_spec
        .map(|t| {
            arr(t, &["containers"])
                .iter()
                .map(|c| s(c, &["image"]).to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn ports(svc: &Value) -> String {
    arr(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let proto = match s(p, &["protocol"]) {
                "" => "TCP",
                x => x,
            };
            let node = i(p, &["nodePort"]);
            if node > 0 {
                format!("{}:{node}/{proto}", i(p, &["port"]))
            } else {
                format!("{}/{proto}", i(p, &["port"]))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Endpoint addresses of an Endpoints object: `10.0.0.1:8080,...` (not-ready counted apart).
pub fn endpoint_addresses(ep: &Value) -> (Vec<String>, usize) {
    let mut ready = Vec::new();
    let mut not_ready = 0;
    for subset in arr(ep, &["subsets"]) {
        let ports: Vec<i64> = arr(subset, &["ports"])
            .iter()
            .map(|p| i(p, &["port"]))
            .collect();
        for a in arr(subset, &["addresses"]) {
            let ip = s(a, &["ip"]);
            if ports.is_empty() {
                ready.push(ip.to_string());
            }
            for p in &ports {
                ready.push(format!("{ip}:{p}"));
            }
        }
        not_ready += arr(subset, &["notReadyAddresses"]).len();
    }
    (ready, not_ready)
}

fn cond_status(obj: &Value, ty: &str) -> Option<String> {
    arr(obj, &["status", "conditions"])
        .iter()
        .find(|c| s(c, &["type"]) == ty)
        .map(|c| s(c, &["status"]).to_string())
}

fn or_dash(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

/// Columns and cells of one object of `kind` (not pods or events).
pub fn columns(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::Deployment => vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "IMAGES"],
        Kind::StatefulSet => vec!["NAME", "READY", "AGE", "IMAGES"],
        Kind::DaemonSet => vec![
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
        ],
        Kind::ReplicaSet => vec![
            "NAME", "DESIRED", "CURRENT", "READY", "REVISION", "AGE", "IMAGES",
        ],
        Kind::Job => vec!["NAME", "STATUS", "COMPLETIONS", "AGE"],
        Kind::CronJob => vec![
            "NAME",
            "SCHEDULE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
        ],
        Kind::Service => vec!["NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "AGE"],
        Kind::Endpoints => vec!["NAME", "ENDPOINTS", "NOT-READY", "AGE"],
        Kind::Ingress => vec!["NAME", "CLASS", "HOSTS", "ADDRESS", "BACKENDS", "AGE"],
        Kind::ConfigMap => vec!["NAME", "DATA", "KEYS", "AGE"],
        Kind::Secret => vec!["NAME", "TYPE", "DATA", "KEYS", "AGE"],
        Kind::PersistentVolumeClaim => vec![
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "AGE",
        ],
        Kind::PersistentVolume => vec![
            "NAME",
            "CAPACITY",
            "ACCESS MODES",
            "RECLAIM POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "AGE",
        ],
        Kind::StorageClass => vec![
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "DEFAULT",
            "AGE",
        ],
        Kind::Node => vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION", "TAINTS"],
        Kind::Namespace => vec!["NAME", "STATUS", "AGE"],
        Kind::HorizontalPodAutoscaler => {
            vec!["NAME", "REFERENCE", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
        }
        Kind::PodDisruptionBudget => vec![
            "NAME",
            "MIN AVAILABLE",
            "MAX UNAVAILABLE",
            "ALLOWED DISRUPTIONS",
            "AGE",
        ],
        Kind::NetworkPolicy => vec!["NAME", "POD-SELECTOR", "AGE"],
        Kind::ServiceAccount => vec!["NAME", "SECRETS", "AGE"],
        Kind::Pod | Kind::Event => vec!["NAME", "AGE"],
    }
}

/// The cells of one object, matching [`columns`].
// One arm per kind, like kubectl's printers: a table of data that reads best whole, and an
// exhaustive match, so a kind added to `Kind` has no row until it is given one here.
pub fn cells(kind: Kind, o: &Value, now: jiff::Timestamp) -> Vec<String> {
    let n = name(o).to_string();
    let a = age(k8s::created(o), now);
    let num = |path: &[&str]| i(o, path).to_string();
    match kind {
        Kind::Deployment => vec![
            n,
            format!(
                "{}/{}",
                i(o, &["status", "readyReplicas"]),
                spec_replicas(o)
            ),
            num(&["status", "updatedReplicas"]),
            num(&["status", "availableReplicas"]),
            a,
            images(at(o, &["spec", "template", "spec"])),
        ],
        Kind::StatefulSet => vec![
            n,
            format!(
                "{}/{}",
                i(o, &["status", "readyReplicas"]),
                spec_replicas(o)
            ),
            a,
            images(at(o, &["spec", "template", "spec"])),
        ],
        Kind::DaemonSet => vec![
            n,
            num(&["status", "desiredNumberScheduled"]),
            num(&["status", "currentNumberScheduled"]),
            num(&["status", "numberReady"]),
            num(&["status", "updatedNumberScheduled"]),
            num(&["status", "numberAvailable"]),
            a,
        ],
        Kind::ReplicaSet => vec![
            n,
            spec_replicas(o).to_string(),
            num(&["status", "replicas"]),
            num(&["status", "readyReplicas"]),
            s(
                o,
                &[
                    "metadata",
                    "annotations",
                    "deployment.kubernetes.io/revision",
                ],
            )
            .to_string(),
            a,
            images(at(o, &["spec", "template", "spec"])),
        ],
        Kind::Job => {
            let status = if cond_status(o, "Failed").as_deref() == Some("True") {
                "Failed"
            } else if cond_status(o, "Complete").as_deref() == Some("True") {
                "Complete"
            } else if i(o, &["status", "active"]) > 0 {
                "Running"
            } else {
                "Pending"
            };
            let completions = at(o, &["spec", "completions"])
                .and_then(Value::as_i64)
                .unwrap_or(1);
            vec![
                n,
                status.into(),
                format!("{}/{completions}", i(o, &["status", "succeeded"])),
                a,
            ]
        }
        Kind::CronJob => vec![
            n,
            s(o, &["spec", "schedule"]).into(),
            at(o, &["spec", "suspend"])
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string(),
            arr(o, &["status", "active"]).len().to_string(),
            at(o, &["status", "lastScheduleTime"])
                .and_then(Value::as_str)
                .map_or("<none>".into(), |t| age(Some(t), now)),
            a,
        ],
        Kind::Service => vec![
            n,
            or_dash(s(o, &["spec", "type"]).into()),
            or_dash(s(o, &["spec", "clusterIP"]).into()),
            or_dash(ports(o)),
            or_dash(map_str(at(o, &["spec", "selector"]))),
            a,
        ],
        Kind::Endpoints => {
            let (ready, not_ready) = endpoint_addresses(o);
            let shown = if ready.len() > 4 {
                format!("{} + {} more", ready[..3].join(","), ready.len() - 3)
            } else {
                ready.join(",")
            };
            vec![n, or_dash(shown), not_ready.to_string(), a]
        }
        Kind::Ingress => {
            let hosts: Vec<&str> = arr(o, &["spec", "rules"])
                .iter()
                .map(|r| s(r, &["host"]))
                .filter(|h| !h.is_empty())
                .collect();
            let addr: Vec<&str> = arr(o, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|x| {
                    let ip = s(x, &["ip"]);
                    if ip.is_empty() {
                        s(x, &["hostname"])
                    } else {
                        ip
                    }
                })
                .collect();
            let mut backends: Vec<String> = Vec::new();
            for r in arr(o, &["spec", "rules"]) {
                for p in arr(r, &["http", "paths"]) {
                    let svc = s(p, &["backend", "service", "name"]);
                    let port =
                        at(p, &["backend", "service", "port", "number"]).and_then(Value::as_i64);
                    backends.push(match port {
                        Some(port) => format!("{}→{svc}:{port}", s(p, &["path"])),
                        None => format!("{}→{svc}", s(p, &["path"])),
                    });
                }
            }
            vec![
                n,
                or_dash(s(o, &["spec", "ingressClassName"]).into()),
                if hosts.is_empty() {
                    "*".into()
                } else {
                    hosts.join(",")
                },
                or_dash(addr.join(",")),
                or_dash(backends.join(",")),
                a,
            ]
        }
        Kind::ConfigMap => {
            let keys = cm_keys(o);
            vec![n, keys.len().to_string(), or_dash(keys_text(&keys)), a]
        }
        Kind::Secret => {
            let keys = secret_keys(o);
            vec![
                n,
                or_dash(s(o, &["type"]).into()),
                keys.len().to_string(),
                or_dash(keys_text(&keys)),
                a,
            ]
        }
        Kind::PersistentVolumeClaim => vec![
            n,
            or_dash(s(o, &["status", "phase"]).into()),
            or_dash(s(o, &["spec", "volumeName"]).into()),
            or_dash(s(o, &["status", "capacity", "storage"]).into()),
            access_modes(arr(o, &["spec", "accessModes"])),
            or_dash(s(o, &["spec", "storageClassName"]).into()),
            a,
        ],
        Kind::PersistentVolume => vec![
            n,
            or_dash(s(o, &["spec", "capacity", "storage"]).into()),
            access_modes(arr(o, &["spec", "accessModes"])),
            or_dash(s(o, &["spec", "persistentVolumeReclaimPolicy"]).into()),
            or_dash(s(o, &["status", "phase"]).into()),
            {
                let cn = s(o, &["spec", "claimRef", "name"]);
                if cn.is_empty() {
                    "<none>".into()
                } else {
                    format!("{}/{cn}", s(o, &["spec", "claimRef", "namespace"]))
                }
            },
            or_dash(s(o, &["spec", "storageClassName"]).into()),
            a,
        ],
        Kind::StorageClass => vec![
            n,
            s(o, &["provisioner"]).into(),
            or_dash(s(o, &["reclaimPolicy"]).into()),
            or_dash(s(o, &["volumeBindingMode"]).into()),
            (s(
                o,
                &[
                    "metadata",
                    "annotations",
                    "storageclass.kubernetes.io/is-default-class",
                ],
            ) == "true")
                .to_string(),
            a,
        ],
        Kind::Node => {
            let ready = match cond_status(o, "Ready").as_deref() {
                Some("True") => "Ready",
                Some(_) => "NotReady",
                None => "Unknown",
            };
            let status = if at(o, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true)
            {
                format!("{ready},SchedulingDisabled")
            } else {
                ready.to_string()
            };
            let roles: Vec<&str> = at(o, &["metadata", "labels"])
                .and_then(Value::as_object)
                .map(|l| {
                    l.keys()
                        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                        .collect()
                })
                .unwrap_or_default();
            let taints: Vec<String> = arr(o, &["spec", "taints"])
                .iter()
                .map(|t| format!("{}:{}", s(t, &["key"]), s(t, &["effect"])))
                .collect();
            vec![
                n,
                status,
                or_dash(roles.join(",")),
                a,
                s(o, &["status", "nodeInfo", "kubeletVersion"]).into(),
                or_dash(taints.join(",")),
            ]
        }
        Kind::Namespace => vec![n, or_dash(s(o, &["status", "phase"]).into()), a],
        Kind::HorizontalPodAutoscaler => vec![
            n,
            format!(
                "{}/{}",
                s(o, &["spec", "scaleTargetRef", "kind"]),
                s(o, &["spec", "scaleTargetRef", "name"])
            ),
            at(o, &["spec", "minReplicas"])
                .and_then(Value::as_i64)
                .unwrap_or(1)
                .to_string(),
            num(&["spec", "maxReplicas"]),
            num(&["status", "currentReplicas"]),
            a,
        ],
        Kind::PodDisruptionBudget => vec![
            n,
            at(o, &["spec", "minAvailable"]).map_or("N/A".into(), scalar),
            at(o, &["spec", "maxUnavailable"]).map_or("N/A".into(), scalar),
            num(&["status", "disruptionsAllowed"]),
            a,
        ],
        Kind::NetworkPolicy => {
            let sel = selector_string(at(o, &["spec", "podSelector"]));
            vec![
                n,
                if sel.is_empty() {
                    "<all pods>".into()
                } else {
                    sel
                },
                a,
            ]
        }
        Kind::ServiceAccount => vec![n, arr(o, &["secrets"]).len().to_string(), a],
        Kind::Pod | Kind::Event => vec![n, a],
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn access_modes(modes: &[Value]) -> String {
    let short: Vec<&str> = modes
        .iter()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect();
    if short.is_empty() {
        "<none>".into()
    } else {
        short.join(",")
    }
}

/// `spec.replicas`, defaulting to 1 as the API does.
pub fn spec_replicas(o: &Value) -> i64 {
    at(o, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// Renders objects of `kind` as a table within `budget` bytes.
pub fn render(kind: Kind, items: &[Value], ns: Option<&str>, budget: usize) -> ToolOutput {
    let now = now();
    let mut sorted: Vec<&Value> = items.iter().collect();
    sorted.sort_by(|a, b| (namespace(a), name(a)).cmp(&(namespace(b), name(b))));
    let cols = columns(kind);
    let all_ns = ns.is_none() && kind.namespaced();
    let mut headers: Vec<&str> = Vec::new();
    if all_ns {
        headers.push("NAMESPACE");
    }
    headers.extend(cols.iter().copied());
    let mut rows = Vec::new();
    let mut summaries = Vec::new();
    for o in &sorted {
        let c: Vec<String> = cells(kind, o, now)
            .into_iter()
            .map(|c| mask_text(&c))
            .collect();
        let mut obj = Map::new();
        obj.insert("namespace".into(), json!(namespace(o)));
        for (h, v) in cols.iter().zip(c.iter()) {
            let key = h.to_ascii_lowercase().replace([' ', '-'], "_");
            obj.insert(key, json!(v));
        }
        obj.insert(
            "age_seconds".into(),
            json!(age_seconds(k8s::created(o), now)),
        );
        summaries.push(Value::Object(obj));
        let mut row = Vec::new();
        if all_ns {
            row.push(namespace(o).to_string());
        }
        row.extend(c);
        rows.push(row);
    }
    let place = match (kind.namespaced(), ns) {
        (false, _) => "cluster".to_string(),
        (true, Some(n)) => format!("namespace \"{n}\""),
        (true, None) => "all namespaces".to_string(),
    };
    let headline = format!("{} {} in {place}", items.len(), kind.plural());
    let text = if rows.is_empty() {
        format!("{headline}\n")
    } else {
        let lines = table(&headers, &rows);
        let fixed = vec![headline, lines[0].clone()];
        fit(&fixed, &lines[1..], budget, Keep::Head, "rows").0
    };
    ToolOutput {
        text,
        json: json!({
            "kind": kind.as_str(),
            "namespace": ns,
            "total": items.len(),
            "items": summaries,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_sizes() {
        assert_eq!(b64_len(""), 0);
        assert_eq!(b64_len("YQ=="), 1);
        assert_eq!(b64_len("YWI="), 2);
        assert_eq!(b64_len("YWJj"), 3);
        assert_eq!(
            b64_len("UzNDUjNULUNBTkFSWS03ZjNhOWM="),
            "S3CR3T-CANARY-7f3a9c".len()
        );
    }

    #[test]
    fn secrets_show_keys_and_sizes_only() {
        let secret = json!({"metadata": {"name": "s", "namespace": "shop"}, "type": "Opaque",
            "data": {"api-key": "UzNDUjNULUNBTkFSWS03ZjNhOWM="}});
        let out = render(Kind::Secret, &[secret], Some("shop"), 4096);
        assert!(out.text.contains("api-key(20B)"), "{}", out.text);
        let all = format!("{}{}", out.text, out.json);
        assert!(
            !all.contains("CANARY") && !all.contains("UzNDUjNU"),
            "{all}"
        );
    }

    #[test]
    fn deployment_table() {
        let d = json!({"metadata": {"name": "backend", "namespace": "shop"},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "b", "image": "shop/backend:1.4.0"}]}}},
            "status": {"readyReplicas": 1, "updatedReplicas": 3, "availableReplicas": 1}});
        let out = render(Kind::Deployment, &[d], None, 4096);
        assert!(
            out.text
                .contains("NAMESPACE  NAME     READY  UP-TO-DATE  AVAILABLE  AGE"),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("shop       backend  1/3    3           1"),
            "{}",
            out.text
        );
        assert_eq!(out.json["items"][0]["up_to_date"], "3");
    }
}
