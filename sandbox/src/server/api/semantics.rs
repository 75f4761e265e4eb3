//! The requests that are not stored writes: the self-review APIs (`auth can-i`, `auth
//! whoami`) and the Eviction subresource, which deletes a pod only as its disruption budget
//! allows.

use axum::response::Response;

use super::commit::{Change, commit};
use super::{Request, parse_body};
use crate::error::ApiError;
use crate::resources::storage_of;
use crate::server::value_response;
use crate::{eviction, reviews};

/// POST of a SelfSubjectAccessReview, SelfSubjectRulesReview or SelfSubjectReview: answered
/// for the caller, stored nowhere.
pub(super) fn review(req: &Request) -> Result<Response, ApiError> {
    let body = parse_body(req)?;
    let w = req.shared.lock();
    let answer = reviews::answer(&w.store, &req.subject, req.rt().plural, &body)?;
    drop(w);
    Ok(value_response(201, &answer))
}

/// POST `pods/NAME/eviction`: the pod is deleted, as a DELETE would, if its budget allows.
pub(super) fn evict(req: &Request) -> Result<Response, ApiError> {
    let body = parse_body(req)?;
    if let Some(name) = body.pointer("/metadata/name").and_then(|n| n.as_str())
        && name != req.name()
    {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object: {} != {name}",
            req.name()
        )));
    }
    let dry = req.dry_run()
        || body
            .pointer("/deleteOptions/dryRun")
            .and_then(|d| d.as_array())
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    let storage = storage_of(req.rt());
    let mut w = req.shared.lock();
    let old = w
        .store
        .get(storage, req.namespace(), req.name())
        .ok_or_else(|| ApiError::not_found("", "pods", req.name()))?;
    if !dry {
        eviction::admit(&mut w.store, req.namespace(), req.name())?;
    }
    commit(
        req,
        &mut w.store,
        Change::Delete { old, orphan: false },
        dry,
    )?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    Ok(value_response(201, &eviction::accepted()))
}
