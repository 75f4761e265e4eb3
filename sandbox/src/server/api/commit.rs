//! The one step every write of an object passes through: admission, then the store; and
//! the store-level deletion with garbage collection of what the deleted object owned.

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Request, key_of, object_response};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::resources::{RESOURCES, ResourceType, storage_of};
use crate::server::admission::{self, Admission, Operation};
use crate::server::apply::track_update;
use crate::server::patch::PatchType;
use crate::store::{Store, meta_str};

/// A write of one object, as a handler asks for it.
pub(super) enum Change {
    /// Store a new object.
    Create(Value),
    /// Replace `old` with `new`.
    Update {
        /// The stored version the write starts from.
        old: Arc<Value>,
        /// The object to store.
        new: Value,
    },
    /// Delete `old` (and, unless orphaning, what it owns).
    Delete {
        /// The stored object.
        old: Arc<Value>,
        /// Leave the dependents, only dropping their owner references.
        orphan: bool,
    },
}

/// What a commit stored (or, in a dry run, would have stored), and the warnings for the
/// client.
pub(super) struct Committed {
    /// The object as stored; for a delete, the deleted (or deletion-marked) object.
    pub(super) object: Arc<Value>,
    /// `Warning` header texts.
    pub(super) warnings: Vec<String>,
}

impl Committed {
    /// The answer to the client: the object, with the warnings as `Warning` headers.
    pub(super) fn response(self, req: &Request, code: u16) -> Result<Response, ApiError> {
        Ok(with_warnings(
            object_response(req, code, self.object)?,
            &self.warnings,
        ))
    }
}

/// Adds `Warning: 299 - "text"` headers, as the API server sends them.
pub(super) fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        // Quoted as Go's strconv.Quote does, so kubectl prints `Warning: unknown field "x"`.
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append("warning", v);
        }
    }
    r
}

/// Admits and stores one write of the request's resource. The caller reconciles the
/// simulation afterwards (once, for a collection).
pub(super) fn commit(
    req: &Request,
    store: &mut Store,
    change: Change,
    dry_run: bool,
) -> Result<Committed, ApiError> {
    let rt = req.rt();
    let storage = storage_of(rt);
    let (op, old) = match &change {
        Change::Create(_) => (Operation::Create, None),
        Change::Update { old, .. } => (Operation::Update, Some(old.clone())),
        Change::Delete { old, .. } => (Operation::Delete, Some(old.clone())),
    };
    let namespace = match (&change, old.as_deref()) {
        (Change::Create(o), _) | (_, Some(o)) => key_of(o).0.to_string(),
        _ => String::new(),
    };
    let admission = Admission {
        op,
        rt: storage,
        subresource: req.target.sub.as_deref(),
        namespace: &namespace,
        old: old.as_deref(),
        query: &req.q,
        dry_run,
    };
    // An apply records its own ownership; every other write of the main resource gives its
    // manager the fields it changed.
    let applied = PatchType::from_content_type(&req.content_type) == Ok(PatchType::Apply);
    let track = |old: Option<&Value>, new: &mut Value, store: &Store| {
        if !applied && req.target.sub.is_none() {
            let now = rfc3339(store.clock().now());
            track_update(old, new, &req.field_manager(), &now, &rt.api_version());
        }
    };
    let (object, warnings) = match change {
        Change::Create(mut new) => {
            track(None, &mut new, store);
            let warnings = admission::admit(store, &admission, Some(&mut new))?;
            (store.create_opts(storage, new, dry_run)?, warnings)
        }
        Change::Update { mut new, old } => {
            track(Some(&old), &mut new, store);
            let warnings = admission::admit(store, &admission, Some(&mut new))?;
            (store.update_opts(storage, new, dry_run)?, warnings)
        }
        Change::Delete { old, orphan } => {
            let warnings = admission::admit(store, &admission, None)?;
            let object = if dry_run {
                old
            } else if storage.group.is_empty() && storage.kind == "Namespace" {
                // A namespace terminates: its contents go first (crate::namespaces).
                let name = key_of(&old).1.to_string();
                crate::namespaces::begin_delete(store, &name)?
            } else {
                let (ns, name) = key_of(&old);
                let (ns, name) = (ns.to_string(), name.to_string());
                delete_one(store, storage, &ns, &name, orphan)?
            };
            (object, warnings)
        }
    };
    Ok(Committed { object, warnings })
}

/// Deletes one object and, unless orphaning, every object it owns, transitively.
/// An object with finalizers is only marked for deletion.
fn delete_one(
    store: &mut Store,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
    orphan: bool,
) -> Result<Arc<Value>, ApiError> {
    let Some(old) = store.get(rt, ns, name) else {
        return Err(ApiError::not_found(rt.group, rt.plural, name));
    };
    let has_finalizers = old["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if has_finalizers {
        if old["metadata"]["deletionTimestamp"].is_string() {
            return Ok(old);
        }
        let mut marked = (*old).clone();
        marked["metadata"]["deletionTimestamp"] = json!(rfc3339(store.clock().now()));
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        return store.update(rt, marked);
    }
    let gone = store.delete(rt, ns, name)?;
    let uid = meta_str(&gone, "uid").unwrap_or_default();
    if !uid.is_empty() {
        let mut queue = vec![uid];
        while let Some(owner) = queue.pop() {
            for dep_rt in RESOURCES.iter().filter(|r| std::ptr::eq(storage_of(r), *r)) {
                let scope = if rt.namespaced && dep_rt.namespaced {
                    Some(ns)
                } else {
                    None
                };
                for dep in store.list(dep_rt, scope) {
                    let owned = dep["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner.as_str()));
                    if !owned {
                        continue;
                    }
                    let (dns, dname) = key_of(&dep);
                    let (dns, dname) = (dns.to_string(), dname.to_string());
                    if orphan {
                        let mut freed = (*dep).clone();
                        if let Some(refs) = freed["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != owner.as_str());
                        }
                        store.update(dep_rt, freed)?;
                    } else if let Ok(d) = store.delete(dep_rt, &dns, &dname)
                        && let Some(u) = meta_str(&d, "uid")
                    {
                        queue.push(u);
                    }
                }
            }
            if orphan {
                break;
            }
        }
    }
    Ok(gone)
}
