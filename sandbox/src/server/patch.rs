//! PATCH bodies: JSON merge patch, JSON patch, and strategic merge patch for what kubectl sends.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The patch types the sandbox understands, from the request's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml`: server-side apply (`server/apply.rs`).
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type`, or `415 UnsupportedMediaType`.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/json-patch+json" => Ok(Self::Json),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" => Ok(Self::Apply),
            _ => Err(ApiError::unsupported_media_type(ct)),
        }
    }
}

/// Applies a patch body to `target`, returning the patched object.
pub fn apply(kind: PatchType, target: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let mut doc = target.clone();
    match kind {
        // Apply needs field ownership; `write::patch_object` sends it to `server::apply`.
        PatchType::Apply => {
            return Err(ApiError::unsupported_media_type(
                "application/apply-patch+yaml",
            ));
        }
        PatchType::Merge => {
            let p: Value = parse(body)?;
            json_patch::merge(&mut doc, &p);
        }
        PatchType::Json => {
            let p: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &p).map_err(|e| {
                ApiError::invalid_patch(&format!("the JSON patch could not be applied: {e}"))
            })?;
        }
        PatchType::Strategic => {
            let p: Value = parse(body)?;
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "a strategic merge patch must be a JSON object",
                ));
            }
            strategic(&mut doc, &p, "");
        }
    }
    Ok(doc)
}

fn parse(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// The key by which the items of list field `field` are merged, as the Kubernetes types
/// declare it (`patchMergeKey`); None means the list is replaced.
pub(crate) fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "conditions" | "addresses" => "type",
        "ownerReferences" => "uid",
        "taints" => "key",
        "topologySpreadConstraints" => "topologyKey",
        // Container ports merge by containerPort, Service ports by port.
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                "containerPort"
            } else {
                "port"
            }
        }
        _ => return None,
    })
}

/// Lists of scalars whose patch strategy is merge (union), not replace.
fn merges_scalars(field: &str) -> bool {
    field == "finalizers"
}

/// Removes `$patch`-style directives from a value being inserted as it is.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(clean).collect()),
        other => other.clone(),
    }
}

fn strategic(target: &mut Value, patch: &Value, _field: &str) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = clean(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        return;
    };
    for (k, v) in p {
        if let Some(list_field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(cur)), Some(del)) = (t.get_mut(list_field), v.as_array()) {
                cur.retain(|x| !del.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                t.remove(k);
            }
            Value::Object(inner) => {
                if inner.get("$patch").and_then(Value::as_str) == Some("delete") {
                    t.remove(k);
                } else {
                    strategic(t.entry(k.clone()).or_insert(Value::Null), v, k);
                }
            }
            Value::Array(items) => merge_list(t, k, items),
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
}

fn merge_list(t: &mut Map<String, Value>, field: &str, items: &[Value]) {
    let replace = items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let current = t.get(field).and_then(Value::as_array);
    if replace || current.is_none() {
        let list = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(clean)
            .collect();
        t.insert(field.to_string(), Value::Array(list));
        return;
    }
    if merges_scalars(field) {
        let mut cur = current.cloned().unwrap_or_default();
        for i in items {
            if !cur.contains(i) {
                cur.push(i.clone());
            }
        }
        t.insert(field.to_string(), Value::Array(cur));
        return;
    }
    let Some(key) = merge_key(field, items) else {
        t.insert(field.to_string(), clean(&Value::Array(items.to_vec())));
        return;
    };
    let mut cur = current.cloned().unwrap_or_default();
    for item in items {
        let id = item.get(key);
        let pos = id.and_then(|id| cur.iter().position(|c| c.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                cur.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic(&mut cur[i], item, field),
            (None, false) => cur.push(clean(item)),
        }
    }
    t.insert(field.to_string(), Value::Array(cur));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smp(target: Value, patch: Value) -> Value {
        apply(PatchType::Strategic, &target, patch.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let d = json!({"spec": {"template": {"metadata": {"annotations": {"a": "1"}}, "spec": {"containers": [
            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "side:1"}
        ]}}}});
        let out = smp(
            d,
            json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}, "spec": {
                "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                "containers": [{"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]},
                               {"name": "side", "$patch": "delete"}]}}}}),
        );
        let tpl = &out["spec"]["template"];
        assert_eq!(tpl["metadata"]["annotations"]["a"], "1");
        assert_eq!(
            tpl["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "now"
        );
        let cs = tpl["spec"]["containers"].as_array().unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0]["image"], "app:2");
        assert_eq!(cs[0]["env"].as_array().unwrap().len(), 2);
        assert_eq!(cs[0]["ports"][0]["containerPort"], 80);
    }

    #[test]
    fn strategic_null_deletes_and_replace_directive() {
        let out = smp(
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"selector": {"x": "1", "y": "2"}, "args": ["a", "b"]}}),
            json!({"metadata": {"labels": {"a": null}}, "spec": {"selector": {"$patch": "replace", "z": "3"}, "args": ["c"]}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(out["spec"]["selector"], json!({"z": "3"}));
        assert_eq!(out["spec"]["args"], json!(["c"]));
    }

    #[test]
    fn merge_and_json_patch() {
        let t = json!({"spec": {"replicas": 1, "x": 1}});
        let m = apply(PatchType::Merge, &t, br#"{"spec":{"replicas":3,"x":null}}"#).unwrap();
        assert_eq!(m, json!({"spec": {"replicas": 3}}));
        let j = apply(
            PatchType::Json,
            &t,
            br#"[{"op":"replace","path":"/spec/replicas","value":5}]"#,
        )
        .unwrap();
        assert_eq!(j["spec"]["replicas"], 5);
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml").unwrap(),
            PatchType::Apply
        );
        assert_eq!(
            PatchType::from_content_type("application/xml")
                .unwrap_err()
                .code,
            415
        );
    }
}
