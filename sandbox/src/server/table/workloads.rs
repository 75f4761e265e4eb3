//! Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob and HorizontalPodAutoscaler rows.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::format::*;
use crate::sim::object::{arr, i, s};

/// The `kubectl get` cells computed by `job`.
pub(super) fn job_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (c, im) = containers_images(o, "/spec/template/spec/containers");
    let cond = |ty: &str| {
        arr(o, "/status/conditions")
            .iter()
            .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
    };
    let status = if cond("Failed") {
        "Failed"
    } else if cond("Complete") {
        "Complete"
    } else if cond("Suspended") {
        "Suspended"
    } else if cond("FailureTarget") {
        "FailureTarget"
    } else if cond("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        "Running"
    };
    let completions = match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(n) => format!("{}/{n}", i(o, "/status/succeeded").unwrap_or(0)),
        None => {
            let p = o
                .pointer("/spec/parallelism")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if p > 1 {
                format!("{}/1 of {p}", i(o, "/status/succeeded").unwrap_or(0))
            } else {
                format!("{}/1", i(o, "/status/succeeded").unwrap_or(0))
            }
        }
    };
    let start = s(o, "/status/startTime");
    let done = s(o, "/status/completionTime");
    let duration = match (start.parse::<Timestamp>(), done.parse::<Timestamp>()) {
        (Ok(a), Ok(b)) => human_duration(b.as_second() - a.as_second()),
        (Ok(a), Err(_)) => human_duration(now.as_second() - a.as_second()),
        _ => String::new(),
    };
    vec![
        json!(s(o, "/metadata/name")),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(o, now)),
        json!(c),
        json!(im),
        json!(selector_cell(o.pointer("/spec/selector"))),
    ]
}

/// The TARGETS column of a HorizontalPodAutoscaler.
pub(super) fn hpa_targets(o: &Value) -> String {
    let current = arr(o, "/status/currentMetrics");
    let parts: Vec<String> = arr(o, "/spec/metrics")
        .iter()
        .enumerate()
        .filter(|(_, m)| s(m, "/type") == "Resource")
        .map(|(idx, m)| {
            let res = s(m, "/resource/name");
            let target = m
                .pointer("/resource/target/averageUtilization")
                .and_then(Value::as_i64)
                .map_or("<unknown>".to_string(), |t| format!("{t}%"));
            let cur = current
                .get(idx)
                .and_then(|c| c.pointer("/resource/current/averageUtilization"))
                .and_then(Value::as_i64)
                .map_or("<unknown>".to_string(), |c| format!("{c}%"));
            format!("{res}: {cur}/{target}")
        })
        .collect();
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(", ")
    }
}

/// The `kubectl get` cells of a Deployment.
pub(super) fn deployment_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let (c, im) = containers_images(o, "/spec/template/spec/containers");
    vec![
        name,
        json!(format!(
            "{}/{}",
            i(o, "/status/readyReplicas").unwrap_or(0),
            desired(o)
        )),
        json!(i(o, "/status/updatedReplicas").unwrap_or(0)),
        json!(i(o, "/status/availableReplicas").unwrap_or(0)),
        json!(age(o, now)),
        json!(c),
        json!(im),
        json!(selector_cell(o.pointer("/spec/selector"))),
    ]
}

/// The `kubectl get` cells of a ReplicaSet.
pub(super) fn replica_set_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let (c, im) = containers_images(o, "/spec/template/spec/containers");
    vec![
        name,
        json!(desired(o)),
        json!(i(o, "/status/replicas").unwrap_or(0)),
        json!(i(o, "/status/readyReplicas").unwrap_or(0)),
        json!(age(o, now)),
        json!(c),
        json!(im),
        json!(selector_cell(o.pointer("/spec/selector"))),
    ]
}

/// The `kubectl get` cells of a StatefulSet.
pub(super) fn stateful_set_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let (c, im) = containers_images(o, "/spec/template/spec/containers");
    vec![
        name,
        json!(format!(
            "{}/{}",
            i(o, "/status/readyReplicas").unwrap_or(0),
            desired(o)
        )),
        json!(age(o, now)),
        json!(c),
        json!(im),
    ]
}

/// The `kubectl get` cells of a DaemonSet.
pub(super) fn daemon_set_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let (c, im) = containers_images(o, "/spec/template/spec/containers");
    vec![
        name,
        json!(i(o, "/status/desiredNumberScheduled").unwrap_or(0)),
        json!(i(o, "/status/currentNumberScheduled").unwrap_or(0)),
        json!(i(o, "/status/numberReady").unwrap_or(0)),
        json!(i(o, "/status/updatedNumberScheduled").unwrap_or(0)),
        json!(i(o, "/status/numberAvailable").unwrap_or(0)),
        json!(map_cell(o.pointer("/spec/template/spec/nodeSelector"))),
        json!(age(o, now)),
        json!(c),
        json!(im),
        json!(selector_cell(o.pointer("/spec/selector"))),
    ]
}

/// The `kubectl get` cells of a CronJob.
pub(super) fn cron_job_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let (c, im) = containers_images(o, "/spec/jobTemplate/spec/template/spec/containers");
    let last = s(o, "/status/lastScheduleTime");
    vec![
        name,
        json!(s(o, "/spec/schedule")),
        json!(or_none(s(o, "/spec/timeZone").to_string())),
        json!(
            o.pointer("/spec/suspend")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
        json!(arr(o, "/status/active").len()),
        json!(if last.is_empty() {
            "<none>".to_string()
        } else {
            since(last, now)
        }),
        json!(age(o, now)),
        json!(c),
        json!(im),
        json!(selector_cell(o.pointer("/spec/jobTemplate/spec/selector"))),
    ]
}

/// The `kubectl get` cells of a HorizontalPodAutoscaler.
pub(super) fn horizontal_pod_autoscaler_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let min = o
        .pointer("/spec/minReplicas")
        .and_then(Value::as_i64)
        .map_or("<unset>".to_string(), |m| m.to_string());
    vec![
        name,
        json!(format!(
            "{}/{}",
            s(o, "/spec/scaleTargetRef/kind"),
            s(o, "/spec/scaleTargetRef/name")
        )),
        json!(hpa_targets(o)),
        json!(min),
        json!(i(o, "/spec/maxReplicas").unwrap_or(0)),
        json!(i(o, "/status/currentReplicas").unwrap_or(0)),
        json!(age(o, now)),
    ]
}
