//! The horizontal pod autoscaler: CPU utilization of the target's pods (their declared use
//! against their requests), the replica count it asks for within `minReplicas` and
//! `maxReplicas`, the scale it sets, and its conditions and events in the controller's words.
//!
//! Simplification: a lower recommendation applies at once (no five-minute stabilization).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::active;
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::kinds::{Kinds, rt};
use crate::sim::labels::selects;
use crate::sim::metrics::container_use;
use crate::sim::object::{arr, i, name, namespace, s};
use crate::sim::quantity::cpu_millis;
use crate::sim::timestamps::time;
use crate::store::Store;

/// Changes within this fraction of the target do not rescale (the controller's tolerance).
const TOLERANCE: f64 = 0.1;

/// Runs the autoscaler over every simulated HPA of the namespaces in scope.
pub fn autoscalers(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    for hpa in sim.scoped_trees(store, Kinds::hpas()) {
        if sim.is_frozen(&hpa) {
            continue;
        }
        autoscale(sim, store, &hpa, now);
    }
}

/// The CPU target: a utilization percentage of requests (v2 `metrics`, or v1's
/// `targetCPUUtilizationPercentage`, default 80).
fn target_utilization(hpa: &Value) -> i64 {
    arr(hpa, "/spec/metrics")
        .iter()
        .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu")
        .and_then(|m| m["resource"]["target"]["averageUtilization"].as_i64())
        .or_else(|| i(hpa, "/spec/targetCPUUtilizationPercentage"))
        .unwrap_or(80)
        .max(1)
}

/// What the metrics say: `(utilization %, average millicores)`, or why they cannot.
fn utilization(sim: &Simulator, store: &Store, pods: &[&Value]) -> Result<(i64, i64), String> {
    let (mut used, mut requested, mut sampled) = (0i64, 0i64, 0i64);
    for p in pods {
        for c in arr(p, "/spec/containers") {
            let Some(req) = c.pointer("/resources/requests/cpu").map(cpu_millis) else {
                return Err(format!(
                    "missing request for cpu in container {} of Pod {}",
                    s(c, "/name"),
                    name(p)
                ));
            };
            if let Some((cpu, _)) = container_use(sim, store, p, c) {
                used += cpu;
                requested += req;
                sampled += 1;
            }
        }
    }
    if sampled == 0 || requested == 0 {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    let per_pod = used / (pods.len().max(1) as i64);
    Ok(((used * 100) / requested, per_pod))
}

/// An HPA condition, keeping its transition time while its status holds.
fn condition(old: &Value, now: Timestamp, ty: &str, st: &str, reason: &str, msg: &str) -> Value {
    let prev = arr(old, "")
        .iter()
        .find(|c| c["type"] == ty && c["status"] == st)
        .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string));
    json!({"type": ty, "status": st, "reason": reason, "message": msg,
        "lastTransitionTime": prev.map_or_else(|| time(now), Value::from)})
}

/// A warning of the autoscaler.
fn warn(reason: &'static str, message: String, now: Timestamp) -> Ev {
    Ev::once(
        reason,
        message,
        true,
        Source::Controller("horizontal-pod-autoscaler"),
        now,
    )
}

fn autoscale(sim: &mut Simulator, store: &mut Store, hpa: &Value, now: Timestamp) {
    let ns = namespace(hpa).to_string();
    let target = &hpa["spec"]["scaleTargetRef"];
    let (kind, tname) = (s(target, "/kind"), s(target, "/name"));
    let plural = match kind {
        "Deployment" => "deployments",
        "StatefulSet" => "statefulsets",
        "ReplicaSet" => "replicasets",
        _ => "",
    };
    let old = hpa["status"]["conditions"].clone();
    let cond =
        |ty: &str, st: &str, reason: &str, msg: &str| condition(&old, now, ty, st, reason, msg);
    let Some(scalable) = (!plural.is_empty())
        .then(|| store.get(rt("apps", plural), &ns, tname))
        .flatten()
    else {
        let why = format!("{plural}/scale.apps \"{tname}\" not found");
        let status = json!({"currentReplicas": 0, "desiredReplicas": 0, "conditions": [
            cond("AbleToScale", "False", "FailedGetScale",
                &format!("the HPA controller was unable to get the target's current scale: {why}"))]});
        write_status(sim, store, hpa, status);
        events::record(sim, store, hpa, warn("FailedGetScale", why, now));
        return;
    };
    let current = i(&scalable, "/spec/replicas").unwrap_or(1);
    let selector = scalable["spec"]["selector"].clone();
    let all = store.list(Kinds::pods(), Some(&ns));
    let pods: Vec<&Value> = all
        .iter()
        .filter(|p| active(p) && selects(&selector, &p["metadata"]["labels"]))
        .map(|p| &**p)
        .collect();
    match utilization(sim, store, &pods) {
        Ok((util, avg)) => {
            let status = scale_to(sim, store, hpa, &scalable, plural, util, avg, now);
            write_status(sim, store, hpa, status);
        }
        Err(why) => {
            let msg = format!("failed to get cpu utilization: {why}");
            let status = json!({"currentReplicas": current, "desiredReplicas": 0, "conditions": [
                cond("AbleToScale", "True", "SucceededGetScale",
                    "the HPA controller was able to get the target's current scale"),
                cond("ScalingActive", "False", "FailedGetResourceMetric",
                    &format!("the HPA was unable to compute the replica count: {msg}"))]});
            write_status(sim, store, hpa, status);
            if pods.is_empty() || why.starts_with("did not receive") {
                // Pods still starting: no samples yet, nothing to report.
                return;
            }
            let invalid = format!(
                "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {msg}"
            );
            events::record(sim, store, hpa, warn("FailedGetResourceMetric", msg, now));
            events::record(
                sim,
                store,
                hpa,
                warn("FailedComputeMetricsReplicas", invalid, now),
            );
        }
    }
}

/// The replica count the utilization asks for, within the HPA's bounds; scales the target
/// to it (with the event) and returns the HPA's status.
#[allow(clippy::too_many_arguments)]
fn scale_to(
    sim: &mut Simulator,
    store: &mut Store,
    hpa: &Value,
    scalable: &Value,
    plural: &str,
    util: i64,
    avg: i64,
    now: Timestamp,
) -> Value {
    let old = hpa["status"]["conditions"].clone();
    let cond =
        |ty: &str, st: &str, reason: &str, msg: &str| condition(&old, now, ty, st, reason, msg);
    let current = i(scalable, "/spec/replicas").unwrap_or(1);
    let min = i(hpa, "/spec/minReplicas").unwrap_or(1).max(1);
    let max = i(hpa, "/spec/maxReplicas").unwrap_or(min).max(min);
    let ratio = util as f64 / target_utilization(hpa) as f64;
    let wanted = if (ratio - 1.0).abs() <= TOLERANCE {
        current
    } else {
        (current as f64 * ratio).ceil() as i64
    };
    let desired = wanted.clamp(min, max);
    let limited = if wanted > max {
        cond(
            "ScalingLimited",
            "True",
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
        )
    } else if wanted < min {
        cond(
            "ScalingLimited",
            "True",
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
        )
    } else {
        cond(
            "ScalingLimited",
            "False",
            "DesiredWithinRange",
            "the desired count is within the acceptable range",
        )
    };
    let mut status = json!({
        "observedGeneration": hpa["metadata"]["generation"],
        "currentReplicas": current, "desiredReplicas": desired,
        "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": util, "averageValue": format!("{avg}m")}}}],
    });
    let able = if desired != current {
        let mut scaled = scalable.clone();
        scaled["spec"]["replicas"] = json!(desired);
        sim.write(store, rt("apps", plural), scaled);
        let why = if desired > current { "above" } else { "below" };
        let msg = format!(
            "New size: {desired}; reason: cpu resource utilization (percentage of request) {why} target"
        );
        let source = Source::Controller("horizontal-pod-autoscaler");
        events::record(
            sim,
            store,
            hpa,
            Ev::once("SuccessfulRescale", msg, false, source, now),
        );
        status["lastScaleTime"] = time(now);
        cond(
            "AbleToScale",
            "True",
            "SucceededRescale",
            &format!("the HPA controller was able to update the target scale to {desired}"),
        )
    } else {
        if let Some(t) = hpa["status"].get("lastScaleTime") {
            status["lastScaleTime"] = t.clone();
        }
        cond(
            "AbleToScale",
            "True",
            "ReadyForNewScale",
            "recommended size matches current size",
        )
    };
    status["conditions"] = json!([
        able,
        cond(
            "ScalingActive",
            "True",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"
        ),
        limited
    ]);
    status
}

fn write_status(sim: &mut Simulator, store: &mut Store, hpa: &Value, status: Value) {
    if hpa.get("status") != Some(&status) {
        let mut v = hpa.clone();
        v["status"] = status;
        sim.write(store, Kinds::hpas(), v);
    }
}
