//! Events as controllers, the scheduler and the kubelet record them: core v1 Events,
//! aggregated (one object whose count grows) rather than duplicated.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Simulator;
use super::kinds::Kinds;
use super::naming::hex_suffix;
use super::object::{name, namespace, uid};
use super::timestamps::{time, ts};
use crate::clock::rfc3339_micro;
use crate::store::Store;

/// Remembers which event object holds each (object, reason, message, source).
#[derive(Debug, Default)]
pub struct Recorder {
    names: HashMap<String, String>,
}

/// Who reports an event.
#[derive(Debug, Clone)]
pub enum Source {
    /// A controller (`deployment-controller`, `persistentvolume-controller` ...): old-style.
    Controller(&'static str),
    /// The kubelet on a node: old-style with `source.host`.
    Kubelet(String),
    /// The scheduler: new-style (`eventTime`, `series`, `reportingComponent`).
    Scheduler,
}

/// One aggregated event: `count` occurrences between `first` and `last`.
#[derive(Debug, Clone)]
pub struct Ev {
    /// `spec.containers{name}` for container events.
    pub field_path: Option<String>,
    /// `Normal` or `Warning`.
    pub warning: bool,
    /// Reason, e.g. `BackOff`.
    pub reason: &'static str,
    /// Message.
    pub message: String,
    /// Reporter.
    pub source: Source,
    /// Occurrences so far (at least 1).
    pub count: u64,
    /// First occurrence.
    pub first: Timestamp,
    /// Latest occurrence.
    pub last: Timestamp,
}

/// Records (creates or updates) an aggregated event.
pub fn record(sim: &mut Simulator, store: &mut Store, object: &Value, ev: Ev) {
    // An event older than the TTL would only be swept again.
    if sim
        .now
        .is_some_and(|now| now.duration_since(ev.last).as_secs_f64() > super::EVENT_TTL_SECS)
    {
        return;
    }
    let ns = match namespace(object) {
        "" => "default",
        n => n,
    };
    let component = match &ev.source {
        Source::Controller(c) => *c,
        Source::Kubelet(_) => "kubelet",
        Source::Scheduler => "default-scheduler",
    };
    let key = format!(
        "{}/{}/{}/{}/{}",
        uid(object),
        ev.field_path.as_deref().unwrap_or(""),
        ev.reason,
        ev.message,
        component
    );
    let event_name = sim
        .events
        .names
        .entry(key.clone())
        .or_insert_with(|| format!("{}.{}", name(object), hex_suffix(&key)))
        .clone();
    let mut involved = json!({
        "apiVersion": object["apiVersion"],
        "kind": object["kind"],
        "name": name(object),
        "uid": uid(object),
    });
    if !namespace(object).is_empty() {
        involved["namespace"] = json!(namespace(object));
    }
    if let Some(fp) = &ev.field_path {
        involved["fieldPath"] = json!(fp);
    }
    let count = ev.count.max(1);
    let mut obj = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns, "creationTimestamp": time(ev.first)},
        "involvedObject": involved,
        "reason": ev.reason,
        "message": ev.message,
        "type": if ev.warning { "Warning" } else { "Normal" },
    });
    match &ev.source {
        Source::Scheduler => {
            obj["source"] = json!({});
            obj["eventTime"] = json!(rfc3339_micro(ev.first));
            obj["firstTimestamp"] = Value::Null;
            obj["lastTimestamp"] = Value::Null;
            obj["reportingComponent"] = json!("default-scheduler");
            obj["reportingInstance"] = json!("default-scheduler-control-plane");
            obj["action"] = json!(if ev.reason == "Scheduled" {
                "Binding"
            } else {
                "Scheduling"
            });
            if count > 1 {
                obj["series"] = json!({"count": count, "lastObservedTime": rfc3339_micro(ev.last)});
            }
        }
        Source::Controller(_) | Source::Kubelet(_) => {
            let mut source = json!({"component": component});
            let mut instance = String::new();
            if let Source::Kubelet(host) = &ev.source {
                source["host"] = json!(host);
                instance = host.clone();
            }
            obj["source"] = source;
            obj["count"] = json!(count);
            obj["firstTimestamp"] = time(ev.first);
            obj["lastTimestamp"] = time(ev.last);
            obj["eventTime"] = Value::Null;
            obj["reportingComponent"] = json!(component);
            obj["reportingInstance"] = json!(instance);
        }
    }
    match store.get(Kinds::events(), ns, &event_name) {
        Some(old) => {
            let mut updated = (*old).clone();
            for k in [
                "count",
                "firstTimestamp",
                "lastTimestamp",
                "series",
                "message",
                "eventTime",
            ] {
                match obj.get(k) {
                    Some(v) => updated[k] = v.clone(),
                    None => {
                        if let Some(m) = updated.as_object_mut() {
                            m.remove(k);
                        }
                    }
                }
            }
            if updated != *old {
                sim.write(store, Kinds::events(), updated);
            }
        }
        None => {
            sim.create(store, Kinds::events(), obj);
        }
    }
}

/// Drops events last seen more than `ttl` seconds ago.
pub fn sweep(sim: &mut Simulator, store: &mut Store, now: Timestamp, ttl: f64) {
    let mine: std::collections::HashSet<&str> =
        sim.events.names.values().map(String::as_str).collect();
    let old: Vec<(String, String)> = store
        .list(Kinds::events(), None)
        .iter()
        .filter(|e| mine.contains(name(e)))
        .filter(|e| {
            let last = ts(&e["lastTimestamp"])
                .or_else(|| ts(&e["series"]["lastObservedTime"]))
                .or_else(|| ts(&e["eventTime"]))
                .or_else(|| ts(&e["metadata"]["creationTimestamp"]));
            last.is_some_and(|l| now.duration_since(l).as_secs_f64() > ttl)
        })
        .map(|e| (namespace(e).to_string(), name(e).to_string()))
        .collect();
    if old.is_empty() {
        return;
    }
    let names: std::collections::HashSet<&str> = old.iter().map(|(_, n)| n.as_str()).collect();
    sim.events.names.retain(|_, v| !names.contains(v.as_str()));
    for (ns, n) in &old {
        sim.delete(store, Kinds::events(), ns, n);
    }
}

impl Ev {
    /// A single occurrence at `at`.
    pub fn once(
        reason: &'static str,
        message: String,
        warning: bool,
        source: Source,
        at: Timestamp,
    ) -> Ev {
        Ev {
            field_path: None,
            warning,
            reason,
            message,
            source,
            count: 1,
            first: at,
            last: at,
        }
    }
}
