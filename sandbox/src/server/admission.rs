//! The request pipeline's policy steps, in the API server's order: authorization of a
//! resource request before its handler runs, then admission of each write (mutation such as
//! defaulting, then validation) before it reaches the store.
//!
//! Every create, update, patch and delete, of the main resource or a subresource, passes
//! through [`admit`] (called from `api::commit`), and every resource request through
//! [`authorize`] (called from the router), so policy lives here and nowhere else.

use axum::http::HeaderMap;
use serde_json::Value;

use super::QueryPairs;
use crate::error::ApiError;
use crate::resources::{ResourceType, by_plural};
use crate::store::Store;

/// Namespaces that exist in every cluster, even when a scenario does not list them.
pub(crate) const BUILTIN_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Who asks to do what to which object: what authorization decides on.
// Read by the RBAC step (issue 10) once it plugs in here.
#[allow(dead_code)]
#[derive(Debug)]
pub(crate) struct Attributes<'a> {
    /// The request's headers (its credentials: `Authorization`, impersonation).
    pub(crate) headers: &'a HeaderMap,
    /// The verb as RBAC names it (`get`, `list`, `watch`, `create`, ...).
    pub(crate) verb: &'a str,
    /// The API group ("" for the core group).
    pub(crate) group: &'a str,
    /// The resource's plural name.
    pub(crate) resource: &'a str,
    /// The subresource (`status`, `scale`, `log`), if any.
    pub(crate) subresource: Option<&'a str>,
    /// The namespace from the URL.
    pub(crate) namespace: Option<&'a str>,
    /// The object's name from the URL.
    pub(crate) name: Option<&'a str>,
}

/// Decides whether the caller may make the request; runs before any body is read. Every
/// caller of the sandbox is cluster-admin today, so every request is allowed; RBAC decides
/// here when it is served.
pub(crate) fn authorize(_store: &Store, _attrs: &Attributes<'_>) -> Result<(), ApiError> {
    Ok(())
}

/// The operation of a write, as admission control names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// A new object (POST, or an apply that creates).
    Create,
    /// A changed object (PUT, PATCH, apply, or a subresource write).
    Update,
    /// A deletion (DELETE, or one object of a deletecollection).
    Delete,
}

/// One write as admission sees it.
// `old`, `query` and `dry_run` are read by the validation steps of issue 10.
#[allow(dead_code)]
#[derive(Debug)]
pub(crate) struct Admission<'a> {
    /// What the write does.
    pub(crate) op: Operation,
    /// The resource type as requested (an `events.k8s.io` Event arrives as the core Event it
    /// is stored as).
    pub(crate) rt: &'static ResourceType,
    /// The subresource written (`status`, `scale`), if any.
    pub(crate) subresource: Option<&'a str>,
    /// The namespace of the object ("" for cluster-scoped kinds).
    pub(crate) namespace: &'a str,
    /// The stored object an update or delete starts from.
    pub(crate) old: Option<&'a Value>,
    /// The request's query (`fieldValidation`, `fieldManager`, `dryRun`).
    pub(crate) query: &'a QueryPairs,
    /// Whether nothing will be stored (`dryRun=All`).
    pub(crate) dry_run: bool,
}

/// Admits one write: mutating steps change `new` (the object to store; `None` for a
/// delete), then validating steps may refuse it. Returns the warnings to send back in
/// `Warning` headers.
pub(crate) fn admit(
    store: &Store,
    a: &Admission<'_>,
    new: Option<&mut Value>,
) -> Result<Vec<String>, ApiError> {
    let _ = new;
    namespace_lifecycle(store, a)?;
    Ok(Vec::new())
}

/// The NamespaceLifecycle step: nothing is created in a namespace that does not exist.
fn namespace_lifecycle(store: &Store, a: &Admission<'_>) -> Result<(), ApiError> {
    if a.op != Operation::Create || !a.rt.namespaced || a.subresource.is_some() {
        return Ok(());
    }
    let ns = a.namespace;
    match by_plural("", "namespaces") {
        Some(nrt) if !BUILTIN_NAMESPACES.contains(&ns) && store.get(nrt, "", ns).is_none() => {
            Err(ApiError::not_found("", "namespaces", ns))
        }
        _ => Ok(()),
    }
}
