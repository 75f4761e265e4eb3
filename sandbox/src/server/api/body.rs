//! What the body of a write must agree with, shared by create/update/patch and apply: its
//! identity with the URL, and `status` changed only through the status subresource.

use serde_json::{Value, json};

use super::Request;
use crate::error::ApiError;
use crate::store::meta_str;

/// Makes the body's identity agree with the URL, as the API server requires.
pub(super) fn align_identity(
    req: &Request,
    obj: &mut Value,
    with_name: bool,
) -> Result<(), ApiError> {
    let rt = req.rt();
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && !kind.is_empty()
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the object ({kind}) does not match the resource {} ({})",
            rt.plural, rt.kind
        )));
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    if rt.namespaced {
        let url_ns = req.namespace();
        if url_ns.is_empty() {
            return Err(ApiError::method_not_allowed());
        }
        match meta_str(obj, "namespace") {
            Some(ns) if !ns.is_empty() && ns != url_ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj["metadata"]["namespace"] = json!(url_ns),
        }
    }
    if with_name {
        match meta_str(obj, "name") {
            Some(n) if !n.is_empty() && n != req.name() => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({})",
                    req.name()
                )));
            }
            _ => obj["metadata"]["name"] = json!(req.name()),
        }
    }
    Ok(())
}

/// The object to store for a write of `new` over `old`: the main resource cannot change
/// `status`, the status subresource can change only `status`.
pub(super) fn merge_for_write(req: &Request, old: &Value, mut new: Value) -> Value {
    let rt = req.rt();
    if req.target.sub.as_deref() == Some("status") {
        let mut out = old.clone();
        match new.get_mut("status").map(Value::take) {
            Some(s) => out["status"] = s,
            None => {
                if let Some(m) = out.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        out["metadata"]["resourceVersion"] = new["metadata"]["resourceVersion"].take();
        out
    } else {
        if rt.subresources.contains(&"status") {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        new
    }
}
