//! `events.k8s.io/v1` Events: served from, and stored as, the core Events the store keeps.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resources::ResourceType;
use crate::store::Stored;

/// Whether `rt` is the `events.k8s.io` view of Events.
pub(super) fn is_events_v1(rt: &ResourceType) -> bool {
    rt.group == "events.k8s.io"
}

/// A stored core Event as an `events.k8s.io/v1` Event.
pub(super) fn to_events_v1(o: &Value) -> Value {
    let mut e = json!({
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({})),
    });
    let copy = |e: &mut Value, from: &str, to: &str| {
        if let Some(v) = o.get(from).filter(|v| !v.is_null()) {
            e[to] = v.clone();
        }
    };
    copy(&mut e, "eventTime", "eventTime");
    if e.get("eventTime").is_none() {
        let t = o
            .get("firstTimestamp")
            .or_else(|| o.pointer("/metadata/creationTimestamp"))
            .cloned()
            .unwrap_or(Value::Null);
        e["eventTime"] = t;
    }
    copy(&mut e, "series", "series");
    copy(&mut e, "reportingComponent", "reportingController");
    if e.get("reportingController").is_none()
        && let Some(c) = o.pointer("/source/component")
    {
        e["reportingController"] = c.clone();
    }
    copy(&mut e, "reportingInstance", "reportingInstance");
    copy(&mut e, "action", "action");
    copy(&mut e, "reason", "reason");
    copy(&mut e, "involvedObject", "regarding");
    copy(&mut e, "related", "related");
    copy(&mut e, "message", "note");
    copy(&mut e, "type", "type");
    copy(&mut e, "source", "deprecatedSource");
    copy(&mut e, "firstTimestamp", "deprecatedFirstTimestamp");
    copy(&mut e, "lastTimestamp", "deprecatedLastTimestamp");
    copy(&mut e, "count", "deprecatedCount");
    e
}

/// An `events.k8s.io/v1` Event as the core Event the store keeps.
pub(super) fn from_events_v1(e: &Value) -> Value {
    let mut o = json!({
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": e.get("metadata").cloned().unwrap_or_else(|| json!({})),
    });
    for (from, to) in [
        ("eventTime", "eventTime"),
        ("series", "series"),
        ("reportingController", "reportingComponent"),
        ("reportingInstance", "reportingInstance"),
        ("action", "action"),
        ("reason", "reason"),
        ("regarding", "involvedObject"),
        ("related", "related"),
        ("note", "message"),
        ("type", "type"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ] {
        if let Some(v) = e.get(from).filter(|v| !v.is_null()) {
            o[to] = v.clone();
        }
    }
    o
}

/// The object as served through `rt` (events.k8s.io Events are converted).
pub(super) fn served(rt: &ResourceType, o: Arc<Value>) -> Arc<Value> {
    if is_events_v1(rt) {
        Arc::new(to_events_v1(&o))
    } else {
        o
    }
}

/// [`served`] for a stored version: the same one, or its events.k8s.io/v1 form.
pub(super) fn served_stored(rt: &ResourceType, o: &Stored) -> Stored {
    if is_events_v1(rt) {
        Stored::tree(Arc::new(to_events_v1(&o.value())))
    } else {
        o.clone()
    }
}
