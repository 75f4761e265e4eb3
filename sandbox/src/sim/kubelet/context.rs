//! What the kubelet works with while it plays a pod and each of its containers, and the
//! pieces of a container's status the API shows: waiting states, terminated instances,
//! container IDs.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Ctr;
use super::timeline::Term;
use crate::sim::Simulator;
use crate::sim::events::{Ev, Source};
use crate::sim::naming::hex_suffix;
use crate::sim::object::uid;
use crate::sim::timestamps::time;
use crate::store::Store;

/// What the kubelet works with while it plays one pod; shared by its containers.
pub struct PodCtx<'a> {
    /// The simulator (behaviours, missing images, runtime memory).
    pub sim: &'a Simulator,
    /// The store, for config references and the cluster the containers see.
    pub store: &'a Store,
    /// The pod.
    pub pod: &'a Value,
    /// `spec.restartPolicy`, defaulted to `Always`.
    pub policy: &'a str,
    /// The reporting kubelet.
    pub kubelet: Source,
    /// The moment played.
    pub now: Timestamp,
    /// The pod's IP (probe and client messages name it).
    pub ip: String,
}

/// The status of one container now, plus what it means for the pod.
pub struct CRes {
    /// The `containerStatuses[]` entry.
    pub status: Value,
    /// Ready now.
    pub ready: bool,
    /// Started at least once.
    pub started_ever: bool,
    /// Terminated for good (exit code), for init chaining and pod phase.
    pub done: Option<Term>,
    /// When it became ready or unready (for the Ready condition's transition time).
    pub since: Timestamp,
}

/// One container of the pod being played: its names and how its events are worded.
pub struct One<'a> {
    /// The pod's context.
    pub cx: &'a PodCtx<'a>,
    /// The container's spec.
    pub spec: &'a Value,
    /// Its name.
    pub name: String,
    /// Its image as written.
    pub image: String,
    /// Whether it is an init container.
    pub init: bool,
}

impl One<'_> {
    /// A kubelet event about this container.
    pub fn ev(
        &self,
        reason: &'static str,
        message: String,
        warning: bool,
        count: u64,
        first: Timestamp,
        last: Timestamp,
    ) -> Ev {
        let list = if self.init {
            "initContainers"
        } else {
            "containers"
        };
        Ev {
            field_path: Some(format!("spec.{list}{{{}}}", self.name)),
            warning,
            reason,
            message,
            source: self.cx.kubelet.clone(),
            count,
            first,
            last,
        }
    }

    /// A waiting status with `reason` (and `message`), keeping the restarts and last state
    /// the kubelet remembers.
    pub fn waiting(&self, reason: &str, message: Option<String>, ctr: &Ctr) -> Value {
        let mut w = json!({"reason": reason});
        if let Some(m) = message {
            w["message"] = json!(m);
        }
        let last = ctr
            .last_before
            .map(|t| term_json(&t, self.cx.pod, &self.name))
            .unwrap_or(json!({}));
        json!({"name": self.name, "image": self.image, "imageID": "", "ready": false,
            "restartCount": ctr.restarts_before, "started": false,
            "state": {"waiting": w}, "lastState": last})
    }

    /// A container that has not started, waiting since `since`.
    pub fn not_started(&self, status: Value, since: Timestamp) -> CRes {
        CRes {
            status,
            ready: false,
            started_ever: false,
            done: None,
            since,
        }
    }
}

/// A terminated instance's fields (`state.terminated`, `lastState.terminated`).
pub fn term_fields(t: &Term, pod: &Value, cname: &str) -> Value {
    json!({"exitCode": t.code, "reason": t.reason, "startedAt": time(t.start),
        "finishedAt": time(t.end), "containerID": container_id(pod, cname, t.instance)})
}

/// `{"terminated": ...}` for a terminated instance.
pub fn term_json(t: &Term, pod: &Value, cname: &str) -> Value {
    json!({"terminated": term_fields(t, pod, cname)})
}

/// The runtime's ID of a container instance.
pub fn container_id(pod: &Value, cname: &str, instance: u32) -> String {
    format!(
        "containerd://{}",
        hex64(&format!("{}/{cname}/{instance}", uid(pod)))
    )
}

/// 64 hex digits derived from `seed`, like a container or image digest.
pub fn hex64(seed: &str) -> String {
    (0..4).map(|n| hex_suffix(&format!("{n}:{seed}"))).collect()
}
