//! The simulation: controllers, scheduler and kubelet that make the served objects behave.
//!
//! Everything is a function of the store's clock: [`Simulator::reconcile`] plays the time
//! between the last pass and now in steps (the moments something is due to happen), so a
//! manual clock advanced by ten minutes yields the same restarts, events and timestamps as
//! ten minutes of real time. Objects loaded with a `status` are frozen and never touched.

mod behavior;
mod controllers;
mod events;
mod fit;
pub(crate) mod kinds;
mod kubelet;
pub(crate) mod labels;
pub(crate) mod metrics;
pub(crate) mod naming;
mod network;
pub(crate) mod object;
mod placement;
mod quantity;
mod scheduler;
mod services;
mod storage;
pub(crate) mod timestamps;

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::SandboxError;
use crate::error::ApiError;
use crate::resources::{ResourceType, by_kind};
use crate::scenario::{Behavior, Scenario};
use crate::store::Store;
use kinds::Kinds;
use object::{name, namespace, uid};
use timestamps::time;

/// One line of a container's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// When the line was written.
    pub time: Timestamp,
    /// The text, without a trailing newline.
    pub text: String,
}

/// The per-object annotation that overrides `Settings.age` for one document.
pub const AGE_ANNOTATION: &str = "sandbox.kai.dev/age";

/// Most steps one reconcile plays before jumping straight to the target time.
const MAX_STEPS: usize = 3000;
/// Passes within one step before giving up on reaching a fixed point.
const MAX_PASSES: usize = 12;
/// Events older than this are dropped, as the API server's event TTL does.
pub(crate) const EVENT_TTL_SECS: f64 = 3600.0;

/// Plays the cluster's controllers, scheduler and kubelet over the store.
#[derive(Debug, Default)]
pub struct Simulator {
    behaviors: Vec<(Behavior, Value)>,
    missing_images: HashSet<String>,
    age: SignedDuration,
    default_nodes: u32,
    frozen: HashSet<String>,
    runtime: HashMap<String, kubelet::PodRuntime>,
    events: events::Recorder,
    service_ips: u32,
    last_rv: u64,
    next_wake: Option<Timestamp>,
    last_pass: Option<Timestamp>,
    /// When the scenario was loaded (the clock at `load`).
    loaded_at: Option<Timestamp>,
    /// The moment the current pass plays.
    now: Option<Timestamp>,
    last_event_sweep: Option<Timestamp>,
    /// Set during a pass: something was written.
    changed: bool,
    /// Set during a pass: the earliest future moment something is due.
    wake: Option<Timestamp>,
    /// Uids (and namespaces) of objects deleted since the last garbage collection.
    gone_uids: HashMap<String, String>,
    /// Store resource version up to which changes were examined.
    seen_rv: u64,
    /// This pass looks at every namespace (a node or class changed, or history was lost).
    full: bool,
    /// Namespaces where something changed or is due: controllers look only there.
    dirty: HashSet<String>,
    /// The earliest moment something is due, per namespace.
    wake_ns: HashMap<String, Timestamp>,
    /// A pod was deleted: freed capacity lets the scheduler retry everywhere.
    pods_deleted: bool,
    /// Namespaces deleted since the last garbage collection.
    gone_namespaces: HashSet<String>,
}

impl Simulator {
    /// A simulator for the behaviours and settings of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        let age = scenario
            .settings
            .age
            .as_deref()
            .and_then(crate::scenario::parse_duration)
            .unwrap_or(SignedDuration::ZERO);
        Self {
            behaviors: scenario
                .behaviors
                .iter()
                .map(|b| (b.clone(), b.selector.to_json()))
                .collect(),
            missing_images: scenario
                .settings
                .missing_images
                .iter()
                .map(|i| kubelet::full_image(i))
                .collect(),
            age,
            default_nodes: scenario.settings.nodes.unwrap_or(3),
            ..Self::default()
        }
    }

    /// Creates the scenario's objects in the store and plays the scenario's `age`.
    ///
    /// Objects given with a `status` are served frozen. Missing namespaces are created, and
    /// three Ready nodes and a default StorageClass when the scenario has none.
    pub fn load(&mut self, store: &mut Store, scenario: &Scenario) -> Result<(), SandboxError> {
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
        let mut timed: Vec<(Timestamp, usize, Value)> = Vec::new();
        for (n, obj) in scenario.objects.iter().enumerate() {
            let mut obj = obj.clone();
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
        self.bootstrap(store, scenario, start);
        let mut timed = timed.into_iter().peekable();
        let mut uids: HashMap<String, String> = HashMap::new();
        while let Some((at, n, obj)) = timed.next() {
            if at > start {
                self.advance_to(store, at);
            }
            let mut group = vec![
                self.apply(store, obj, at, &mut uids)
                    .map_err(|e| fail(doc_of(n), e.message))?,
            ];
            // Objects applied at the same moment are reconciled together.
            while let Some((_, n, obj)) = timed.next_if(|(t, _, _)| *t == at) {
                group.push(
                    self.apply(store, obj, at, &mut uids)
                        .map_err(|e| fail(doc_of(n), e.message))?,
                );
            }
            fix_owners(store, &group, &uids);
            self.reconcile_at(store, at);
        }
        self.advance_to(store, now);
        store.forget_history();
        self.last_rv = store.resource_version();
        Ok(())
    }

    /// Creates what every cluster has: system namespaces, nodes, a default StorageClass.
    fn bootstrap(&mut self, store: &mut Store, scenario: &Scenario, at: Timestamp) {
        let has = |kind: &str| scenario.objects.iter().any(|o| o["kind"] == kind);
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            self.ensure_namespace(store, ns, at);
        }
        if !has("Node") {
            for n in 1..=self.default_nodes.max(1) {
                let node = controllers::default_node(n, at);
                if let Ok(o) = store.create(Kinds::nodes(), node) {
                    self.frozen.insert(uid(&o).to_string());
                }
            }
        }
        if !has("StorageClass") {
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
        if ns.is_empty() || store.get(Kinds::namespaces(), "", ns).is_some() {
            return;
        }
        let obj = json!({"metadata": {"name": ns, "creationTimestamp": time(at),
            "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
        let _ = store.create(Kinds::namespaces(), obj);
    }

    /// Creates one scenario object, or updates it if an earlier document created it (so a
    /// scenario can replay a rollout).
    fn apply(
        &mut self,
        store: &mut Store,
        mut obj: Value,
        at: Timestamp,
        uids: &mut HashMap<String, String>,
    ) -> Result<Applied, ApiError> {
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
        let o = if let Some(old) = store.get(rt, namespace(&obj), name(&obj)) {
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
            store.create(rt, obj)?
        };
        if given_status {
            self.frozen.insert(uid(&o).to_string());
        }
        if !given_uid.is_empty() {
            uids.insert(given_uid, uid(&o).to_string());
        }
        Ok((rt, namespace(&o).to_string(), name(&o).to_string()))
    }

    /// Brings every object up to date with the store's clock, until nothing changes.
    /// Cheap when nothing changed and nothing is due.
    pub fn reconcile(&mut self, store: &mut Store) {
        let now = store.clock().now();
        let quiet = store.resource_version() == self.last_rv
            && self.next_wake.is_none_or(|w| w > now)
            && self
                .last_pass
                .is_some_and(|l| timestamps::secs_between(l, now) < 30.0);
        if quiet {
            return;
        }
        self.advance_to(store, now);
        self.last_rv = store.resource_version();
    }

    /// Plays time up to `target`, one step per moment something is due.
    fn advance_to(&mut self, store: &mut Store, target: Timestamp) {
        let mut steps = 0;
        loop {
            let t = match self.next_wake {
                Some(w) if w < target && steps < MAX_STEPS => w,
                _ => target,
            };
            if self.last_pass.is_some_and(|l| t < l) {
                // The clock never goes back; a stale wake-up is simply due now.
                self.reconcile_at(store, target);
                break;
            }
            self.reconcile_at(store, t);
            steps += 1;
            if t >= target {
                break;
            }
        }
    }

    /// Runs passes at time `now` until one changes nothing.
    fn reconcile_at(&mut self, store: &mut Store, now: Timestamp) {
        self.now = Some(now);
        for _ in 0..MAX_PASSES {
            self.changed = false;
            self.wake = None;
            self.begin_pass(store, now);
            self.pass(store, now);
            if !self.changed {
                break;
            }
        }
        self.next_wake = self.wake_ns.values().min().copied();
        self.last_pass = Some(now);
        self.last_rv = store.resource_version();
    }

    fn pass(&mut self, store: &mut Store, now: Timestamp) {
        controllers::collect_garbage(self, store);
        controllers::namespaces(self, store, now);
        controllers::nodes(self, store, now);
        controllers::deployments(self, store, now);
        controllers::replicasets(self, store, now);
        controllers::quotas(self, store);
        controllers::autoscalers(self, store, now);
        controllers::statefulsets(self, store, now);
        controllers::daemonsets(self, store, now);
        controllers::jobs(self, store, now);
        storage::claims(self, store, now);
        scheduler::schedule(self, store, now);
        kubelet::run(self, store, now);
        services::endpoints(self, store, now);
        if self
            .last_event_sweep
            .is_none_or(|l| timestamps::secs_between(l, now) >= 60.0)
        {
            self.last_event_sweep = Some(now);
            events::sweep(self, store, now, EVENT_TTL_SECS);
        }
    }

    /// Whether an object was loaded with a status and is served as captured.
    pub fn is_frozen(&self, obj: &Value) -> bool {
        self.frozen.contains(uid(obj))
    }

    /// Learns what changed since the last pass: which namespaces need their controllers,
    /// and which objects were deleted.
    fn begin_pass(&mut self, store: &Store, now: Timestamp) {
        self.full = false;
        self.dirty.clear();
        self.pods_deleted = false;
        match store.changes_since(self.seen_rv) {
            Ok(changes) => {
                for c in &changes {
                    let ns = namespace(&c.object);
                    match c.resource.kind {
                        "Node" | "StorageClass" => self.full = true,
                        "Namespace" => {
                            self.dirty.insert(name(&c.object).to_string());
                        }
                        _ if c.resource.namespaced => {
                            self.dirty.insert(ns.to_string());
                        }
                        _ => {}
                    }
                    if c.change == crate::store::ChangeType::Deleted {
                        if c.resource.kind == "Namespace" {
                            self.gone_namespaces.insert(name(&c.object).to_string());
                        }
                        if c.resource.kind == "Pod" {
                            self.pods_deleted = true;
                            // However the pod went (scale-down, rollout, GC), its runtime goes.
                            self.runtime.remove(uid(&c.object));
                        }
                        self.gone_uids
                            .insert(uid(&c.object).to_string(), ns.to_string());
                    }
                }
            }
            Err(_) => self.full = true,
        }
        self.seen_rv = store.resource_version();
        let due: Vec<String> = self
            .wake_ns
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(ns, _)| ns.clone())
            .collect();
        for ns in due {
            self.wake_ns.remove(&ns);
            self.dirty.insert(ns);
        }
    }

    /// Objects of a type in the namespaces this pass looks at.
    fn scoped(&self, store: &Store, rt: &'static ResourceType) -> Vec<std::sync::Arc<Value>> {
        if self.full || !rt.namespaced {
            return store.list(rt, None);
        }
        let mut dirty: Vec<&String> = self.dirty.iter().collect();
        dirty.sort();
        dirty
            .into_iter()
            .flat_map(|ns| store.list(rt, Some(ns)))
            .collect()
    }

    /// Asks for a pass at `t` (if it is in the future) looking at namespace `ns`.
    fn wake_at(&mut self, now: Timestamp, t: Timestamp, ns: &str) {
        if t <= now {
            return;
        }
        if self.wake.is_none_or(|w| t < w) {
            self.wake = Some(t);
        }
        let e = self.wake_ns.entry(ns.to_string()).or_insert(t);
        if t < *e {
            *e = t;
        }
    }

    /// Writes an object if it differs from the stored one.
    fn write(&mut self, store: &mut Store, rt: &'static ResourceType, mut obj: Value) {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        let before = store.resource_version();
        match store.update(rt, obj) {
            Ok(_) => {
                if store.resource_version() != before {
                    self.changed = true;
                }
            }
            Err(e) => tracing::debug!("simulation update failed: {e}"),
        }
    }

    fn create(
        &mut self,
        store: &mut Store,
        rt: &'static ResourceType,
        obj: Value,
    ) -> Option<std::sync::Arc<Value>> {
        match store.create(rt, obj) {
            Ok(o) => {
                self.changed = true;
                Some(o)
            }
            Err(e) => {
                tracing::debug!("simulation create failed: {e}");
                None
            }
        }
    }

    fn delete(&mut self, store: &mut Store, rt: &'static ResourceType, ns: &str, name: &str) {
        if let Ok(gone) = store.delete(rt, ns, name) {
            self.changed = true;
            self.gone_uids
                .insert(uid(&gone).to_string(), ns.to_string());
            if rt.kind == "Pod" {
                self.pods_deleted = true;
            }
            if rt.kind == "Namespace" {
                self.gone_namespaces.insert(name.to_string());
            }
        }
    }

    /// The log of a container, as `kubectl logs` shows it.
    pub fn logs(
        &self,
        store: &Store,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        previous: bool,
    ) -> Result<Vec<LogLine>, ApiError> {
        let p = store
            .get(Kinds::pods(), namespace, pod)
            .ok_or_else(|| ApiError::not_found("", "pods", pod))?;
        kubelet::logs(self, store, &p, container, previous, store.clock().now())
    }
}

/// An applied scenario object: its type, namespace and name.
type Applied = (&'static ResourceType, String, String);

/// Points owner references of loaded objects at the owners' new uids: a dump's uids are
/// the captured cluster's, and a hand-written scenario may name owners without a uid.
fn fix_owners(store: &mut Store, group: &[Applied], uids: &HashMap<String, String>) {
    for (rt, ns, n) in group {
        let Some(obj) = store.get(rt, ns, n) else {
            continue;
        };
        let refs = object::arr(&obj, "/metadata/ownerReferences");
        if refs.is_empty() {
            continue;
        }
        let mut fixed = (*obj).clone();
        for r in fixed["metadata"]["ownerReferences"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let old = r["uid"].as_str().unwrap_or("").to_string();
            let new = uids.get(&old).cloned().or_else(|| {
                let owner_rt = by_kind(r["apiVersion"].as_str()?, r["kind"].as_str()?)?;
                let owner = store.get(owner_rt, ns, r["name"].as_str()?)?;
                Some(uid(&owner).to_string())
            });
            if let Some(new) = new {
                r["uid"] = json!(new);
            }
        }
        if fixed != *obj {
            if let Some(m) = fixed["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            let _ = store.update(rt, fixed);
        }
    }
}

#[cfg(test)]
mod tests;
