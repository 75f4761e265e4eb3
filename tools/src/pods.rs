//! Reading pods the way kubectl shows them: STATUS, READY, RESTARTS, health, and which pod and
//! container of a workload is failing.

use serde_json::Value;

use crate::k8s::{arr, at, i, s};

/// A pod's STATUS column as kubectl computes it (`CrashLoopBackOff`, `Init:0/1`, `Completed`,
/// `Terminating`, `Evicted`...).
pub fn status(pod: &Value) -> String {
    let mut reason = s(pod, &["status", "reason"]).to_string();
    if reason.is_empty() {
        reason = s(pod, &["status", "phase"]).to_string();
    }
    if reason.is_empty() {
        reason = "Pending".into();
    }
    let inits = arr(pod, &["status", "initContainerStatuses"]);
    let init_total = arr(pod, &["spec", "initContainers"]).len().max(inits.len());
    let mut initializing = false;
    for (idx, c) in inits.iter().enumerate() {
        if let Some(t) = at(c, &["state", "terminated"]) {
            if i(t, &["exitCode"]) == 0 {
                continue;
            }
            reason = match s(t, &["reason"]) {
                "" if i(t, &["signal"]) != 0 => format!("Init:Signal:{}", i(t, &["signal"])),
                "" => format!("Init:ExitCode:{}", i(t, &["exitCode"])),
                r => format!("Init:{r}"),
            };
        } else if let Some(w) = at(c, &["state", "waiting"])
            && !s(w, &["reason"]).is_empty()
            && s(w, &["reason"]) != "PodInitializing"
        {
            reason = format!("Init:{}", s(w, &["reason"]));
        } else {
            reason = format!("Init:{idx}/{init_total}");
        }
        initializing = true;
        break;
    }
    if !initializing {
        let mut has_running = false;
        for c in arr(pod, &["status", "containerStatuses"]).iter().rev() {
            if let Some(w) = at(c, &["state", "waiting"])
                && !s(w, &["reason"]).is_empty()
            {
                reason = s(w, &["reason"]).to_string();
            } else if let Some(t) = at(c, &["state", "terminated"]) {
                reason = match s(t, &["reason"]) {
                    "" if i(t, &["signal"]) != 0 => format!("Signal:{}", i(t, &["signal"])),
                    "" => format!("ExitCode:{}", i(t, &["exitCode"])),
                    r => r.to_string(),
                };
            } else if at(c, &["state", "running"]).is_some()
                && c.get("ready").and_then(Value::as_bool) == Some(true)
            {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".into();
        }
    }
    if at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null()) {
        reason = "Terminating".into();
    }
    reason
}

/// Whether a typed pod's Ready condition is True (what Services and controllers count).
pub fn is_ready(pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `(ready, total)` containers.
pub fn ready(pod: &Value) -> (usize, usize) {
    let statuses = arr(pod, &["status", "containerStatuses"]);
    let total = arr(pod, &["spec", "containers"]).len().max(statuses.len());
    let ready = statuses
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    (ready, total)
}

/// Total restarts of the pod's containers.
pub fn restarts(pod: &Value) -> i64 {
    arr(pod, &["status", "containerStatuses"])
        .iter()
        .map(|c| i(c, &["restartCount"]))
        .sum()
}

/// When a container of the pod last terminated (the last restart), if known.
pub fn last_restart(pod: &Value) -> Option<&str> {
    arr(pod, &["status", "containerStatuses"])
        .iter()
        .filter_map(|c| at(c, &["lastState", "terminated", "finishedAt"]).and_then(Value::as_str))
        .max()
}

/// Whether the pod is healthy: completed, or running with every container ready.
pub fn healthy(pod: &Value) -> bool {
    let st = status(pod);
    if st == "Completed" || s(pod, &["status", "phase"]) == "Succeeded" {
        return true;
    }
    let (r, t) = ready(pod);
    st == "Running" && r == t
}

/// How badly a container is failing (higher is worse): waiting on a failure, terminated with
/// an error, not ready, restarted.
pub fn container_failure(c: &Value) -> i64 {
    let waiting = s(c, &["state", "waiting", "reason"]);
    let mut score = 0;
    if !waiting.is_empty() && waiting != "ContainerCreating" && waiting != "PodInitializing" {
        score += 40;
    }
    if at(c, &["state", "terminated"]).is_some() && i(c, &["state", "terminated", "exitCode"]) != 0
    {
        score += 30;
    }
    if c.get("ready").and_then(Value::as_bool) != Some(true) {
        score += 10;
    }
    score + i(c, &["restartCount"]).min(9)
}

/// How badly a pod is failing (higher is worse); 0 for a healthy pod.
pub fn failure_score(pod: &Value) -> i64 {
    let worst = arr(pod, &["status", "containerStatuses"])
        .iter()
        .chain(arr(pod, &["status", "initContainerStatuses"]).iter())
        .map(container_failure)
        .max()
        .unwrap_or(0);
    let st = status(pod);
    let phase_bad = match s(pod, &["status", "phase"]) {
        "Failed" => 50,
        "Pending" | "Unknown" | "" => 20,
        _ => 0,
    };
    if healthy(pod) && worst < 10 {
        return i64::from(restarts(pod) > 0);
    }
    worst.max(phase_bad) + i64::from(st != "Running") * 5
}

/// The most failing container of a pod (by name), else its first container.
pub fn failing_container(pod: &Value) -> Option<String> {
    let statuses = arr(pod, &["status", "containerStatuses"]);
    statuses
        .iter()
        .max_by_key(|c| container_failure(c))
        .filter(|c| container_failure(c) > 0)
        .map(|c| s(c, &["name"]).to_string())
        .or_else(|| {
            arr(pod, &["spec", "containers"])
                .first()
                .map(|c| s(c, &["name"]).to_string())
        })
}

/// The pod to look at among a workload's pods: the most failing, then the most restarted,
/// then the newest.
pub fn pick_failing(pods: &[Value]) -> Option<&Value> {
    pods.iter().max_by(|a, b| {
        failure_score(a)
            .cmp(&failure_score(b))
            .then(restarts(a).cmp(&restarts(b)))
            .then(
                s(a, &["metadata", "creationTimestamp"])
                    .cmp(s(b, &["metadata", "creationTimestamp"])),
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crashing() -> Value {
        json!({"metadata": {"name": "backend-1", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "backend"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "backend", "ready": false, "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "finishedAt": "2026-01-01T00:10:00Z"}}}]}})
    }

    fn running() -> Value {
        json!({"metadata": {"name": "backend-2", "creationTimestamp": "2026-01-01T00:05:00Z"},
            "spec": {"containers": [{"name": "backend"}, {"name": "proxy"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "backend", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "proxy", "ready": true, "restartCount": 0, "state": {"running": {}}}]}})
    }

    #[test]
    fn kubectl_status() {
        assert_eq!(status(&crashing()), "CrashLoopBackOff");
        assert_eq!(status(&running()), "Running");
        let init = json!({"spec": {"initContainers": [{"name": "migrate"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}]}});
        assert_eq!(status(&init), "Init:0/1");
        let evicted = json!({"status": {"phase": "Failed", "reason": "Evicted"}});
        assert_eq!(status(&evicted), "Evicted");
        let done = json!({"status": {"phase": "Succeeded", "containerStatuses": [
            {"name": "a", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        assert_eq!(status(&done), "Completed");
        assert!(healthy(&done));
        let oom = json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": false, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}});
        assert_eq!(status(&oom), "OOMKilled");
        let term = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running"}});
        assert_eq!(status(&term), "Terminating");
    }

    #[test]
    fn ready_restarts_health() {
        assert_eq!(ready(&crashing()), (0, 1));
        assert_eq!(ready(&running()), (2, 2));
        assert_eq!(restarts(&crashing()), 5);
        assert_eq!(last_restart(&crashing()), Some("2026-01-01T00:10:00Z"));
        assert!(!healthy(&crashing()));
        assert!(healthy(&running()));
    }

    #[test]
    fn picks_the_failing_pod_and_container() {
        let pods = vec![running(), crashing()];
        let picked = pick_failing(&pods).map(|p| s(p, &["metadata", "name"]).to_string());
        assert_eq!(picked.as_deref(), Some("backend-1"));
        assert_eq!(failing_container(&crashing()).as_deref(), Some("backend"));
        assert_eq!(failing_container(&running()).as_deref(), Some("backend"));
        assert!(failure_score(&crashing()) > failure_score(&running()));
    }
}
