//! The `scale` subresource: an `autoscaling/v1` Scale view of a workload's replicas.

use axum::response::Response;
use serde_json::{Value, json};

use super::commit::{Change, commit, with_warnings};
use super::{Request, encoded_response, parse_body};
use crate::error::ApiError;
use crate::server::patch::{self, PatchType};
use crate::server::select::label_selector_text;
use crate::store::meta_str;

/// The `autoscaling/v1` Scale of a deployment, replica set or stateful set.
fn scale_of(o: &Value) -> Value {
    let m = &o["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"],
            "namespace": m["namespace"],
            "uid": m["uid"],
            "resourceVersion": m["resourceVersion"],
            "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": o.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": label_selector_text(&o["spec"]["selector"]),
        }
    })
}

/// GET of a workload's Scale.
pub(super) fn scale_get(req: &Request) -> Result<Response, ApiError> {
    let w = req.shared.lock();
    let o = req.stored(&w.store)?;
    drop(w);
    encoded_response(req, 200, &scale_of(&o))
}

/// PUT or PATCH of a workload's Scale: changes `spec.replicas` only.
pub(super) fn scale_write(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    let old = req.stored(&w.store)?;
    let current = scale_of(&old);
    let wanted = if req.verb == "patch" {
        let kind = PatchType::from_content_type(&req.content_type)?;
        patch::apply(kind, &current, &req.body)?
    } else {
        parse_body(req)?
    };
    let rv = meta_str(&wanted, "resourceVersion").unwrap_or_default();
    if !rv.is_empty() && Some(rv) != meta_str(&old, "resourceVersion") {
        return Err(ApiError::conflict(rt.group, rt.plural, req.name()));
    }
    let replicas = match wanted.pointer("/spec/replicas") {
        Some(v) => v
            .as_i64()
            .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "Scale",
                    req.name(),
                    "spec.replicas",
                    &format!("Invalid value: {v}: must be greater than or equal to 0"),
                )
            })?,
        None => 0,
    };
    let mut new = (*old).clone();
    new["spec"]["replicas"] = json!(replicas);
    let committed = commit(req, &mut w.store, Change::Update { old, new }, dry)?;
    let stored = committed.object;
    if !dry {
        w.reconcile();
    }
    let latest = if dry {
        stored
    } else {
        w.store
            .get(rt, req.namespace(), req.name())
            .unwrap_or(stored)
    };
    drop(w);
    Ok(with_warnings(
        encoded_response(req, 200, &scale_of(&latest))?,
        &committed.warnings,
    ))
}
