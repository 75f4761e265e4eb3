//! A pod's status as its kubelet reports it: volumes first, init containers one after the
//! other, then the regular containers; phase, IPs, QoS class and conditions.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::container;
use super::context::{CRes, PodCtx};
use super::references::missing_volume;
use super::timeline::retries;
use super::{NodeInfo, Pending, PodRuntime};
use crate::sim::events::Ev;
use crate::sim::naming::hex_suffix;
use crate::sim::object::{arr, s, uid};
use crate::sim::quantity::{cpu_millis, mem_bytes};
use crate::sim::timestamps::{plus, time, ts};

/// An unready condition's moment and the containers it names.
type Unready<'a> = (Timestamp, Vec<&'a str>);

/// The pod's status now, recording in `evs` the events it implies.
pub fn pod_status(cx: &PodCtx, node: &NodeInfo, rt: &mut PodRuntime, evs: &mut Pending) -> Value {
    let (pod, now) = (cx.pod, cx.now);
    let scheduled = *rt.scheduled.get_or_insert_with(|| {
        arr(pod, "/status/conditions")
            .iter()
            .find(|c| c["type"] == "PodScheduled" && c["status"] == "True")
            .and_then(|c| ts(&c["lastTransitionTime"]))
            .unwrap_or(now)
            .min(now)
    });
    let specs = arr(pod, "/spec/containers");
    let init_specs = arr(pod, "/spec/initContainers");
    rt.containers.resize(specs.len(), Default::default());
    rt.init.resize(init_specs.len(), Default::default());
    let mut status = json!({
        "phase": "Pending",
        "hostIP": node.ip,
        "hostIPs": [{"ip": node.ip}],
        "startTime": time(scheduled),
        "qosClass": qos_class(pod),
    });
    // Volumes first: a missing source keeps the pod in ContainerCreating.
    if rt.volumes_ok.is_none() {
        if let Some((vol, msg)) = missing_volume(cx.store, pod) {
            let since = *rt.mount_blocked.get_or_insert(now);
            mount_failed(cx, &mut status, scheduled, since, &vol, &msg, evs);
            return status;
        }
        rt.volumes_ok = Some(now.max(scheduled));
    }
    let volumes_ok = rt.volumes_ok.unwrap_or(scheduled);
    status["podIP"] = json!(cx.ip);
    status["podIPs"] = json!([{"ip": status["podIP"]}]);
    let mut t = plus(volumes_ok, 1.0);
    let (initialized, init_failed) =
        init_containers(cx, rt, init_specs, volumes_ok, &mut t, &mut status, evs);
    let mut mains = Mains::default();
    for (n, c) in specs.iter().enumerate() {
        let cname = s(c, "/name");
        if initialized.is_err() {
            mains.statuses.push(initializing(c));
            mains.unready.push(cname);
            mains.all_started = false;
            mains.all_done = false;
            continue;
        }
        let r = container::container(cx, c, &mut rt.containers[n], t, false, evs);
        mains.add(cname, r, t);
    }
    status["containerStatuses"] = json!(mains.statuses);
    let phase = if init_failed && cx.policy == "Never" {
        "Failed"
    } else if initialized.is_err() || !mains.all_started {
        "Pending"
    } else if cx.policy != "Always" && mains.all_done {
        if mains.all_ok { "Succeeded" } else { "Failed" }
    } else {
        "Running"
    };
    status["phase"] = json!(phase);
    let completed = matches!(phase, "Succeeded" | "Failed");
    let ready = if mains.unready.is_empty() && !completed {
        Ok(mains.ready_since.unwrap_or(t))
    } else {
        Err((mains.unready_since.unwrap_or(t), mains.unready))
    };
    status["conditions"] = conditions(scheduled, Some(volumes_ok), initialized, ready, completed);
    status
}

/// The regular containers' statuses and what they mean for the pod.
struct Mains<'a> {
    statuses: Vec<Value>,
    unready: Vec<&'a str>,
    all_started: bool,
    all_done: bool,
    all_ok: bool,
    ready_since: Option<Timestamp>,
    unready_since: Option<Timestamp>,
}

impl Default for Mains<'_> {
    fn default() -> Self {
        Self {
            statuses: Vec::new(),
            unready: Vec::new(),
            all_started: true,
            all_done: true,
            all_ok: true,
            ready_since: None,
            unready_since: None,
        }
    }
}

impl<'a> Mains<'a> {
    fn add(&mut self, cname: &'a str, r: CRes, t: Timestamp) {
        if r.ready {
            self.ready_since = Some(self.ready_since.unwrap_or(t).max(r.since));
        } else {
            self.unready.push(cname);
            self.unready_since = Some(self.unready_since.unwrap_or(t).max(r.since));
        }
        self.all_started &= r.started_ever;
        match r.done {
            Some(term) => self.all_ok &= term.code == 0,
            None => self.all_done = false,
        }
        self.statuses.push(r.status);
    }
}

/// A container waiting for the init containers before it.
fn initializing(c: &Value) -> Value {
    json!({"name": s(c, "/name"), "image": c["image"], "imageID": "",
        "ready": false, "restartCount": 0, "started": false,
        "state": {"waiting": {"reason": "PodInitializing"}}, "lastState": {}})
}

/// Runs the init containers one after the other; returns whether the pod is initialized
/// (or since when it waits, and on which) and whether one failed. `t` moves to when the
/// regular containers may start.
fn init_containers<'a>(
    cx: &PodCtx,
    rt: &mut PodRuntime,
    init_specs: &'a [Value],
    volumes_ok: Timestamp,
    t: &mut Timestamp,
    status: &mut Value,
    evs: &mut Pending,
) -> (Result<Timestamp, Unready<'a>>, bool) {
    let mut initialized: Result<Timestamp, Unready<'a>> = Ok(volumes_ok);
    let mut statuses = Vec::new();
    let mut failed = false;
    for (n, c) in init_specs.iter().enumerate() {
        let cname = s(c, "/name");
        if let Err((_, names)) = &mut initialized {
            statuses.push(initializing(c));
            names.push(cname);
            continue;
        }
        let r = container::container(cx, c, &mut rt.init[n], *t, true, evs);
        statuses.push(r.status);
        match r.done {
            Some(term) if term.code == 0 => {
                *t = plus(term.end, 0.5);
                initialized = Ok(term.end);
            }
            Some(_) => {
                failed = true;
                initialized = Err((*t, vec![cname]));
            }
            None => initialized = Err((*t, vec![cname])),
        }
    }
    if !statuses.is_empty() {
        status["initContainerStatuses"] = json!(statuses);
    }
    (initialized, failed)
}

/// The status of a pod whose volume cannot be mounted: every container waits in
/// `ContainerCreating` and the kubelet retries the mount.
fn mount_failed(
    cx: &PodCtx,
    status: &mut Value,
    scheduled: Timestamp,
    since: Timestamp,
    vol: &str,
    msg: &str,
    evs: &mut Pending,
) {
    let (count, last, next) = retries(since, cx.now);
    evs.push((
        Some(Ev {
            field_path: None,
            warning: true,
            reason: "FailedMount",
            message: format!("MountVolume.SetUp failed for volume \"{vol}\" : {msg}"),
            source: cx.kubelet.clone(),
            count,
            first: since,
            last,
        }),
        Some(next),
    ));
    let specs = arr(cx.pod, "/spec/containers");
    let init_specs = arr(cx.pod, "/spec/initContainers");
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
    let unready: Vec<&str> = specs.iter().map(|c| s(c, "/name")).collect();
    let initialized = if init_specs.is_empty() {
        Ok(scheduled)
    } else {
        Err((
            scheduled,
            init_specs.iter().map(|c| s(c, "/name")).collect(),
        ))
    };
    status["conditions"] = conditions(
        scheduled,
        None,
        initialized,
        Err((scheduled, unready)),
        false,
    );
}

/// Pod conditions, with the kubelet's reasons and messages.
fn conditions(
    scheduled: Timestamp,
    sandbox: Option<Timestamp>,
    initialized: Result<Timestamp, Unready>,
    ready: Result<Timestamp, Unready>,
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
pub fn assign_ip(pod: &Value, node: &NodeInfo) -> String {
    if let Some(ip) = pod["status"]["podIP"].as_str() {
        return ip.to_string();
    }
    let h = u64::from_str_radix(&hex_suffix(uid(pod))[..8], 16).unwrap_or(7);
    format!("10.244.{}.{}", node.index, 2 + h % 250)
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
