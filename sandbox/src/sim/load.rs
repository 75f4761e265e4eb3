//! Loading a scenario: its objects applied at their moments (frozen ones held only encoded),
//! owner references pointed at the uids the store gave, a generated cluster made a namespace
//! at a time, and what every cluster has (system namespaces, nodes, a storage class).

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::kinds::Kinds;
use super::object::{self, name, namespace, uid};
use super::timestamps::time;
use super::{AGE_ANNOTATION, Simulator, controllers};
use crate::SandboxError;
use crate::error::ApiError;
use crate::resources::{ResourceType, by_kind, storage_of};
use crate::scenario::Scenario;
use crate::store::Store;

impl Simulator {
    /// Creates the scenario's objects in the store and plays the scenario's `age`.
    ///
    /// Objects given with a `status` are served frozen. Missing namespaces are created, and
    /// three Ready nodes and a default StorageClass when the scenario has none.
    pub fn load(&mut self, store: &mut Store, scenario: &Scenario) -> Result<(), SandboxError> {
        self.load_objects(store, scenario, scenario.objects.clone())
    }

    /// [`Simulator::load`] taking the scenario's objects instead of copying them, so a large
    /// generated scenario is never held twice while it loads.
    pub fn load_owned(
        &mut self,
        store: &mut Store,
        mut scenario: Scenario,
    ) -> Result<(), SandboxError> {
        let objects = std::mem::take(&mut scenario.objects);
        self.load_objects(store, &scenario, objects)
    }

    fn load_objects(
        &mut self,
        store: &mut Store,
        scenario: &Scenario,
        objects: Vec<Value>,
    ) -> Result<(), SandboxError> {
        let now = store.clock().now();
        self.loaded_at = Some(now);
        let origin = now.checked_sub(self.age).unwrap_or(now);
        let fail = |document: usize, message: String| SandboxError::Scenario {
            file: if scenario.source.is_empty() {
                scenario.name.clone()
            } else {
                scenario.source.clone()
            },
            document,
            message,
        };
        let doc_of = |n: usize| scenario.object_documents.get(n).copied().unwrap_or(n + 1);
        // Each object is applied at its own moment: `origin`, or its age annotation.
        let has_kind = |kind: &str| objects.iter().any(|o| o["kind"] == kind);
        let given = (has_kind("Node"), has_kind("StorageClass"));
        let mut timed: Vec<(Timestamp, usize, Value)> = Vec::with_capacity(objects.len());
        for (n, mut obj) in objects.into_iter().enumerate() {
            // Like `helm install -n NS` or `kubectl apply -n NS -f`: namespaced objects that
            // name no namespace (`helm template` output) go to the scenario's namespace.
            if let Some(ns) = &scenario.settings.namespace
                && obj["metadata"].get("namespace").is_none_or(Value::is_null)
                && let Some(rt) = crate::resources::by_kind(
                    obj["apiVersion"].as_str().unwrap_or_default(),
                    obj["kind"].as_str().unwrap_or_default(),
                )
                && rt.namespaced
                && let Some(m) = obj["metadata"].as_object_mut()
            {
                m.insert("namespace".into(), Value::String(ns.clone()));
            }
            let mut at = origin;
            if let Some(a) = obj["metadata"]["annotations"].as_object_mut() {
                if let Some(age) = a.remove(AGE_ANNOTATION) {
                    let d = age
                        .as_str()
                        .and_then(crate::scenario::parse_duration)
                        .ok_or_else(|| {
                            fail(
                                n + 1,
                                format!("annotation {AGE_ANNOTATION}: invalid duration {age}"),
                            )
                        })?;
                    at = now.checked_sub(d).unwrap_or(now);
                }
                if a.is_empty()
                    && let Some(m) = obj["metadata"].as_object_mut()
                {
                    m.remove("annotations");
                }
            }
            timed.push((at, n, obj));
        }
        timed.sort_by_key(|(t, n, _)| (*t, *n));
        let start = timed.first().map_or(origin, |(t, _, _)| (*t).min(origin));
        self.bootstrap(store, given, start);
        let mut loaded = Loaded::default();
        if scenario.generated_pods > 0 {
            self.load_generated(store, scenario.generated_pods, now, start, &mut loaded)
                .map_err(|(n, e)| fail(n, e.message))?;
            self.reconcile_at(store, start);
        }
        let mut timed = timed.into_iter().peekable();
        while let Some((at, n, obj)) = timed.next() {
            if at > start {
                self.advance_to(store, at);
            }
            let mut group: Vec<Applied> = self
                .apply(store, obj, at, &mut loaded)
                .map_err(|e| fail(doc_of(n), e.message))?
                .into_iter()
                .collect();
            // Objects applied at the same moment are reconciled together.
            while let Some((_, n, obj)) = timed.next_if(|(t, _, _)| *t == at) {
                group.extend(
                    self.apply(store, obj, at, &mut loaded)
                        .map_err(|e| fail(doc_of(n), e.message))?,
                );
            }
            fix_owners(store, &group, &loaded);
            self.reconcile_at(store, at);
        }
        self.advance_to(store, now);
        store.forget_history();
        self.last_rv = store.resource_version();
        Ok(())
    }

    /// Creates a generated cluster's objects ([`Scenario::generated`]) a namespace at a time:
    /// it is never held whole as trees (frozen objects are kept only encoded). The next
    /// namespace is made on another thread while this one is stored. An error names the
    /// object's number.
    fn load_generated(
        &mut self,
        store: &mut Store,
        pods: usize,
        now: Timestamp,
        at: Timestamp,
        loaded: &mut Loaded,
    ) -> Result<(), (usize, ApiError)> {
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(2);
            scope.spawn(move || {
                for chunk in crate::generated::namespaces(pods, now) {
                    // The loader stopped (an error): nothing more to make.
                    if tx.send(chunk).is_err() {
                        break;
                    }
                }
            });
            let mut n = 0;
            for chunk in rx {
                let mut group = Vec::new();
                for obj in chunk {
                    n += 1;
                    group.extend(self.apply(store, obj, at, loaded).map_err(|e| (n, e))?);
                }
                fix_owners(store, &group, loaded);
            }
            Ok(())
        })
    }

    /// Creates what every cluster has: system namespaces, nodes, a default StorageClass.
    /// `given`: whether the scenario has its own (nodes, storage classes).
    fn bootstrap(&mut self, store: &mut Store, given: (bool, bool), at: Timestamp) {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            self.ensure_namespace(store, ns, at);
        }
        if !given.0 {
            for n in 1..=self.default_nodes.max(1) {
                let node = controllers::default_node(n, at);
                if let Ok(o) = store.create(Kinds::nodes(), node) {
                    self.frozen.insert(uid(&o).to_string());
                }
            }
        }
        if !given.1 {
            let sc = json!({
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": "standard", "creationTimestamp": time(at),
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "rancher.io/local-path",
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer",
            });
            let _ = store.create(Kinds::storageclasses(), sc);
        }
    }

    fn ensure_namespace(&mut self, store: &mut Store, ns: &str, at: Timestamp) {
        if ns.is_empty() || store.contains(Kinds::namespaces(), "", ns) {
            return;
        }
        let obj = json!({"metadata": {"name": ns, "creationTimestamp": time(at),
            "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
        let _ = store.create(Kinds::namespaces(), obj);
    }

    /// Creates one scenario object, or updates it if an earlier document created it (so a
    /// scenario can replay a rollout). Returns the object if its owner references still need
    /// owners applied later in its group.
    fn apply(
        &mut self,
        store: &mut Store,
        mut obj: Value,
        at: Timestamp,
        loaded: &mut Loaded,
    ) -> Result<Option<Applied>, ApiError> {
        let given_uid = uid(&obj).to_string();
        let api_version = obj["apiVersion"].as_str().unwrap_or("");
        let kind = obj["kind"].as_str().unwrap_or("");
        let rt: &'static ResourceType = by_kind(api_version, kind)
            .ok_or_else(|| ApiError::bad_request(format!("kind {kind} is not served")))?;
        if rt.namespaced {
            let ns = namespace(&obj).to_string();
            let ns = if ns.is_empty() {
                "default".to_string()
            } else {
                ns
            };
            obj["metadata"]["namespace"] = json!(ns);
            self.ensure_namespace(store, &ns, at);
        }
        // A Node given only its capacity (extended resources such as GPUs) is simulated.
        let given_status = obj.get("status").is_some_and(|s| {
            s.as_object().is_some_and(|m| {
                let capacity_only =
                    rt.kind == "Node" && m.keys().all(|k| k == "capacity" || k == "allocatable");
                !m.is_empty() && !capacity_only
            })
        });
        if obj["metadata"]["creationTimestamp"].as_str().is_none() {
            obj["metadata"]["creationTimestamp"] = time(at);
        }
        let existing = if store.contains(rt, namespace(&obj), name(&obj)) {
            store.get(rt, namespace(&obj), name(&obj))
        } else {
            None
        };
        let mut pending = true;
        let o = if let Some(old) = existing {
            let mut merged = (*old).clone();
            for (k, v) in obj.as_object().into_iter().flatten() {
                if k == "metadata" {
                    for f in ["labels", "annotations"] {
                        if let Some(v) = v.get(f) {
                            merged["metadata"][f] = v.clone();
                        }
                    }
                } else {
                    merged[k] = v.clone();
                }
            }
            store.update(rt, merged)?
        } else {
            pending = resolve_owners(store, &mut obj, loaded);
            if given_status {
                store.create_frozen(rt, obj)?
            } else {
                store.create(rt, obj)?
            }
        };
        if given_status {
            self.frozen.insert(uid(&o).to_string());
        }
        loaded.created(rt, &o, &given_uid);
        let applied = (rt, namespace(&o).to_string(), name(&o).to_string());
        Ok(pending.then_some(applied))
    }
}

/// An applied scenario object: its type, namespace and name.
type Applied = (&'static ResourceType, String, String);

/// What a load created so far: the uid each object got, by the uid the scenario gave it and
/// by its type, namespace and name, so owners resolve without reading (decoding) the store.
#[derive(Debug, Default)]
struct Loaded {
    /// The scenario's uid → the store's.
    uids: HashMap<String, String>,
    /// (storage type, namespace, name) → the store's uid.
    by_name: HashMap<(&'static str, String, String), String>,
}

impl Loaded {
    fn created(&mut self, rt: &'static ResourceType, obj: &Value, given_uid: &str) {
        let new = uid(obj).to_string();
        if !given_uid.is_empty() {
            self.uids.insert(given_uid.to_string(), new.clone());
        }
        let key = (
            storage_of(rt).key,
            namespace(obj).to_string(),
            name(obj).to_string(),
        );
        self.by_name.insert(key, new);
    }

    /// The store uid of the owner a reference names, if it exists yet.
    fn owner_uid(&self, store: &Store, ns: &str, reference: &Value) -> Option<String> {
        if let Some(new) = reference["uid"].as_str().and_then(|u| self.uids.get(u)) {
            return Some(new.clone());
        }
        let owner_rt = by_kind(
            reference["apiVersion"].as_str()?,
            reference["kind"].as_str()?,
        )?;
        let owner_name = reference["name"].as_str()?;
        let ns = if owner_rt.namespaced { ns } else { "" };
        let key = (
            storage_of(owner_rt).key,
            ns.to_string(),
            owner_name.to_string(),
        );
        if let Some(new) = self.by_name.get(&key) {
            return Some(new.clone());
        }
        let owner = store.get(owner_rt, ns, owner_name)?;
        Some(uid(&owner).to_string())
    }
}

/// Points owner references of loaded objects at the owners' new uids: a dump's uids are
/// the captured cluster's, and a hand-written scenario may name owners without a uid.
/// `group`: the objects whose owners were not all there when they were created.
fn fix_owners(store: &mut Store, group: &[Applied], loaded: &Loaded) {
    for (rt, ns, n) in group {
        let Some(obj) = store.get(rt, ns, n) else {
            continue;
        };
        // Copy only what changes.
        if owner_uids(store, &obj, loaded).0.is_empty() {
            continue;
        }
        let mut fixed = (*obj).clone();
        resolve_owners(store, &mut fixed, loaded);
        if let Some(m) = fixed["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        let _ = store.update(rt, fixed);
    }
}

/// Points an object's owner references at the uids its owners got in the store (a scenario's
/// uids are its own), where the owner is known already. Returns whether some owner is not.
fn resolve_owners(store: &Store, obj: &mut Value, loaded: &Loaded) -> bool {
    let (changes, missing) = owner_uids(store, obj, loaded);
    for (i, new) in changes {
        obj["metadata"]["ownerReferences"][i]["uid"] = json!(new);
    }
    missing
}

/// The owner references (by index) whose uid should change, and the uid each should get; and
/// whether some reference names an owner that does not exist yet.
fn owner_uids(store: &Store, obj: &Value, loaded: &Loaded) -> (Vec<(usize, String)>, bool) {
    let ns = namespace(obj);
    let mut missing = false;
    let mut changes = Vec::new();
    for (i, r) in object::arr(obj, "/metadata/ownerReferences")
        .iter()
        .enumerate()
    {
        match loaded.owner_uid(store, ns, r) {
            Some(new) if r["uid"].as_str() != Some(new.as_str()) => changes.push((i, new)),
            Some(_) => {}
            None => missing = true,
        }
    }
    (changes, missing)
}
