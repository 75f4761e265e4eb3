//! `get_logs`: the bounded tail of a pod's or a workload's failing pod's log, optionally the
//! previous container, a time window and a grep; every line masked.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use regex::RegexBuilder;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::contract::{Effect, ToolOutput};
use crate::error::ToolError;
use crate::format::{DEFAULT_BUDGET, Keep, fit};
use crate::k8s::{self, arr, at, name, s, selector_string};
use crate::kinds::{Kind, resolve_kind};
use crate::mask::mask_text;
use crate::pods;
use crate::suggest::closest;
use crate::tools::Tool;

/// Default number of lines from the end of the log.
pub const DEFAULT_TAIL: i64 = 100;
/// Most lines ever requested from the API.
pub const MAX_TAIL: i64 = 5000;
/// Most bytes ever requested from the API (`limitBytes`).
pub const LIMIT_BYTES: i64 = 512 * 1024;
/// Lines searched by `grep` when no `tail_lines` is given.
pub const GREP_WINDOW: i64 = 2000;

/// Arguments of `get_logs`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetLogsArgs {
    /// Pod name. Give this or workload.
    #[serde(default)]
    pub pod: Option<String>,
    /// A workload (`deployment/backend`, `sts/db`, or just `backend`): its most failing pod is
    /// picked.
    #[serde(default)]
    pub workload: Option<String>,
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Container; defaults to the failing (or only) container.
    #[serde(default)]
    pub container: Option<String>,
    /// Logs of the previous, terminated container (why it crashed).
    #[serde(default)]
    pub previous: bool,
    /// Lines from the end of the log (default 100, at most 5000).
    #[serde(default)]
    pub tail_lines: Option<i64>,
    /// Only lines from the last N seconds.
    #[serde(default)]
    pub since_seconds: Option<i64>,
    /// Only lines matching this regular expression (case-insensitive; plain text works too).
    #[serde(default)]
    pub grep: Option<String>,
}

/// The `get_logs` tool.
pub struct GetLogs;

impl Tool for GetLogs {
    const NAME: &'static str = "get_logs";
    const EFFECT: Effect = Effect::Read;
    type Args = GetLogsArgs;

    fn description() -> &'static str {
        "Tail of a container's log (default last 100 lines). Give a pod, or a workload such as deployment/backend to pick its failing pod. previous=true shows the crashed container's log. Secrets in lines are masked."
    }

    async fn run(cluster: &Cluster, args: GetLogsArgs) -> Result<ToolOutput, ToolError> {
        let ns = cluster.ns(args.namespace.as_deref()).to_string();
        for (field, value) in [
            ("tail_lines", args.tail_lines),
            ("since_seconds", args.since_seconds),
        ] {
            if let Some(t) = value
                && t <= 0
            {
                return Err(invalid(format!("{field} must be at least 1, got {t}")));
            }
        }
        let (pod, picked) = target_pod(cluster, &ns, &args).await?;
        let container = pick_container(&pod, &ns, args.container.as_deref())?;
        let grep = grep_regex(args.grep.as_deref())?;
        let tail = match (args.tail_lines, &grep) {
            (Some(t), _) => t.min(MAX_TAIL),
            (None, Some(_)) => GREP_WINDOW,
            (None, None) => DEFAULT_TAIL,
        };
        let lp = LogParams {
            container: Some(container.clone()).filter(|c| !c.is_empty()),
            previous: args.previous,
            tail_lines: Some(tail),
            limit_bytes: Some(LIMIT_BYTES),
            since_seconds: args.since_seconds,
            ..LogParams::default()
        };
        let pod_name = name(&pod).to_string();
        let raw = fetch(cluster, &ns, &pod_name, &container, &lp).await?;
        let fetched: Vec<&str> = raw.lines().collect();
        let fetched_count = fetched.len();
        let lines: Vec<String> = fetched
            .into_iter()
            .map(mask_text)
            // Matching masked lines: a grep for a secret's value must not confirm a guess.
            .filter(|l| grep.as_ref().is_none_or(|g| g.is_match(l)))
            .collect();
        let mut header = format!(
            "log of pod {ns}/{pod_name} container {container}{}",
            if args.previous {
                " (previous, terminated)"
            } else {
                ""
            }
        );
        if let Some(p) = &picked {
            header.push_str(&format!("\npicked: {p}"));
        }
        let window = match args.since_seconds {
            Some(sec) => format!("last {tail} lines within the last {sec}s"),
            None => format!("last {tail} lines"),
        };
        header.push_str(&match &grep {
            Some(g) => format!(
                "\n{} of {fetched_count} lines match /{}/ (searched the {window})",
                lines.len(),
                mask_text(g.as_str())
            ),
            None => format!("\n{fetched_count} lines fetched ({window})"),
        });
        let (body, cut) = if lines.is_empty() {
            ("(no log lines)\n".to_string(), 0)
        } else {
            fit(
                &[],
                &lines,
                DEFAULT_BUDGET.saturating_sub(header.len()),
                Keep::Tail,
                "lines",
            )
        };
        Ok(ToolOutput {
            text: format!("{header}\n{body}"),
            json: json!({
                "namespace": ns,
                "pod": pod_name,
                "container": container,
                "previous": args.previous,
                "picked": picked,
                "tail_lines": tail,
                "since_seconds": args.since_seconds,
                "grep": args.grep.as_deref().map(mask_text),
                "lines_fetched": fetched_count,
                "lines_cut": cut,
                "lines": lines[cut.min(lines.len())..],
            }),
        })
    }
}

/// A bad argument of `get_logs`, worded for the model to correct.
fn invalid(message: String) -> ToolError {
    ToolError::InvalidArguments {
        tool: GetLogs::NAME.into(),
        message,
    }
}

/// The pod whose log is read, and why it was picked when a workload was named.
async fn target_pod(
    cluster: &Cluster,
    ns: &str,
    args: &GetLogsArgs,
) -> Result<(Value, Option<String>), ToolError> {
    let pod_name = args.pod.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let workload = args
        .workload
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    match (pod_name, workload) {
        (Some(p), _) => {
            let p = p
                .strip_prefix("pod/")
                .or_else(|| p.strip_prefix("pods/"))
                .unwrap_or(p);
            match k8s::get(cluster, Kind::Pod, ns, p).await {
                Ok(pod) => Ok((pod, None)),
                // A workload's name given as a pod (`backend`): take its failing pod.
                Err(e) if e.is_not_found() && !p.contains('/') => {
                    resolve_workload(cluster, ns, p).await.map_err(|_| e)
                }
                Err(e) => Err(e),
            }
        }
        (None, Some(w)) => resolve_workload(cluster, ns, w).await,
        (None, None) => Err(invalid(
            "give pod (a pod name) or workload (e.g. deployment/backend)".into(),
        )),
    }
}

/// The container asked for (with the closest name when it does not exist), else the failing
/// or only one.
fn pick_container(pod: &Value, ns: &str, asked: Option<&str>) -> Result<String, ToolError> {
    let containers: Vec<String> = arr(pod, &["spec", "containers"])
        .iter()
        .chain(arr(pod, &["spec", "initContainers"]).iter())
        .map(|c| s(c, &["name"]).to_string())
        .collect();
    match asked.filter(|c| !c.trim().is_empty()) {
        Some(c) if containers.iter().any(|x| x == c) => Ok(c.to_string()),
        Some(c) => {
            let hint = closest(c, containers.iter().map(String::as_str))
                .map(|s| format!("did you mean \"{s}\"? "))
                .unwrap_or_default();
            Err(ToolError::NotFound {
                message: format!(
                    "container \"{c}\" not found in pod {ns}/{}; {hint}containers: {}",
                    name(pod),
                    containers.join(", ")
                ),
            })
        }
        None => Ok(pods::failing_container(pod).unwrap_or_default()),
    }
}

/// The grep as a case-insensitive regular expression, or as plain text when it is not one.
fn grep_regex(grep: Option<&str>) -> Result<Option<regex::Regex>, ToolError> {
    let Some(g) = grep.filter(|g| !g.is_empty()) else {
        return Ok(None);
    };
    RegexBuilder::new(g)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .or_else(|_| {
            RegexBuilder::new(&regex::escape(g))
                .case_insensitive(true)
                .build()
        })
        .map(Some)
        .map_err(|e| invalid(format!("grep: {e}")))
}

/// The log text, with the API's 400 worded as "no (previous) log" for this container.
async fn fetch(
    cluster: &Cluster,
    ns: &str,
    pod_name: &str,
    container: &str,
    lp: &LogParams,
) -> Result<String, ToolError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    match api.logs(pod_name, lp).await {
        Ok(t) => Ok(t),
        Err(kube::Error::Api(st)) if st.code == 400 && lp.previous => Err(ToolError::Api(format!(
            "no previous log for container \"{container}\" of pod {ns}/{pod_name}: it has not restarted ({})",
            st.message
        ))),
        Err(kube::Error::Api(st)) if st.code == 400 => Err(ToolError::Api(format!(
            "no log for container \"{container}\" of pod {ns}/{pod_name}: {}",
            st.message
        ))),
        Err(e) => Err(ToolError::from_kube(
            e,
            cluster,
            "get",
            "pods/log",
            Some(ns),
        )),
    }
}

/// Resolves a workload reference to its most failing pod: `kind/name` or a bare name (a pod,
/// else a deployment, statefulset, daemonset, job or replicaset of that name). Returns the pod
/// and a line saying why it was picked.
async fn resolve_workload(
    cluster: &Cluster,
    ns: &str,
    workload: &str,
) -> Result<(Value, Option<String>), ToolError> {
    let (kind, wname) = match workload.split_once('/') {
        Some((k, n)) => (
            Some(resolve_kind(k).map_err(|e| match e {
                ToolError::InvalidArguments { message, .. } => ToolError::InvalidArguments {
                    tool: GetLogs::NAME.into(),
                    message,
                },
                other => other,
            })?),
            n,
        ),
        None => (None, workload),
    };
    if kind == Some(Kind::Pod) {
        return Ok((k8s::get(cluster, Kind::Pod, ns, wname).await?, None));
    }
    let candidates: Vec<Kind> = match kind {
        Some(k) if k.is_workload() => vec![k],
        Some(k) => {
            return Err(ToolError::InvalidArguments {
                tool: GetLogs::NAME.into(),
                message: format!(
                    "{k} has no logs; give a pod or a workload (deployment, statefulset, daemonset, job, replicaset)"
                ),
            });
        }
        None => vec![
            Kind::Deployment,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::Job,
            Kind::ReplicaSet,
        ],
    };
    if kind.is_none()
        && let Ok(Some(p)) = k8s::get_opt(cluster, Kind::Pod, Some(ns), wname).await
    {
        return Ok((p, None));
    }
    let mut found: Option<(Kind, Value)> = None;
    for k in &candidates {
        match k8s::get_opt(cluster, *k, Some(ns), wname).await {
            Ok(Some(o)) => {
                found = Some((*k, o));
                break;
            }
            Ok(None) => {}
            Err(kube::Error::Api(st)) if st.code == 403 && candidates.len() > 1 => {}
            Err(e) => {
                return Err(ToolError::from_kube(
                    e,
                    cluster,
                    "get",
                    k.plural(),
                    Some(ns),
                ));
            }
        }
    }
    let Some((k, obj)) = found else {
        return Err(match kind {
            Some(k) => k8s::not_found(cluster, k, Some(ns), wname).await,
            None => workload_not_found(cluster, ns, wname).await,
        });
    };
    let selector = selector_string(at(&obj, &["spec", "selector"]));
    if selector.is_empty() {
        return Err(ToolError::Api(format!(
            "{k} {ns}/{wname} has no pod selector; give a pod instead"
        )));
    }
    let all = k8s::list(cluster, Kind::Pod, Some(ns), Some(&selector), None).await?;
    let uid = s(&obj, &["metadata", "uid"]);
    // Pods of a deployment are owned by its replica sets; others are owned directly.
    let owned: Vec<Value> = if k == Kind::Deployment {
        all
    } else {
        let direct: Vec<Value> = all
            .iter()
            .filter(|p| k8s::owned_by(p, k.api_kind(), wname, uid))
            .cloned()
            .collect();
        if direct.is_empty() { all } else { direct }
    };
    let Some(pod) = pods::pick_failing(&owned) else {
        return Err(ToolError::NotFound {
            message: format!("{k} {ns}/{wname} has no pods (selector {selector})"),
        });
    };
    let why = format!(
        "pod {} of {k} {wname} ({}, {} restarts; {} pods, {} unhealthy)",
        name(pod),
        pods::status(pod),
        pods::restarts(pod),
        owned.len(),
        owned.iter().filter(|p| !pods::healthy(p)).count()
    );
    Ok((pod.clone(), Some(why)))
}

async fn workload_not_found(cluster: &Cluster, ns: &str, wanted: &str) -> ToolError {
    if let Err(e) = k8s::check_namespace(cluster, ns).await {
        return e;
    }
    let mut names: Vec<String> = Vec::new();
    for k in [
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Pod,
    ] {
        if let Ok(items) = k8s::list(cluster, k, Some(ns), None, None).await {
            names.extend(items.iter().map(|o| name(o).to_string()));
        }
    }
    let hint = match closest(wanted, names.iter().map(String::as_str)) {
        Some(s) => format!("; did you mean \"{s}\"?"),
        None => String::new(),
    };
    ToolError::NotFound {
        message: format!("no pod or workload named \"{wanted}\" in namespace \"{ns}\"{hint}"),
    }
}
