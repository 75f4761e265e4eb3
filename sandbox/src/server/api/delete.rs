//! delete and deletecollection: preconditions, finalizers, and garbage collection of the
//! objects a deleted owner owned.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{Value, json};

use super::commit::{Change, commit, with_warnings};
use super::events::served;
use super::{Request, encoded_response};
use crate::error::ApiError;
use crate::resources::storage_of;
use crate::server::protobuf;
use crate::server::select::Selector;
use crate::store::meta_str;

/// The delete options of a DELETE: body (`DeleteOptions`) and query parameters.
struct DeleteOpts {
    dry_run: bool,
    orphan: bool,
    precondition_uid: Option<String>,
    precondition_rv: Option<String>,
}

fn delete_opts(req: &Request) -> DeleteOpts {
    // Typed Go clients send their DeleteOptions as protobuf.
    let body: Value = if protobuf::is_protobuf(&req.content_type) {
        protobuf::decode(&req.body).unwrap_or(Value::Null)
    } else {
        serde_json::from_slice(&req.body).unwrap_or(Value::Null)
    };
    let policy = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or(req.p("propagationPolicy"))
        .unwrap_or("Background")
        .to_string();
    let orphan_flag = body
        .get("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| req.p("orphanDependents").map(|v| v == "true"))
        .unwrap_or(false);
    let body_dry = body
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"));
    DeleteOpts {
        dry_run: req.dry_run() || body_dry,
        orphan: policy == "Orphan" || orphan_flag,
        precondition_uid: body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        precondition_rv: body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// DELETE of one object.
pub(super) fn delete(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let opts = delete_opts(req);
    let mut w = req.shared.lock();
    let old = req.stored(&w.store)?;
    if let Some(uid) = &opts.precondition_uid
        && meta_str(&old, "uid").as_deref() != Some(uid.as_str())
    {
        return Err(ApiError::conflict(rt.group, rt.plural, req.name()));
    }
    if let Some(rv) = &opts.precondition_rv
        && meta_str(&old, "resourceVersion").as_deref() != Some(rv.as_str())
    {
        return Err(ApiError::conflict(rt.group, rt.plural, req.name()));
    }
    let change = Change::Delete {
        old,
        orphan: opts.orphan,
    };
    let gone = commit(req, &mut w.store, change, opts.dry_run)?;
    if !opts.dry_run {
        w.reconcile();
    }
    drop(w);
    gone.response(req, 200)
}

/// DELETE of a collection: every selected object.
pub(super) fn delete_collection(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let storage = storage_of(rt);
    let opts = delete_opts(req);
    let mut w = req.shared.lock();
    let sel = Selector::parse(req.p("labelSelector"), req.p("fieldSelector"))?;
    let victims: Vec<Arc<Value>> = w
        .store
        .list(storage, req.target.namespace.as_deref())
        .into_iter()
        .filter(|o| sel.is_empty() || sel.matches(&served(rt, o.clone())))
        .collect();
    let mut gone = Vec::new();
    let mut warnings = Vec::new();
    for v in victims {
        let change = Change::Delete {
            old: v,
            orphan: opts.orphan,
        };
        // An object already gone with an owner deleted before it is no failure.
        if let Ok(g) = commit(req, &mut w.store, change, opts.dry_run) {
            gone.push(g.object);
            warnings.extend(g.warnings);
        }
    }
    if !opts.dry_run {
        w.reconcile();
    }
    let rv = w.store.resource_version();
    drop(w);
    let items: Vec<Value> = gone.into_iter().map(|o| (*served(rt, o)).clone()).collect();
    let list = json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": rv.to_string()}, "items": items});
    Ok(with_warnings(encoded_response(req, 200, &list)?, &warnings))
}
