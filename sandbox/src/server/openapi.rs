//! OpenAPI v3 documents with the real schemas of the served kinds, so `kubectl explain` and
//! clients that validate before sending find them: `/openapi/v3` lists one document per
//! group version, each holding the PATCH operations of its resources (kubectl reads which
//! query parameters the server takes from them) and every schema its kinds use.
//!
//! The schemas come from k8s-openapi's schemars support (the Kubernetes 1.33 definitions).
//! A document is built on its first request and kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) mod v2;

use k8s_openapi::api as k8s;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::resources::{RESOURCES, ResourceType};

/// `GET /openapi/v3`: the group versions and where their documents are.
pub fn root() -> Value {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES {
        let key = gv_key(r);
        paths.entry(key.clone()).or_insert_with(
            || json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash=kai-sandbox-1.33")}),
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

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/GROUP/VERSION` as JSON bytes, if served.
pub fn group_version(key: &str) -> Option<Arc<Vec<u8>>> {
    static DOCS: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let docs = DOCS.get_or_init(Default::default);
    if let Some(d) = docs.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
        return Some(d.clone());
    }
    let doc = Arc::new(serde_json::to_vec(&build(key)?).ok()?);
    docs.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_string(), doc.clone());
    Some(doc)
}

fn build(key: &str) -> Option<Value> {
    let served: Vec<&'static ResourceType> =
        RESOURCES.iter().filter(|r| gv_key(r) == key).collect();
    if served.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for r in &served {
        paths.insert(resource_path(r), patch_operation(r));
    }
    let mut schemas = Value::Object(definitions(&served));
    wrap_refs(&mut schemas);
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kai sandbox)", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    }))
}

/// The schemas of these resources' kinds and of everything they use, by name
/// (`io.k8s.api.apps.v1.Deployment`), referring to each other as `#/components/schemas/NAME`;
/// each kind's schema is marked with its group, version and kind.
pub(crate) fn definitions(served: &[&'static ResourceType]) -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let kinds: Vec<(String, &ResourceType)> = served
        .iter()
        .filter_map(|r| schema_of(r, &mut generator).map(|n| (n, *r)))
        .collect();
    let mut schemas = generator.take_definitions(true);
    for (name, r) in kinds {
        if let Some(s) = schemas.get_mut(&name).and_then(Value::as_object_mut) {
            s.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": r.group, "version": r.version, "kind": r.kind}]),
            );
        }
    }
    schemas
}

fn resource_path(r: &ResourceType) -> String {
    let base = r.base_path();
    if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
    } else {
        format!("{base}/{}/{{name}}", r.plural)
    }
}

fn patch_operation(r: &ResourceType) -> Value {
    let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let params: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
        .iter()
        .map(|p| query_param(p))
        .collect();
    json!({
        "patch": {
            "description": format!("partially update the specified {}", r.kind),
            "operationId": format!("patch{}", r.kind),
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
            "parameters": params,
            "responses": {"200": {"description": "OK"}}
        }
    })
}

/// A `$ref` with siblings (a description) becomes `allOf: [{$ref}]` beside them, as the API
/// server writes it: OpenAPI 3.0 readers ignore a `$ref`'s siblings.
fn wrap_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.len() > 1
                && let Some(r) = m.remove("$ref")
            {
                m.insert("allOf".into(), json!([{"$ref": r}]));
            }
            m.values_mut().for_each(wrap_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(wrap_refs),
        _ => {}
    }
}

/// Adds the schema of `r`'s kind (and all it uses) to the generator; its name.
fn schema_of(r: &ResourceType, g: &mut SchemaGenerator) -> Option<String> {
    use schemars::JsonSchema;
    fn add<T: JsonSchema>(g: &mut SchemaGenerator) -> Option<String> {
        g.subschema_for::<T>();
        Some(T::schema_name().into_owned())
    }
    match (r.group, r.version, r.kind) {
        ("", "v1", "Namespace") => add::<k8s::core::v1::Namespace>(g),
        ("", "v1", "Node") => add::<k8s::core::v1::Node>(g),
        ("", "v1", "Pod") => add::<k8s::core::v1::Pod>(g),
        ("", "v1", "Service") => add::<k8s::core::v1::Service>(g),
        ("", "v1", "Endpoints") => add::<k8s::core::v1::Endpoints>(g),
        ("", "v1", "Event") => add::<k8s::core::v1::Event>(g),
        ("", "v1", "ConfigMap") => add::<k8s::core::v1::ConfigMap>(g),
        ("", "v1", "Secret") => add::<k8s::core::v1::Secret>(g),
        ("", "v1", "ServiceAccount") => add::<k8s::core::v1::ServiceAccount>(g),
        ("", "v1", "PersistentVolumeClaim") => add::<k8s::core::v1::PersistentVolumeClaim>(g),
        ("", "v1", "PersistentVolume") => add::<k8s::core::v1::PersistentVolume>(g),
        ("", "v1", "ResourceQuota") => add::<k8s::core::v1::ResourceQuota>(g),
        ("", "v1", "LimitRange") => add::<k8s::core::v1::LimitRange>(g),
        ("apps", "v1", "Deployment") => add::<k8s::apps::v1::Deployment>(g),
        ("apps", "v1", "ReplicaSet") => add::<k8s::apps::v1::ReplicaSet>(g),
        ("apps", "v1", "StatefulSet") => add::<k8s::apps::v1::StatefulSet>(g),
        ("apps", "v1", "DaemonSet") => add::<k8s::apps::v1::DaemonSet>(g),
        ("apps", "v1", "ControllerRevision") => add::<k8s::apps::v1::ControllerRevision>(g),
        ("batch", "v1", "Job") => add::<k8s::batch::v1::Job>(g),
        ("batch", "v1", "CronJob") => add::<k8s::batch::v1::CronJob>(g),
        ("autoscaling", "v2", "HorizontalPodAutoscaler") => {
            add::<k8s::autoscaling::v2::HorizontalPodAutoscaler>(g)
        }
        ("policy", "v1", "PodDisruptionBudget") => add::<k8s::policy::v1::PodDisruptionBudget>(g),
        ("networking.k8s.io", "v1", "Ingress") => add::<k8s::networking::v1::Ingress>(g),
        ("networking.k8s.io", "v1", "IngressClass") => add::<k8s::networking::v1::IngressClass>(g),
        ("networking.k8s.io", "v1", "NetworkPolicy") => {
            add::<k8s::networking::v1::NetworkPolicy>(g)
        }
        ("storage.k8s.io", "v1", "StorageClass") => add::<k8s::storage::v1::StorageClass>(g),
        ("discovery.k8s.io", "v1", "EndpointSlice") => add::<k8s::discovery::v1::EndpointSlice>(g),
        ("coordination.k8s.io", "v1", "Lease") => add::<k8s::coordination::v1::Lease>(g),
        ("events.k8s.io", "v1", "Event") => add::<k8s::events::v1::Event>(g),
        ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration") => {
            add::<k8s::admissionregistration::v1::ValidatingWebhookConfiguration>(g)
        }
        ("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration") => {
            add::<k8s::admissionregistration::v1::MutatingWebhookConfiguration>(g)
        }
        ("rbac.authorization.k8s.io", "v1", "Role") => add::<k8s::rbac::v1::Role>(g),
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => add::<k8s::rbac::v1::RoleBinding>(g),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => add::<k8s::rbac::v1::ClusterRole>(g),
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            add::<k8s::rbac::v1::ClusterRoleBinding>(g)
        }
        ("authorization.k8s.io", "v1", "SelfSubjectAccessReview") => {
            add::<k8s::authorization::v1::SelfSubjectAccessReview>(g)
        }
        ("authorization.k8s.io", "v1", "SelfSubjectRulesReview") => {
            add::<k8s::authorization::v1::SelfSubjectRulesReview>(g)
        }
        ("authentication.k8s.io", "v1", "SelfSubjectReview") => {
            add::<k8s::authentication::v1::SelfSubjectReview>(g)
        }
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition") => add::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(g),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_the_kinds_schemas_with_their_gvk() {
        let start = std::time::Instant::now();
        let doc: Value = serde_json::from_slice(&group_version("apis/apps/v1").unwrap()).unwrap();
        let d = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            d["x-kubernetes-group-version-kind"][0]["kind"],
            json!("Deployment")
        );
        assert_eq!(
            d["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"
        );
        assert!(
            doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
                .is_object()
        );
        let core = group_version("api/v1").unwrap();
        eprintln!(
            "apps/v1 + api/v1 built in {:?}; api/v1 is {} bytes",
            start.elapsed(),
            core.len()
        );
        assert!(group_version("apis/nothing/v1").is_none());
        // Every group version served has a document.
        for r in RESOURCES {
            assert!(group_version(&gv_key(r)).is_some(), "{}", r.plural);
        }
    }
}
