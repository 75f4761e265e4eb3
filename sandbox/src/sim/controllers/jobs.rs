//! The job controller: pods until `completions` succeed or `backoffLimit` is passed.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::admission::admit;
use super::{active, new_pod, pods_by_owner, ready};
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::kinds::Kinds;
use crate::sim::object::{arr, i, name, namespace, obj_mut, s, terminating, uid};
use crate::sim::timestamps::{plus, time, ts};
use crate::store::Store;

/// The job controller: pods until completions succeed or the back-off limit is passed.
pub fn jobs(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let jobs = sim.scoped_trees(store, Kinds::jobs());
    if jobs.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    for job in jobs {
        if sim.is_frozen(&job) || terminating(&job) {
            continue;
        }
        let mut j = (*job).clone();
        let juid = uid(&job).to_string();
        let jname = name(&job).to_string();
        let ns = namespace(&job).to_string();
        with_defaults(&mut j, &juid, &jname);
        let parallelism = i(&j, "/spec/parallelism").unwrap_or(1);
        let completions = i(&j, "/spec/completions").unwrap_or(1);
        let limit = i(&j, "/spec/backoffLimit").unwrap_or(6);
        let all: Vec<Arc<Value>> = pods.get(&juid).cloned().unwrap_or_default();
        let succeeded = all
            .iter()
            .filter(|p| s(p, "/status/phase") == "Succeeded")
            .count() as i64;
        let failed_pods: Vec<&Arc<Value>> = all
            .iter()
            .filter(|p| s(p, "/status/phase") == "Failed")
            .collect();
        let restarts: i64 = all
            .iter()
            .flat_map(|p| arr(p, "/status/containerStatuses").iter())
            .map(|c| c["restartCount"].as_i64().unwrap_or(0))
            .sum();
        let failed = failed_pods.len() as i64 + restarts;
        let running: Vec<&Arc<Value>> = all.iter().filter(|p| active(p)).collect();
        let finished = |ty: &str| {
            arr(&job, "/status/conditions")
                .iter()
                .any(|c| c["type"] == ty && c["status"] == "True")
        };
        let last_finish = |ps: &[&Arc<Value>]| {
            ps.iter()
                .flat_map(|p| arr(p, "/status/containerStatuses").iter())
                .filter_map(|c| ts(&c["state"]["terminated"]["finishedAt"]))
                .max()
        };
        let source = || Source::Controller("job-controller");
        let mut status = j["status"].clone();
        if !status.is_object() {
            status = json!({});
        }
        let start = status["startTime"].clone();
        status["startTime"] = if start.is_string() { start } else { time(now) };
        let done = finished("Complete") || finished("Failed");
        if !done && failed > limit {
            let at = last_finish(&failed_pods).unwrap_or(now);
            let msg = "Job has reached the specified backoff limit";
            status["conditions"] = json!([
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": msg,
                 "lastProbeTime": time(at), "lastTransitionTime": time(at)},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": msg,
                 "lastProbeTime": time(at), "lastTransitionTime": time(at)}]);
            for p in &running {
                sim.delete(store, Kinds::pods(), &ns, name(p));
            }
            events::record(
                sim,
                store,
                &job,
                Ev::once("BackoffLimitExceeded", msg.into(), true, source(), at),
            );
        } else if !done && succeeded >= completions {
            let all_refs: Vec<&Arc<Value>> = all.iter().collect();
            let at = last_finish(&all_refs).unwrap_or(now);
            status["conditions"] = json!([
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": time(at), "lastTransitionTime": time(at)},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": time(at), "lastTransitionTime": time(at)}]);
            status["completionTime"] = time(at);
            events::record(
                sim,
                store,
                &job,
                Ev::once("Completed", "Job completed".into(), false, source(), at),
            );
        } else if !done {
            let want = parallelism.min(completions - succeeded) - running.len() as i64;
            if want > 0 {
                let delay = if failed_pods.is_empty() {
                    0.0
                } else {
                    (10.0 * 2f64.powi(failed_pods.len() as i32 - 1)).min(360.0)
                };
                let ready_at = last_finish(&failed_pods).map_or(now, |t| plus(t, delay));
                if ready_at > now {
                    sim.wake_at(now, ready_at, &ns);
                } else {
                    create_pods(sim, store, &j, want.min(100), now);
                }
            }
        }
        counts(&mut status, &all, succeeded, failed);
        j["status"] = status;
        if j != *job {
            sim.write(store, Kinds::jobs(), j);
        }
    }
}

/// The API server's defaults of a Job: the selector and labels that tie its pods to it, its
/// parallelism, completions, backoff limit and restart policy.
fn with_defaults(j: &mut Value, juid: &str, jname: &str) {
    if j["spec"]["selector"].is_null() {
        j["spec"]["selector"] =
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": juid}});
        let labels = &mut j["spec"]["template"]["metadata"]["labels"];
        labels["batch.kubernetes.io/controller-uid"] = json!(juid);
        labels["batch.kubernetes.io/job-name"] = json!(jname);
        labels["controller-uid"] = json!(juid);
        labels["job-name"] = json!(jname);
    }
    let spec = obj_mut(&mut j["spec"]);
    spec.entry("parallelism").or_insert(json!(1));
    spec.entry("completions").or_insert(json!(1));
    spec.entry("backoffLimit").or_insert(json!(6));
    if j["spec"]["template"]["spec"]["restartPolicy"].is_null() {
        j["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    }
}

/// Creates `n` pods of the job.
fn create_pods(sim: &mut Simulator, store: &mut Store, j: &Value, n: i64, now: Timestamp) {
    for _ in 0..n {
        let pod_name = format!("{}-{}", name(j), store.suffix());
        let pod = new_pod(j, &j["spec"]["template"], &pod_name, now);
        let pod = match admit(store, j, &format!("{}-", name(j)), pod) {
            Ok(pod) => pod,
            Err(msg) => {
                let ev = Ev::once(
                    "FailedCreate",
                    format!("Error creating: {msg}"),
                    true,
                    Source::Controller("job-controller"),
                    now,
                );
                events::record(sim, store, j, ev);
                return;
            }
        };
        if sim.create(store, Kinds::pods(), pod).is_some() {
            events::record(
                sim,
                store,
                j,
                Ev::once(
                    "SuccessfulCreate",
                    format!("Created pod: {pod_name}"),
                    false,
                    Source::Controller("job-controller"),
                    now,
                ),
            );
        }
    }
}

/// The job's pod counts: active (none once finished), ready, succeeded, failed.
fn counts(status: &mut Value, all: &[Arc<Value>], succeeded: i64, failed: i64) {
    let still: Vec<&Arc<Value>> = all.iter().filter(|p| active(p)).collect();
    let now_done = status["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| matches!(c["type"].as_str(), Some("Complete" | "Failed")))
    });
    status["active"] = json!(if now_done { 0 } else { still.len() });
    status["ready"] = json!(still.iter().filter(|p| ready(p)).count());
    status["terminating"] = json!(0);
    status["uncountedTerminatedPods"] = json!({});
    if succeeded > 0 {
        status["succeeded"] = json!(succeeded);
    }
    if failed > 0 {
        status["failed"] = json!(failed);
    }
    if status["active"] == 0
        && let Some(m) = status.as_object_mut()
    {
        m.remove("active");
    }
}
