//! Matching `Behavior` documents to containers, and what a container does when it runs.

use serde_json::Value;

use super::Simulator;
use super::kinds::Kinds;
use super::object::{arr, namespace, s};
use super::quantity::mem_bytes;
use crate::scenario::Behavior;
use crate::store::Store;

/// How a container instance ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exit {
    /// Exit code.
    pub code: i32,
    /// `Completed`, `Error` or `OOMKilled`.
    pub reason: &'static str,
    /// Seconds after the start.
    pub after: f64,
}

/// What a container does once started.
#[derive(Debug, Clone, PartialEq)]
pub struct Life {
    /// How it ends; `None` runs forever.
    pub exit: Option<Exit>,
    /// The readiness probe's failure message, when it fails.
    pub unready: Option<String>,
}

impl Life {
    /// A signature that changes when the lifecycle (not the logs) changes.
    pub fn signature(&self) -> String {
        format!("{:?}|{:?}", self.exit, self.unready)
    }
}

/// The first Behavior that applies to `container` of `pod` now.
pub fn find<'a>(
    sim: &'a Simulator,
    store: &Store,
    pod: &Value,
    container: &Value,
    init: bool,
) -> Option<&'a Behavior> {
    find_index(sim, store, pod, container, init).map(|i| &sim.behaviors[i].0)
}

/// The position of the first Behavior that applies to `container` of `pod` now.
pub fn find_index(
    sim: &Simulator,
    store: &Store,
    pod: &Value,
    container: &Value,
    init: bool,
) -> Option<usize> {
    let cname = s(container, "/name");
    let labels = &pod["metadata"]["labels"];
    sim.behaviors.iter().position(|(b, sel)| {
        match &b.container {
            Some(c) if c != cname => return false,
            None if init => return false,
            _ => {}
        }
        if b.namespace.as_deref().is_some_and(|n| n != namespace(pod)) {
            return false;
        }
        if !super::labels::selects(sel, labels) {
            return false;
        }
        b.when
            .as_ref()
            .is_none_or(|w| holds(w, store, pod, container))
    })
}

fn holds(w: &crate::scenario::When, store: &Store, pod: &Value, c: &Value) -> bool {
    let image = s(c, "/image");
    if w.image.as_deref().is_some_and(|i| i != image) {
        return false;
    }
    if w.image_not.as_deref().is_some_and(|i| i == image) {
        return false;
    }
    if w.env_missing.is_some() || w.env_present.is_some() {
        let names = env_names(store, namespace(pod), c);
        if w.env_missing
            .as_ref()
            .is_some_and(|e| names.iter().any(|n| n == e))
        {
            return false;
        }
        if w.env_present
            .as_ref()
            .is_some_and(|e| !names.iter().any(|n| n == e))
        {
            return false;
        }
    }
    if let Some(k) = &w.config_map_key {
        let ok = store
            .get(Kinds::configmaps(), namespace(pod), &k.name)
            .and_then(|cm| {
                cm["data"]
                    .get(&k.key)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .is_some_and(|v| k.value.as_ref().is_none_or(|want| *want == v));
        if !ok {
            return false;
        }
    }
    if let Some(svc) = &w.service_without_endpoints {
        let ready = store
            .get(Kinds::endpoints(), namespace(pod), svc)
            .is_some_and(|ep| {
                arr(&ep, "/subsets")
                    .iter()
                    .any(|ss| !arr(ss, "/addresses").is_empty())
            });
        if ready {
            return false;
        }
    }
    true
}

/// The env var names a container gets: `env` plus the keys `envFrom` brings in.
fn env_names(store: &Store, ns: &str, c: &Value) -> Vec<String> {
    let mut names: Vec<String> = arr(c, "/env")
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_string))
        .collect();
    for from in arr(c, "/envFrom") {
        let prefix = s(from, "/prefix");
        let source = if from["configMapRef"].is_object() {
            store.get(Kinds::configmaps(), ns, s(from, "/configMapRef/name"))
        } else {
            store.get(Kinds::secrets(), ns, s(from, "/secretRef/name"))
        };
        if let Some(src) = source {
            for field in ["data", "stringData", "binaryData"] {
                if let Some(m) = src[field].as_object() {
                    names.extend(m.keys().map(|k| format!("{prefix}{k}")));
                }
            }
        }
    }
    names
}

/// What the container does: from its Behavior, its memory limit and its pod's kind.
pub fn life(b: Option<&Behavior>, pod: &Value, c: &Value, init: bool) -> Life {
    let limit = c
        .pointer("/resources/limits/memory")
        .map(mem_bytes)
        .filter(|l| *l > 0);
    let run = |default: u64| b.and_then(|b| b.run_seconds).unwrap_or(default) as f64;
    let oom = match (b.and_then(|b| b.memory_mib), limit) {
        (Some(mib), Some(limit)) => (mib as i64) * 1024 * 1024 > limit,
        _ => false,
    };
    let exit = if oom {
        Some(Exit {
            code: 137,
            reason: "OOMKilled",
            after: run(5).max(1.0),
        })
    } else if let Some(code) = b.and_then(|b| b.exit_code) {
        Some(Exit {
            code,
            reason: if code == 0 { "Completed" } else { "Error" },
            after: run(3).max(1.0),
        })
    } else if init || owned_by_job(pod) {
        // Init containers and Job pods finish their work unless told otherwise.
        Some(Exit {
            code: 0,
            reason: "Completed",
            after: run(if init { 2 } else { 5 }).max(1.0),
        })
    } else {
        None
    };
    let unready = b
        .and_then(|b| b.readiness.as_ref())
        .filter(|r| r.failing)
        .map(|r| match &r.message {
            Some(m) => m.clone(),
            None => default_probe_failure(c),
        });
    Life { exit, unready }
}

fn owned_by_job(pod: &Value) -> bool {
    arr(pod, "/metadata/ownerReferences")
        .iter()
        .any(|r| r["kind"] == "Job")
}

/// The kubelet's wording of a failed readiness probe, by the probe's kind.
fn default_probe_failure(c: &Value) -> String {
    let p = &c["readinessProbe"];
    if p["tcpSocket"].is_object() {
        let port = p["tcpSocket"]["port"]
            .to_string()
            .trim_matches('"')
            .to_string();
        format!("dial tcp 10.244.0.1:{port}: connect: connection refused")
    } else if p["exec"].is_object() {
        "command terminated with exit code 1".to_string()
    } else if p["grpc"].is_object() {
        "timeout: failed to connect service within 1s".to_string()
    } else {
        "HTTP probe failed with statuscode: 503".to_string()
    }
}
