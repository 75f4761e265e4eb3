//! The namespace controller: status, finalizers, deletion, and the `default` ServiceAccount.

use jiff::Timestamp;
use serde_json::json;

use crate::sim::Simulator;
use crate::sim::kinds::Kinds;
use crate::sim::object::{name, terminating};
use crate::store::Store;

/// Namespace status and default service accounts.
pub fn namespaces(sim: &mut Simulator, store: &mut Store, _now: Timestamp) {
    for ns in store.list_trees(Kinds::namespaces(), None) {
        if sim.is_frozen(&ns) {
            continue;
        }
        if terminating(&ns) {
            // crate::namespaces deletes the contents, then the namespace.
            continue;
        }
        let mut v = (*ns).clone();
        v["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name(&ns));
        if v["spec"]["finalizers"].is_null() {
            v["spec"]["finalizers"] = json!(["kubernetes"]);
        }
        v["status"] = json!({"phase": "Active"});
        if v != *ns {
            sim.write(store, Kinds::namespaces(), v);
        }
        if store
            .get(Kinds::serviceaccounts(), name(&ns), "default")
            .is_none()
        {
            let sa = json!({"metadata": {"name": "default", "namespace": name(&ns),
                "creationTimestamp": ns["metadata"]["creationTimestamp"]}});
            sim.create(store, Kinds::serviceaccounts(), sa);
        }
    }
}
