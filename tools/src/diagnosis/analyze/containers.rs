//! Container-level rules: image pulls, config references, crashes and start failures,
//! probes, with the log line and events that prove them.

use k8s_openapi::api::core::v1::{
    Container, ContainerStateRunning, ContainerStateTerminated, ContainerStatus, Pod,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::follow::follow;
use super::issue::Issue;
use super::{Ctx, describe_event, name_of, ns_of, seconds_since};
use crate::diagnosis::Severity;
use crate::diagnosis::logs::missing_env_names;
use crate::diagnosis::signatures::scan;
use crate::mask::mask_text;

const IMAGE_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];
const CONFIG_REASONS: &[&str] = &["CreateContainerConfigError", "CreateContainerError"];
const RESTART_WINDOW_SECS: i64 = 3600;

/// What an exit code means, given the termination reason: 126/127/128 with `StartError` (or
/// `ContainerCannotRun`) are start failures, 128+n a signal n.
pub(crate) fn exit_meaning(code: i32, reason: &str) -> String {
    let start = matches!(reason, "StartError" | "ContainerCannotRun") || code == 128;
    let s = match code {
        126 if start => "could not start: the command is not executable",
        127 if start => "could not start: the command was not found",
        128 => "could not start: the runtime failed to create the container process",
        _ if start => "could not start",
        0 => "completed",
        1 => "application error",
        2 => "misuse or bad arguments",
        126 => "command not executable",
        127 => "command not found",
        134 => "aborted (SIGABRT)",
        137 => "killed (SIGKILL, often out of memory)",
        139 => "segmentation fault (SIGSEGV)",
        143 => "terminated (SIGTERM)",
        129..=192 => {
            return format!("killed by signal {}", code - 128);
        }
        _ => "error",
    };
    s.to_string()
}

/// The runtime's words after `unable to start container process:`, without `: unknown`.
fn start_detail(message: &str) -> String {
    let m = message
        .rsplit_once("unable to start container process: ")
        .map_or(message, |(_, d)| d);
    m.trim().trim_end_matches(": unknown").to_string()
}

/// The executable a start failure names (`exec: "/app/bin/wrker": ...`).
fn exec_path(detail: &str) -> Option<&str> {
    let rest = detail.split_once("exec: \"")?.1;
    rest.split_once('"').map(|(p, _)| p)
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

/// How a container went down, read once for the crash rules.
struct Down<'a> {
    /// CrashLoopBackOff or RunContainerError: it keeps being restarted.
    crash: bool,
    /// Terminated with an error and will not restart.
    failed_terminal: bool,
    /// The termination that tells: the current one if it failed for good, else the last.
    t: Option<&'a ContainerStateTerminated>,
    oom: bool,
    exit: Option<i32>,
    /// The termination's reason ("Error" when none is given).
    treason: String,
}

impl<'a> Down<'a> {
    /// `None` when the container neither crash-loops, nor failed, nor restarted recently.
    fn of(ctx: &Ctx<'_>, cs: &ContainerStatus, s: &Seen<'a>) -> Option<Down<'a>> {
        let crash =
            s.waiting_reason == "CrashLoopBackOff" || s.waiting_reason == "RunContainerError";
        let failed_terminal = s.term.is_some_and(|t| t.exit_code != 0) && !crash;
        let recent_restart = s.running.is_some()
            && cs.restart_count > 0
            && s.last
                .and_then(|t| t.finished_at.as_ref())
                .is_some_and(|f| seconds_since(ctx.now, f.0) < RESTART_WINDOW_SECS);
        if !(crash || failed_terminal || recent_restart) {
            return None;
        }
        let t = if failed_terminal { s.term } else { s.last };
        Some(Down {
            crash,
            failed_terminal,
            t,
            oom: t.and_then(|t| t.reason.as_deref()) == Some("OOMKilled"),
            exit: t.map(|t| t.exit_code),
            treason: t
                .and_then(|t| t.reason.clone())
                .unwrap_or_else(|| "Error".into()),
        })
    }

    /// ` with code 1 (application error)`, or "" without a termination.
    fn code(&self) -> String {
        self.exit.map_or(String::new(), |e| {
            format!(" with code {e} ({})", exit_meaning(e, &self.treason))
        })
    }

    fn start_error(&self) -> bool {
        matches!(self.treason.as_str(), "StartError" | "ContainerCannotRun")
    }
}

/// A crash loop, a failed container or a recent restart: `Some(None)` when the container
/// restarted but is not a problem (the later rules are then skipped).
fn crash_issue(
    ctx: &Ctx<'_>,
    pod: &Pod,
    cs: &ContainerStatus,
    s: &Seen<'_>,
) -> Option<Option<Issue>> {
    let d = Down::of(ctx, cs, s)?;
    // A container restarted once long ago and ready now is not a problem.
    if !d.crash && !d.failed_terminal && !d.oom && cs.ready && cs.restart_count < 3 {
        return Some(None);
    }
    let (severity, reason, rank, what) = crash_headline(pod, cs, s, &d);
    let mut i = Issue::new(severity, &reason, rank, Some(s.c), what);
    termination_evidence(s, &d, &mut i);
    let (ns, pod_name, label) = (s.ns, s.pod_name, &s.label);
    if d.start_error() {
        if let Some(e) = ctx.event("Pod", ns, pod_name, &["Failed"]) {
            i.evidence.push(describe_event(ctx, e));
        }
        if i.suggestion.is_empty() {
            i.suggestion = format!(
                "fix the command, args or mounts of {label}: the runtime could not start it (`kubectl describe pod {pod_name} -n {ns}`)"
            );
        }
        return Some(Some(i));
    }
    i.suggestion = crash_suggestion(s, &d);
    liveness(ctx, pod, s, d.oom, &mut i);
    let fetched = ctx.snap.log(ns, pod_name, s.c).is_some();
    let had_text = attach_log(ctx, pod, s.c, &mut i);
    if fetched && !had_text && i.suggestion.starts_with("read the log") {
        i.suggestion = format!(
            "{label} exits with code {} without logging anything: check its command, args and entrypoint (`kubectl describe pod {pod_name} -n {ns}`)",
            d.exit.unwrap_or_default()
        );
    }
    Some(Some(i))
}

/// Severity, reason, rank and the sentence of a crash: OOM first, then a crash loop, a failed
/// container, a recent restart.
fn crash_headline(
    pod: &Pod,
    cs: &ContainerStatus,
    s: &Seen<'_>,
    d: &Down<'_>,
) -> (Severity, String, u8, String) {
    let label = &s.label;
    let restarts = cs.restart_count;
    if d.oom {
        let limit = spec_container(pod, s.c, s.init).and_then(|s| {
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
        return if d.crash {
            (
                Severity::Critical,
                "OOMKilled".into(),
                55,
                format!("crash-loop: {label} is OOMKilled{limit}, restarted {restarts} times"),
            )
        } else {
            (
                Severity::Warning,
                "OOMKilled".into(),
                55,
                format!(
                    "were OOMKilled recently: {label} exceeded its memory{limit}, restarted {restarts} times"
                ),
            )
        };
    }
    let code = d.code();
    if d.crash {
        (
            Severity::Critical,
            format!("{}CrashLoopBackOff", s.prefix),
            50,
            format!("crash-loop: {label} exits{code}, restarted {restarts} times"),
        )
    } else if d.failed_terminal {
        (
            Severity::Critical,
            if s.init {
                "Init:Error".to_string()
            } else {
                d.treason.clone()
            },
            45,
            format!("failed: {label} exited{code}"),
        )
    } else {
        (
            Severity::Warning,
            "Restarting".to_string(),
            30,
            format!("restarted recently: {label} exited{code}, {restarts} restarts"),
        )
    }
}

/// The termination as evidence; for a start failure, the runtime's words as the cause and a fix
/// for a command that is missing or not executable.
fn termination_evidence(s: &Seen<'_>, d: &Down<'_>, i: &mut Issue) {
    let Some(t) = d.t else {
        return;
    };
    let (pod_name, label, treason) = (s.pod_name, &s.label, &d.treason);
    let at = t
        .finished_at
        .as_ref()
        .map_or(String::new(), |f| format!(" at {}", f.0));
    let state = if d.failed_terminal {
        "state.terminated"
    } else {
        "lastState.terminated"
    };
    let msg = t
        .message
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .map_or(String::new(), |m| format!(": {}", mask_text(m.trim())));
    i.evidence.push(format!(
        "pod {pod_name}: {label} {state}: exitCode {} ({treason}){at}{msg}",
        t.exit_code
    ));
    if d.start_error()
        && let Some(m) = t.message.as_deref()
    {
        let detail = mask_text(&start_detail(m));
        i.because
            .push(format!("the runtime could not start it: {detail}"));
        i.suggestion = match (t.exit_code, exec_path(&detail)) {
            (127, Some(p)) => format!(
                "fix the command of {label}: \"{p}\" is not in the image or not on its PATH (check command/args against the image)"
            ),
            (126, Some(p)) => format!(
                "make \"{p}\" executable in the image (chmod +x, or run it through a shell), or fix the command of {label}"
            ),
            _ => format!("fix what the container runtime reports for {label}: {detail}"),
        };
    }
}

/// What to do about a crash that is not a start failure, by its exit code.
fn crash_suggestion(s: &Seen<'_>, d: &Down<'_>) -> String {
    let (ns, pod_name, c, label) = (s.ns, s.pod_name, s.c, &s.label);
    if d.oom {
        return format!("raise the memory limit of {label} or reduce its memory use");
    }
    match d.exit {
        Some(126 | 127) => format!(
            "fix the command of {label}: the executable is missing or not runnable in the image"
        ),
        Some(137) => format!("{label} was killed: check its memory limit and liveness probe"),
        _ => format!(
            "read the log of the {}container (`kubectl logs {pod_name} -n {ns} -c {c}{}`) and fix the error",
            if d.failed_terminal { "" } else { "previous " },
            if d.failed_terminal { "" } else { " --previous" }
        ),
    }
}

/// A container killed by its liveness probe: the Killing/Unhealthy event, and the probe's
/// port when no container port matches it.
fn liveness(ctx: &Ctx<'_>, pod: &Pod, s: &Seen<'_>, oom: bool, i: &mut Issue) {
    let Seen {
        ns,
        pod_name,
        c,
        ref label,
        init,
        ..
    } = *s;
    let Some(e) = ctx.events("Pod", ns, pod_name).iter().find(|e| {
        let msg = e.message.as_deref().unwrap_or_default();
        e.reason.as_deref() == Some("Killing") && msg.contains("liveness")
            || e.reason.as_deref() == Some("Unhealthy") && msg.starts_with("Liveness")
    }) else {
        return;
    };
    i.what = i.what.replace(
        "(killed (SIGKILL, often out of memory))",
        "(killed by the kubelet: liveness probe failed)",
    );
    i.because.push("its liveness probe fails".into());
    i.evidence.push(describe_event(ctx, e));
    if oom {
        return;
    }
    i.suggestion =
        format!("fix the liveness probe of {label} (path, port, timing) or the endpoint it checks");
    let Some(spec) = spec_container(pod, c, init) else {
        return;
    };
    let Some(probe) = spec.liveness_probe.as_ref() else {
        return;
    };
    let port = probe
        .http_get
        .as_ref()
        .map(|h| &h.port)
        .or_else(|| probe.tcp_socket.as_ref().map(|t| &t.port));
    let Some(port) = port else { return };
    let ports = spec.ports.as_deref().unwrap_or_default();
    if ports.is_empty() {
        return;
    }
    let declared = |p: &k8s_openapi::api::core::v1::ContainerPort| match port {
        IntOrString::Int(n) => p.container_port == *n,
        IntOrString::String(name) => p.name.as_deref() == Some(name.as_str()),
    };
    if ports.iter().any(declared) {
        return;
    }
    let have: Vec<String> = ports
        .iter()
        .map(|p| match &p.name {
            Some(n) => format!("{} ({n})", p.container_port),
            None => p.container_port.to_string(),
        })
        .collect();
    let port_text = int_or_str(port);
    let path = probe
        .http_get
        .as_ref()
        .and_then(|h| h.path.clone())
        .unwrap_or_default();
    i.because.push(format!(
        "the probe checks port {port_text}, where {label} does not listen (containerPort {})",
        have.join(", ")
    ));
    i.evidence.push(format!(
        "{label} livenessProbe: {} {path} port {port_text}; ports {}",
        if probe.http_get.is_some() {
            "GET"
        } else {
            "TCP"
        },
        have.join(", ")
    ));
    i.suggestion = format!(
        "point the liveness probe of {label} at port {} (it checks {port_text})",
        ports[0]
            .name
            .clone()
            .unwrap_or_else(|| ports[0].container_port.to_string())
    );
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
/// Adds the log's most telling line (masked), what it names followed to the object that
/// explains it, and the config it says is missing. Returns whether the log had text.
pub(crate) fn attach_log(ctx: &Ctx<'_>, pod: &Pod, container: &str, i: &mut Issue) -> bool {
    let ns = ns_of(&pod.metadata);
    let Some(tail) = ctx.snap.log(ns, name_of(&pod.metadata), container) else {
        return false;
    };
    let sigs = scan(&tail.text);
    let which = if tail.previous { "previous log" } else { "log" };
    if let Some(first) = sigs.first() {
        let line = mask_text(&first.line);
        i.because.push(format!("its log says {line}"));
        i.evidence
            .push(format!("{which} of pod {}: {line}", tail.pod));
        for s in sigs.iter().skip(1).take(2) {
            i.evidence.push(format!(
                "{which} of pod {}: {}",
                tail.pod,
                mask_text(&s.line)
            ));
        }
        i.has_log = true;
        let f = follow(ctx, pod, container, first);
        i.because.extend(f.because);
        i.evidence.extend(f.evidence);
        for r in f.related {
            if !i.related.contains(&r) {
                i.related.push(r);
            }
        }
        if let Some(s) = f.suggestion {
            i.suggestion = s;
        }
        i.depends_on = f.depends_on;
        i.target_ready = f.target_ready && i.because.len() == 1;
    }
    i.missing_env = missing_env_names(&tail.text);
    !tail.text.trim().is_empty()
}
