//! CustomResourceDefinitions: a definition in the store makes its resource served (routing,
//! discovery, CRUD, watch, validation from its `openAPIV3Schema`); a scenario's custom
//! resources without a definition are served schemaless, with a notice.

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::resources::{CustomType, ResourceType, by_plural, custom_types, register_custom};
use crate::store::Store;

fn crds() -> Option<&'static ResourceType> {
    by_plural("apiextensions.k8s.io", "customresourcedefinitions")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The version a definition serves its objects as: the storage version, else the first
/// served one.
fn served_version(crd: &Value) -> Option<&Value> {
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array)?;
    versions
        .iter()
        .find(|v| v["storage"] == true && v["served"] != false)
        .or_else(|| versions.iter().find(|v| v["served"] != false))
}

/// The resource type a CustomResourceDefinition describes, or what is missing from it.
pub fn custom_type_of(crd: &Value) -> Result<CustomType, String> {
    let spec = crd.get("spec").ok_or("spec: Required value")?;
    let group = spec["group"]
        .as_str()
        .filter(|g| !g.is_empty())
        .ok_or("spec.group: Required value")?;
    let names = &spec["names"];
    let kind = names["kind"]
        .as_str()
        .filter(|k| !k.is_empty())
        .ok_or("spec.names.kind: Required value")?;
    let plural = names["plural"]
        .as_str()
        .filter(|p| !p.is_empty())
        .ok_or("spec.names.plural: Required value")?;
    let version = served_version(crd).and_then(|v| v["name"].as_str()).ok_or(
        "spec.versions: Required value: must have exactly one version marked as storage version",
    )?;
    let subresources = served_version(crd)
        .and_then(|v| v.get("subresources"))
        .and_then(Value::as_object)
        .map(|m| {
            ["status", "scale"]
                .iter()
                .filter(|s| m.contains_key(**s))
                .map(|s| s.to_string())
                .collect()
        })
        .unwrap_or_default();
    Ok(CustomType {
        group: group.to_string(),
        version: version.to_string(),
        kind: kind.to_string(),
        plural: plural.to_string(),
        singular: names["singular"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map_or_else(|| kind.to_lowercase(), str::to_string),
        namespaced: spec["scope"].as_str() != Some("Cluster"),
        short_names: strings(&names["shortNames"]),
        categories: strings(&names["categories"]),
        subresources,
    })
}

/// Checks a definition as the apiextensions server does before storing it: names agree with
/// `metadata.name` (`PLURAL.GROUP`) and a storage version exists.
pub fn check_definition(crd: &Value) -> Result<(), ApiError> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let invalid = |field: &str, detail: String| ApiError {
        code: 422,
        reason: "Invalid",
        message: format!(
            "CustomResourceDefinition.apiextensions.k8s.io \"{name}\" is invalid: {field}: {detail}"
        ),
        details: Some(
            json!({"name": name, "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition",
            "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}]}),
        ),
    };
    let t = custom_type_of(crd).map_err(|e| {
        let (field, detail) = e.split_once(": ").unwrap_or(("spec", e.as_str()));
        invalid(field, detail.to_string())
    })?;
    let want = format!("{}.{}", t.plural, t.group);
    if name != want {
        return Err(invalid(
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    Ok(())
}

/// Registers the type of a definition (see [`register_custom`]).
pub fn register(crd: &Value) -> Option<&'static ResourceType> {
    custom_type_of(crd).ok().map(|t| register_custom(&t))
}

/// The definition in `store` of a custom type, if the store holds one.
pub fn definition(store: &Store, rt: &ResourceType) -> Option<std::sync::Arc<Value>> {
    store.get(crds()?, "", &format!("{}.{}", rt.plural, rt.group))
}

/// Whether `store` serves `rt`: every built-in, and custom types it holds a definition of.
pub fn is_served(store: &Store, rt: &ResourceType) -> bool {
    !crate::resources::is_custom(rt) || definition(store, rt).is_some()
}

/// The custom types `store` serves, in the order of their definitions' names.
pub fn served_types(store: &Store) -> Vec<&'static ResourceType> {
    let Some(c) = crds() else {
        return Vec::new();
    };
    store
        .list(c, None)
        .iter()
        .filter_map(|d| register(d))
        .collect()
}

/// The `openAPIV3Schema` of a custom type's served version, if its definition has one.
pub fn schema_of(store: &Store, rt: &ResourceType) -> Option<Value> {
    let d = definition(store, rt)?;
    served_version(&d)
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
        .cloned()
}

/// One pass of the apiextensions controllers: definitions get their `Established` and
/// `NamesAccepted` conditions; the objects of a type whose definition is gone are deleted.
pub fn reconcile(store: &mut Store) {
    let Some(c) = crds() else {
        return;
    };
    let now = rfc3339(store.clock().now());
    for d in store.list(c, None) {
        register(&d);
        if d.pointer("/status/acceptedNames/kind").is_some() {
            continue;
        }
        let Ok(t) = custom_type_of(&d) else {
            continue;
        };
        let mut next = (*d).clone();
        let cond = |ty: &str, reason: &str, message: &str| json!({"type": ty, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now});
        next["status"] = json!({
            "acceptedNames": d["spec"]["names"],
            "storedVersions": [t.version],
            "conditions": [
                cond("NamesAccepted", "NoConflicts", "no conflicts found"),
                cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
        });
        let _ = store.update(c, next);
    }
    for rt in custom_types() {
        if definition(store, rt).is_some() || store.count(rt) == 0 {
            continue;
        }
        for o in store.list(rt, None) {
            let ns = o["metadata"]["namespace"].as_str().unwrap_or("");
            let name = o["metadata"]["name"].as_str().unwrap_or("");
            let _ = store.delete(rt, ns, name);
        }
    }
}

/// English plural of a kind, as CRDs conventionally name theirs (`ServiceMonitor` →
/// `servicemonitors`, `Policy` → `policies`).
fn plural_of(kind: &str) -> String {
    let k = kind.to_lowercase();
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        format!("{k}es")
    } else if let Some(stem) = k.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{k}s")
    }
}

/// The type of a custom resource met without its definition (`monitoring.coreos.com/v1`,
/// `ServiceMonitor`): named by convention, namespaced unless its kind says `Cluster...`.
pub fn schemaless_type(api_version: &str, kind: &str) -> Option<CustomType> {
    let (group, version) = api_version.split_once('/')?;
    if group.is_empty() || version.is_empty() || kind.is_empty() {
        return None;
    }
    Some(CustomType {
        group: group.to_string(),
        version: version.to_string(),
        kind: kind.to_string(),
        plural: plural_of(kind),
        singular: kind.to_lowercase(),
        namespaced: !kind.starts_with("Cluster"),
        short_names: Vec::new(),
        categories: Vec::new(),
        subresources: vec!["status".to_string()],
    })
}

/// Registers the type of a custom resource a scenario holds without its definition, so it
/// loads (schemaless); `None` for a kind of a built-in group, which no definition can add.
pub fn register_schemaless(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    let t = schemaless_type(api_version, kind)?;
    let builtin_group = crate::resources::RESOURCES
        .iter()
        .any(|r| r.group == t.group);
    if builtin_group {
        return None;
    }
    Some(register_custom(&t))
}

/// A definition that accepts any object of the type: what a scenario's custom resources
/// without a definition are served under.
pub fn schemaless_definition(t: &CustomType) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}.{}", t.plural, t.group),
            "annotations": {"sandbox.kai.dev/schemaless": "true"}},
        "spec": {
            "group": t.group,
            "names": {"kind": t.kind, "plural": t.plural, "singular": t.singular,
                "listKind": format!("{}List", t.kind)},
            "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
            "versions": [{"name": t.version, "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}}}],
        }
    })
}

/// Gives every custom type with objects in `store` but no definition there a schemaless
/// one; returns a notice per type so the user knows why its objects are not validated.
pub fn adopt_schemaless(store: &mut Store) -> Vec<String> {
    let Some(c) = crds() else {
        return Vec::new();
    };
    let mut notices = Vec::new();
    for rt in custom_types() {
        if store.count(rt) == 0 || definition(store, rt).is_some() {
            continue;
        }
        let t = CustomType {
            group: rt.group.to_string(),
            version: rt.version.to_string(),
            kind: rt.kind.to_string(),
            plural: rt.plural.to_string(),
            singular: rt.singular.to_string(),
            namespaced: rt.namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            subresources: rt.subresources.iter().map(|s| s.to_string()).collect(),
        };
        if store.create(c, schemaless_definition(&t)).is_ok() {
            notices.push(format!(
                "{} ({}) has no CustomResourceDefinition in the scenario: its {} object(s) are served schemaless (not validated); add the CRD to validate them",
                rt.kind,
                rt.api_version(),
                store.count(rt)
            ));
        }
    }
    reconcile(store);
    notices
}

#[cfg(test)]
mod tests;
