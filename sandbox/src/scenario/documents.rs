//! The sandbox's own documents (`apiVersion: sandbox.kai.dev/v1`): `Settings` and `Behavior`,
//! typed as a scenario file writes them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

/// Sandbox-wide settings (`apiVersion: sandbox.kai.dev/v1`, `kind: Settings`, fields under
/// `spec`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Namespace the kubeconfig context selects.
    #[serde(default)]
    pub namespace: Option<String>,
    /// One-line description shown by `kai sandbox --list`.
    #[serde(default)]
    pub description: Option<String>,
    /// Faults the API server injects.
    #[serde(default)]
    pub faults: crate::faults::Faults,
    /// Images that do not exist in any registry: pulling them fails with `ErrImagePull`.
    #[serde(default)]
    pub missing_images: Vec<String>,
    /// How long the scenario has been running when the sandbox starts (`30m`, `2h`, `3d`):
    /// objects are created that long ago and the simulation plays the time in between.
    #[serde(default)]
    pub age: Option<String>,
    /// Number of nodes created when the scenario defines none (default 3).
    #[serde(default)]
    pub nodes: Option<u32>,
}

/// How matching containers behave (`apiVersion: sandbox.kai.dev/v1`, `kind: Behavior`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Behavior {
    /// `metadata.name`, for messages.
    #[serde(skip)]
    pub name: String,
    /// Pods whose labels match this selector. Required.
    pub selector: Selector,
    /// Only pods in this namespace (default: any).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Only this container (default: every container of the pod, init containers excluded).
    #[serde(default)]
    pub container: Option<String>,
    /// Only while all these conditions hold.
    #[serde(default)]
    pub when: Option<When>,
    /// The container exits with this code after `runSeconds` (absent: it keeps running).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Seconds the container runs before exiting or being OOM-killed (default 3).
    #[serde(default)]
    pub run_seconds: Option<u64>,
    /// Log lines the container writes when it starts.
    #[serde(default)]
    pub logs: Vec<String>,
    /// Log lines of the previous (terminated) container; default: `logs`.
    #[serde(default)]
    pub previous_logs: Option<Vec<String>>,
    /// Lines the container writes again and again while it runs.
    #[serde(default)]
    pub periodic_logs: Option<PeriodicLogs>,
    /// Memory the container uses, in MiB; above its memory limit it is OOMKilled (exit 137).
    #[serde(rename = "memoryMiB", default)]
    pub memory_mib: Option<u64>,
    /// Readiness probe outcome.
    #[serde(default)]
    pub readiness: Option<Readiness>,
    /// Liveness probe outcome: a failing one makes the kubelet kill and restart the container.
    #[serde(default)]
    pub liveness: Option<Readiness>,
    /// Startup probe outcome: a failing one makes the kubelet kill and restart the container.
    #[serde(default)]
    pub startup: Option<Readiness>,
    /// The container cannot start at all (the runtime refuses it).
    #[serde(default)]
    pub start_error: Option<StartError>,
    /// CPU the container uses, in millicores (metrics, `kubectl top`, autoscalers).
    #[serde(default)]
    pub cpu_millis: Option<u64>,
    /// What the container reaches while it runs: hosts, the Kubernetes API, files. Each
    /// outcome follows the simulated cluster and is written to the log.
    #[serde(default)]
    pub connects: Vec<Connect>,
    /// How the client words what happens (`plain`, `go`, `python`, `node`, `curl`).
    #[serde(default)]
    pub client: Option<ClientStyle>,
}

/// Why a container cannot start, as the runtime reports it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartError {
    /// `commandNotFound` (127), `permissionDenied` (126) or `runtime` (128).
    pub reason: StartErrorReason,
    /// The command the runtime tried (default: the container's `command[0]`, else
    /// `/docker-entrypoint.sh`).
    #[serde(default)]
    pub command: Option<String>,
    /// The runtime's error for `runtime` (default: a mount error).
    #[serde(default)]
    pub message: Option<String>,
}

/// The kinds of start failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StartErrorReason {
    /// The executable is not in the image (exit 127).
    #[default]
    CommandNotFound,
    /// The executable is not executable (exit 126).
    PermissionDenied,
    /// Any other runtime error (exit 128).
    Runtime,
}

/// One thing a container reaches: exactly one of `to`, `api`, `write`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Connect {
    /// `host:port`: a Service (`name`, `name.namespace`, `name.namespace.svc.cluster.local`)
    /// or an outside host.
    #[serde(default)]
    pub to: Option<String>,
    /// A Kubernetes API call made with the pod's ServiceAccount.
    #[serde(default)]
    pub api: Option<ApiCall>,
    /// A file path the container writes.
    #[serde(default)]
    pub write: Option<String>,
    /// MiB written to `write` (counts against the volume mounted there).
    #[serde(rename = "mib", default)]
    pub mib: Option<u64>,
    /// The container exits with code 1 when this fails (default: it logs and retries).
    #[serde(default)]
    pub fatal: bool,
    /// Seconds between retries while it fails (default 10).
    #[serde(default)]
    pub every_seconds: Option<u64>,
}

/// A Kubernetes API request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiCall {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// Plural resource, with a subresource if any (`pods`, `pods/log`).
    pub resource: String,
    /// API group (default: the core group).
    #[serde(default)]
    pub group: String,
    /// Namespace (default: the pod's; `""` with `clusterScope` for cluster-wide calls).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The call is cluster-wide (e.g. list nodes, or pods in every namespace).
    #[serde(default)]
    pub cluster_scope: bool,
    /// The object's name, for `get`, `update`, `patch`, `delete`.
    #[serde(default)]
    pub name: Option<String>,
}

/// The wording a client uses for failures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClientStyle {
    /// Plain lines (`could not resolve host`, `Connection refused` ...).
    #[default]
    Plain,
    /// A Go program (`dial tcp: lookup db on 10.96.0.10:53: no such host`).
    Go,
    /// A Python program using requests / the kubernetes client.
    Python,
    /// A Node.js program (`getaddrinfo ENOTFOUND db`).
    Node,
    /// A shell script using curl (`curl: (6) Could not resolve host: db`).
    Curl,
}

/// A label selector (`matchLabels` and/or `matchExpressions`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    /// Labels that must all be equal.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default)]
    pub match_expressions: Vec<Requirement>,
}

/// One set-based selector requirement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    /// Values for `In` and `NotIn`.
    #[serde(default)]
    pub values: Vec<String>,
}

impl Selector {
    /// The selector as Kubernetes JSON.
    pub fn to_json(&self) -> Value {
        json!({"matchLabels": self.match_labels, "matchExpressions": self.match_expressions.iter().map(|r| json!({"key": r.key, "operator": r.operator, "values": r.values})).collect::<Vec<_>>()})
    }
}

/// Conditions under which a `Behavior` applies; all given ones must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct When {
    /// The container's image equals this.
    #[serde(default)]
    pub image: Option<String>,
    /// The container's image differs from this.
    #[serde(default)]
    pub image_not: Option<String>,
    /// The container has no env var of this name (from `env` or `envFrom`).
    #[serde(default)]
    pub env_missing: Option<String>,
    /// The container has an env var of this name.
    #[serde(default)]
    pub env_present: Option<String>,
    /// A ConfigMap in the pod's namespace has this key (with this value, if given).
    #[serde(default)]
    pub config_map_key: Option<ConfigMapKey>,
    /// A Service in the pod's namespace has no ready endpoints.
    #[serde(default)]
    pub service_without_endpoints: Option<String>,
}

/// A ConfigMap key condition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapKey {
    /// ConfigMap name.
    pub name: String,
    /// Key in `data`.
    pub key: String,
    /// Required value (absent: any value).
    #[serde(default)]
    pub value: Option<String>,
}

/// Lines repeated while the container runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeriodicLogs {
    /// Seconds between repetitions (at least 1).
    pub every_seconds: u64,
    /// The lines written each time.
    pub lines: Vec<String>,
}

/// Readiness probe outcome.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Readiness {
    /// The probe fails: the container runs but is never ready.
    #[serde(default)]
    pub failing: bool,
    /// The probe's failure as the kubelet reports it (default from the probe's kind, e.g.
    /// `HTTP probe failed with statuscode: 503`).
    #[serde(default)]
    pub message: Option<String>,
}
