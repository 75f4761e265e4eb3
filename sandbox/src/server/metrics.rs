//! The resource metrics API (`metrics.k8s.io/v1beta1`, as metrics-server serves it):
//! PodMetrics and NodeMetrics from the simulation's declared use, so `kubectl top` works.
//! Read-only: `get` and `list`, with label selectors.

use axum::response::Response;
use serde_json::{Value, json};

use super::{QueryPairs, Shared, param, value_response};
use crate::error::ApiError;
use crate::server::select::Selector;
use crate::sim::kinds::Kinds;
use crate::sim::metrics::{node_metrics, node_usage, pod_metrics};

/// The API group.
pub const GROUP: &str = "metrics.k8s.io";
/// Its one version.
pub const VERSION: &str = "v1beta1";

/// The group's resources: `(plural, singular, kind, namespaced)`.
const RESOURCES: &[(&str, &str, &str, bool)] = &[
    ("nodes", "", "NodeMetrics", false),
    ("pods", "", "PodMetrics", true),
];

/// `GET /apis/metrics.k8s.io/v1beta1` (`APIResourceList`).
pub fn resource_list(version: &str) -> Option<Value> {
    (version == VERSION).then(|| {
        let resources: Vec<Value> = RESOURCES
            .iter()
            .map(|(plural, singular, kind, namespaced)| {
                json!({"name": plural, "singularName": singular, "namespaced": namespaced,
                    "kind": kind, "verbs": ["get", "list"]})
            })
            .collect();
        json!({"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": format!("{GROUP}/{VERSION}"), "resources": resources})
    })
}

/// The group's resources in aggregated discovery.
pub fn aggregated_resources() -> Vec<Value> {
    RESOURCES
        .iter()
        .map(|(plural, singular, kind, namespaced)| {
            json!({"resource": plural, "singularResource": singular,
                "responseKind": {"group": GROUP, "version": VERSION, "kind": kind},
                "scope": if *namespaced { "Namespaced" } else { "Cluster" },
                "verbs": ["get", "list"]})
        })
        .collect()
}

/// Serves `/apis/metrics.k8s.io/v1beta1/REST...`.
pub fn serve(
    shared: &Shared,
    get: bool,
    rest: &[String],
    q: &QueryPairs,
) -> Result<Response, ApiError> {
    if !get {
        return Err(ApiError::method_not_allowed());
    }
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let (ns, plural, name) = match rest.as_slice() {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return Err(ApiError::no_route(&rest.join("/"))),
    };
    let selector = Selector::parse(param(q, "labelSelector"), None)?;
    let w = shared.lock();
    let now = w.store.clock().now();
    let (items, kind): (Vec<Value>, &str) = match plural {
        "pods" => (
            w.store
                .list(Kinds::pods(), ns)
                .iter()
                .filter(|p| name.is_none_or(|n| p["metadata"]["name"] == n))
                .filter(|p| selector.matches(p))
                .filter_map(|p| pod_metrics(&w.sim, &w.store, p, now))
                .collect(),
            "PodMetrics",
        ),
        "nodes" if ns.is_none() => {
            let used = node_usage(&w.sim, &w.store);
            let items = w
                .store
                .list(Kinds::nodes(), None)
                .iter()
                .filter(|n| name.is_none_or(|want| n["metadata"]["name"] == want))
                .filter(|n| selector.matches(n))
                .map(|n| {
                    node_metrics(
                        n,
                        used.get(n["metadata"]["name"].as_str().unwrap_or("")),
                        now,
                    )
                })
                .collect();
            (items, "NodeMetrics")
        }
        _ => return Err(ApiError::no_route(&rest.join("/"))),
    };
    if let Some(n) = name {
        return match items.into_iter().next() {
            Some(one) => Ok(value_response(200, &one)),
            None => Err(ApiError::not_found(GROUP, plural, n)),
        };
    }
    Ok(value_response(
        200,
        &json!({"kind": format!("{kind}List"), "apiVersion": format!("{GROUP}/{VERSION}"),
            "metadata": {}, "items": items}),
    ))
}
