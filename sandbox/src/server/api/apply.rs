//! PATCH with `application/apply-patch+yaml`: server-side apply of a configuration, which
//! creates the object when it does not exist (`server/apply.rs` does the merging and
//! ownership).

use axum::response::Response;
use serde_json::{Value, json};

use super::commit::{Change, commit};
use super::events::{from_events_v1, is_events_v1, served};
use super::write::{align_identity, merge_for_write};
use super::{Request, strip_nulls};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::resources::storage_of;
use crate::server::apply::{ApplyRequest, apply};

/// PATCH `application/apply-patch+yaml`.
pub(super) fn apply_object(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let manager = req
        .p("fieldManager")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::bad_request("fieldManager is required for apply requests"))?
        .to_string();
    let mut config: Value = serde_saphyr::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the body of an apply request must be an object",
        ));
    }
    strip_nulls(&mut config);
    for field in ["apiVersion", "kind"] {
        if config
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(format!(
                "invalid object type: {field} must be set in an apply request"
            )));
        }
    }
    align_identity(req, &mut config, true)?;
    let force = matches!(req.p("force"), Some("true") | Some("1"));
    let storage = storage_of(rt);
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    let now = rfc3339(w.store.clock().now());
    let a = ApplyRequest {
        config: &config,
        manager: &manager,
        force,
        now: &now,
        group: rt.group,
        plural: rt.plural,
    };
    let old = w.store.get(storage, req.namespace(), req.name());
    let (change, code) = match old {
        None => {
            let mut identity = json!({"apiVersion": rt.api_version(), "kind": rt.kind,
                "metadata": {"name": req.name()}});
            if rt.namespaced {
                identity["metadata"]["namespace"] = json!(req.namespace());
            }
            let mut new = apply(&identity, &a)?;
            if is_events_v1(rt) {
                new = from_events_v1(&new);
            }
            // As with a create, a client cannot set the status of a new object.
            if rt.subresources.contains(&"status")
                && let Some(m) = new.as_object_mut()
            {
                m.remove("status");
            }
            (Change::Create(new), 201)
        }
        Some(old) => {
            let base = served(rt, old.clone());
            let mut new = apply(&base, &a)?;
            if is_events_v1(rt) {
                new = from_events_v1(&new);
            }
            new["metadata"]["uid"] = old["metadata"]["uid"].clone();
            let new = merge_for_write(req, &old, new);
            (Change::Update { old, new }, 200)
        }
    };
    let stored = commit(req, &mut w.store, change, dry)?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    stored.response(req, code)
}
