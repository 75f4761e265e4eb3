//! Namespace deletion as the API server and the namespace controller do it: system namespaces
//! cannot be deleted; a deleted namespace turns `Terminating`, refuses new content, has its
//! contents deleted, then goes. Driven by the sandbox clock (each reconcile pass), not by
//! real time.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::resources::{RESOURCES, by_plural, storage_of};
use crate::store::Store;

/// Namespaces every cluster has, which the API server refuses to delete.
pub const SYSTEM: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// How long a terminating namespace keeps its contents before the controller removes them:
/// long enough for `kubectl delete -f` to delete the rest of a file after its namespace.
pub const CONTENT_GRACE: SignedDuration = SignedDuration::from_secs(5);

/// `403` for deleting a system namespace, worded as the API server's lifecycle admission.
pub fn check_deletable(name: &str) -> Result<(), ApiError> {
    if SYSTEM.contains(&name) {
        return Err(ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            ),
            details: Some(json!({"name": name, "kind": "namespaces"})),
        });
    }
    Ok(())
}

/// `403` for creating `plural` in a namespace being terminated.
pub fn check_accepts_content(
    store: &Store,
    namespace: &str,
    plural: &str,
    name: &str,
) -> Result<(), ApiError> {
    let Some(nrt) = by_plural("", "namespaces") else {
        return Ok(());
    };
    let terminating = store
        .get(nrt, "", namespace)
        .is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_some());
    if terminating {
        return Err(ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "{plural} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated"
            ),
            details: Some(json!({"name": name, "kind": plural,
                "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {namespace} is being terminated"), "field": "metadata.namespace"}]})),
        });
    }
    Ok(())
}

/// Starts deleting namespace `name`: `deletionTimestamp`, phase `Terminating`, the
/// `kubernetes` finalizer. Returns the namespace as it is now.
pub fn begin_delete(store: &mut Store, name: &str) -> Result<std::sync::Arc<Value>, ApiError> {
    check_deletable(name)?;
    let nrt = by_plural("", "namespaces")
        .ok_or_else(|| ApiError::internal("namespaces are not served"))?;
    let ns = store
        .get(nrt, "", name)
        .ok_or_else(|| ApiError::not_found("", "namespaces", name))?;
    if ns.pointer("/metadata/deletionTimestamp").is_some() {
        return Ok(ns);
    }
    let mut next = (*ns).clone();
    next["metadata"]["deletionTimestamp"] = json!(rfc3339(store.clock().now()));
    next["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    next["spec"]["finalizers"] = json!(["kubernetes"]);
    next["status"]["phase"] = json!("Terminating");
    next["status"]["conditions"] = json!([
        {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
         "message": "Some resources are remaining", "lastTransitionTime": rfc3339(store.clock().now())}
    ]);
    store.update(nrt, next)
}

/// One pass of the namespace controller: the contents of each terminating namespace whose
/// grace has passed are deleted, then the namespace itself.
pub fn finalize(store: &mut Store) {
    let Some(nrt) = by_plural("", "namespaces") else {
        return;
    };
    let now = store.clock().now();
    for ns in store.list(nrt, None) {
        let Some(since) = ns
            .pointer("/metadata/deletionTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Timestamp>().ok())
        else {
            continue;
        };
        if now < since.checked_add(CONTENT_GRACE).unwrap_or(since) {
            continue;
        }
        let name = ns["metadata"]["name"].as_str().unwrap_or("").to_string();
        for rt in RESOURCES
            .iter()
            .filter(|r| r.namespaced && std::ptr::eq(storage_of(r), *r))
        {
            for o in store.list(rt, Some(&name)) {
                let n = o["metadata"]["name"].as_str().unwrap_or("");
                // Gone already is fine: the pass only has to leave nothing behind.
                let _ = store.delete(rt, &name, n);
            }
        }
        let _ = store.delete(nrt, "", &name);
    }
}

#[cfg(test)]
mod tests;
