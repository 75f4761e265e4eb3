//! The request pipeline's policy steps, in the API server's order: authorization of a
//! resource request before its handler runs, then admission of each write (mutation such as
//! defaulting, then validation) before it reaches the store.
//!
//! Every create, update, patch and delete, of the main resource or a subresource, passes
//! through [`admit`] (called from `api::commit`), and every resource request through
//! [`authorize`] (called from the router), so policy lives here and nowhere else.

use axum::http::HeaderMap;
use serde_json::Value;

use super::{QueryPairs, param};
use crate::error::ApiError;
use crate::rbac::{self, Subject};
use crate::resources::{ResourceType, by_plural, is_custom};
use crate::store::Store;
use crate::validate::{self, FieldValidation};
use crate::{crd, namespaces};

/// Namespaces that exist in every cluster, even when a scenario does not list them.
pub(crate) const BUILTIN_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Who asks to do what to which object: what authorization decides on.
#[derive(Debug)]
pub(crate) struct Attributes<'a> {
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

/// Who the request's credentials name (a ServiceAccount's token or impersonation, else the
/// default user), or `403` for an impersonation the caller may not make.
pub(crate) fn subject_of(headers: &HeaderMap) -> Result<Subject, ApiError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let groups: Vec<&str> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    Subject::from_headers(text("authorization"), text("impersonate-user"), &groups).map_err(
        |message| ApiError {
            code: 403,
            reason: "Forbidden",
            message,
            details: Some(serde_json::json!({"kind": "users"})),
        },
    )
}

/// Decides whether the caller may make the request, by RBAC; runs before any body is read.
/// The default user is in `system:masters` (cluster-admin); ServiceAccounts get what their
/// bindings grant. A custom resource whose definition this sandbox lacks is not found.
pub(crate) fn authorize(
    store: &Store,
    subject: &Subject,
    attrs: &Attributes<'_>,
) -> Result<(), ApiError> {
    if let Some(rt) = by_plural(attrs.group, attrs.resource)
        && !crd::is_served(store, rt)
    {
        return Err(ApiError::not_found(
            attrs.group,
            attrs.resource,
            attrs.name.unwrap_or(""),
        ));
    }
    let decision = rbac::authorize(
        store,
        subject,
        &rbac::Attributes {
            verb: attrs.verb,
            group: attrs.group,
            resource: attrs.resource,
            subresource: attrs.subresource.unwrap_or(""),
            name: attrs.name,
            namespace: attrs.namespace,
        },
    );
    if decision.allowed {
        return Ok(());
    }
    let resource = match attrs.subresource {
        Some(s) => format!("{}/{s}", attrs.resource),
        None => attrs.resource.to_string(),
    };
    Err(ApiError::forbidden_named(
        &subject.user,
        attrs.verb,
        attrs.group,
        &resource,
        attrs.name,
        attrs.namespace,
    ))
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
// `old` and `dry_run` are for steps that compare with the stored object or skip side effects.
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
    let new_name = new
        .as_ref()
        .and_then(|n| n.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    namespace_lifecycle(store, a, &new_name)?;
    let Some(new) = new else {
        if a.op == Operation::Delete && a.rt.group.is_empty() && a.rt.kind == "Namespace" {
            let name = a
                .old
                .and_then(|o| o.pointer("/metadata/name"))
                .and_then(Value::as_str);
            namespaces::check_deletable(name.unwrap_or(""))?;
        }
        return Ok(Vec::new());
    };
    // Status writes are the controllers' and the kubelet's: validated as they are made.
    if a.subresource == Some("status") {
        return Ok(Vec::new());
    }
    // Mutation first, as the API server defaults before it validates.
    crate::defaults::apply(a.rt, new);
    let mode = FieldValidation::parse(param(a.query, "fieldValidation"))?;
    if is_custom(a.rt) {
        return match crd::schema_of(store, a.rt) {
            Some(schema) => validate::check_custom(a.rt, new, mode, &schema),
            None => Ok(Vec::new()),
        };
    }
    let warnings = validate::check(a.rt, new, mode)?;
    if a.rt.kind == "CustomResourceDefinition" {
        crd::check_definition(new)?;
        // Served as soon as it is stored: its type must be routable.
        crd::register(new);
    }
    Ok(warnings)
}

/// The NamespaceLifecycle step: nothing is created in a namespace that does not exist or is
/// being terminated.
fn namespace_lifecycle(store: &Store, a: &Admission<'_>, name: &str) -> Result<(), ApiError> {
    if a.op != Operation::Create || !a.rt.namespaced || a.subresource.is_some() {
        return Ok(());
    }
    let ns = a.namespace;
    namespaces::check_accepts_content(store, ns, a.rt.plural, name)?;
    match by_plural("", "namespaces") {
        Some(nrt) if !BUILTIN_NAMESPACES.contains(&ns) && store.get(nrt, "", ns).is_none() => {
            Err(ApiError::not_found("", "namespaces", ns))
        }
        _ => Ok(()),
    }
}
