//! The garbage collector: dependents of deleted owners, and everything in deleted namespaces.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::resources::{RESOURCES, storage_of};
use crate::sim::Simulator;
use crate::sim::object::{arr, name, namespace};
use crate::store::Store;

/// Deletes dependents of deleted owners and everything in deleted namespaces.
pub fn collect_garbage(sim: &mut Simulator, store: &mut Store) {
    let uids = std::mem::take(&mut sim.gone_uids);
    let namespaces = std::mem::take(&mut sim.gone_namespaces);
    if uids.is_empty() && namespaces.is_empty() {
        return;
    }
    // Owners and dependents share a namespace, unless the owner is cluster-scoped.
    let everywhere = uids.values().any(String::is_empty);
    let mut where_: Vec<&str> = uids.values().map(String::as_str).collect();
    where_.extend(namespaces.iter().map(String::as_str));
    where_.sort_unstable();
    where_.dedup();
    let mut seen = HashSet::new();
    for rt in RESOURCES {
        let rt = storage_of(rt);
        if !seen.insert(rt.key) {
            continue;
        }
        let objects: Vec<Arc<Value>> = if everywhere || (!rt.namespaced && !namespaces.is_empty()) {
            store.list(rt, None)
        } else if rt.namespaced {
            where_
                .iter()
                .flat_map(|ns| store.list(rt, Some(ns)))
                .collect()
        } else {
            Vec::new()
        };
        for obj in objects {
            let owned_by_gone = arr(&obj, "/metadata/ownerReferences")
                .iter()
                .any(|r| r["uid"].as_str().is_some_and(|u| uids.contains_key(u)));
            let in_gone_ns = rt.namespaced && namespaces.contains(namespace(&obj));
            if owned_by_gone || in_gone_ns {
                sim.delete(store, rt, namespace(&obj), name(&obj));
            }
        }
    }
}
