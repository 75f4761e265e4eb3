//! Pod rows: the STATUS, READY and RESTARTS columns as `kubectl get pods` computes them.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::format::*;
use crate::sim::object::{arr, i, s};

/// The pod STATUS column, as `kubectl get pods` computes it.
// Kept whole beside kubectl's printPod, which it follows step by step.
pub(super) fn pod_status(o: &Value) -> (String, usize, usize, i64, Option<String>) {
    let phase = s(o, "/status/phase");
    let mut reason = match s(o, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    for c in arr(o, "/status/conditions") {
        if s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }
    let init_specs = arr(o, "/spec/initContainers");
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
    };
    let mut total = arr(o, "/spec/containers").len()
        + init_specs
            .iter()
            .filter(|c| s(c, "/restartPolicy") == "Always")
            .count();
    if total == 0 {
        total = arr(o, "/status/containerStatuses").len();
    }
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut restartable_restarts = 0i64;
    let mut last_restart = String::new();
    let mut last_restartable = String::new();
    let later = |cur: &mut String, t: &str| {
        if t > cur.as_str() {
            *cur = t.to_string();
        }
    };
    let mut initializing = false;
    for (idx, c) in arr(o, "/status/initContainerStatuses").iter().enumerate() {
        restarts += i(c, "/restartCount").unwrap_or(0);
        let fin = s(c, "/lastState/terminated/finishedAt");
        later(&mut last_restart, fin);
        let name = s(c, "/name");
        if restartable(name) {
            restartable_restarts += i(c, "/restartCount").unwrap_or(0);
            later(&mut last_restartable, fin);
        }
        let term = c.pointer("/state/terminated");
        let waiting_reason = s(c, "/state/waiting/reason");
        if term.is_some() && i(c, "/state/terminated/exitCode").unwrap_or(0) == 0 {
            continue;
        }
        if restartable(name) && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if term.is_some() {
            let r = s(c, "/state/terminated/reason");
            reason = if r.is_empty() {
                let sig = i(c, "/state/terminated/signal").unwrap_or(0);
                if sig != 0 {
                    format!("Init:Signal:{sig}")
                } else {
                    format!(
                        "Init:ExitCode:{}",
                        i(c, "/state/terminated/exitCode").unwrap_or(0)
                    )
                }
            } else {
                format!("Init:{r}")
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{idx}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = arr(o, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == "Initialized" && s(c, "/status") == "True");
    if !initializing || initialized {
        restarts = restartable_restarts;
        last_restart = last_restartable;
        let mut has_running = false;
        for c in arr(o, "/status/containerStatuses").iter().rev() {
            restarts += i(c, "/restartCount").unwrap_or(0);
            later(&mut last_restart, s(c, "/lastState/terminated/finishedAt"));
            let waiting = s(c, "/state/waiting/reason");
            let term = c.pointer("/state/terminated");
            let term_reason = s(c, "/state/terminated/reason");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if term.is_some() && !term_reason.is_empty() {
                reason = term_reason.to_string();
            } else if term.is_some() {
                let sig = i(c, "/state/terminated/signal").unwrap_or(0);
                reason = if sig != 0 {
                    format!("Signal:{sig}")
                } else {
                    format!(
                        "ExitCode:{}",
                        i(c, "/state/terminated/exitCode").unwrap_or(0)
                    )
                };
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = arr(o, "/status/conditions")
                .iter()
                .any(|c| s(c, "/type") == "Ready" && s(c, "/status") == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    let deleting = o.pointer("/metadata/deletionTimestamp").is_some();
    if deleting && s(o, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let last = (!last_restart.is_empty()).then_some(last_restart);
    (reason, ready, total, restarts, last)
}

/// The `kubectl get` cells computed by `pod_cells`.
pub(super) fn pod_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let (reason, ready, total, restarts, last) = pod_status(o);
    let restarts_str = match (restarts, last) {
        (0, _) | (_, None) => restarts.to_string(),
        (n, Some(t)) => format!("{n} ({} ago)", since(&t, now)),
    };
    let ip = arr(o, "/status/podIPs")
        .first()
        .map(|p| s(p, "/ip").to_string())
        .unwrap_or_else(|| s(o, "/status/podIP").to_string());
    let gates = arr(o, "/spec/readinessGates");
    let gates_str = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conds = arr(o, "/status/conditions");
        let ok = gates
            .iter()
            .filter(|g| {
                conds
                    .iter()
                    .any(|c| s(c, "/type") == s(g, "/conditionType") && s(c, "/status") == "True")
            })
            .count();
        format!("{ok}/{}", gates.len())
    };
    vec![
        json!(s(o, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_str),
        json!(age(o, now)),
        json!(or_none(ip)),
        json!(or_none(s(o, "/spec/nodeName").to_string())),
        json!(or_none(s(o, "/status/nominatedNodeName").to_string())),
        json!(gates_str),
    ]
}
