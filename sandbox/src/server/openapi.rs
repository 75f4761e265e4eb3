//! A minimal OpenAPI v3 description: the paths and the PATCH operations of every served
//! resource, so `kubectl apply` learns that the server takes `fieldValidation` and leaves
//! validation to it instead of downloading the whole schema.

use serde_json::{Value, json};

use crate::resources::{RESOURCES, ResourceType};

/// `GET /openapi/v3`: the group versions and where their documents are.
pub fn root() -> Value {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES {
        let key = gv_key(r);
        paths.entry(key.clone()).or_insert_with(
            || json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash=kai-sandbox")}),
        );
    }
    json!({"paths": paths})
}

fn gv_key(r: &ResourceType) -> String {
    r.base_path().trim_start_matches('/').to_string()
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/GROUP/VERSION`, if served.
pub fn group_version(key: &str) -> Option<Value> {
    let served: Vec<&ResourceType> = RESOURCES.iter().filter(|r| gv_key(r) == key).collect();
    if served.is_empty() {
        return None;
    }
    let mut paths = serde_json::Map::new();
    for r in served {
        let base = r.base_path();
        let path = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{base}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let params: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|p| query_param(p))
            .collect();
        paths.insert(
            path,
            json!({
                "patch": {
                    "description": format!("partially update the specified {}", r.kind),
                    "operationId": format!("patch{}", r.kind),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": params,
                    "responses": {"200": {"description": "OK"}}
                }
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kai sandbox)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}}
    }))
}
