//! The confirmation policy gate: the one way any caller (model loop, offline path, MCP) runs a
//! tool. Reads run; writes are previewed by a server-side dry run, decided by the mode, the
//! protected namespaces and a person, audited, and only then run.
//!
//! The gate reads nothing from a model but the tool call itself: no text in a model's answer,
//! a log line or a tool output can change the mode, the rules or the approver.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use kai_tools::registry::{self, Effect, ToolOutput, WritePlan};
use kai_tools::{Cluster, ToolError};
use serde::Serialize;
use serde_json::Value;

use crate::audit::{AuditEntry, AuditLog};

/// How writes are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every write is refused.
    ReadOnly,
    /// A person approves each write (default).
    #[default]
    Confirm,
    /// Writes are allowed unless a rule denies them (`--yes`).
    Auto,
}

impl Mode {
    /// The name used in prompts, logs and config (`read-only`, `confirm`, `auto`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::Confirm => "confirm",
            Mode::Auto => "auto",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "read-only" | "readonly" => Ok(Mode::ReadOnly),
            "confirm" => Ok(Mode::Confirm),
            "auto" => Ok(Mode::Auto),
            other => Err(format!(
                "unknown mode \"{other}\": use read-only, confirm or auto"
            )),
        }
    }
}

/// What the gate decided for one call (the `decision` of a step in `--output json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// A read, or a write allowed by `auto` mode.
    Allowed,
    /// A write a person approved.
    Approved,
    /// A write refused by the policy or a person.
    Denied,
}

/// A person's answer to one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes, this once.
    Yes,
    /// Yes, and for every further call of this tool on this target in the session.
    YesForTarget,
    /// No, with the reason given back to the model.
    No(String),
}

/// Asks a person about a write. Called off the async runtime (it may block on a terminal).
pub trait Approver: Send + Sync {
    /// Shows the plan and returns the answer.
    fn approve(&self, plan: &WritePlan) -> Answer;

    /// Shows a write that goes ahead without asking (`auto` mode) or is refused by a rule.
    fn announce(&self, plan: &WritePlan, note: &str) {
        let _ = (plan, note);
    }
}

/// Prints a plan and its warnings to stderr.
fn print_plan(plan: &WritePlan, note: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "kai: {} {note}", plan.summary);
    for w in &plan.warnings {
        let _ = writeln!(err, "kai:   warning: {w}");
    }
}

/// Asks on the controlling terminal (`/dev/tty`, else stdin when it is a terminal); with no
/// terminal at all, denies like [`NoTerminal`].
#[derive(Debug, Default, Clone, Copy)]
pub struct TerminalApprover;

impl TerminalApprover {
    /// Whether a person can be asked: stderr (where the preview goes) is a terminal, and a
    /// terminal to read from exists (`/dev/tty`, or stdin). Requiring stderr keeps scripts and
    /// test harnesses that capture it from blocking on a prompt nobody sees.
    pub fn available() -> bool {
        std::io::stderr().is_terminal()
            && (std::io::stdin().is_terminal()
                || std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/tty")
                    .is_ok())
    }
}

/// Reads the answer from a line typed by a person.
pub fn parse_answer(line: &str) -> Answer {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Answer::Yes,
        "a" | "all" | "always" => Answer::YesForTarget,
        "" | "n" | "no" => Answer::No("the user declined this change".into()),
        other => Answer::No(format!("the user declined this change: {other}")),
    }
}

impl Approver for TerminalApprover {
    fn approve(&self, plan: &WritePlan) -> Answer {
        if !TerminalApprover::available() {
            return NoTerminal.approve(plan);
        }
        let question = "Apply? [y]es / [a]lways for this target / [N]o: ";
        // /dev/tty works even when stdin is a pipe (`kubectl logs x | kai "..."`).
        if let Ok(tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        {
            let mut out = match tty.try_clone() {
                Ok(t) => t,
                Err(_) => return NoTerminal.approve(plan),
            };
            let _ = writeln!(out, "kai wants to change the cluster:\n  {}", plan.summary);
            for w in &plan.warnings {
                let _ = writeln!(out, "  warning: {w}");
            }
            let _ = write!(out, "{question}");
            let _ = out.flush();
            let mut line = String::new();
            return match std::io::BufReader::new(tty).read_line(&mut line) {
                Ok(0) | Err(_) => Answer::No("no answer from the terminal".into()),
                Ok(_) => parse_answer(&line),
            };
        }
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            print_plan(plan, "(needs approval)");
            eprint!("{question}");
            let mut line = String::new();
            return match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => Answer::No("no answer from the terminal".into()),
                Ok(_) => parse_answer(&line),
            };
        }
        NoTerminal.approve(plan)
    }

    fn announce(&self, plan: &WritePlan, note: &str) {
        print_plan(plan, note);
    }
}

/// The reason a write is refused when no one can approve it.
pub const NO_TERMINAL: &str = "no terminal to approve on and --yes not given";

/// Denies every write (no terminal, no `--yes`), after showing what was asked.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTerminal;

impl Approver for NoTerminal {
    fn approve(&self, plan: &WritePlan) -> Answer {
        print_plan(plan, &format!("(denied: {NO_TERMINAL})"));
        Answer::No(NO_TERMINAL.into())
    }

    fn announce(&self, plan: &WritePlan, note: &str) {
        print_plan(plan, note);
    }
}

/// Why a gated call gave no output.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GateError {
    /// The policy or a person refused the write.
    #[error("denied: {0}")]
    Denied(String),
    /// The tool (or its dry run) failed.
    #[error("{0}")]
    Tool(#[from] ToolError),
}

/// The result of one call through the gate.
#[derive(Debug, Clone)]
pub struct GateResult {
    /// The decision (reads are always `Allowed`).
    pub decision: Decision,
    /// The dry run's plan, for a write that got that far.
    pub plan: Option<WritePlan>,
    /// The output, or why there is none.
    pub output: Result<ToolOutput, GateError>,
}

impl GateResult {
    /// Whether the call ran and succeeded.
    pub fn ok(&self) -> bool {
        self.output.is_ok()
    }
}

type TargetKey = (String, String, String, String);

/// The policy gate.
pub struct Gate {
    mode: Mode,
    protected: Vec<String>,
    approver: Arc<dyn Approver>,
    audit: Option<AuditLog>,
    remembered: Mutex<HashSet<TargetKey>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("mode", &self.mode)
            .field("protected", &self.protected)
            .field("audit", &self.audit)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate with `mode`, the `protected` namespaces, an approver and an audit log
    /// (`None`: no log, for tests that do not need one).
    pub fn new(
        mode: Mode,
        protected: Vec<String>,
        approver: Arc<dyn Approver>,
        audit: Option<AuditLog>,
    ) -> Gate {
        Gate {
            mode,
            protected,
            approver,
            audit,
            remembered: Mutex::new(HashSet::new()),
        }
    }

    /// The gate for a command-line run: the terminal approver when a terminal exists, else one
    /// that denies; the audit log in the user's state directory.
    pub fn for_cli(mode: Mode, protected: Vec<String>) -> Gate {
        let approver: Arc<dyn Approver> = if TerminalApprover::available() {
            Arc::new(TerminalApprover)
        } else {
            Arc::new(NoTerminal)
        };
        let audit = AuditLog::default_path().map(AuditLog::new);
        if audit.is_none() {
            tracing::warn!("neither XDG_STATE_HOME nor HOME is set: writes will not be audited");
        }
        Gate::new(mode, protected, approver, audit)
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The audit log, if any.
    #[allow(
        dead_code,
        reason = "API for the one-shot path, the REPL and MCP; not all callers exist yet"
    )]
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
    }

    /// Whether writes in `namespace` are refused by rule.
    pub fn is_protected(&self, namespace: &str) -> bool {
        self.protected.iter().any(|p| p == namespace)
    }

    /// Runs `tool` with `args` on `cluster` if the policy allows it.
    pub async fn execute(&self, cluster: &Cluster, tool: &str, args: &Value) -> GateResult {
        let Some(spec) = registry::spec(tool) else {
            return GateResult {
                decision: Decision::Denied,
                plan: None,
                output: Err(GateError::Tool(ToolError::UnknownTool(tool.to_string()))),
            };
        };
        if spec.effect == Effect::Read {
            let output = registry::run(cluster, tool, args.clone())
                .await
                .map_err(GateError::from);
            return GateResult {
                decision: Decision::Allowed,
                plan: None,
                output,
            };
        }
        self.write(cluster, tool, args).await
    }

    async fn write(&self, cluster: &Cluster, tool: &str, args: &Value) -> GateResult {
        let mut audit = AuditEntry {
            time: crate::audit::now(),
            context: cluster.context.clone(),
            server: cluster.server.clone(),
            mode: self.mode.to_string(),
            tool: tool.to_string(),
            arguments: args.clone(),
            target: target_of(cluster, args),
            summary: None,
            decision: String::new(),
            reason: None,
            result: "not-run".into(),
            error: None,
        };
        // Refusals that need no server call come first: read-only mode sends no request at all,
        // not even a dry run.
        if self.mode == Mode::ReadOnly {
            let reason = "kai runs in read-only mode (--read-only): no change is allowed; tell the user what you would change instead".to_string();
            return self.deny(audit, None, reason);
        }
        let requested_ns = cluster
            .ns(args.get("namespace").and_then(Value::as_str))
            .to_string();
        if self.is_protected(&requested_ns) {
            return self.deny(audit, None, protected_reason(&requested_ns));
        }
        let plan = match registry::plan_write(cluster, tool, args).await {
            Ok(p) => p,
            Err(e) => {
                audit.decision = "invalid".into();
                audit.result = "error".into();
                audit.error = Some(e.to_string());
                self.record(&audit);
                return GateResult {
                    decision: Decision::Allowed,
                    plan: None,
                    output: Err(GateError::Tool(e)),
                };
            }
        };
        audit.target = Some(format!("{} {}/{}", plan.kind, plan.namespace, plan.name));
        audit.summary = Some(plan.summary.clone());
        // The plan resolved the real target: check its namespace too.
        if self.is_protected(&plan.namespace) {
            let reason = protected_reason(&plan.namespace);
            self.approver
                .announce(&plan, &format!("(denied: {reason})"));
            return self.deny(audit, Some(plan), reason);
        }
        let key = (
            plan.tool.clone(),
            plan.kind.clone(),
            plan.namespace.clone(),
            plan.name.clone(),
        );
        // Read-only mode returned above, so the mode here is auto or confirm.
        let decision = if self.mode == Mode::Auto {
            self.approver.announce(&plan, "(approved by --yes)");
            Decision::Allowed
        } else {
            {
                let remembered = self
                    .remembered
                    .lock()
                    .map(|set| set.contains(&key))
                    .unwrap_or(false);
                if remembered {
                    self.approver
                        .announce(&plan, "(approved earlier for this target)");
                    Decision::Approved
                } else {
                    let approver = Arc::clone(&self.approver);
                    let p = plan.clone();
                    let answer = tokio::task::spawn_blocking(move || approver.approve(&p))
                        .await
                        .unwrap_or_else(|_| Answer::No("the approval prompt failed".into()));
                    match answer {
                        Answer::Yes => Decision::Approved,
                        Answer::YesForTarget => {
                            if let Ok(mut set) = self.remembered.lock() {
                                set.insert(key);
                            }
                            Decision::Approved
                        }
                        Answer::No(reason) => return self.deny(audit, Some(plan), reason),
                    }
                }
            }
        };
        audit.decision = decision_word(decision).into();
        let output = registry::run(cluster, tool, args.clone()).await;
        match &output {
            Ok(_) => audit.result = "ok".into(),
            Err(e) => {
                audit.result = "error".into();
                audit.error = Some(e.to_string());
            }
        }
        self.record(&audit);
        GateResult {
            decision,
            plan: Some(plan),
            output: output.map_err(GateError::from),
        }
    }

    fn deny(&self, mut audit: AuditEntry, plan: Option<WritePlan>, reason: String) -> GateResult {
        audit.decision = "denied".into();
        audit.reason = Some(reason.clone());
        self.record(&audit);
        GateResult {
            decision: Decision::Denied,
            plan,
            output: Err(GateError::Denied(reason)),
        }
    }

    fn record(&self, entry: &AuditEntry) {
        if let Some(log) = &self.audit
            && let Err(e) = log.append(entry)
        {
            tracing::warn!(
                "cannot append to the audit log {}: {e}",
                log.path().display()
            );
        }
    }
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Allowed => "allowed",
        Decision::Approved => "approved",
        Decision::Denied => "denied",
    }
}

fn protected_reason(ns: &str) -> String {
    format!("namespace \"{ns}\" is protected by policy: kai never changes it")
}

fn target_of(cluster: &Cluster, args: &Value) -> Option<String> {
    let name = args.get("name").and_then(Value::as_str)?;
    let kind = args.get("kind").and_then(Value::as_str).unwrap_or("?");
    let ns = cluster.ns(args.get("namespace").and_then(Value::as_str));
    Some(format!("{kind} {ns}/{name}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use k8s_openapi::api::apps::v1::Deployment;
    use kai_sandbox::{Sandbox, SandboxOptions, Scenario};
    use serde_json::json;

    use super::*;

    /// A sandbox with the demo scenario and a cluster connected to it.
    pub(crate) struct Demo {
        pub _sandbox: Sandbox,
        pub cluster: Cluster,
        pub dir: tempfile::TempDir,
    }

    pub(crate) async fn demo() -> Demo {
        crate::model::install_crypto();
        let sandbox = Sandbox::start(
            Scenario::builtin("demo").unwrap(),
            SandboxOptions::default(),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("kubeconfig");
        sandbox.write_kubeconfig(&kc).unwrap();
        let cluster = Cluster::connect(Some(&kc), None, None).await.unwrap();
        Demo {
            _sandbox: sandbox,
            cluster,
            dir,
        }
    }

    pub(crate) async fn replicas(cluster: &Cluster, name: &str) -> i32 {
        let api: kube::Api<Deployment> = kube::Api::namespaced(cluster.client.clone(), "shop");
        api.get(name)
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas
            .unwrap_or(1)
    }

    /// Answers every question the same way and counts them.
    pub(crate) struct Fixed(pub Answer, pub AtomicUsize);

    impl Approver for Fixed {
        fn approve(&self, _plan: &WritePlan) -> Answer {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.clone()
        }
    }

    fn audit_lines(d: &Demo) -> Vec<Value> {
        let p = d.dir.path().join("audit.jsonl");
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn gate(d: &Demo, mode: Mode, answer: Answer) -> (Gate, Arc<Fixed>) {
        let fixed = Arc::new(Fixed(answer, AtomicUsize::new(0)));
        let g = Gate::new(
            mode,
            crate::config::PolicyConfig::default().protected_namespaces,
            fixed.clone(),
            Some(AuditLog::new(d.dir.path().join("audit.jsonl"))),
        );
        (g, fixed)
    }

    fn scale(n: i64) -> Value {
        json!({"kind": "deployment", "name": "frontend", "namespace": "shop", "replicas": n})
    }

    #[tokio::test]
    async fn confirm_asks_and_a_no_changes_nothing() {
        let d = demo().await;
        let before = replicas(&d.cluster, "frontend").await;
        let (g, fixed) = gate(&d, Mode::Confirm, Answer::No("not now".into()));
        let r = g.execute(&d.cluster, "scale", &scale(5)).await;
        assert_eq!(r.decision, Decision::Denied);
        assert!(matches!(&r.output, Err(GateError::Denied(m)) if m == "not now"));
        let plan = r.plan.unwrap();
        assert!(plan.summary.contains("frontend"), "{}", plan.summary);
        assert_eq!(fixed.1.load(Ordering::SeqCst), 1);
        assert_eq!(replicas(&d.cluster, "frontend").await, before);
        let lines = audit_lines(&d);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["decision"], "denied");
        assert_eq!(lines[0]["tool"], "scale");
        assert_eq!(lines[0]["arguments"]["replicas"], 5);
        assert_eq!(lines[0]["target"], "deployment shop/frontend");
        assert_eq!(lines[0]["result"], "not-run");
    }

    #[tokio::test]
    async fn yes_for_target_is_remembered_for_that_target_only() {
        let d = demo().await;
        let (g, fixed) = gate(&d, Mode::Confirm, Answer::YesForTarget);
        let r = g.execute(&d.cluster, "scale", &scale(3)).await;
        assert_eq!(r.decision, Decision::Approved);
        assert!(r.ok(), "{:?}", r.output);
        assert_eq!(replicas(&d.cluster, "frontend").await, 3);
        let r = g.execute(&d.cluster, "scale", &scale(4)).await;
        assert_eq!(r.decision, Decision::Approved);
        assert_eq!(
            fixed.1.load(Ordering::SeqCst),
            1,
            "asked once for the target"
        );
        assert_eq!(replicas(&d.cluster, "frontend").await, 4);
        // Another target is asked about again.
        let other =
            json!({"kind": "deployment", "name": "backend", "namespace": "shop", "replicas": 1});
        g.execute(&d.cluster, "scale", &other).await;
        assert_eq!(fixed.1.load(Ordering::SeqCst), 2);
        let lines = audit_lines(&d);
        assert_eq!(lines.len(), 3);
        assert!(
            lines
                .iter()
                .all(|l| l["decision"] == "approved" && l["result"] == "ok")
        );
        assert!(lines[0]["summary"].as_str().unwrap().contains("3"));
    }

    #[tokio::test]
    async fn read_only_and_protected_namespaces_deny_without_asking() {
        let d = demo().await;
        let before = replicas(&d.cluster, "frontend").await;
        let (g, fixed) = gate(&d, Mode::ReadOnly, Answer::Yes);
        let r = g.execute(&d.cluster, "scale", &scale(0)).await;
        assert_eq!(r.decision, Decision::Denied);
        assert!(r.output.unwrap_err().to_string().contains("read-only"));
        // Reads still run in read-only mode.
        let r = g
            .execute(&d.cluster, "list_pods", &json!({"namespace": "shop"}))
            .await;
        assert_eq!(r.decision, Decision::Allowed);
        assert!(r.ok(), "{:?}", r.output);

        let (g, _) = gate(&d, Mode::Auto, Answer::Yes);
        let sys = json!({"kind": "deployment", "name": "coredns", "namespace": "kube-system", "replicas": 0});
        let r = g.execute(&d.cluster, "scale", &sys).await;
        assert_eq!(r.decision, Decision::Denied);
        assert!(r.output.unwrap_err().to_string().contains("protected"));
        assert_eq!(fixed.1.load(Ordering::SeqCst), 0);
        assert_eq!(replicas(&d.cluster, "frontend").await, before);
        let lines = audit_lines(&d);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l["decision"] == "denied"));
    }

    #[tokio::test]
    async fn auto_allows_and_a_failed_dry_run_is_audited_as_invalid() {
        let d = demo().await;
        let (g, fixed) = gate(&d, Mode::Auto, Answer::No("never asked".into()));
        let r = g.execute(&d.cluster, "scale", &scale(2)).await;
        assert_eq!(r.decision, Decision::Allowed);
        assert!(r.ok(), "{:?}", r.output);
        assert_eq!(fixed.1.load(Ordering::SeqCst), 0);
        let missing =
            json!({"kind": "deployment", "name": "nope", "namespace": "shop", "replicas": 2});
        let r = g.execute(&d.cluster, "scale", &missing).await;
        assert!(matches!(r.output, Err(GateError::Tool(_))));
        let lines = audit_lines(&d);
        assert_eq!(lines[0]["decision"], "allowed");
        assert_eq!(lines[1]["decision"], "invalid");
        assert_eq!(lines[1]["result"], "error");
    }

    #[test]
    fn answers_parse() {
        assert_eq!(parse_answer("y\n"), Answer::Yes);
        assert_eq!(parse_answer("A"), Answer::YesForTarget);
        assert!(matches!(parse_answer(""), Answer::No(_)));
        assert!(matches!(parse_answer("nope"), Answer::No(_)));
        assert_eq!("read_only".parse::<Mode>(), Ok(Mode::ReadOnly));
        assert!("x".parse::<Mode>().is_err());
    }

    #[test]
    fn no_terminal_denies_with_the_reason() {
        let plan = WritePlan {
            tool: "scale".into(),
            kind: "deployment".into(),
            namespace: "shop".into(),
            name: "backend".into(),
            summary: "scale deployment shop/backend: replicas 1 → 0".into(),
            warnings: vec!["scaling to zero stops every pod".into()],
        };
        assert_eq!(NoTerminal.approve(&plan), Answer::No(NO_TERMINAL.into()));
    }
}
