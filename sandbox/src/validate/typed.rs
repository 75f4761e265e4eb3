//! Decoding an object into its typed k8s-openapi struct, as the API server decodes a body:
//! a wrong type is a `400` naming the field, and fields the struct does not have are unknown.

use k8s_openapi::api::{
    admissionregistration, apps, autoscaling, batch, coordination, core, discovery, networking,
    policy, rbac, storage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::resources::ResourceType;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A field the typed struct does not have: its path, and the path as the API server prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// Where it is.
    pub path: Vec<Seg>,
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.path.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Decodes `obj` as `rt`'s typed struct; returns the unknown fields. Kinds without a typed
/// struct here (custom resources) decode as anything.
pub fn decode(rt: &ResourceType, obj: &Value) -> Result<Vec<Unknown>, ApiError> {
    let mut probe = obj.clone();
    if let Some(m) = probe.as_object_mut() {
        // The URL names the type; the body may leave these out.
        m.insert("apiVersion".into(), Value::String(rt.api_version()));
        m.insert("kind".into(), Value::String(rt.kind.to_string()));
    }
    let Some(back) = round_trip(rt, &probe)? else {
        return Ok(Vec::new());
    };
    let mut unknown = Vec::new();
    diff(&probe, &back, &mut Vec::new(), &mut unknown);
    Ok(unknown)
}

fn round_trip(rt: &ResourceType, obj: &Value) -> Result<Option<Value>, ApiError> {
    use admissionregistration::v1 as adm;
    use core::v1 as c;
    Ok(Some(match (rt.group, rt.kind) {
        ("", "Pod") => via::<c::Pod>(rt, obj)?,
        ("", "Service") => via::<c::Service>(rt, obj)?,
        ("", "ConfigMap") => via::<c::ConfigMap>(rt, obj)?,
        ("", "Secret") => via::<c::Secret>(rt, obj)?,
        ("", "Namespace") => via::<c::Namespace>(rt, obj)?,
        ("", "Node") => via::<c::Node>(rt, obj)?,
        ("", "Endpoints") => via::<c::Endpoints>(rt, obj)?,
        ("", "Event") => via::<c::Event>(rt, obj)?,
        ("", "ServiceAccount") => via::<c::ServiceAccount>(rt, obj)?,
        ("", "PersistentVolumeClaim") => via::<c::PersistentVolumeClaim>(rt, obj)?,
        ("", "PersistentVolume") => via::<c::PersistentVolume>(rt, obj)?,
        ("", "ResourceQuota") => via::<c::ResourceQuota>(rt, obj)?,
        ("", "LimitRange") => via::<c::LimitRange>(rt, obj)?,
        ("apps", "Deployment") => via::<apps::v1::Deployment>(rt, obj)?,
        ("apps", "ReplicaSet") => via::<apps::v1::ReplicaSet>(rt, obj)?,
        ("apps", "StatefulSet") => via::<apps::v1::StatefulSet>(rt, obj)?,
        ("apps", "DaemonSet") => via::<apps::v1::DaemonSet>(rt, obj)?,
        ("apps", "ControllerRevision") => via::<apps::v1::ControllerRevision>(rt, obj)?,
        ("batch", "Job") => via::<batch::v1::Job>(rt, obj)?,
        ("batch", "CronJob") => via::<batch::v1::CronJob>(rt, obj)?,
        ("autoscaling", "HorizontalPodAutoscaler") => {
            via::<autoscaling::v2::HorizontalPodAutoscaler>(rt, obj)?
        }
        ("policy", "PodDisruptionBudget") => via::<policy::v1::PodDisruptionBudget>(rt, obj)?,
        ("networking.k8s.io", "Ingress") => via::<networking::v1::Ingress>(rt, obj)?,
        ("networking.k8s.io", "IngressClass") => via::<networking::v1::IngressClass>(rt, obj)?,
        ("networking.k8s.io", "NetworkPolicy") => via::<networking::v1::NetworkPolicy>(rt, obj)?,
        ("storage.k8s.io", "StorageClass") => via::<storage::v1::StorageClass>(rt, obj)?,
        ("discovery.k8s.io", "EndpointSlice") => via::<discovery::v1::EndpointSlice>(rt, obj)?,
        ("coordination.k8s.io", "Lease") => via::<coordination::v1::Lease>(rt, obj)?,
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            via::<adm::ValidatingWebhookConfiguration>(rt, obj)?
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            via::<adm::MutatingWebhookConfiguration>(rt, obj)?
        }
        ("rbac.authorization.k8s.io", "Role") => via::<rbac::v1::Role>(rt, obj)?,
        ("rbac.authorization.k8s.io", "RoleBinding") => via::<rbac::v1::RoleBinding>(rt, obj)?,
        ("rbac.authorization.k8s.io", "ClusterRole") => via::<rbac::v1::ClusterRole>(rt, obj)?,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            via::<rbac::v1::ClusterRoleBinding>(rt, obj)?
        }
        _ => return Ok(None),
    }))
}

/// Decodes into `T` and encodes back: what the typed struct keeps of `obj`.
fn via<T: DeserializeOwned + Serialize>(rt: &ResourceType, obj: &Value) -> Result<Value, ApiError> {
    let typed: T = serde_path_to_error::deserialize(obj).map_err(|e| {
        let path = e.path().to_string();
        ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: {}",
            go_decode_error(rt.kind, &path, &e.inner().to_string()),
            kind = rt.kind,
            v = rt.version
        ))
    })?;
    serde_json::to_value(&typed)
        .map_err(|e| ApiError::internal(format!("encoding a {}: {e}", rt.kind)))
}

/// serde's `invalid type: string "x", expected i32` in the words of Go's JSON decoder:
/// `json: cannot unmarshal string into Go struct field Deployment.spec.replicas of type int32`.
fn go_decode_error(kind: &str, path: &str, serde: &str) -> String {
    let Some(rest) = serde.strip_prefix("invalid type: ") else {
        return serde.to_string();
    };
    let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
    let got = match got.split_whitespace().next().unwrap_or("") {
        "string" => "string",
        "integer" | "floating" => "number",
        "boolean" => "bool",
        "map" => "object",
        "sequence" => "array",
        "null" | "unit" => "null",
        other => other,
    };
    let expected = expected.trim();
    let go_type = match expected {
        "i32" => "int32",
        "i64" => "int64",
        "f64" => "float64",
        "a string" => "string",
        "a boolean" | "bool" => "bool",
        "a sequence" => "array",
        e if e.starts_with("a map") || e.starts_with("struct") => "object",
        e => e,
    };
    // Go reports a field by its path without array indices.
    let mut field = String::new();
    for part in path.split('.') {
        let key = part.split('[').next().unwrap_or(part);
        if !key.is_empty() {
            field.push('.');
            field.push_str(key);
        }
    }
    format!("json: cannot unmarshal {got} into Go struct field {kind}{field} of type {go_type}")
}

/// Collects the paths of `input` that `kept` does not have.
fn diff(input: &Value, kept: &Value, at: &mut Vec<Seg>, out: &mut Vec<Unknown>) {
    match (input, kept) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                at.push(Seg::Key(k.clone()));
                match b.get(k) {
                    Some(w) => diff(v, w, at, out),
                    None => out.push(Unknown { path: at.clone() }),
                }
                at.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                at.push(Seg::Index(i));
                diff(v, w, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// Removes the field at `path` from `obj`, as decoding drops an unknown field.
pub fn remove_path(obj: &mut Value, path: &[Seg]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for s in parents {
        let next = match s {
            Seg::Key(k) => cur.get_mut(k.as_str()),
            Seg::Index(i) => cur.get_mut(*i),
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let (Seg::Key(k), Some(m)) = (last, cur.as_object_mut()) {
        m.remove(k);
    }
}
