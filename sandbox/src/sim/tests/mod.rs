//! The simulator's tests, by subject, and the helpers they share: a scenario loaded into a
//! store with a manual clock, and accessors for what the tests look at.

mod builtins;
mod classes;
mod helpers;
mod network;
mod stories;

use std::sync::Arc;

use jiff::SignedDuration;
use serde_json::Value;

use super::Simulator;
use super::kinds::Kinds;
use super::object::{arr, name, s};
use crate::clock::Clock;
use crate::scenario::Scenario;
use crate::store::Store;

pub(super) fn load_yaml(scenario: &Scenario) -> (Store, Simulator) {
    let clock = Clock::manual("2026-03-01T12:00:00Z".parse().unwrap());
    let mut store = Store::new(clock);
    let mut sim = Simulator::new(scenario);
    sim.load(&mut store, scenario).unwrap();
    (store, sim)
}

pub(super) fn load(name: &str) -> (Store, Simulator) {
    load_yaml(&Scenario::builtin(name).unwrap())
}

pub(super) fn advance(store: &mut Store, sim: &mut Simulator, secs: i64) {
    store.clock().advance(SignedDuration::from_secs(secs));
    sim.reconcile(store);
}

pub(super) fn pods(store: &Store, ns: &str, prefix: &str) -> Vec<Arc<Value>> {
    store
        .list(Kinds::pods(), Some(ns))
        .into_iter()
        .filter(|p| name(p).starts_with(prefix))
        .collect()
}

pub(super) fn ready(p: &Value) -> bool {
    arr(p, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

pub(super) fn waiting(p: &Value) -> &str {
    s(p, "/status/containerStatuses/0/state/waiting/reason")
}

pub(super) fn events_for(store: &Store, ns: &str, obj: &str) -> Vec<Arc<Value>> {
    store
        .list(Kinds::events(), Some(ns))
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == obj)
        .collect()
}

pub(super) fn condition<'a>(obj: &'a Value, ty: &str) -> &'a Value {
    arr(obj, "/status/conditions")
        .iter()
        .find(|c| c["type"] == ty)
        .unwrap_or(&Value::Null)
}

pub(super) fn ready_addresses(store: &Store, ns: &str, svc: &str) -> usize {
    store
        .get(Kinds::endpoints(), ns, svc)
        .map(|e| {
            arr(&e, "/subsets")
                .iter()
                .map(|ss| arr(ss, "/addresses").len())
                .sum()
        })
        .unwrap_or(0)
}
