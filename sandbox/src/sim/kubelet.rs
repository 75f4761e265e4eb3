//! The kubelet: mounts, config references, image pulls, container runs with restarts and
//! back-off, probes, pod status and conditions, kubelet events, and container logs.
//!
//! A container's history is a pure function of when it first could start, what its
//! `Behavior` makes it do, and the clock: restart counts and back-off waits follow from the
//! elapsed time, so the same scenario at the same age always looks the same.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::behavior::{self, Exit, Life};
use super::events::{self, Ev, Source};
use super::util::{
    Kinds, arr, cpu_millis, full_image, hex_suffix, i, mem_bytes, name, namespace, plus,
    secs_between, time, ts, uid,
};
use super::{LogLine, Simulator};
use crate::error::ApiError;
use crate::store::Store;

/// Longest back-off between restarts (and between retries of pulls and mounts).
const MAX_BACKOFF: f64 = 300.0;
/// A container that ran this long resets its back-off.
const BACKOFF_RESET: f64 = 600.0;
/// Seconds an `ErrImagePull` shows before the kubelet reports `ImagePullBackOff`.
const ERR_IMAGE_PULL_SECS: f64 = 5.0;

/// What the kubelet remembers about a pod between passes.
#[derive(Debug, Clone, Default)]
pub struct PodRuntime {
    scheduled: Option<Timestamp>,
    volumes_ok: Option<Timestamp>,
    mount_blocked: Option<Timestamp>,
    init: Vec<Ctr>,
    containers: Vec<Ctr>,
}

/// What the kubelet remembers about one container.
#[derive(Debug, Clone, Default)]
struct Ctr {
    blocked_since: Option<Timestamp>,
    /// Start of the first instance under the current lifecycle.
    start: Option<Timestamp>,
    first_start: Option<Timestamp>,
    life: Option<Life>,
    restarts_before: u32,
    last_before: Option<Term>,
    /// What an instance of the current lifecycle logs, as a previous container.
    life_logs: Vec<String>,
    /// The same for the lifecycle before the last change.
    prev_life_logs: Option<Vec<String>>,
    /// Which Behavior applied from when: logs written while running follow it.
    segments: Vec<(Timestamp, Option<usize>)>,
}

/// Most behaviour changes remembered per container.
const MAX_SEGMENTS: usize = 64;

/// A terminated container instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    code: i32,
    reason: &'static str,
    start: Timestamp,
    end: Timestamp,
    instance: u32,
}

/// Where a container is now.
#[derive(Debug, Clone, Copy, PartialEq)]
enum St {
    Running(Timestamp),
    /// Waiting to restart after a crash, with the back-off delay in seconds.
    BackOff(f64),
    /// Terminated and not restarting.
    Done(Term),
}

/// A container's history from its first start to `now`.
#[derive(Debug, Clone)]
struct Timeline {
    restarts: u32,
    state: St,
    last: Option<Term>,
    prev: Option<Term>,
    last_start: Timestamp,
    backoffs: u64,
    first_backoff: Option<Timestamp>,
    last_backoff: Option<Timestamp>,
    next: Option<Timestamp>,
}

/// The back-off before restart number `streak + 1`: the first restart is immediate (the
/// kubelet's next sync), then 10s doubling up to 5 minutes.
pub fn backoff_delay(streak: u32) -> f64 {
    if streak == 0 {
        1.0
    } else {
        (10.0 * 2f64.powi(streak.min(16) as i32 - 1)).min(MAX_BACKOFF)
    }
}

/// Plays a container from `start` to `now`: `exit` ends each instance, `restarts(code)` says
/// whether it is restarted.
fn timeline(
    start: Timestamp,
    now: Timestamp,
    exit: Option<Exit>,
    restarts: impl Fn(i32) -> bool,
) -> Timeline {
    let mut tl = Timeline {
        restarts: 0,
        state: St::Running(start),
        last: None,
        prev: None,
        last_start: start,
        backoffs: 0,
        first_backoff: None,
        last_backoff: None,
        next: None,
    };
    let Some(exit) = exit else {
        return tl;
    };
    let mut s = start;
    let mut streak = 0u32;
    loop {
        tl.last_start = s;
        let e = plus(s, exit.after);
        if now < e {
            tl.state = St::Running(s);
            tl.next = Some(e);
            return tl;
        }
        let term = Term {
            code: exit.code,
            reason: exit.reason,
            start: s,
            end: e,
            instance: tl.restarts,
        };
        tl.prev = tl.last.replace(term);
        if !restarts(exit.code) {
            tl.state = St::Done(term);
            return tl;
        }
        if exit.after >= BACKOFF_RESET {
            streak = 0;
        }
        let delay = backoff_delay(streak);
        streak += 1;
        if delay >= 10.0 {
            tl.backoffs += 1;
            tl.first_backoff.get_or_insert(e);
            tl.last_backoff = Some(e);
        }
        let next = plus(e, delay);
        if now < next || tl.restarts >= 1_000_000 {
            tl.state = St::BackOff(delay);
            tl.next = Some(next);
            return tl;
        }
        tl.restarts += 1;
        s = next;
    }
}

/// Retries (image pulls, mounts, config) at `since` and then after back-offs of 10s doubling
/// to 5 minutes: how many happened by `now`, the latest, and the next.
pub fn retries(since: Timestamp, now: Timestamp) -> (u64, Timestamp, Timestamp) {
    let mut count = 1;
    let mut last = since;
    let mut delay = 10.0;
    loop {
        let next = plus(last, delay);
        if next > now || count > 1_000_000 {
            return (count, last, next);
        }
        count += 1;
        last = next;
        delay = (delay * 2.0).min(MAX_BACKOFF);
    }
}

/// Go's duration format for whole seconds: `10s`, `1m20s`, `5m0s`.
fn go_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// Facts about a node the kubelet needs.
struct NodeInfo {
    index: usize,
    ip: String,
    ready: bool,
}

/// Runs the kubelet of every Ready node over its pods.
pub fn run(sim: &mut Simulator, store: &mut Store, now: Timestamp) {
    let nodes: HashMap<String, NodeInfo> = store
        .list(Kinds::nodes(), None)
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let ip = arr(node, "/status/addresses")
                .iter()
                .find(|a| a["type"] == "InternalIP")
                .and_then(|a| a["address"].as_str())
                .unwrap_or("10.0.0.1")
                .to_string();
            (
                name(node).to_string(),
                NodeInfo {
                    index: n + 1,
                    ip,
                    ready: node_ready(node),
                },
            )
        })
        .collect();
    for pod in store.list(Kinds::pods(), None) {
        if sim.is_frozen(&pod) {
            continue;
        }
        let node_name = super::util::s(&pod, "/spec/nodeName").to_string();
        if node_name.is_empty() {
            continue;
        }
        let Some(node) = nodes.get(&node_name) else {
            continue;
        };
        if !node.ready {
            // No kubelet runs there: its pods keep their last status, and a deleted one
            // stays Terminating.
            continue;
        }
        if super::util::terminating(&pod) {
            // The containers stop at once: the sandbox has no processes to wait for.
            sim.delete(store, Kinds::pods(), namespace(&pod), name(&pod));
            sim.runtime.remove(uid(&pod));
            continue;
        }
        let pod_uid = uid(&pod).to_string();
        let mut rt = sim.runtime.remove(&pod_uid).unwrap_or_default();
        let mut evs = Vec::new();
        let status = pod_status(sim, store, &pod, node, &node_name, &mut rt, now, &mut evs);
        sim.runtime.insert(pod_uid, rt);
        if pod.get("status") != Some(&status) {
            let mut updated = (*pod).clone();
            updated["status"] = status;
            sim.write(store, Kinds::pods(), updated);
        }
        let pod_now = store
            .get(Kinds::pods(), namespace(&pod), name(&pod))
            .unwrap_or(pod);
        for (ev, wake) in evs {
            if let Some(w) = wake {
                sim.wake_at(now, w, namespace(&pod_now));
            }
            if let Some(ev) = ev {
                events::record(sim, store, &pod_now, ev);
            }
        }
    }
}

/// Whether a node's Ready condition is True.
pub fn node_ready(node: &Value) -> bool {
    arr(node, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

type Pending = Vec<(Option<Ev>, Option<Timestamp>)>;

/// The status of one container now, plus what it means for the pod.
struct CRes {
    status: Value,
    ready: bool,
    started_ever: bool,
    /// Terminated for good (exit code), for init chaining and pod phase.
    done: Option<Term>,
    /// When it became ready or unready (for the Ready condition's transition time).
    since: Timestamp,
}

#[allow(clippy::too_many_arguments)]
fn pod_status(
    sim: &Simulator,
    store: &Store,
    pod: &Value,
    node: &NodeInfo,
    node_name: &str,
    rt: &mut PodRuntime,
    now: Timestamp,
    evs: &mut Pending,
) -> Value {
    let kubelet = || Source::Kubelet(node_name.to_string());
    let scheduled = *rt.scheduled.get_or_insert_with(|| {
        arr(pod, "/status/conditions")
            .iter()
            .find(|c| c["type"] == "PodScheduled" && c["status"] == "True")
            .and_then(|c| ts(&c["lastTransitionTime"]))
            .unwrap_or(now)
            .min(now)
    });
    let policy = super::util::s(pod, "/spec/restartPolicy");
    let policy = if policy.is_empty() { "Always" } else { policy };
    let specs = arr(pod, "/spec/containers");
    let init_specs = arr(pod, "/spec/initContainers");
    rt.containers.resize(specs.len(), Ctr::default());
    rt.init.resize(init_specs.len(), Ctr::default());
    let mut status = json!({
        "phase": "Pending",
        "hostIP": node.ip,
        "hostIPs": [{"ip": node.ip}],
        "startTime": time(scheduled),
        "qosClass": qos_class(pod),
    });
    // Volumes first: a missing source keeps the pod in ContainerCreating.
    if rt.volumes_ok.is_none() {
        if let Some((vol, msg)) = missing_volume(store, pod) {
            let since = *rt.mount_blocked.get_or_insert(now);
            let (count, last, next) = retries(since, now);
            evs.push((
                Some(Ev {
                    field_path: None,
                    warning: true,
                    reason: "FailedMount",
                    message: format!("MountVolume.SetUp failed for volume \"{vol}\" : {msg}"),
                    source: kubelet(),
                    count,
                    first: since,
                    last,
                }),
                Some(next),
            ));
            let waiting = |c: &Value| {
                json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false,
                    "restartCount": 0, "started": false,
                    "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}})
            };
            status["containerStatuses"] = specs.iter().map(waiting).collect();
            if !init_specs.is_empty() {
                status["initContainerStatuses"] = init_specs
                    .iter()
                    .map(|c| {
                        let mut w = waiting(c);
                        w["state"]["waiting"]["reason"] = json!("PodInitializing");
                        w
                    })
                    .collect();
            }
            let unready: Vec<&str> = specs.iter().map(|c| super::util::s(c, "/name")).collect();
            status["conditions"] = conditions(
                scheduled,
                None,
                if init_specs.is_empty() {
                    Ok(scheduled)
                } else {
                    Err((
                        scheduled,
                        init_specs
                            .iter()
                            .map(|c| super::util::s(c, "/name"))
                            .collect(),
                    ))
                },
                Err((scheduled, unready)),
                false,
            );
            return status;
        }
        rt.volumes_ok = Some(now.max(scheduled));
    }
    let volumes_ok = rt.volumes_ok.unwrap_or(scheduled);
    status["podIP"] = json!(assign_ip(pod, node));
    status["podIPs"] = json!([{"ip": status["podIP"]}]);
    // Init containers one after the other.
    let mut t = plus(volumes_ok, 1.0);
    let mut initialized: Result<Timestamp, (Timestamp, Vec<&str>)> = Ok(volumes_ok);
    let mut init_statuses = Vec::new();
    let mut init_failed = false;
    for (n, c) in init_specs.iter().enumerate() {
        let cname = super::util::s(c, "/name");
        if initialized.is_err() {
            init_statuses.push(json!({"name": cname, "image": c["image"], "imageID": "",
                "ready": false, "restartCount": 0, "started": false,
                "state": {"waiting": {"reason": "PodInitializing"}}, "lastState": {}}));
            if let Err((_, names)) = &mut initialized {
                names.push(cname);
            }
            continue;
        }
        let r = container(
            sim,
            store,
            pod,
            c,
            &mut rt.init[n],
            t,
            now,
            true,
            policy,
            &kubelet(),
            evs,
        );
        init_statuses.push(r.status);
        match r.done {
            Some(term) if term.code == 0 => {
                t = plus(term.end, 0.5);
                initialized = Ok(term.end);
            }
            Some(_) => {
                init_failed = true;
                initialized = Err((t, vec![cname]));
            }
            None => initialized = Err((t, vec![cname])),
        }
    }
    if init_specs.is_empty() {
        initialized = Ok(volumes_ok);
    }
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = json!(init_statuses);
    }
    let mut statuses = Vec::new();
    let mut unready = Vec::new();
    let mut all_started = true;
    let mut all_done = true;
    let mut all_ok = true;
    let mut ready_since = t;
    let mut unready_since = t;
    for (n, c) in specs.iter().enumerate() {
        let cname = super::util::s(c, "/name");
        if initialized.is_err() {
            statuses.push(json!({"name": cname, "image": c["image"], "imageID": "",
                "ready": false, "restartCount": 0, "started": false,
                "state": {"waiting": {"reason": "PodInitializing"}}, "lastState": {}}));
            unready.push(cname);
            all_started = false;
            all_done = false;
            continue;
        }
        let r = container(
            sim,
            store,
            pod,
            c,
            &mut rt.containers[n],
            t,
            now,
            false,
            policy,
            &kubelet(),
            evs,
        );
        if r.ready {
            ready_since = ready_since.max(r.since);
        } else {
            unready.push(cname);
            unready_since = unready_since.max(r.since);
        }
        all_started &= r.started_ever;
        match r.done {
            Some(term) => all_ok &= term.code == 0,
            None => all_done = false,
        }
        statuses.push(r.status);
    }
    status["containerStatuses"] = json!(statuses);
    let phase = if init_failed && policy == "Never" {
        "Failed"
    } else if initialized.is_err() || !all_started {
        "Pending"
    } else if policy != "Always" && all_done {
        if all_ok { "Succeeded" } else { "Failed" }
    } else {
        "Running"
    };
    status["phase"] = json!(phase);
    let completed = matches!(phase, "Succeeded" | "Failed");
    let ready = if unready.is_empty() && !completed {
        Ok(ready_since)
    } else {
        Err((unready_since, unready))
    };
    status["conditions"] = conditions(scheduled, Some(volumes_ok), initialized, ready, completed);
    status
}

/// Pod conditions, with the kubelet's reasons and messages.
fn conditions(
    scheduled: Timestamp,
    sandbox: Option<Timestamp>,
    initialized: Result<Timestamp, (Timestamp, Vec<&str>)>,
    ready: Result<Timestamp, (Timestamp, Vec<&str>)>,
    completed: bool,
) -> Value {
    let mut out = vec![match sandbox {
        Some(t) => json!({"type": "PodReadyToStartContainers", "status": "True",
            "lastProbeTime": null, "lastTransitionTime": time(t)}),
        None => json!({"type": "PodReadyToStartContainers", "status": "False",
            "lastProbeTime": null, "lastTransitionTime": time(scheduled)}),
    }];
    out.push(match &initialized {
        Ok(t) => json!({"type": "Initialized", "status": "True", "lastProbeTime": null,
            "lastTransitionTime": time(*t)}),
        Err((t, names)) => json!({"type": "Initialized", "status": "False",
            "lastProbeTime": null, "lastTransitionTime": time(*t),
            "reason": "ContainersNotInitialized",
            "message": format!("containers with incomplete status: [{}]", names.join(" "))}),
    });
    for ty in ["Ready", "ContainersReady"] {
        out.push(match &ready {
            Ok(t) => json!({"type": ty, "status": "True", "lastProbeTime": null,
                "lastTransitionTime": time(*t)}),
            Err((t, _)) if completed => json!({"type": ty, "status": "False",
                "lastProbeTime": null, "lastTransitionTime": time(*t), "reason": "PodCompleted"}),
            Err((t, names)) => json!({"type": ty, "status": "False", "lastProbeTime": null,
                "lastTransitionTime": time(*t), "reason": "ContainersNotReady",
                "message": format!("containers with unready status: [{}]", names.join(" "))}),
        });
    }
    out.push(
        json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": time(scheduled)}),
    );
    json!(out)
}

/// A stable pod IP: one /24 per node, the host part from the pod's uid.
fn assign_ip(pod: &Value, node: &NodeInfo) -> String {
    if let Some(ip) = pod["status"]["podIP"].as_str() {
        return ip.to_string();
    }
    let h = u64::from_str_radix(&hex_suffix(uid(pod))[..8], 16).unwrap_or(7);
    format!("10.244.{}.{}", node.index, 2 + h % 250)
}

#[allow(clippy::too_many_arguments)]
fn container(
    sim: &Simulator,
    store: &Store,
    pod: &Value,
    c: &Value,
    ctr: &mut Ctr,
    earliest: Timestamp,
    now: Timestamp,
    init: bool,
    policy: &str,
    kubelet: &Source,
    evs: &mut Pending,
) -> CRes {
    let cname = super::util::s(c, "/name").to_string();
    let image = super::util::s(c, "/image").to_string();
    let field_path = Some(if init {
        format!("spec.initContainers{{{cname}}}")
    } else {
        format!("spec.containers{{{cname}}}")
    });
    let ev = |reason: &'static str, message: String, warning: bool, count: u64, first, last| Ev {
        field_path: field_path.clone(),
        warning,
        reason,
        message,
        source: kubelet.clone(),
        count,
        first,
        last,
    };
    let waiting = |reason: &str, message: Option<String>, ctr: &Ctr| {
        let mut w = json!({"reason": reason});
        if let Some(m) = message {
            w["message"] = json!(m);
        }
        let last = ctr
            .last_before
            .map(|t| term_json(&t, pod, &cname))
            .unwrap_or(json!({}));
        json!({"name": cname, "image": image, "imageID": "", "ready": false,
            "restartCount": ctr.restarts_before, "started": false,
            "state": {"waiting": w}, "lastState": last})
    };
    if now < earliest {
        evs.push((None, Some(earliest)));
        return CRes {
            status: waiting(
                if init {
                    "PodInitializing"
                } else {
                    "ContainerCreating"
                },
                None,
                ctr,
            ),
            ready: false,
            started_ever: false,
            done: None,
            since: earliest,
        };
    }
    let full = full_image(&image);
    if ctr.start.is_none() && sim.missing_images.contains(&full) {
        let (count, last, next) = retries(earliest, now);
        let err = format!(
            "rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"
        );
        evs.push((
            Some(ev(
                "Pulling",
                format!("Pulling image \"{image}\""),
                false,
                count,
                earliest,
                last,
            )),
            Some(next),
        ));
        evs.push((
            Some(ev(
                "Failed",
                format!("Failed to pull image \"{image}\": {err}"),
                true,
                count,
                earliest,
                last,
            )),
            None,
        ));
        evs.push((
            Some(ev(
                "Failed",
                "Error: ErrImagePull".into(),
                true,
                count,
                earliest,
                last,
            )),
            None,
        ));
        let in_err = secs_between(last, now) < ERR_IMAGE_PULL_SECS;
        if in_err {
            evs.push((None, Some(plus(last, ERR_IMAGE_PULL_SECS))));
        }
        let backoff_first = plus(earliest, ERR_IMAGE_PULL_SECS);
        if now >= backoff_first {
            let n = if in_err { count - 1 } else { count }.max(1);
            let last_bo = if in_err {
                plus(last, -ERR_IMAGE_PULL_SECS).max(backoff_first)
            } else {
                plus(last, ERR_IMAGE_PULL_SECS)
            };
            evs.push((
                Some(ev(
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                    false,
                    n,
                    backoff_first,
                    last_bo,
                )),
                None,
            ));
            evs.push((
                Some(ev(
                    "Failed",
                    "Error: ImagePullBackOff".into(),
                    true,
                    n,
                    backoff_first,
                    last_bo,
                )),
                None,
            ));
        }
        let status = if in_err {
            waiting("ErrImagePull", Some(err), ctr)
        } else {
            waiting(
                "ImagePullBackOff",
                Some(format!(
                    "Back-off pulling image \"{image}\": ErrImagePull: {err}"
                )),
                ctr,
            )
        };
        return CRes {
            status,
            ready: false,
            started_ever: false,
            done: None,
            since: earliest,
        };
    }
    if ctr.start.is_none() {
        evs.push((
            Some(ev(
                "Pulling",
                format!("Pulling image \"{image}\""),
                false,
                1,
                earliest,
                earliest,
            )),
            None,
        ));
        evs.push((
            Some(ev(
                "Pulled",
                format!(
                    "Successfully pulled image \"{image}\" in 1.042s (1.042s including waiting). Image size: 52428800 bytes."
                ),
                false,
                1,
                earliest,
                earliest,
            )),
            None,
        ));
        if let Some(err) = config_error(store, namespace(pod), c) {
            let since = *ctr.blocked_since.get_or_insert(earliest);
            let (count, last, next) = retries(since, now);
            evs.push((
                Some(ev(
                    "Failed",
                    format!("Error: {err}"),
                    true,
                    count,
                    since,
                    last,
                )),
                Some(next),
            ));
            return CRes {
                status: waiting("CreateContainerConfigError", Some(err), ctr),
                ready: false,
                started_ever: false,
                done: None,
                since,
            };
        }
        let start = if ctr.blocked_since.is_some() {
            now
        } else {
            earliest
        };
        ctr.start = Some(start);
        ctr.first_start = Some(start);
    }
    let idx = behavior::find_index(sim, store, pod, c, init);
    let b = idx.map(|i| &sim.behaviors[i].0);
    if ctr.segments.last().map(|s| s.1) != Some(idx) {
        let at = if ctr.segments.is_empty() {
            ctr.start.unwrap_or(now)
        } else {
            now
        };
        ctr.segments.push((at, idx));
        if ctr.segments.len() > MAX_SEGMENTS {
            ctr.segments.remove(0);
        }
    }
    let life = behavior::life(b, pod, c, init);
    let restarts = |code: i32| match (init, policy) {
        (_, "Never") => false,
        (true, _) | (false, "OnFailure") => code != 0,
        _ => true,
    };
    let mut start = ctr.start.unwrap_or(earliest);
    let b_logs = b
        .map(|b| b.previous_logs.clone().unwrap_or_else(|| b.logs.clone()))
        .unwrap_or_default();
    match &ctr.life {
        None => {
            ctr.life = Some(life.clone());
            ctr.life_logs = b_logs;
        }
        Some(old) if old.signature() != life.signature() => {
            // A new lifecycle (a config change) takes effect at the next start.
            let tl = timeline(start, now, old.exit, restarts);
            if let St::BackOff(_) = tl.state {
                ctr.restarts_before += tl.restarts + 1;
                ctr.last_before = tl.last;
                ctr.start = Some(now);
                start = now;
                ctr.life = Some(life.clone());
                ctr.prev_life_logs = Some(std::mem::replace(&mut ctr.life_logs, b_logs));
            }
        }
        Some(_) => {}
    }
    let life = ctr.life.clone().unwrap_or(life);
    let tl = timeline(start, now, life.exit, restarts);
    if let Some(n) = tl.next {
        evs.push((None, Some(n)));
    }
    let restart_count = ctr.restarts_before + tl.restarts;
    let first_start = ctr.first_start.unwrap_or(start);
    let starts = u64::from(restart_count) + 1;
    evs.push((
        Some(ev(
            "Created",
            format!("Created container: {cname}"),
            false,
            starts,
            first_start,
            tl.last_start,
        )),
        None,
    ));
    evs.push((
        Some(ev(
            "Started",
            format!("Started container {cname}"),
            false,
            starts,
            first_start,
            tl.last_start,
        )),
        None,
    ));
    if restart_count > 0 {
        evs.push((
            Some(ev(
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
                false,
                u64::from(restart_count),
                first_start,
                tl.last_start,
            )),
            None,
        ));
    }
    if let (Some(first), Some(last)) = (tl.first_backoff, tl.last_backoff) {
        evs.push((
            Some(ev(
                "BackOff",
                format!(
                    "Back-off restarting failed container {cname} in pod {}_{}({})",
                    name(pod),
                    namespace(pod),
                    uid(pod)
                ),
                true,
                tl.backoffs,
                first,
                last,
            )),
            None,
        ));
    }
    let last_term = match tl.state {
        St::Running(_) | St::BackOff(_) => tl.last.or(ctr.last_before),
        St::Done(_) => tl.prev.or(ctr.last_before),
    };
    let last_state = last_term
        .map(|t| term_json(&t, pod, &cname))
        .unwrap_or(json!({}));
    let image_id = format!(
        "{}@sha256:{}",
        full.split(':').next().unwrap_or(&full),
        hex64(&full)
    );
    let mut st = json!({"name": cname, "image": image, "imageID": image_id,
        "restartCount": restart_count, "lastState": last_state});
    let (ready, started, done, since);
    match tl.state {
        St::Running(s) => {
            let delay = i(c, "/readinessProbe/initialDelaySeconds").unwrap_or(0) as f64;
            let ready_at = plus(s, delay);
            let probe_ok = life.unready.is_none();
            ready = !init && probe_ok && now >= ready_at;
            if probe_ok && now < ready_at && !init {
                evs.push((None, Some(ready_at)));
            }
            if let Some(msg) = &life.unready {
                let period = i(c, "/readinessProbe/periodSeconds").unwrap_or(10).max(1) as f64;
                let first = plus(first_start, delay);
                if now >= first {
                    let n = (secs_between(first, now) / period).floor() as u64 + 1;
                    evs.push((
                        Some(ev(
                            "Unhealthy",
                            format!("Readiness probe failed: {msg}"),
                            true,
                            n,
                            first,
                            plus(first, (n - 1) as f64 * period),
                        )),
                        None,
                    ));
                }
            }
            st["state"] = json!({"running": {"startedAt": time(s)}});
            st["containerID"] = json!(container_id(pod, &cname, restart_count));
            started = true;
            done = None;
            since = if ready { ready_at } else { s };
        }
        St::BackOff(delay) => {
            st["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!(
                "back-off {} restarting failed container={cname} pod={}_{}({})",
                go_duration(delay), name(pod), namespace(pod), uid(pod))}});
            ready = false;
            started = false;
            done = None;
            since = tl.last.map_or(start, |t| t.end);
        }
        St::Done(term) => {
            st["state"] = json!({"terminated": term_fields(&term, pod, &cname)});
            st["containerID"] = json!(container_id(
                pod,
                &cname,
                term.instance + ctr.restarts_before
            ));
            ready = init && term.code == 0;
            started = false;
            done = Some(term);
            since = term.end;
        }
    }
    st["ready"] = json!(ready);
    st["started"] = json!(started);
    CRes {
        status: st,
        ready,
        started_ever: true,
        done,
        since,
    }
}

fn term_fields(t: &Term, pod: &Value, cname: &str) -> Value {
    json!({"exitCode": t.code, "reason": t.reason, "startedAt": time(t.start),
        "finishedAt": time(t.end), "containerID": container_id(pod, cname, t.instance)})
}

fn term_json(t: &Term, pod: &Value, cname: &str) -> Value {
    json!({"terminated": term_fields(t, pod, cname)})
}

fn container_id(pod: &Value, cname: &str, instance: u32) -> String {
    format!(
        "containerd://{}",
        hex64(&format!("{}/{cname}/{instance}", uid(pod)))
    )
}

fn hex64(seed: &str) -> String {
    (0..4).map(|n| hex_suffix(&format!("{n}:{seed}"))).collect()
}

/// The first env reference whose Secret, ConfigMap or key is missing, worded as the kubelet.
pub fn config_error(store: &Store, ns: &str, c: &Value) -> Option<String> {
    let has_key = |obj: &Value, key: &str| {
        ["data", "stringData", "binaryData"]
            .iter()
            .any(|f| obj[*f].get(key).is_some())
    };
    for e in arr(c, "/env") {
        for (field, kind, plural) in [
            ("secretKeyRef", "Secret", "secret"),
            ("configMapKeyRef", "ConfigMap", "configmap"),
        ] {
            let r = &e["valueFrom"][field];
            if !r.is_object() || r["optional"].as_bool() == Some(true) {
                continue;
            }
            let n = r["name"].as_str().unwrap_or("");
            let key = r["key"].as_str().unwrap_or("");
            let rt = if kind == "Secret" {
                Kinds::secrets()
            } else {
                Kinds::configmaps()
            };
            match store.get(rt, ns, n) {
                None => return Some(format!("{plural} \"{n}\" not found")),
                Some(obj) if !has_key(&obj, key) => {
                    return Some(format!("couldn't find key {key} in {kind} {ns}/{n}"));
                }
                Some(_) => {}
            }
        }
    }
    for from in arr(c, "/envFrom") {
        for (field, plural) in [("configMapRef", "configmap"), ("secretRef", "secret")] {
            let r = &from[field];
            if !r.is_object() || r["optional"].as_bool() == Some(true) {
                continue;
            }
            let n = r["name"].as_str().unwrap_or("");
            let rt = if plural == "secret" {
                Kinds::secrets()
            } else {
                Kinds::configmaps()
            };
            if store.get(rt, ns, n).is_none() {
                return Some(format!("{plural} \"{n}\" not found"));
            }
        }
    }
    None
}

/// The first volume whose Secret or ConfigMap is missing: (volume name, cause).
pub fn missing_volume(store: &Store, pod: &Value) -> Option<(String, String)> {
    let ns = namespace(pod);
    let check = |v: &Value| -> Option<String> {
        if v["secret"].is_object() && v["secret"]["optional"].as_bool() != Some(true) {
            let n = v["secret"]["secretName"].as_str().unwrap_or("");
            if store.get(Kinds::secrets(), ns, n).is_none() {
                return Some(format!("secret \"{n}\" not found"));
            }
        }
        if v["configMap"].is_object() && v["configMap"]["optional"].as_bool() != Some(true) {
            let n = v["configMap"]["name"].as_str().unwrap_or("");
            if store.get(Kinds::configmaps(), ns, n).is_none() {
                return Some(format!("configmap \"{n}\" not found"));
            }
        }
        for src in arr(v, "/projected/sources") {
            for (field, plural, rt) in [
                ("secret", "secret", Kinds::secrets()),
                ("configMap", "configmap", Kinds::configmaps()),
            ] {
                let r = &src[field];
                if r.is_object() && r["optional"].as_bool() != Some(true) {
                    let n = r["name"].as_str().unwrap_or("");
                    if store.get(rt, ns, n).is_none() {
                        return Some(format!("{plural} \"{n}\" not found"));
                    }
                }
            }
        }
        None
    };
    arr(pod, "/spec/volumes")
        .iter()
        .find_map(|v| check(v).map(|m| (v["name"].as_str().unwrap_or("").to_string(), m)))
}

/// The pod's QoS class from its containers' requests and limits.
pub fn qos_class(pod: &Value) -> &'static str {
    let cs: Vec<&Value> = arr(pod, "/spec/containers")
        .iter()
        .chain(arr(pod, "/spec/initContainers"))
        .collect();
    let any = cs.iter().any(|c| {
        ["requests", "limits"].iter().any(|k| {
            c["resources"][*k]
                .as_object()
                .is_some_and(|m| !m.is_empty())
        })
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = cs.iter().all(|c| {
        let l = &c["resources"]["limits"];
        let r = &c["resources"]["requests"];
        ["cpu", "memory"].iter().all(|k| {
            l.get(*k).is_some()
                && r.get(*k).is_none_or(|rv| {
                    if *k == "cpu" {
                        cpu_millis(rv) == cpu_millis(&l[*k])
                    } else {
                        mem_bytes(rv) == mem_bytes(&l[*k])
                    }
                })
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// `kubectl logs`: the current or previous instance of a container.
pub fn logs(
    sim: &Simulator,
    store: &Store,
    pod: &Value,
    container: Option<&str>,
    previous: bool,
    now: Timestamp,
) -> Result<Vec<LogLine>, ApiError> {
    let pname = name(pod);
    let names = |ptr: &str| -> Vec<&str> {
        arr(pod, ptr)
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect()
    };
    let mains = names("/spec/containers");
    let inits = names("/spec/initContainers");
    let cname = match container {
        Some(c) if !c.is_empty() => {
            if !mains.contains(&c) && !inits.contains(&c) {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {pname}"
                )));
            }
            c
        }
        _ if mains.len() == 1 => mains[0],
        _ => {
            let mut m = format!(
                "a container name must be specified for pod {pname}, choose one of: [{}]",
                mains.join(" ")
            );
            if !inits.is_empty() {
                m.push_str(&format!(
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                ));
            }
            return Err(ApiError::bad_request(m));
        }
    };
    let init = !mains.contains(&cname);
    let list = if init {
        "initContainerStatuses"
    } else {
        "containerStatuses"
    };
    let cstatus = arr(pod, &format!("/status/{list}"))
        .iter()
        .find(|s| s["name"] == cname)
        .cloned()
        .unwrap_or(Value::Null);
    let spec = arr(
        pod,
        if init {
            "/spec/initContainers"
        } else {
            "/spec/containers"
        },
    )
    .iter()
    .find(|c| c["name"] == cname)
    .cloned()
    .unwrap_or(Value::Null);
    let b = behavior::find(sim, store, pod, &spec, init);
    // Instances: (start, end) of the current and the previous one, from the status the
    // kubelet wrote (or the captured status of a frozen pod).
    let current = match (
        &cstatus["state"]["running"],
        &cstatus["state"]["terminated"],
    ) {
        (r, _) if r.is_object() => ts(&r["startedAt"]).map(|s| (s, None)),
        (_, t) if t.is_object() => ts(&t["startedAt"]).map(|s| (s, ts(&t["finishedAt"]))),
        _ => None,
    };
    let last = &cstatus["lastState"]["terminated"];
    let last = if last.is_object() {
        ts(&last["startedAt"]).map(|s| (s, ts(&last["finishedAt"])))
    } else {
        None
    };
    let waiting = cstatus["state"]["waiting"]["reason"].as_str();
    let (instance, lines) = if previous {
        // While in back-off the "current" container is the one that just exited.
        let prev = if current.is_some() {
            last
        } else {
            let restarts = cstatus["restartCount"].as_i64().unwrap_or(0);
            if restarts > 0 {
                last.map(|(s, e)| {
                    let e = e.unwrap_or(s);
                    let before = e.duration_since(s).as_secs_f64();
                    (plus(s, -(before + 10.0)), Some(plus(s, -10.0)))
                })
            } else {
                None
            }
        };
        let Some(p) = prev else {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{cname}\" in pod \"{pname}\" not found"
            )));
        };
        // The previous instance may have run under a lifecycle since replaced.
        let ctr = runtime_ctr(sim, pod, cname, &mains, &inits, init);
        let older = ctr.and_then(|c| {
            let first_of_life = current.is_some_and(|(s, _)| Some(s) == c.start);
            c.prev_life_logs.clone().filter(|_| first_of_life)
        });
        let lines =
            older.or_else(|| b.map(|b| b.previous_logs.clone().unwrap_or_else(|| b.logs.clone())));
        (p, lines.unwrap_or_default())
    } else {
        let cur = current.or(if waiting == Some("CrashLoopBackOff") {
            last
        } else {
            None
        });
        let Some(cur) = cur else {
            let reason = match waiting {
                Some("ErrImagePull" | "ImagePullBackOff") => "trying and failing to pull image",
                Some(r) => r,
                None => "ContainerCreating",
            };
            return Err(ApiError::bad_request(format!(
                "container \"{cname}\" in pod \"{pname}\" is waiting to start: {reason}"
            )));
        };
        (cur, b.map(|b| b.logs.clone()).unwrap_or_default())
    };
    let (start, end) = instance;
    let end = end.unwrap_or(now).min(now);
    let segments = if previous {
        None
    } else {
        runtime_ctr(sim, pod, cname, &mains, &inits, init)
            .map(|c| c.segments.clone())
            .filter(|s| !s.is_empty())
    };
    if let Some(segs) = segments {
        return Ok(segmented_logs(sim, &segs, start, end));
    }
    let mut out: Vec<LogLine> = lines
        .iter()
        .enumerate()
        .map(|(n, l)| LogLine {
            time: plus(
                start,
                (n as f64 * 0.05).min(secs_between(start, end).max(0.0)),
            ),
            text: l.clone(),
        })
        .collect();
    if let Some(p) = b.and_then(|b| b.periodic_logs.as_ref()) {
        let every = p.every_seconds.max(1) as f64;
        let span = secs_between(start, end);
        let reps = (span / every).floor().max(0.0) as u64;
        let from = reps.saturating_sub(500);
        for r in (from + 1)..=reps {
            let at = plus(start, r as f64 * every);
            out.extend(p.lines.iter().map(|l| LogLine {
                time: at,
                text: l.clone(),
            }));
        }
    }
    Ok(out)
}

/// The kubelet's memory of a container, if the pod is simulated.
fn runtime_ctr<'a>(
    sim: &'a Simulator,
    pod: &Value,
    cname: &str,
    mains: &[&str],
    inits: &[&str],
    init: bool,
) -> Option<&'a Ctr> {
    let rt = sim.runtime.get(uid(pod))?;
    let (list, idx) = if init {
        (&rt.init, inits.iter().position(|n| *n == cname))
    } else {
        (&rt.containers, mains.iter().position(|n| *n == cname))
    };
    idx.and_then(|i| list.get(i))
}

/// The log of an instance that ran from `start` to `end` while the applying Behavior
/// changed at the `segments` moments: start-up lines from the first, then each one's
/// periodic lines for the time it applied.
fn segmented_logs(
    sim: &Simulator,
    segments: &[(Timestamp, Option<usize>)],
    start: Timestamp,
    end: Timestamp,
) -> Vec<LogLine> {
    let behavior_at = |t: Timestamp| {
        segments
            .iter()
            .rev()
            .find(|(from, _)| *from <= t)
            .or(segments.first())
            .and_then(|(_, i)| *i)
            .map(|i| &sim.behaviors[i].0)
    };
    let span = secs_between(start, end).max(0.0);
    let mut out: Vec<LogLine> = behavior_at(start)
        .map(|b| b.logs.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(n, l)| LogLine {
            time: plus(start, (n as f64 * 0.05).min(span)),
            text: l.clone(),
        })
        .collect();
    for (n, (from, idx)) in segments.iter().enumerate() {
        let until = segments.get(n + 1).map_or(end, |(t, _)| (*t).min(end));
        let from = (*from).max(start);
        if until <= from {
            continue;
        }
        let Some(p) = idx.and_then(|i| sim.behaviors[i].0.periodic_logs.as_ref()) else {
            continue;
        };
        let every = p.every_seconds.max(1) as f64;
        let first = (secs_between(start, from) / every).ceil().max(1.0) as u64;
        let last = (secs_between(start, until) / every).floor() as u64;
        if last < first {
            continue;
        }
        for r in first.max(last.saturating_sub(499))..=last {
            let at = plus(start, r as f64 * every);
            out.extend(p.lines.iter().map(|l| LogLine {
                time: at,
                text: l.clone(),
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn back_off_doubles_to_five_minutes() {
        let d: Vec<f64> = (0..8).map(backoff_delay).collect();
        assert_eq!(d, vec![1.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
        assert_eq!(go_duration(10.0), "10s");
        assert_eq!(go_duration(80.0), "1m20s");
        assert_eq!(go_duration(300.0), "5m0s");
    }

    #[test]
    fn crash_loop_restarts_grow_with_time() {
        let exit = Some(Exit {
            code: 1,
            reason: "Error",
            after: 3.0,
        });
        let at = |secs: f64| timeline(t0(), plus(t0(), secs), exit, |_| true);
        assert_eq!(at(1.0).state, St::Running(t0()));
        assert_eq!(at(3.5).state, St::BackOff(1.0));
        assert_eq!(at(3.5).restarts, 0);
        // exits at 3, restarts at 4, exits at 7, waits 10s
        assert_eq!(at(8.0).restarts, 1);
        assert_eq!(at(8.0).state, St::BackOff(10.0));
        let long = at(1800.0);
        assert!(
            long.restarts >= 8 && long.restarts <= 11,
            "{}",
            long.restarts
        );
        assert_eq!(long.last.unwrap().code, 1);
        // deterministic
        assert_eq!(at(1800.0).restarts, long.restarts);
        assert!(at(3600.0).restarts > long.restarts);
    }

    #[test]
    fn never_restart_terminates() {
        let exit = Some(Exit {
            code: 2,
            reason: "Error",
            after: 5.0,
        });
        let tl = timeline(t0(), plus(t0(), 60.0), exit, |_| false);
        assert!(matches!(tl.state, St::Done(t) if t.code == 2));
        assert_eq!(tl.restarts, 0);
    }

    #[test]
    fn retries_back_off() {
        let (n, last, next) = retries(t0(), plus(t0(), 35.0));
        assert_eq!(n, 3); // 0, 10, 30
        assert_eq!(last, plus(t0(), 30.0));
        assert_eq!(next, plus(t0(), 70.0));
    }

    #[test]
    fn qos() {
        let be = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(qos_class(&be), "BestEffort");
        let g = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
        assert_eq!(qos_class(&g), "Guaranteed");
        let b = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        assert_eq!(qos_class(&b), "Burstable");
    }
}
