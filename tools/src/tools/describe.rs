//! `describe`: one object's spec summary, status, conditions, related objects (owner, pods of
//! a workload, endpoints of a service) and recent events; secrets and tokens never shown.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::format::{DEFAULT_BUDGET, age, cap, table, truncate};
use crate::k8s::{self, at, i, map_str, name, s, selector_string};
use crate::kinds::{Kind, resolve_kind};
use crate::mask::{MASK, is_secret_like_name, mask_text};
use crate::pods;
use crate::registry::{Effect, ToolOutput};
use crate::tools::list_resources::{endpoint_addresses, images, secret_keys, spec_replicas};
use crate::tools::{Tool, events, now};

mod sections;

pub use sections::env_value;
use sections::{
    MAX_EVENTS, conditions, generic_section, metadata, node_section, pod_section, pods_table,
    revision, service_section, workload_section,
};

/// Arguments of `describe`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeArgs {
    /// Kind of the object, kubectl names accepted (pod, deploy, svc, sts, ds, cm, secret, pvc,
    /// node, ...).
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// Namespace; defaults to the current namespace (ignored for cluster-wide kinds).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// The `describe` tool.
pub struct Describe;

impl Tool for Describe {
    const NAME: &'static str = "describe";
    const EFFECT: Effect = Effect::Read;
    type Args = DescribeArgs;

    fn description() -> &'static str {
        "Describe one object: spec summary (containers, images, env as references, resources, probes), status, conditions, related objects (owner, pods of a workload, endpoints of a service) and recent events."
    }

    async fn run(cluster: &Cluster, args: DescribeArgs) -> Result<ToolOutput, ToolError> {
        let kind = resolve_kind(&args.kind).map_err(|e| match e {
            ToolError::InvalidArguments { message, .. } => ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message,
            },
            other => other,
        })?;
        let ns = cluster.ns(args.namespace.as_deref()).to_string();
        // Names never contain '/': `deploy/backend` (kubectl's form) names `backend`.
        let trimmed = args.name.trim();
        let obj_name = trimmed
            .rsplit_once('/')
            .map_or(trimmed, |(_, n)| n)
            .to_string();
        if obj_name.is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: "name must not be empty".into(),
            });
        }
        let obj = k8s::get(cluster, kind, &ns, &obj_name).await?;
        let ns_opt = kind.namespaced().then_some(ns.as_str());
        describe(cluster, kind, ns_opt, &obj).await
    }
}

struct Doc {
    lines: Vec<String>,
    json: Map<String, Value>,
}

impl Doc {
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }
    fn field(&mut self, label: &str, value: impl Into<String>) {
        let v = value.into();
        if !v.is_empty() {
            self.lines.push(format!("{label}: {v}"));
        }
    }
    fn table(&mut self, title: &str, headers: &[&str], rows: &[Vec<String>]) {
        if rows.is_empty() {
            self.lines.push(format!("{title}: <none>"));
            return;
        }
        self.lines.push(format!("{title}:"));
        for l in table(headers, rows) {
            self.lines.push(format!("  {l}"));
        }
    }
}

async fn describe(
    cluster: &Cluster,
    kind: Kind,
    ns: Option<&str>,
    obj: &Value,
) -> Result<ToolOutput, ToolError> {
    let now = now();
    let n = name(obj).to_string();
    let mut d = Doc {
        lines: Vec::new(),
        json: Map::new(),
    };
    let title = match ns {
        Some(ns) => format!("{kind} {ns}/{n}"),
        None => format!("{kind} {n}"),
    };
    d.line(title);
    d.json.insert("kind".into(), json!(kind.as_str()));
    d.json.insert("namespace".into(), json!(ns.unwrap_or("")));
    d.json.insert("name".into(), json!(n));
    metadata(&mut d, obj, now);

    // Names whose events belong to this description (the object, its replica sets and pods).
    let mut rel = Related {
        event_objects: vec![(kind.api_kind().to_string(), n.clone())],
        objects: Vec::new(),
    };
    match kind {
        Kind::Pod => {
            pod_section(&mut d, obj, now);
            if let Some(node) = Some(s(obj, &["spec", "nodeName"])).filter(|x| !x.is_empty()) {
                rel.objects.push(format!("node/{node}"));
            }
        }
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet | Kind::Job => {
            workload_section(&mut d, kind, obj);
            workload_related(cluster, &mut d, kind, ns.unwrap_or_default(), obj, &mut rel).await?;
        }
        Kind::Service => {
            service_section(&mut d, obj);
            service_related(cluster, &mut d, ns.unwrap_or_default(), obj, &mut rel).await?;
        }
        Kind::Secret => secret_section(&mut d, obj),
        Kind::ConfigMap => config_map_section(&mut d, obj),
        Kind::Node => {
            node_section(&mut d, obj);
            node_pods(cluster, &mut d, &n).await?;
        }
        _ => generic_section(&mut d, kind, obj),
    }

    conditions(&mut d, obj, now);
    if !rel.objects.is_empty() {
        d.json.insert("related".into(), json!(rel.objects));
    }
    if kind != Kind::Event {
        events_section(cluster, &mut d, ns, &rel.event_objects).await?;
    }
    let text = cap(d.lines.join("\n") + "\n", DEFAULT_BUDGET);
    Ok(ToolOutput {
        text,
        json: Value::Object(d.json),
    })
}

/// Objects found while describing: whose events to show, and what to list as related.
struct Related {
    /// (API kind, name) pairs whose events belong to the description.
    event_objects: Vec<(String, String)>,
    /// `replicaset/x`, `pod/y`...
    objects: Vec<String>,
}

/// A workload's replica sets (deployments) and pods.
async fn workload_related(
    cluster: &Cluster,
    d: &mut Doc,
    kind: Kind,
    ns: &str,
    obj: &Value,
    rel: &mut Related,
) -> Result<(), ToolError> {
    let now = now();
    if kind == Kind::Deployment {
        let rss =
            allowed(d, "ReplicaSets", replica_sets_of(cluster, ns, obj).await)?.unwrap_or_default();
        let rows: Vec<Vec<String>> = rss
            .iter()
            .map(|rs| {
                vec![
                    name(rs).to_string(),
                    revision(rs).to_string(),
                    format!(
                        "{}/{}",
                        i(rs, &["status", "readyReplicas"]),
                        spec_replicas(rs)
                    ),
                    images(at(rs, &["spec", "template", "spec"])),
                    age(k8s::created(rs), now),
                ]
            })
            .collect();
        d.table(
            "ReplicaSets",
            &["NAME", "REVISION", "READY", "IMAGES", "AGE"],
            &rows,
        );
        d.json.insert(
            "replica_sets".into(),
            json!(
                rss.iter()
                    .map(|rs| json!({
                        "name": name(rs), "revision": revision(rs),
                        "replicas": spec_replicas(rs),
                        "ready": i(rs, &["status", "readyReplicas"]),
                        "images": images(at(rs, &["spec", "template", "spec"])),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        for rs in &rss {
            rel.event_objects
                .push(("ReplicaSet".into(), name(rs).to_string()));
            rel.objects.push(format!("replicaset/{}", name(rs)));
        }
    }
    let selector = selector_string(at(obj, &["spec", "selector"]));
    if !selector.is_empty() {
        let pods = allowed(
            d,
            "Pods",
            k8s::list(cluster, Kind::Pod, Some(ns), Some(&selector), None).await,
        )?;
        if let Some(pods) = &pods {
            pods_table(d, pods, now);
        }
        for p in pods.iter().flatten() {
            rel.event_objects.push(("Pod".into(), name(p).to_string()));
            rel.objects.push(format!("pod/{}", name(p)));
        }
    }
    Ok(())
}

/// A service's endpoints and the pods its selector matches.
async fn service_related(
    cluster: &Cluster,
    d: &mut Doc,
    ns: &str,
    obj: &Value,
    rel: &mut Related,
) -> Result<(), ToolError> {
    let n = name(obj);
    match k8s::get_opt(cluster, Kind::Endpoints, Some(ns), n).await {
        Ok(Some(ep)) => {
            let (ready, not_ready) = endpoint_addresses(&ep);
            let shown = if ready.is_empty() {
                "<none>".to_string()
            } else {
                ready.join(", ")
            };
            d.field("Endpoints", format!("{shown} ({not_ready} not ready)"));
            d.json.insert(
                "endpoints".into(),
                json!({"ready": ready, "not_ready": not_ready}),
            );
            rel.objects.push(format!("endpoints/{n}"));
        }
        Ok(None) => d.field("Endpoints", "<none> (no Endpoints object)"),
        Err(kube::Error::Api(st)) if st.code == 403 => {
            d.field("Endpoints", "not checked (forbidden)")
        }
        Err(e) => {
            return Err(ToolError::from_kube(
                e,
                cluster,
                "get",
                "endpoints",
                Some(ns),
            ));
        }
    }
    if let Some(sel) =
        at(obj, &["spec", "selector"]).filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
    {
        let selector = map_str(Some(sel));
        let pods = allowed(
            d,
            "Pods",
            k8s::list(cluster, Kind::Pod, Some(ns), Some(&selector), None).await,
        )?;
        if let Some(pods) = &pods {
            pods_table(d, pods, now());
        }
        for p in pods.iter().flatten() {
            rel.objects.push(format!("pod/{}", name(p)));
        }
    }
    Ok(())
}

/// A secret's keys and sizes, never its values.
fn secret_section(d: &mut Doc, obj: &Value) {
    d.field("Type", s(obj, &["type"]));
    let keys = secret_keys(obj);
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|(k, n)| vec![k.clone(), format!("{n} bytes")])
        .collect();
    d.table("Data (values never shown)", &["KEY", "SIZE"], &rows);
    d.json.insert("type".into(), json!(s(obj, &["type"])));
    d.json.insert(
        "keys".into(),
        json!(
            keys.iter()
                .map(|(k, n)| json!({"key": k, "bytes": n}))
                .collect::<Vec<_>>()
        ),
    );
}

/// A config map's keys with masked, shortened values.
fn config_map_section(d: &mut Doc, obj: &Value) {
    let mut rows = Vec::new();
    let mut keys = Vec::new();
    if let Some(data) = obj.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            let v = v.as_str().unwrap_or_default();
            let shown = if is_secret_like_name(k) {
                MASK.to_string()
            } else {
                truncate(&mask_text(v).replace('\n', "⏎"), 160)
            };
            rows.push(vec![k.clone(), format!("{}B", v.len()), shown.clone()]);
            keys.push(json!({"key": k, "bytes": v.len(), "value": shown}));
        }
    }
    d.table("Data", &["KEY", "SIZE", "VALUE"], &rows);
    d.json.insert("data".into(), json!(keys));
}

/// How many pods a node runs and how many of them are unhealthy.
async fn node_pods(cluster: &Cluster, d: &mut Doc, node: &str) -> Result<(), ToolError> {
    let pods = allowed(
        d,
        "Pods",
        k8s::list(
            cluster,
            Kind::Pod,
            None,
            None,
            Some(&format!("spec.nodeName={node}")),
        )
        .await,
    )?;
    if let Some(pods) = pods {
        let unhealthy = pods.iter().filter(|p| !pods::healthy(p)).count();
        d.field("Pods", format!("{} ({unhealthy} unhealthy)", pods.len()));
        d.json.insert(
            "pods".into(),
            json!({"total": pods.len(), "unhealthy": unhealthy}),
        );
    }
    Ok(())
}

/// Events: one list of the namespace, matched to the object and its replica sets and pods.
async fn events_section(
    cluster: &Cluster,
    d: &mut Doc,
    ns: Option<&str>,
    event_objects: &[(String, String)],
) -> Result<(), ToolError> {
    let evs = match k8s::list(cluster, Kind::Event, ns, None, None).await {
        Ok(evs) => evs,
        Err(ToolError::Forbidden(_)) => {
            d.line("Events: not checked (forbidden to list events)");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let mut mine: Vec<&Value> = evs
        .iter()
        .filter(|e| {
            let k = s(e, &["involvedObject", "kind"]);
            let nm = s(e, &["involvedObject", "name"]);
            event_objects.iter().any(|(ok, on)| ok == k && on == nm)
        })
        .collect();
    events::sort(&mut mine);
    let total = mine.len();
    let shown = &mine[total.saturating_sub(MAX_EVENTS)..];
    let rows: Vec<Vec<String>> = events::rows(shown, false, now());
    let title = if total > shown.len() {
        format!("Events (last {} of {total}, oldest first)", shown.len())
    } else {
        "Events (oldest first)".to_string()
    };
    d.table(
        &title,
        &["LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"],
        &rows,
    );
    d.json.insert(
        "events".into(),
        json!(shown.iter().map(|e| events::summary(e)).collect::<Vec<_>>()),
    );
    Ok(())
}

/// A list the user may not read becomes a "not checked" line instead of failing the whole
/// description.
fn allowed(
    d: &mut Doc,
    what: &str,
    r: Result<Vec<Value>, ToolError>,
) -> Result<Option<Vec<Value>>, ToolError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ToolError::Forbidden(msg)) => {
            d.line(format!("{what}: not checked ({msg})"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The replica sets a deployment owns, newest revision first.
pub async fn replica_sets_of(
    cluster: &Cluster,
    ns: &str,
    deploy: &Value,
) -> Result<Vec<Value>, ToolError> {
    let selector = selector_string(at(deploy, &["spec", "selector"]));
    let uid = s(deploy, &["metadata", "uid"]);
    let all = k8s::list(
        cluster,
        Kind::ReplicaSet,
        Some(ns),
        Some(selector.as_str()).filter(|s| !s.is_empty()),
        None,
    )
    .await?;
    let mut owned: Vec<Value> = all
        .into_iter()
        .filter(|rs| k8s::owned_by(rs, "Deployment", name(deploy), uid))
        .collect();
    owned.sort_by_key(|rs| std::cmp::Reverse(revision(rs).parse::<i64>().unwrap_or(0)));
    Ok(owned)
}

#[cfg(test)]
mod tests;
