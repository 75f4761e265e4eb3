//! `list_pods`: pods with READY, STATUS, RESTARTS, AGE and node, optionally only unhealthy ones.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::contract::{Effect, ToolOutput};
use crate::error::ToolError;
use crate::format::{DEFAULT_BUDGET, Keep, age, age_seconds, fit, table};
use crate::k8s::{self, name, namespace, s};
use crate::kinds::Kind;
use crate::pods;
use crate::tools::{Tool, now, scope};

/// Arguments of `list_pods`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPodsArgs {
    /// Namespace to list; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// List pods in every namespace (do not combine with namespace).
    #[serde(default)]
    pub all_namespaces: bool,
    /// Label selector, e.g. `app=backend` or `tier in (web,api)`.
    #[serde(default)]
    pub label_selector: Option<String>,
    /// Only pods that are not running and ready (crashing, pending, failed...).
    #[serde(default)]
    pub only_unhealthy: bool,
}

/// The `list_pods` tool.
pub struct ListPods;

impl Tool for ListPods {
    const NAME: &'static str = "list_pods";
    const EFFECT: Effect = Effect::Read;
    type Args = ListPodsArgs;

    fn description() -> &'static str {
        "List pods with READY, STATUS (CrashLoopBackOff, Pending, ...), RESTARTS, AGE and NODE, like `kubectl get pods`. Use only_unhealthy to see just the failing ones."
    }

    async fn run(cluster: &Cluster, args: ListPodsArgs) -> Result<ToolOutput, ToolError> {
        let ns = scope(
            Self::NAME,
            cluster,
            args.namespace.as_deref(),
            args.all_namespaces,
        )?;
        let items =
            k8s::list_checked(cluster, Kind::Pod, ns, args.label_selector.as_deref()).await?;
        Ok(render(&items, ns, args.only_unhealthy, DEFAULT_BUDGET))
    }
}

/// One pod as a row: `(json summary, table cells)`.
pub fn pod_row(p: &Value, now: jiff::Timestamp) -> (Value, Vec<String>) {
    let (r, t) = pods::ready(p);
    let st = pods::status(p);
    let restarts = pods::restarts(p);
    let last = pods::last_restart(p);
    let restarts_text = match (restarts, last) {
        (0, _) | (_, None) => restarts.to_string(),
        (n, Some(ts)) => format!("{n} ({} ago)", age(Some(ts), now)),
    };
    let node = s(p, &["spec", "nodeName"]);
    let summary = json!({
        "namespace": namespace(p),
        "name": name(p),
        "ready": format!("{r}/{t}"),
        "status": st,
        "restarts": restarts,
        "age_seconds": age_seconds(k8s::created(p), now),
        "node": node,
        "ip": s(p, &["status", "podIP"]),
        "healthy": pods::healthy(p),
    });
    let cells = vec![
        namespace(p).to_string(),
        name(p).to_string(),
        format!("{r}/{t}"),
        st,
        restarts_text,
        age(k8s::created(p), now),
        node.to_string(),
    ];
    (summary, cells)
}

/// Renders pods as a table within `budget` bytes.
pub fn render(
    items: &[Value],
    ns: Option<&str>,
    only_unhealthy: bool,
    budget: usize,
) -> ToolOutput {
    let now = now();
    let total = items.len();
    let mut shown: Vec<&Value> = items
        .iter()
        .filter(|p| !only_unhealthy || !pods::healthy(p))
        .collect();
    // kubectl's order: namespace, then name.
    shown.sort_by(|a, b| (namespace(a), name(a)).cmp(&(namespace(b), name(b))));
    let mut rows = Vec::new();
    let mut summaries = Vec::new();
    for p in &shown {
        let (summary, mut cells) = pod_row(p, now);
        if ns.is_some() {
            cells.remove(0);
        }
        rows.push(cells);
        summaries.push(summary);
    }
    let unhealthy = items.iter().filter(|p| !pods::healthy(p)).count();
    let place = match ns {
        Some(n) => format!("namespace \"{n}\""),
        None => "all namespaces".into(),
    };
    let headline = if only_unhealthy {
        format!("{unhealthy} unhealthy of {total} pods in {place}")
    } else {
        format!("{total} pods in {place} ({unhealthy} unhealthy)")
    };
    let text = if rows.is_empty() {
        format!("{headline}\n")
    } else {
        let headers: Vec<&str> = if ns.is_some() {
            vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
        } else {
            vec![
                "NAMESPACE",
                "NAME",
                "READY",
                "STATUS",
                "RESTARTS",
                "AGE",
                "NODE",
            ]
        };
        let lines = table(&headers, &rows);
        let fixed = vec![headline.clone(), lines[0].clone()];
        fit(&fixed, &lines[1..], budget, Keep::Head, "rows").0
    };
    ToolOutput {
        text,
        json: json!({
            "namespace": ns,
            "total": total,
            "unhealthy": unhealthy,
            "pods": summaries,
        }),
    }
}
