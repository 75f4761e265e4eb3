//! The config a container references: env from Secrets and ConfigMaps (and their keys),
//! and volumes from them, checked the way the kubelet words a missing one.

use serde_json::Value;

use crate::sim::kinds::Kinds;
use crate::sim::object::{arr, namespace};
use crate::store::Store;

/// The first env reference whose Secret, ConfigMap or key is missing, worded as the kubelet.
pub fn config_error(store: &Store, ns: &str, c: &Value) -> Option<String> {
    let has_key = |obj: &Value, key: &str| {
        ["data", "stringData", "binaryData"]
            .iter()
            .any(|f| obj[*f].get(key).is_some())
    };
    for e in arr(c, "/env") {
        for (field, kind, plural) in [
            ("secretKeyRef", "Secret", "secret"),
            ("configMapKeyRef", "ConfigMap", "configmap"),
        ] {
            let r = &e["valueFrom"][field];
            if !r.is_object() || r["optional"].as_bool() == Some(true) {
                continue;
            }
            let n = r["name"].as_str().unwrap_or("");
            let key = r["key"].as_str().unwrap_or("");
            let rt = if kind == "Secret" {
                Kinds::secrets()
            } else {
                Kinds::configmaps()
            };
            match store.get(rt, ns, n) {
                None => return Some(format!("{plural} \"{n}\" not found")),
                Some(obj) if !has_key(&obj, key) => {
                    return Some(format!("couldn't find key {key} in {kind} {ns}/{n}"));
                }
                Some(_) => {}
            }
        }
    }
    for from in arr(c, "/envFrom") {
        for (field, plural) in [("configMapRef", "configmap"), ("secretRef", "secret")] {
            let r = &from[field];
            if !r.is_object() || r["optional"].as_bool() == Some(true) {
                continue;
            }
            let n = r["name"].as_str().unwrap_or("");
            let rt = if plural == "secret" {
                Kinds::secrets()
            } else {
                Kinds::configmaps()
            };
            if store.get(rt, ns, n).is_none() {
                return Some(format!("{plural} \"{n}\" not found"));
            }
        }
    }
    None
}

/// The first volume whose Secret or ConfigMap is missing: (volume name, cause).
pub fn missing_volume(store: &Store, pod: &Value) -> Option<(String, String)> {
    let ns = namespace(pod);
    let check = |v: &Value| -> Option<String> {
        if v["secret"].is_object() && v["secret"]["optional"].as_bool() != Some(true) {
            let n = v["secret"]["secretName"].as_str().unwrap_or("");
            if store.get(Kinds::secrets(), ns, n).is_none() {
                return Some(format!("secret \"{n}\" not found"));
            }
        }
        if v["configMap"].is_object() && v["configMap"]["optional"].as_bool() != Some(true) {
            let n = v["configMap"]["name"].as_str().unwrap_or("");
            if store.get(Kinds::configmaps(), ns, n).is_none() {
                return Some(format!("configmap \"{n}\" not found"));
            }
        }
        for src in arr(v, "/projected/sources") {
            for (field, plural, rt) in [
                ("secret", "secret", Kinds::secrets()),
                ("configMap", "configmap", Kinds::configmaps()),
            ] {
                let r = &src[field];
                if r.is_object() && r["optional"].as_bool() != Some(true) {
                    let n = r["name"].as_str().unwrap_or("");
                    if store.get(rt, ns, n).is_none() {
                        return Some(format!("{plural} \"{n}\" not found"));
                    }
                }
            }
        }
        None
    };
    arr(pod, "/spec/volumes")
        .iter()
        .find_map(|v| check(v).map(|m| (v["name"].as_str().unwrap_or("").to_string(), m)))
}
