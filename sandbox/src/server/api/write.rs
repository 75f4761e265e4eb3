//! create, update and patch: the body checked against the URL, then one commit step
//! (admission, then the store) that every write of an object passes through.

use axum::response::Response;
use serde_json::{Value, json};

use super::commit::{Change, commit};
use super::events::{from_events_v1, is_events_v1, served};
use super::{Request, parse_body, strip_nulls};
use crate::error::ApiError;
use crate::server::patch::{self, PatchType};
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

/// POST: creates an object.
pub(super) fn create(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let mut obj = parse_body(req)?;
    align_identity(req, &mut obj, false)?;
    if is_events_v1(rt) {
        obj = from_events_v1(&obj);
    }
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    // As in a real API server, a client cannot set the status of a new object.
    if rt.subresources.contains(&"status")
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    let created = commit(req, &mut w.store, Change::Create(obj), dry)?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    created.response(req, 201)
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

/// PUT: replaces an object or its status.
pub(super) fn update(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let mut obj = parse_body(req)?;
    align_identity(req, &mut obj, true)?;
    if is_events_v1(rt) {
        obj = from_events_v1(&obj);
    }
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    let old = req.stored(&w.store)?;
    let new = merge_for_write(req, &old, obj);
    let stored = commit(req, &mut w.store, Change::Update { old, new }, dry)?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    stored.response(req, 200)
}

/// PATCH: patches an object or its status.
pub(super) fn patch_object(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let kind = PatchType::from_content_type(&req.content_type)?;
    if kind == PatchType::Apply {
        return super::apply::apply_object(req);
    }
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    let old = req.stored(&w.store)?;
    let base = served(rt, old.clone());
    let mut patched = patch::apply(kind, &base, &req.body)?;
    strip_nulls(&mut patched);
    if is_events_v1(rt) {
        patched = from_events_v1(&patched);
    }
    // Identity stays: a patch cannot rename or move an object.
    for k in ["name", "namespace", "uid"] {
        match old["metadata"].get(k) {
            Some(v) => patched["metadata"][k] = v.clone(),
            None => {
                if let Some(m) = patched["metadata"].as_object_mut() {
                    m.remove(k);
                }
            }
        }
    }
    let new = merge_for_write(req, &old, patched);
    let stored = commit(req, &mut w.store, Change::Update { old, new }, dry)?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    stored.response(req, 200)
}
