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
mod load;
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
use serde_json::Value;

use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::scenario::{Behavior, Scenario};
use crate::store::Store;
use kinds::Kinds;
use object::uid;

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
    /// The store's [`Store::namespace_version`] of each namespace when the endpoints
    /// controller last brought it up to date: unchanged since, it is skipped.
    endpoints_done: HashMap<String, u64>,
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
                    let ns = c.namespace.as_str();
                    match c.resource.kind {
                        "Node" | "StorageClass" => self.full = true,
                        "Namespace" => {
                            self.dirty.insert(c.name.clone());
                        }
                        _ if c.resource.namespaced => {
                            self.dirty.insert(ns.to_string());
                        }
                        _ => {}
                    }
                    if c.change == crate::store::ChangeType::Deleted {
                        let gone = c.object.value();
                        if c.resource.kind == "Namespace" {
                            self.gone_namespaces.insert(c.name.clone());
                        }
                        if c.resource.kind == "Pod" {
                            self.pods_deleted = true;
                            // However the pod went (scale-down, rollout, GC), its runtime goes.
                            self.runtime.remove(uid(&gone));
                        }
                        self.gone_uids
                            .insert(uid(&gone).to_string(), ns.to_string());
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
        self.scoped_by(store, rt, Store::list)
    }

    /// [`Simulator::scoped`] without the frozen objects held only encoded, for controllers
    /// that leave frozen objects alone (they still check [`Simulator::is_frozen`]: a frozen
    /// object a client changed is held as a tree again).
    fn scoped_trees(&self, store: &Store, rt: &'static ResourceType) -> Vec<std::sync::Arc<Value>> {
        self.scoped_by(store, rt, Store::list_trees)
    }

    /// The namespaces this pass looks at, sorted; None: all of them.
    fn dirty_namespaces(&self) -> Option<Vec<&str>> {
        if self.full {
            return None;
        }
        let mut dirty: Vec<&str> = self.dirty.iter().map(String::as_str).collect();
        dirty.sort_unstable();
        Some(dirty)
    }

    fn scoped_by(
        &self,
        store: &Store,
        rt: &'static ResourceType,
        list: fn(&Store, &'static ResourceType, Option<&str>) -> Vec<std::sync::Arc<Value>>,
    ) -> Vec<std::sync::Arc<Value>> {
        match self.dirty_namespaces() {
            Some(dirty) if rt.namespaced => dirty
                .into_iter()
                .flat_map(|ns| list(store, rt, Some(ns)))
                .collect(),
            _ => list(store, rt, None),
        }
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

#[cfg(test)]
mod tests;
