//! Container-level rules: image pulls, config references, crashes and start failures,
//! probes, with the log line and events that prove them.

use k8s_openapi::api::core::v1::{
    Container, ContainerStateRunning, ContainerStateTerminated, ContainerStatus, Pod,
};

use super::issue::Issue;
use super::{Ctx, describe_event, name_of, ns_of, seconds_since};
use crate::diagnosis::Severity;
use crate::diagnosis::logs::{error_signatures, missing_env_names};
use crate::mask::mask_text;

const IMAGE_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];
const CONFIG_REASONS: &[&str] = &["CreateContainerConfigError", "CreateContainerError"];
const RESTART_WINDOW_SECS: i64 = 3600;

/// What an exit code usually means.
pub(crate) fn exit_meaning(code: i32) -> &'static str {
    match code {
        0 => "completed",
        1 => "application error",
        2 => "misuse or bad arguments",
        126 => "command not executable",
        127 => "command not found",
        128 => "invalid exit argument",
        134 => "aborted (SIGABRT)",
        137 => "killed (SIGKILL, often out of memory)",
        139 => "segmentation fault (SIGSEGV)",
        143 => "terminated (SIGTERM)",
        _ => "error",
    }
}

fn spec_container<'p>(pod: &'p Pod, name: &str, init: bool) -> Option<&'p Container> {
    let spec = pod.spec.as_ref()?;
    if init {
        spec.init_containers
            .as_ref()?
            .iter()
            .find(|c| c.name == name)
    } else {
        spec.containers.iter().find(|c| c.name == name)
    }
}

/// The problem of one container, if it has one.
/// What one container status says, read once for the rules below.
struct Seen<'a> {
    ns: &'a str,
    pod_name: &'a str,
    c: &'a str,
    label: String,
    init: bool,
    waiting_reason: &'a str,
    waiting_msg: String,
    last: Option<&'a ContainerStateTerminated>,
    term: Option<&'a ContainerStateTerminated>,
    running: Option<&'a ContainerStateRunning>,
    prefix: &'static str,
    image: String,
}

impl<'a> Seen<'a> {
    fn new(pod: &'a Pod, cs: &'a ContainerStatus, init: bool) -> Seen<'a> {
        let c = cs.name.as_str();
        let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref());
        Seen {
            ns: ns_of(&pod.metadata),
            pod_name: name_of(&pod.metadata),
            c,
            label: if init {
                format!("init container {c}")
            } else {
                format!("container {c}")
            },
            init,
            waiting_reason: waiting
                .and_then(|w| w.reason.as_deref())
                .unwrap_or_default(),
            waiting_msg: waiting.and_then(|w| w.message.clone()).unwrap_or_default(),
            last: cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()),
            term: cs.state.as_ref().and_then(|s| s.terminated.as_ref()),
            running: cs.state.as_ref().and_then(|s| s.running.as_ref()),
            prefix: if init { "Init:" } else { "" },
            image: cs.image.clone(),
        }
    }
}

/// The problem of one container, if it has one.
pub(crate) fn container_issue(
    ctx: &Ctx<'_>,
    pod: &Pod,
    cs: &ContainerStatus,
    init: bool,
) -> Option<Issue> {
    let s = Seen::new(pod, cs, init);
    if IMAGE_REASONS.contains(&s.waiting_reason) {
        return image_issue(ctx, pod, &s);
    }
    if CONFIG_REASONS.contains(&s.waiting_reason) {
        return config_issue(ctx, pod, &s);
    }
    if let Some(found) = crash_issue(ctx, pod, cs, &s) {
        return found;
    }
    readiness_issue(ctx, pod, cs, &s)
}

fn image_issue(ctx: &Ctx<'_>, pod: &Pod, s: &Seen<'_>) -> Option<Issue> {
    let Seen {
        ns,
        pod_name,
        c,
        ref label,
        init,
        waiting_reason,
        ref waiting_msg,
        ..
    } = *s;
    let image = spec_container(pod, c, init)
        .and_then(|s| s.image.clone())
        .unwrap_or_else(|| s.image.clone());
    let mut i = Issue::new(
        Severity::Critical,
        waiting_reason,
        70,
        Some(c),
        format!("cannot pull image {image} ({label})"),
    );
    i.evidence.push(format!(
        "pod {pod_name}: {label} waiting: {waiting_reason}{}",
        if waiting_msg.is_empty() {
            String::new()
        } else {
            format!(": {}", mask_text(waiting_msg))
        }
    ));
    if let Some(e) = ctx.event("Pod", ns, pod_name, &["Failed"]) {
        i.evidence.push(describe_event(ctx, e));
    }
    let text = format!(
        "{waiting_msg} {}",
        ctx.event("Pod", ns, pod_name, &["Failed"])
            .and_then(|e| e.message.clone())
            .unwrap_or_default()
    )
    .to_ascii_lowercase();
    let pull_secrets: Vec<String> = pod
        .spec
        .as_ref()
        .and_then(|s| s.image_pull_secrets.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .collect();
    let missing_secrets: Vec<&String> = if ctx.snap.listed("secrets") {
        pull_secrets
            .iter()
            .filter(|s| {
                !ctx.snap
                    .secrets
                    .iter()
                    .any(|x| ns_of(&x.metadata) == ns && name_of(&x.metadata) == s.as_str())
            })
            .collect()
    } else {
        Vec::new()
    };
    if let Some(s) = missing_secrets.first() {
        i.because
            .push(format!("its imagePullSecret {s} does not exist"));
        i.related.push(format!("secret/{s}"));
        i.suggestion =
            format!("create the image pull secret {s} in namespace {ns}, or fix imagePullSecrets");
    } else if text.contains("unauthorized")
        || text.contains("denied")
        || text.contains("authentication")
    {
        i.because.push("the registry refused access".into());
        i.suggestion =
            "give the pod registry credentials (imagePullSecrets) or make the image public".into();
    } else if text.contains("not found")
        || text.contains("manifest unknown")
        || waiting_reason == "InvalidImageName"
    {
        i.because.push(format!("image {image} does not exist"));
        i.suggestion = format!(
            "fix the image name or tag of {label} (is {image} pushed?), or roll back to the previous revision"
        );
    } else {
        i.suggestion =
            format!("check that image {image} exists and the node can reach its registry");
    }
    i.related.push(format!("pod/{pod_name}"));
    Some(i)
}

fn config_issue(ctx: &Ctx<'_>, pod: &Pod, s: &Seen<'_>) -> Option<Issue> {
    let Seen {
        pod_name,
        c,
        ref label,
        waiting_reason,
        ref waiting_msg,
        ..
    } = *s;
    let mut i = Issue::new(
        Severity::Critical,
        waiting_reason,
        80,
        Some(c),
        format!("cannot start {label}: {}", mask_text(waiting_msg)),
    );
    i.evidence.push(format!(
        "pod {pod_name}: {label} waiting: {waiting_reason}: {}",
        mask_text(waiting_msg)
    ));
    let missing = super::refs::missing_refs(ctx, pod);
    for m in &missing {
        i.because.push(m.text.clone());
        i.related.push(m.related.clone());
    }
    i.suggestion = match missing.first() {
        Some(m) => m.fix.clone(),
        None => {
            "create the ConfigMap/Secret (or key) the container references, or fix the reference"
                .into()
        }
    };
    Some(i)
}

/// A crash loop, a failed container or a recent restart: `Some(None)` when the container
/// restarted but is not a problem (the later rules are then skipped).
fn crash_issue(
    ctx: &Ctx<'_>,
    pod: &Pod,
    cs: &ContainerStatus,
    s: &Seen<'_>,
) -> Option<Option<Issue>> {
    let Seen {
        ns,
        pod_name,
        c,
        ref label,
        init,
        waiting_reason,
        last,
        term,
        running,
        prefix,
        ..
    } = *s;
    // A crash loop, or a container that terminated with an error and will not restart.
    let crash = waiting_reason == "CrashLoopBackOff" || waiting_reason == "RunContainerError";
    let failed_terminal = term.is_some_and(|t| t.exit_code != 0) && !crash;
    let recent_restart = running.is_some()
        && cs.restart_count > 0
        && last
            .and_then(|t| t.finished_at.as_ref())
            .is_some_and(|f| seconds_since(ctx.now, f.0) < RESTART_WINDOW_SECS);
    if !(crash || failed_terminal || recent_restart) {
        return None;
    }
    let t = if failed_terminal { term } else { last };
    let oom = t.and_then(|t| t.reason.as_deref()) == Some("OOMKilled");
    let exit = t.map(|t| t.exit_code);
    let treason = t
        .and_then(|t| t.reason.clone())
        .unwrap_or_else(|| "Error".into());
    let (severity, reason, rank, what) = if oom {
        let limit = spec_container(pod, c, init).and_then(|s| {
            s.resources
                .as_ref()?
                .limits
                .as_ref()?
                .get("memory")
                .map(|q| q.0.clone())
        });
        let limit = limit.map_or_else(
            || " (no memory limit set)".to_string(),
            |l| format!(" (memory limit {l})"),
        );
        let sev = if crash {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let what = if crash {
            format!(
                "crash-loop: {label} is OOMKilled{limit}, restarted {} times",
                cs.restart_count
            )
        } else {
            format!(
                "were OOMKilled recently: {label} exceeded its memory{limit}, restarted {} times",
                cs.restart_count
            )
        };
        (sev, "OOMKilled".to_string(), 55, what)
    } else if crash {
        let code = exit.map_or(String::new(), |e| {
            format!(" with code {e} ({})", exit_meaning(e))
        });
        (
            Severity::Critical,
            format!("{prefix}CrashLoopBackOff"),
            50,
            format!(
                "crash-loop: {label} exits{code}, restarted {} times",
                cs.restart_count
            ),
        )
    } else if failed_terminal {
        let code = exit.map_or(String::new(), |e| {
            format!(" with code {e} ({})", exit_meaning(e))
        });
        (
            Severity::Critical,
            if init {
                "Init:Error".to_string()
            } else {
                treason.clone()
            },
            45,
            format!("failed: {label} exited{code}"),
        )
    } else {
        let code = exit.map_or(String::new(), |e| {
            format!(" with code {e} ({})", exit_meaning(e))
        });
        (
            Severity::Warning,
            "Restarting".to_string(),
            30,
            format!(
                "restarted recently: {label} exited{code}, {} restarts",
                cs.restart_count
            ),
        )
    };
    // A container restarted once long ago and ready now is not a problem.
    if !crash && !failed_terminal && !oom && cs.ready && cs.restart_count < 3 {
        return Some(None);
    }
    let mut i = Issue::new(severity, &reason, rank, Some(c), what);
    if let Some(t) = t {
        let at = t
            .finished_at
            .as_ref()
            .map_or(String::new(), |f| format!(" at {}", f.0));
        let state = if failed_terminal {
            "state.terminated"
        } else {
            "lastState.terminated"
        };
        i.evidence.push(format!(
            "pod {pod_name}: {label} {state}: exitCode {} ({treason}){at}",
            t.exit_code
        ));
    }
    if oom {
        i.suggestion = format!("raise the memory limit of {label} or reduce its memory use");
    } else {
        i.suggestion = match exit {
            Some(126 | 127) => format!(
                "fix the command of {label}: the executable is missing or not runnable in the image"
            ),
            Some(137) => {
                format!("{label} was killed: check its memory limit and liveness probe")
            }
            _ => format!(
                "read the log of the {}container (`kubectl logs {pod_name} -n {ns} -c {c}{}`) and fix the error",
                if failed_terminal { "" } else { "previous " },
                if failed_terminal { "" } else { " --previous" }
            ),
        };
    }
    if let Some(e) = ctx.events("Pod", ns, pod_name).iter().find(|e| {
        e.reason.as_deref() == Some("Killing")
            && e.message
                .as_deref()
                .unwrap_or_default()
                .contains("liveness")
            || e.reason.as_deref() == Some("Unhealthy")
                && e.message
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with("Liveness")
    }) {
        i.because.push("its liveness probe fails".into());
        i.evidence.push(describe_event(ctx, e));
        if !oom {
            i.suggestion = format!(
                "fix the liveness probe of {label} (path, port, timing) or the endpoint it checks"
            );
        }
    }
    attach_log(ctx, pod, c, &mut i);
    Some(Some(i))
}

fn readiness_issue(ctx: &Ctx<'_>, pod: &Pod, cs: &ContainerStatus, s: &Seen<'_>) -> Option<Issue> {
    let Seen {
        ns,
        pod_name,
        c,
        ref label,
        init,
        running,
        ..
    } = *s;
    // Running but not ready: readiness probe failing.
    if !(!init && running.is_some() && !cs.ready) {
        return None;
    }
    let probe_event = ctx.events("Pod", ns, pod_name).iter().copied().find(|e| {
        e.reason.as_deref() == Some("Unhealthy")
            && e.message
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase()
                .contains("readiness")
    });
    let started = running.and_then(|r| r.started_at.as_ref()).map(|t| t.0);
    let long_enough = started.is_some_and(|s| seconds_since(ctx.now, s) > 120);
    if probe_event.is_none() && !long_enough {
        return None;
    }
    let mut i = Issue::new(
        Severity::Critical,
        "Unhealthy",
        40,
        Some(c),
        format!("are not ready: the readiness probe of {label} fails"),
    );
    i.evidence
        .push(format!("pod {pod_name}: {label} running but ready=false"));
    if let Some(e) = probe_event {
        i.evidence.push(describe_event(ctx, e));
    }
    let probe = spec_container(pod, c, false).and_then(|s| s.readiness_probe.as_ref());
    if let Some(p) = probe {
        let target = if let Some(h) = &p.http_get {
            format!(
                "GET {}:{}",
                h.path.clone().unwrap_or_else(|| "/".into()),
                int_or_str(&h.port)
            )
        } else if let Some(t) = &p.tcp_socket {
            format!("TCP :{}", int_or_str(&t.port))
        } else if p.exec.is_some() {
            "exec command".to_string()
        } else {
            "probe".to_string()
        };
        i.evidence.push(format!("{label} readinessProbe: {target}"));
        i.suggestion = format!(
            "make {label} answer its readiness probe ({target}) or fix the probe's path/port/timing"
        );
    } else {
        i.suggestion = format!("check why {label} does not report ready");
    }
    attach_log(ctx, pod, c, &mut i);
    Some(i)
}

fn int_or_str(v: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString) -> String {
    match v {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    }
}

/// Adds the log's error signature (masked) and the config it says is missing.
fn attach_log(ctx: &Ctx<'_>, pod: &Pod, container: &str, i: &mut Issue) {
    let ns = ns_of(&pod.metadata);
    let Some(tail) = ctx.snap.log(ns, name_of(&pod.metadata), container) else {
        return;
    };
    let sigs = error_signatures(&tail.text);
    if let Some(first) = sigs.first() {
        let line = mask_text(first);
        i.because.push(format!("its log says {line}"));
        let which = if tail.previous { "previous log" } else { "log" };
        i.evidence
            .push(format!("{which} of pod {}: {line}", tail.pod));
        for s in sigs.iter().skip(1).take(2) {
            i.evidence
                .push(format!("{which} of pod {}: {}", tail.pod, mask_text(s)));
        }
        i.has_log = true;
        if sigs.iter().any(|s| {
            let l = s.to_ascii_lowercase();
            l.contains("forbidden") && (l.contains("serviceaccount") || l.contains("cannot"))
        }) {
            i.suggestion = "grant the pod's service account the permission its log says is forbidden (Role/RoleBinding)".into();
        }
    }
    i.missing_env = missing_env_names(&tail.text);
}
