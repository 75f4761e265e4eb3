//! Pasted alerts: an Alertmanager webhook or Prometheus `/api/v1/alerts` JSON, an alert as
//! text (`alertname=KubePodCrashLooping namespace=shop pod=backend-7c4-x`, `Labels: - pod = x`,
//! `KubePodCrashLooping{namespace="shop",pod="..."}`) read as a question about their target.

use std::sync::OnceLock;

use kai_tools::Kind;
use kai_tools::inventory::{Inventory, Object};
use regex::Regex;
use serde_json::Value;

/// Labels that name an alert's target, most specific workload first.
const TARGET_LABELS: &[(&str, Kind)] = &[
    ("deployment", Kind::Deployment),
    ("statefulset", Kind::StatefulSet),
    ("daemonset", Kind::DaemonSet),
    ("cronjob", Kind::CronJob),
    ("job_name", Kind::Job),
    ("persistentvolumeclaim", Kind::PersistentVolumeClaim),
    ("horizontalpodautoscaler", Kind::HorizontalPodAutoscaler),
    ("service", Kind::Service),
    ("pod", Kind::Pod),
    ("node", Kind::Node),
];

/// Labels worth reading from text (others are ignored).
const KNOWN: &[&str] = &[
    "alertname",
    "namespace",
    "severity",
    "container",
    "deployment",
    "statefulset",
    "daemonset",
    "cronjob",
    "job_name",
    "persistentvolumeclaim",
    "horizontalpodautoscaler",
    "service",
    "pod",
    "node",
];

/// An alert's labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alert {
    /// `(label, value)` pairs, in the order read.
    pub labels: Vec<(String, String)>,
}

impl Alert {
    /// A label's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The object the alert is about, as it exists in the cluster: the named workload, else
    /// the pod (or, when the pod is gone, the workload its name comes from), else the node.
    pub fn target(&self, inv: &Inventory) -> Option<Object> {
        let ns = self.get("namespace");
        for (label, kind) in TARGET_LABELS {
            let Some(value) = self.get(label) else {
                continue;
            };
            let same = |o: &&Object| {
                o.kind == *kind && o.name == value && ns.is_none_or(|n| n == o.namespace)
            };
            if let Some(o) = inv.objects.iter().find(same) {
                return Some(o.clone());
            }
            if *kind == Kind::Pod {
                // Pods of an alert are often gone: `backend-7c4-x` stands for `backend`.
                let mut stem = value;
                while let Some((head, _)) = stem.rsplit_once('-') {
                    stem = head;
                    let owner = inv.objects.iter().find(|o| {
                        o.kind.is_workload()
                            && o.name == stem
                            && ns.is_none_or(|n| n == o.namespace)
                    });
                    if let Some(o) = owner {
                        return Some(o.clone());
                    }
                }
            }
        }
        None
    }
}

/// Reads `text` as an alert; None when it is not one.
pub fn read(text: &str) -> Option<Alert> {
    let t = text.trim();
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(t)
    {
        return from_json(&v);
    }
    let lower = t.to_ascii_lowercase();
    let alert_like = lower.contains("alertname")
        || lower.contains("[firing")
        || lower.contains("firing:")
        || lower.contains("labels:")
        || label_selector_re().is_some_and(|r| r.is_match(t));
    if !alert_like {
        return None;
    }
    let mut alert = Alert::default();
    if let Some(c) = label_selector_re().and_then(|r| r.captures(t)) {
        alert.labels.push(("alertname".into(), c[1].to_string()));
    }
    for c in pair_re().into_iter().flat_map(|r| r.captures_iter(t)) {
        let key = c[1].to_ascii_lowercase();
        if KNOWN.contains(&key.as_str()) && alert.get(&key).is_none() {
            alert.labels.push((key, c[2].to_string()));
        }
    }
    (!alert.labels.is_empty()).then_some(alert)
}

fn from_json(v: &Value) -> Option<Alert> {
    let mut candidates: Vec<&Value> = Vec::new();
    let lists = [
        v.get("alerts"),
        v.get("data").and_then(|d| d.get("alerts")),
        v.as_array().map(|_| v),
    ];
    for list in lists.into_iter().flatten() {
        for a in list.as_array().into_iter().flatten() {
            candidates.extend(a.get("labels"));
        }
    }
    candidates.extend(v.get("labels"));
    candidates.extend(v.get("commonLabels"));
    let alerts: Vec<Alert> = candidates
        .into_iter()
        .filter_map(Value::as_object)
        .map(|m| Alert {
            labels: m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.to_ascii_lowercase(), s.to_string())))
                .collect(),
        })
        .collect();
    // The first alert that names a target; else the first one.
    alerts
        .iter()
        .find(|a| TARGET_LABELS.iter().any(|(l, _)| a.get(l).is_some()))
        .or(alerts.first())
        .cloned()
}

/// `key=value`, `key="value"`, `key: value`, `key = value` pairs.
fn pair_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?i)\b([a-z_][a-z0-9_]*)\s*(?:=~|=|:)\s*["']?([A-Za-z0-9][A-Za-z0-9._\-]*)"#)
            .ok()
    })
    .as_ref()
}

/// Prometheus' `AlertName{label="value"...}`.
fn label_selector_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"\b([A-Z][A-Za-z0-9_]+)\{[a-z_]+\s*=\s*""#).ok())
        .as_ref()
}
