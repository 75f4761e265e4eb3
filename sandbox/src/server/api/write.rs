//! create, update and patch: the body checked against the URL, then one commit step
//! (admission, then the store) that every write of an object passes through.

use axum::response::Response;

use super::body::{align_identity, merge_for_write};
use super::commit::{Change, commit};
use super::events::{from_events_v1, is_events_v1, served};
use super::{Request, parse_body, strip_nulls};
use crate::error::ApiError;
use crate::server::patch::{self, PatchType};

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
