//! Accessors of API objects the rules share: names, owners, event times, label selectors.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::core::{Selector, SelectorExt};

pub(crate) fn ns_of(m: &ObjectMeta) -> &str {
    m.namespace.as_deref().unwrap_or_default()
}

pub(crate) fn name_of(m: &ObjectMeta) -> &str {
    m.name.as_deref().unwrap_or_default()
}

/// The Deployment a ReplicaSet belongs to by its name alone (when the ReplicaSet is not in
/// view): the name less `-<pod-template-hash>`, the hash read from its pods' labels.
pub(crate) fn deployment_by_hash<'n>(
    rs_name: &'n str,
    pod_labels: Option<&BTreeMap<String, String>>,
) -> Option<&'n str> {
    let hash = pod_labels?.get("pod-template-hash")?;
    rs_name.strip_suffix(hash.as_str())?.strip_suffix('-')
}

/// The controlling owner reference as (Kind, name).
pub(crate) fn controller_of(m: &ObjectMeta) -> Option<(&str, &str)> {
    let refs = m.owner_references.as_ref()?;
    let r = refs
        .iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| refs.first())?;
    Some((r.kind.as_str(), r.name.as_str()))
}

/// When an event last happened: eventTime, lastTimestamp, the series' last observation or
/// firstTimestamp, whichever is set (newer APIs leave lastTimestamp empty).
pub(crate) fn event_time(e: &Event) -> Option<Timestamp> {
    let series = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0);
    let candidates = [
        series,
        e.last_timestamp.as_ref().map(|t| t.0),
        e.event_time.as_ref().map(|t| t.0),
        e.first_timestamp.as_ref().map(|t| t.0),
    ];
    candidates
        .into_iter()
        .flatten()
        .max()
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// How many times an event happened (series count, else count).
pub(crate) fn event_count(e: &Event) -> i32 {
    e.series
        .as_ref()
        .and_then(|s| s.count)
        .or(e.count)
        .unwrap_or(1)
        .max(1)
}

/// A short age (`45s`, `12m`, `3h`, `2d`), as the tools print it.
pub(crate) fn age(now: Timestamp, then: Timestamp) -> String {
    crate::format::age_secs(now.as_second().saturating_sub(then.as_second()))
}

pub(crate) fn seconds_since(now: Timestamp, then: Timestamp) -> i64 {
    now.as_second().saturating_sub(then.as_second())
}

/// Whether labels satisfy a plain selector map (an empty map selects nothing here).
pub(crate) fn map_selects(
    selector: &BTreeMap<String, String>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    if selector.is_empty() {
        return false;
    }
    let Some(labels) = labels else { return false };
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether labels satisfy a LabelSelector (matchLabels and matchExpressions), by kube's
/// [`Selector`]; an empty selector selects everything, as the API defines it, and one the API
/// would reject (an unknown operator, `In` without values) selects nothing.
pub(crate) fn label_selector_selects(
    sel: &LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let empty = BTreeMap::new();
    selector_of(sel).is_some_and(|s| s.matches(labels.unwrap_or(&empty)))
}

/// A LabelSelector as kube's [`Selector`], built once to match many label sets; None for a
/// selector the API would reject.
pub(crate) fn selector_of(sel: &LabelSelector) -> Option<Selector> {
    Selector::try_from(sel.clone()).ok()
}

/// `a=1,b=2`.
pub(crate) fn labels_text(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
