//! The deployment controller: ReplicaSets per template (revisions, rollbacks), rolling and
//! recreate updates, revision history, and the Available/Progressing conditions.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{active, available, pods_by_owner, ready};
use crate::sim::Simulator;
use crate::sim::events::{self, Ev, Source};
use crate::sim::kinds::Kinds;
use crate::sim::naming::template_hash;
use crate::sim::object::{
    arr, controller_uid, i, name, namespace, obj_mut, owner_ref, terminating, uid,
};
use crate::sim::timestamps::{plus, secs_between, time, ts};
use crate::store::Store;

const REVISION: &str = "deployment.kubernetes.io/revision";

fn scale_event(
    sim: &mut Simulator,
    store: &mut Store,
    d: &Value,
    rs: &str,
    from: i64,
    to: i64,
    now: Timestamp,
) {
    let dir = if to > from { "up" } else { "down" };
    events::record(
        sim,
        store,
        d,
        Ev::once(
            "ScalingReplicaSet",
            format!("Scaled {dir} replica set {rs} from {from} to {to}"),
            false,
            Source::Controller("deployment-controller"),
            now,
        ),
    );
}

/// Resolves `maxSurge`/`maxUnavailable` (an int or a percentage) against `replicas`.
pub fn resolve(v: &Value, default: &str, replicas: i64, round_up: bool) -> i64 {
    let text = match v {
        Value::Number(n) => return n.as_i64().unwrap_or(0),
        Value::String(t) => t.as_str(),
        _ => default,
    };
    match text.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
        Some(pct) => {
            let x = pct * replicas as f64 / 100.0;
            (if round_up { x.ceil() } else { x.floor() }) as i64
        }
        None => text.parse().unwrap_or(0),
    }
}

/// The deployment controller.
pub fn deployments(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let deployments = sim.scoped_trees(store, Kinds::deployments());
    if deployments.is_empty() {
        return;
    }
    let pods = pods_by_owner(sim, store);
    for d in deployments {
        if sim.is_frozen(&d) || terminating(&d) {
            continue;
        }
        deployment(sim, store, &d, &pods, now);
    }
}

fn deployment(
    sim: &mut Simulator,
    store: &mut Store,
    d0: &Value,
    pods: &HashMap<String, Vec<Arc<Value>>>,
    now: Timestamp,
) {
    let ns = namespace(d0).to_string();
    let mut d = d0.clone();
    api_defaults(&mut d);
    let replicas = i(&d, "/spec/replicas").unwrap_or(1).max(0);
    let template = d["spec"]["template"].clone();
    let min_ready = i(&d, "/spec/minReadySeconds").unwrap_or(0);
    let paused = d["spec"]["paused"].as_bool() == Some(true);
    let duid = uid(&d).to_string();
    let mut rss: Vec<Value> = store
        .list(Kinds::replicasets(), Some(&ns))
        .iter()
        .filter(|rs| controller_uid(rs) == Some(duid.as_str()))
        .map(|rs| (**rs).clone())
        .collect();
    rss.sort_by_key(revision);
    let hash = template_hash(&template);
    let max_rev = rss.iter().map(revision).max().unwrap_or(0);
    let mut new_idx = rss
        .iter()
        .position(|rs| template_hash(&rs["spec"]["template"]) == hash);
    let count = |rs: &Value| -> (i64, i64, i64) {
        let ps = pods.get(uid(rs)).map_or(&[][..], Vec::as_slice);
        let act: Vec<_> = ps.iter().filter(|p| active(p)).collect();
        (
            act.len() as i64,
            act.iter().filter(|p| ready(p)).count() as i64,
            act.iter().filter(|p| available(p, min_ready, now)).count() as i64,
        )
    };
    if new_idx.is_none()
        && !paused
        && let Some(created) = create_replicaset(sim, store, &d, &hash, max_rev + 1, now)
    {
        rss.push(created);
        new_idx = Some(rss.len() - 1);
    }
    let Some(new_idx) = new_idx else {
        write_deployment_status(sim, store, d0, d, &rss, None, &count, now);
        return;
    };
    // A template that matches an old ReplicaSet (a rollback) makes it the newest revision.
    if revision(&rss[new_idx]) < max_rev {
        mark_rollback(sim, store, &d, &mut rss[new_idx], max_rev + 1, now);
    }
    let new_rev = revision(&rss[new_idx]);
    d["metadata"]["annotations"][REVISION] = json!(new_rev.to_string());
    if !paused {
        let spec_of = |rs: &Value| i(rs, "/spec/replicas").unwrap_or(0);
        let targets = targets(&d, &rss, new_idx, replicas, &count);
        for (n, rs) in rss.iter_mut().enumerate() {
            let from = spec_of(rs);
            let to = targets[n];
            let mut changed = from != to;
            if n == new_idx {
                let want = json!(replicas.to_string());
                if rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"]
                    != want
                {
                    rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                        want;
                    changed = true;
                }
            }
            if changed {
                rs["spec"]["replicas"] = json!(to);
                sim.write(store, Kinds::replicasets(), rs.clone());
                if from != to {
                    scale_event(sim, store, &d, name(rs), from, to, now);
                }
            }
        }
        trim_history(sim, store, &d, &mut rss, new_idx, &count);
    }
    let new_name = rss
        .iter()
        .find(|rs| revision(rs) == new_rev)
        .map(|rs| name(rs).to_string());
    write_deployment_status(sim, store, d0, d, &rss, new_name, &count, now);
}

/// The defaults the API server fills into a Deployment's spec.
fn api_defaults(d: &mut Value) {
    let spec = obj_mut(&mut d["spec"]);
    spec.entry("replicas").or_insert(json!(1));
    spec.entry("revisionHistoryLimit").or_insert(json!(10));
    spec.entry("progressDeadlineSeconds").or_insert(json!(600));
    let strategy = spec.entry("strategy").or_insert(json!({}));
    if strategy["type"].is_null() {
        strategy["type"] = json!("RollingUpdate");
    }
    if strategy["type"] == "RollingUpdate" && strategy["rollingUpdate"].is_null() {
        strategy["rollingUpdate"] = json!({"maxSurge": "25%", "maxUnavailable": "25%"});
    }
}

/// Creates the ReplicaSet of the deployment's current template, at `revision`.
fn create_replicaset(
    sim: &mut Simulator,
    store: &mut Store,
    d: &Value,
    hash: &str,
    revision: i64,
    now: Timestamp,
) -> Option<Value> {
    let (ns, dname) = (namespace(d), name(d));
    let replicas = i(d, "/spec/replicas").unwrap_or(1).max(0);
    let min_ready = i(d, "/spec/minReadySeconds").unwrap_or(0);
    let template = &d["spec"]["template"];
    let rs_name = format!("{dname}-{hash}");
    let mut t = template.clone();
    t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let mut annotations = d["metadata"]["annotations"].clone();
    if !annotations.is_object() {
        annotations = json!({});
    }
    if let Some(a) = annotations.as_object_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
        a.insert(REVISION.into(), json!(revision.to_string()));
        // Annotation values are strings in Kubernetes; typed clients reject numbers.
        a.insert(
            "deployment.kubernetes.io/desired-replicas".into(),
            json!(replicas.to_string()),
        );
        a.insert(
            "deployment.kubernetes.io/max-replicas".into(),
            json!(
                (replicas
                    + resolve(
                        &d["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
                        "25%",
                        replicas,
                        true
                    ))
                .to_string()
            ),
        );
    }
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs_name, "namespace": ns, "labels": t["metadata"]["labels"],
            "annotations": annotations, "ownerReferences": [owner_ref(d)],
            "creationTimestamp": time(now)},
        "spec": {"replicas": 0, "minReadySeconds": min_ready, "selector": selector, "template": t}});
    sim.create(store, Kinds::replicasets(), rs)
        .map(|c| (*c).clone())
}

/// The replicas each ReplicaSet should have next: all old ones at 0 then the new one up
/// (Recreate), or steps bounded by `maxSurge` and `maxUnavailable` (RollingUpdate).
fn targets(
    d: &Value,
    rss: &[Value],
    new_idx: usize,
    replicas: i64,
    count: &dyn Fn(&Value) -> (i64, i64, i64),
) -> Vec<i64> {
    let spec_of = |rs: &Value| i(rs, "/spec/replicas").unwrap_or(0);
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let mut targets: Vec<i64> = rss.iter().map(spec_of).collect();
    let olds: Vec<usize> = (0..rss.len()).filter(|n| *n != new_idx).collect();
    if recreate {
        for &o in &olds {
            targets[o] = 0;
        }
        let old_pods: i64 = olds.iter().map(|&o| count(&rss[o]).0).sum();
        if old_pods == 0 {
            targets[new_idx] = replicas;
        }
    } else {
        let surge = resolve(
            &d["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            "25%",
            replicas,
            true,
        );
        let mut unav = resolve(
            &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
            "25%",
            replicas,
            false,
        );
        if surge == 0 && unav == 0 {
            unav = 1;
        }
        if olds.iter().all(|&o| targets[o] == 0) || targets[new_idx] > replicas {
            targets[new_idx] = replicas;
        } else {
            let total: i64 = targets.iter().sum();
            let room = replicas + surge - total;
            if room > 0 && targets[new_idx] < replicas {
                targets[new_idx] = (targets[new_idx] + room).min(replicas);
            }
            let avail_all: i64 = rss.iter().map(|rs| count(rs).2).sum();
            let min_avail = replicas - unav;
            let new_unavail = spec_of(&rss[new_idx]) - count(&rss[new_idx]).2;
            let total: i64 = rss.iter().map(spec_of).sum();
            let mut budget = (total - min_avail - new_unavail).max(0);
            // First the old replicas that are not available anyway, then available ones.
            for &o in &olds {
                let unhealthy = (targets[o] - count(&rss[o]).2).max(0);
                let take = unhealthy.min(budget);
                targets[o] -= take;
                budget -= take;
            }
            let mut budget = (avail_all - min_avail).max(0);
            for &o in &olds {
                let take = targets[o].min(budget);
                targets[o] -= take;
                budget -= take;
            }
        }
    }
    targets
}

/// Revision history: drops the oldest empty ReplicaSets beyond `revisionHistoryLimit`.
fn trim_history(
    sim: &mut Simulator,
    store: &mut Store,
    d: &Value,
    rss: &mut Vec<Value>,
    new_idx: usize,
    count: &dyn Fn(&Value) -> (i64, i64, i64),
) {
    let ns = namespace(d).to_string();
    let spec_of = |rs: &Value| i(rs, "/spec/replicas").unwrap_or(0);
    let limit = i(d, "/spec/revisionHistoryLimit").unwrap_or(10).max(0) as usize;
    let empty: Vec<&Value> = rss
        .iter()
        .enumerate()
        .filter(|(n, rs)| *n != new_idx && spec_of(rs) == 0 && count(rs).0 == 0)
        .map(|(_, rs)| rs)
        .collect();
    if empty.len() > limit {
        let doomed: Vec<String> = empty[..empty.len() - limit]
            .iter()
            .map(|rs| name(rs).to_string())
            .collect();
        for n in doomed {
            sim.delete(store, Kinds::replicasets(), &ns, &n);
            rss.retain(|rs| name(rs) != n);
        }
    }
}

/// Makes an old ReplicaSet whose template is current again the newest revision, as a
/// rollback does, with the `DeploymentRollback` event.
fn mark_rollback(
    sim: &mut Simulator,
    store: &mut Store,
    d: &Value,
    rs: &mut Value,
    new_rev: i64,
    now: Timestamp,
) {
    let old_rev = revision(rs);
    rs["metadata"]["annotations"][REVISION] = json!(new_rev.to_string());
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] =
        json!(old_rev.to_string());
    sim.write(store, Kinds::replicasets(), rs.clone());
    events::record(
        sim,
        store,
        d,
        Ev::once(
            "DeploymentRollback",
            format!(
                "Rolled back deployment \"{}\" to revision {old_rev}",
                name(d)
            ),
            false,
            Source::Controller("deployment-controller"),
            now,
        ),
    );
}

/// A Deployment condition, keeping its transition (and update) time while nothing changes.
fn condition(
    now: Timestamp,
    ty: &str,
    st: &str,
    reason: &str,
    msg: String,
    prev: Option<Value>,
    update: bool,
) -> Value {
    let same_status = prev.as_ref().is_some_and(|p| p["status"] == st);
    let transition = prev
        .as_ref()
        .filter(|_| same_status)
        .map_or(time(now), |p| p["lastTransitionTime"].clone());
    let unchanged = prev
        .as_ref()
        .is_some_and(|p| p["reason"] == reason && same_status);
    let last_update = if update || !unchanged {
        time(now)
    } else {
        prev.as_ref()
            .map_or(time(now), |p| p["lastUpdateTime"].clone())
    };
    json!({"type": ty, "status": st, "reason": reason, "message": msg,
        "lastUpdateTime": last_update, "lastTransitionTime": transition})
}

/// The Progressing condition: complete, progressing, or past `progressDeadlineSeconds`
/// without progress (`ProgressDeadlineExceeded`).
#[allow(clippy::too_many_arguments)]
fn progressing(
    sim: &mut Simulator,
    d0: &Value,
    d: &Value,
    prev: Option<Value>,
    new_rs: Option<String>,
    complete: bool,
    progressed: bool,
    now: Timestamp,
) -> Value {
    let rs_name = new_rs.unwrap_or_default();
    let mk = |ty: &str, st: &str, reason: &str, msg: String, prev: Option<Value>, update: bool| {
        condition(now, ty, st, reason, msg, prev, update)
    };
    let deadline = i(d, "/spec/progressDeadlineSeconds").unwrap_or(600) as f64;
    if complete {
        mk(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            prev,
            false,
        )
    } else if progressed || prev.is_none() || d["spec"]["paused"].as_bool() == Some(true) {
        mk(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
            prev,
            true,
        )
    } else {
        let p = prev.clone().unwrap_or(Value::Null);
        let since = ts(&p["lastUpdateTime"]).unwrap_or(now);
        if p["reason"] == "ProgressDeadlineExceeded" || secs_between(since, now) >= deadline {
            let mut c = mk(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                prev,
                false,
            );
            if p["reason"] == "ProgressDeadlineExceeded" {
                c["lastUpdateTime"] = p["lastUpdateTime"].clone();
            }
            c
        } else {
            sim.wake_at(now, plus(since, deadline), namespace(d0));
            p
        }
    }
}

fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// A deployment's pods over its ReplicaSets, as its status counts them.
#[derive(Default)]
struct Counts {
    total: i64,
    ready: i64,
    available: i64,
    /// Pods of the newest ReplicaSet.
    updated: i64,
    /// Replicas the ReplicaSets' specs ask for.
    wanted: i64,
}

impl Counts {
    fn of(
        rss: &[Value],
        new_rs: Option<&str>,
        count: &dyn Fn(&Value) -> (i64, i64, i64),
    ) -> Counts {
        let mut c = Counts::default();
        for rs in rss {
            let (t, r, a) = count(rs);
            c.total += t;
            c.ready += r;
            c.available += a;
            c.wanted += i(rs, "/spec/replicas").unwrap_or(0);
            if new_rs == Some(name(rs)) {
                c.updated = t;
            }
        }
        c
    }

    /// The status's counts, zeros left out as the API server leaves them out.
    fn status(&self, d: &Value, replicas: i64) -> Value {
        let mut status = json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": self.total, "updatedReplicas": self.updated, "readyReplicas": self.ready,
            "availableReplicas": self.available,
        });
        let unavailable = (self.wanted.max(replicas) - self.available).max(0);
        if unavailable > 0 {
            status["unavailableReplicas"] = json!(unavailable);
        }
        if let Some(m) = status.as_object_mut() {
            m.retain(|k, v| !(COUNTED.contains(&k.as_str()) && *v == 0));
        }
        status
    }
}

/// The counts of a deployment's status that change as a rollout progresses.
const COUNTED: [&str; 4] = [
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
];

#[allow(clippy::too_many_arguments)]
fn write_deployment_status(
    sim: &mut Simulator,
    store: &mut Store,
    d0: &Value,
    mut d: Value,
    rss: &[Value],
    new_rs: Option<String>,
    count: &dyn Fn(&Value) -> (i64, i64, i64),
    now: Timestamp,
) {
    let replicas = i(&d, "/spec/replicas").unwrap_or(1);
    let counts = Counts::of(rss, new_rs.as_deref(), count);
    let old = &d0["status"];
    let mut status = counts.status(&d, replicas);
    let cond_of = |ty: &str| {
        arr(old, "/conditions")
            .iter()
            .find(|c| c["type"] == ty)
            .cloned()
    };
    let available_cond =
        available_condition(now, &d, replicas, counts.available, cond_of("Available"));
    let complete =
        counts.updated == replicas && counts.available == replicas && counts.total == replicas;
    let progressed = COUNTED.iter().any(|k| old[*k] != status[*k])
        || d0["metadata"]["annotations"][REVISION] != d["metadata"]["annotations"][REVISION];
    let progressing = progressing(
        sim,
        d0,
        &d,
        cond_of("Progressing"),
        new_rs,
        complete,
        progressed,
        now,
    );
    let mut conditions = vec![available_cond, progressing];
    conditions.extend(replica_failure(rss));
    status["conditions"] = json!(conditions);
    d["status"] = status;
    if d != *d0 {
        sim.write(store, Kinds::deployments(), d);
    }
}

/// The Available condition: enough pods available, counting what the strategy lets be
/// unavailable (nothing for Recreate).
fn available_condition(
    now: Timestamp,
    d: &Value,
    replicas: i64,
    available: i64,
    prev: Option<Value>,
) -> Value {
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let unav = if recreate || replicas == 0 {
        0
    } else {
        resolve(
            &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
            "25%",
            replicas,
            false,
        )
    };
    if available >= replicas - unav {
        condition(
            now,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            prev,
            false,
        )
    } else {
        condition(
            now,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            prev,
            false,
        )
    }
}

/// The deployment controller surfaces its ReplicaSets' failures to create pods.
fn replica_failure(rss: &[Value]) -> Option<Value> {
    let f = rss.iter().find_map(|rs| {
        arr(rs, "/status/conditions")
            .iter()
            .find(|c| c["type"] == "ReplicaFailure" && c["status"] == "True")
            .cloned()
    })?;
    Some(
        json!({"type": "ReplicaFailure", "status": "True", "reason": f["reason"],
        "message": f["message"], "lastUpdateTime": f["lastTransitionTime"],
        "lastTransitionTime": f["lastTransitionTime"]}),
    )
}
