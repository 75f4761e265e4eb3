//! Matching `Behavior` documents to containers, and what a container does when it runs.

use serde_json::Value;

use super::Simulator;
use super::kinds::Kinds;
use super::object::{arr, namespace, s};
use super::quantity::mem_bytes;
use crate::scenario::{Behavior, StartError, StartErrorReason};
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
    /// The liveness or startup probe that fails and gets it killed.
    pub kill: Option<Kill>,
    /// The runtime's error when it cannot start at all.
    pub start_error: Option<String>,
}

/// A failing liveness or startup probe: the kubelet kills the container after
/// `threshold` failures, `period` seconds apart, the first `delay` seconds after the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Kill {
    /// `Liveness` or `Startup`.
    pub probe: &'static str,
    /// The probe's failure as the kubelet words it (`{ip}` stands for the pod's IP).
    pub message: String,
    /// `initialDelaySeconds`.
    pub delay: f64,
    /// `periodSeconds`.
    pub period: f64,
    /// `failureThreshold`.
    pub threshold: u32,
}

impl Kill {
    /// Seconds from a start to the kill.
    pub fn after(&self) -> f64 {
        (self.delay + self.period * f64::from(self.threshold.max(1) - 1)).max(1.0)
    }
}

impl Life {
    /// A signature that changes when the lifecycle (not the logs) changes.
    pub fn signature(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{:?}",
            self.exit, self.unready, self.kill, self.start_error
        )
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

/// What the container does: from its Behavior, its memory limit, its probes and its pod's
/// kind. `fatal` is the failure of a `connects` entry it cannot run without, if any.
pub fn life(b: Option<&Behavior>, pod: &Value, c: &Value, init: bool, fatal: bool) -> Life {
    let limit = c
        .pointer("/resources/limits/memory")
        .map(mem_bytes)
        .filter(|l| *l > 0);
    let run = |default: u64| b.and_then(|b| b.run_seconds).unwrap_or(default) as f64;
    let oom = match (b.and_then(|b| b.memory_mib), limit) {
        (Some(mib), Some(limit)) => (mib as i64) * 1024 * 1024 > limit,
        _ => false,
    };
    let start_error = b.and_then(|b| b.start_error.as_ref());
    let kill = if init { None } else { probe_kill(b, c) };
    let exit = if let Some(e) = start_error {
        Some(Exit {
            code: match e.reason {
                StartErrorReason::CommandNotFound => 127,
                StartErrorReason::PermissionDenied => 126,
                StartErrorReason::Runtime => 128,
            },
            reason: "StartError",
            after: 0.5,
        })
    } else if oom {
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
    } else if fatal {
        Some(Exit {
            code: 1,
            reason: "Error",
            after: run(3).max(1.0),
        })
    } else if let Some(k) = &kill {
        // Killed by the kubelet: SIGTERM, then SIGKILL after the grace period.
        Some(Exit {
            code: 137,
            reason: "Error",
            after: k.after(),
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
            None => default_probe_failure(c, "readinessProbe"),
        })
        .or_else(|| port_mismatch(c, "readinessProbe"));
    Life {
        exit,
        unready,
        kill: kill.filter(|_| start_error.is_none() && !oom),
        start_error: start_error.map(|e| start_error_message(e, c)),
    }
}

/// The probe that gets the container killed: a startup probe that fails (the liveness
/// probe waits for it), else a liveness probe that fails, by the Behavior or because it
/// targets a port the container does not listen on.
fn probe_kill(b: Option<&Behavior>, c: &Value) -> Option<Kill> {
    for (probe, field, declared) in [
        (
            "Startup",
            "startupProbe",
            b.and_then(|b| b.startup.as_ref()),
        ),
        (
            "Liveness",
            "livenessProbe",
            b.and_then(|b| b.liveness.as_ref()),
        ),
    ] {
        let p = &c[field];
        if !p.is_object() {
            continue;
        }
        let message = declared
            .filter(|r| r.failing)
            .map(|r| {
                r.message
                    .clone()
                    .unwrap_or_else(|| default_probe_failure(c, field))
            })
            .or_else(|| port_mismatch(c, field));
        if let Some(message) = message {
            let num = |k: &str, d: i64| p[k].as_i64().unwrap_or(d).max(0);
            return Some(Kill {
                probe,
                message,
                delay: num("initialDelaySeconds", 0) as f64,
                period: num("periodSeconds", 10).max(1) as f64,
                threshold: num("failureThreshold", 3).max(1) as u32,
            });
        }
    }
    None
}

/// The probe's failure when it targets a numbered port that none of the container's
/// declared ports is: nothing listens there.
fn port_mismatch(c: &Value, field: &str) -> Option<String> {
    let p = &c[field];
    let (kind, port) = if p["httpGet"].is_object() {
        ("http", &p["httpGet"]["port"])
    } else if p["tcpSocket"].is_object() {
        ("tcp", &p["tcpSocket"]["port"])
    } else {
        return None;
    };
    let port = port.as_i64()?;
    let declared: Vec<i64> = arr(c, "/ports")
        .iter()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect();
    if declared.is_empty() || declared.contains(&port) {
        return None;
    }
    let refused = format!("dial tcp {{ip}}:{port}: connect: connection refused");
    Some(if kind == "http" {
        let scheme = p["httpGet"]["scheme"]
            .as_str()
            .unwrap_or("HTTP")
            .to_lowercase();
        let path = p["httpGet"]["path"].as_str().unwrap_or("/");
        format!("Get \"{scheme}://{{ip}}:{port}{path}\": {refused}")
    } else {
        refused
    })
}

/// The runtime's words for a container that cannot start.
fn start_error_message(e: &StartError, c: &Value) -> String {
    let command = e
        .command
        .clone()
        .or_else(|| {
            arr(c, "/command")
                .first()
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "/docker-entrypoint.sh".to_string());
    let prefix = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process";
    match e.reason {
        StartErrorReason::CommandNotFound => format!(
            "{prefix}: exec: \"{command}\": executable file not found in $PATH: unknown"
        ),
        StartErrorReason::PermissionDenied => format!(
            "{prefix}: exec: \"{command}\": permission denied: unknown"
        ),
        StartErrorReason::Runtime => e.message.clone().unwrap_or_else(|| {
            format!(
                "{prefix}: error during container init: error mounting \"/var/lib/kubelet/pods/config\" to rootfs at \"/etc/app/config.yaml\": not a directory: unknown"
            )
        }),
    }
}

fn owned_by_job(pod: &Value) -> bool {
    arr(pod, "/metadata/ownerReferences")
        .iter()
        .any(|r| r["kind"] == "Job")
}

/// The kubelet's wording of a failed probe, by the probe's kind.
fn default_probe_failure(c: &Value, field: &str) -> String {
    let p = &c[field];
    if p["tcpSocket"].is_object() {
        let port = p["tcpSocket"]["port"]
            .to_string()
            .trim_matches('"')
            .to_string();
        format!("dial tcp {{ip}}:{port}: connect: connection refused")
    } else if p["exec"].is_object() {
        "command terminated with exit code 1".to_string()
    } else if p["grpc"].is_object() {
        "timeout: failed to connect service within 1s".to_string()
    } else {
        "HTTP probe failed with statuscode: 503".to_string()
    }
}
