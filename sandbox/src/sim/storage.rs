//! The persistent volume controller: binds claims to volumes it provisions from their
//! StorageClass, or leaves them Pending with the controller's event.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Simulator;
use super::events::{self, Ev, Source};
use super::kinds::Kinds;
use super::object::{arr, name, namespace, s, uid};
use super::timestamps::time;
use crate::store::Store;

/// Binds or explains every unbound claim.
pub fn claims(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let pending: Vec<_> = sim
        .scoped_trees(store, Kinds::pvcs())
        .into_iter()
        .filter(|c| !sim.is_frozen(c) && s(c, "/status/phase") != "Bound")
        .collect();
    for pvc in pending {
        let mut class = s(&pvc, "/spec/storageClassName").to_string();
        if pvc["spec"]["storageClassName"].is_null() {
            // The DefaultStorageClass admission plugin fills the default class in.
            if let Some(sc) = store
                .list(Kinds::storageclasses(), None)
                .into_iter()
                .find(|sc| {
                    sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
                        == "true"
                })
            {
                class = name(&sc).to_string();
                let mut c = (*pvc).clone();
                c["spec"]["storageClassName"] = json!(class);
                sim.write(store, Kinds::pvcs(), c);
                continue;
            }
        }
        let pending_status = json!({"phase": "Pending"});
        if pvc.get("status") != Some(&pending_status) && s(&pvc, "/status/phase") != "Pending" {
            let mut c = (*pvc).clone();
            c["status"] = pending_status;
            sim.write(store, Kinds::pvcs(), c);
        }
        let pvc = store
            .get(Kinds::pvcs(), namespace(&pvc), name(&pvc))
            .unwrap_or(pvc);
        let controller = Source::Controller("persistentvolume-controller");
        if class.is_empty() {
            let msg = "no persistent volumes available for this claim and no storage class is set";
            events::record(
                sim,
                store,
                &pvc,
                Ev::once(
                    "FailedBinding",
                    msg.into(),
                    false,
                    controller,
                    created(&pvc, now),
                ),
            );
            continue;
        }
        let Some(sc) = store.get(Kinds::storageclasses(), "", &class) else {
            let msg = format!("storageclass.storage.k8s.io \"{class}\" not found");
            let since = created(&pvc, now);
            // The controller retries with back-off; the count grows with time.
            let (count, last, next) = super::kubelet::retries(since, now);
            sim.wake_at(now, next, namespace(&pvc));
            let ev = Ev {
                field_path: None,
                warning: true,
                reason: "ProvisioningFailed",
                message: msg,
                source: controller,
                count,
                first: since,
                last,
            };
            events::record(sim, store, &pvc, ev);
            continue;
        };
        if sc["volumeBindingMode"] == "WaitForFirstConsumer" && !has_consumer(store, &pvc) {
            events::record(
                sim,
                store,
                &pvc,
                Ev::once(
                    "WaitForFirstConsumer",
                    "waiting for first consumer to be created before binding".into(),
                    false,
                    controller,
                    created(&pvc, now),
                ),
            );
            continue;
        }
        bind(sim, store, &pvc, &sc, now);
    }
}

fn created(obj: &Value, now: Timestamp) -> Timestamp {
    super::timestamps::ts(&obj["metadata"]["creationTimestamp"])
        .unwrap_or(now)
        .min(now)
}

/// Whether a pod uses the claim.
fn has_consumer(store: &Store, pvc: &Value) -> bool {
    store
        .list(Kinds::pods(), Some(namespace(pvc)))
        .iter()
        .any(|p| {
            arr(p, "/spec/volumes")
                .iter()
                .any(|v| s(v, "/persistentVolumeClaim/claimName") == name(pvc))
        })
}

fn bind(sim: &mut Simulator, store: &mut Store, pvc: &Value, sc: &Value, now: Timestamp) {
    let pv_name = format!("pvc-{}", uid(pvc));
    let capacity = pvc["spec"]["resources"]["requests"]["storage"].clone();
    let modes = pvc["spec"]["accessModes"].clone();
    let provisioner = s(sc, "/provisioner").to_string();
    if store.get(Kinds::pvs(), "", &pv_name).is_none() {
        let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "creationTimestamp": time(now),
                "annotations": {"pv.kubernetes.io/provisioned-by": provisioner},
                "finalizers": ["kubernetes.io/pv-protection"]},
            "spec": {"capacity": {"storage": capacity}, "accessModes": modes,
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "name": name(pvc), "namespace": namespace(pvc), "uid": uid(pvc)},
                "persistentVolumeReclaimPolicy": sc["reclaimPolicy"].as_str().unwrap_or("Delete"),
                "storageClassName": name(sc), "volumeMode": "Filesystem",
                "hostPath": {"path": format!("/var/local-path-provisioner/{pv_name}"), "type": "DirectoryOrCreate"}},
            "status": {"phase": "Bound"}});
        if let Some(o) = sim.create(store, Kinds::pvs(), pv) {
            sim.frozen.insert(uid(&o).to_string());
        }
    }
    let mut c = pvc.clone();
    c["spec"]["volumeName"] = json!(pv_name);
    c["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
    c["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    c["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] = json!(provisioner);
    c["status"] =
        json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": capacity}});
    sim.write(store, Kinds::pvcs(), c);
    let msg = format!("Successfully provisioned volume {pv_name} using {provisioner}");
    events::record(
        sim,
        store,
        pvc,
        Ev::once(
            "ProvisioningSucceeded",
            msg,
            false,
            Source::Controller("persistentvolume-controller"),
            now,
        ),
    );
}
