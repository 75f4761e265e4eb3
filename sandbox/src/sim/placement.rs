//! The scheduler's filters that look at other pods: required pod affinity and
//! anti-affinity, and topology spread constraints (`whenUnsatisfiable: DoNotSchedule`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::fit::{NodeFit, affinity_matches};
use super::labels::selects;
use super::object::{arr, namespace, s};

/// The pods in `n`'s topology domain for `key` (every node sharing its value of the label)
/// that `term` selects, counting only namespaces the term covers.
fn matches_in_domain(pod: &Value, term: &Value, key: &str, n: &NodeFit, all: &[NodeFit]) -> bool {
    let Some(value) = n.labels.get(key) else {
        return false;
    };
    let namespaces: Vec<&str> = arr(term, "/namespaces")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let ns_ok = |ns: &str| {
        if namespaces.is_empty() {
            ns == namespace(pod)
        } else {
            namespaces.contains(&ns)
        }
    };
    all.iter()
        .filter(|m| m.labels.get(key) == Some(value))
        .flat_map(|m| m.residents.iter())
        .any(|p| ns_ok(namespace(p)) && selects(&term["labelSelector"], &p["metadata"]["labels"]))
}

/// Why node `n` fails the pod's required pod affinity or anti-affinity, if it does.
pub fn pod_affinity_failure(pod: &Value, n: &NodeFit, all: &[NodeFit]) -> Option<String> {
    let required = "requiredDuringSchedulingIgnoredDuringExecution";
    for term in arr(pod, &format!("/spec/affinity/podAntiAffinity/{required}")) {
        let key = s(term, "/topologyKey");
        if matches_in_domain(pod, term, key, n, all) {
            return Some("node(s) didn't match pod anti-affinity rules".into());
        }
    }
    for term in arr(pod, &format!("/spec/affinity/podAffinity/{required}")) {
        let key = s(term, "/topologyKey");
        if !matches_in_domain(pod, term, key, n, all) {
            return Some("node(s) didn't match pod affinity rules".into());
        }
    }
    None
}

/// Why node `n` fails the pod's hard topology spread constraints, if it does: placing the
/// pod there would make the skew between domains exceed `maxSkew`.
pub fn spread_failure(pod: &Value, n: &NodeFit, all: &[NodeFit]) -> Option<String> {
    for c in arr(pod, "/spec/topologySpreadConstraints") {
        if s(c, "/whenUnsatisfiable") == "ScheduleAnyway" {
            continue;
        }
        let key = s(c, "/topologyKey");
        let Some(domain) = n.labels.get(key) else {
            return Some(
                "node(s) didn't match pod topology spread constraints (missing required label)"
                    .into(),
            );
        };
        // Domains of the nodes the pod could go to by its node selector and affinity;
        // taints do not narrow them (nodeTaintsPolicy: Ignore).
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for m in all.iter().filter(|m| affinity_matches(pod, m)) {
            let Some(d) = m.labels.get(key) else {
                continue;
            };
            let here = m
                .residents
                .iter()
                .filter(|p| {
                    namespace(p) == namespace(pod)
                        && selects(&c["labelSelector"], &p["metadata"]["labels"])
                })
                .count() as i64;
            *counts.entry(d.to_string()).or_default() += here;
        }
        let min = counts.values().copied().min().unwrap_or(0);
        let mine = counts.get(&domain.to_string()).copied().unwrap_or(0);
        let max_skew = c["maxSkew"].as_i64().unwrap_or(1).max(1);
        if mine + 1 - min > max_skew {
            return Some("node(s) didn't match pod topology spread constraints".into());
        }
    }
    None
}
