//! The confirmation policy gate: the one way any caller (model loop, offline path, MCP) runs a
//! tool. Reads run; writes are previewed by a server-side dry run, decided by the mode, the
//! protected namespaces and a person, audited, and only then run.
//!
//! The gate reads nothing from a model but the tool call itself: no text in a model's answer,
//! a log line or a tool output can change the mode, the rules or the approver.

use std::collections::HashSet;
use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use kai_tools::approval::{Authorization, Refusal, Rules, authorize};
use kai_tools::registry::{self, Effect, ToolOutput, WritePlan};
use kai_tools::{Cluster, ToolError};
use serde::Serialize;
use serde_json::Value;

pub use kai_tools::approval::{Answer, Mode, NO_TERMINAL};

use crate::audit::{AuditEntry, AuditLog};

mod tty;

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

/// A boxed answer that a caller may drop (Ctrl-C) without leaving a reader behind.
pub type AnswerFuture = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// Asks a person about a write.
pub trait Approver: Send + Sync + 'static {
    /// Shows the plan and returns the answer (may block on a terminal).
    fn approve(&self, plan: &WritePlan) -> Answer;

    /// Whether a person can be asked at all (a terminal exists).
    fn can_ask(&self) -> bool {
        true
    }

    /// Asks without blocking the runtime; dropping the future abandons the question. The
    /// default runs [`Approver::approve`] on a blocking thread.
    fn ask(self: Arc<Self>, plan: WritePlan) -> AnswerFuture {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || self.approve(&plan))
                .await
                .unwrap_or_else(|_| Answer::No("the approval prompt failed".into()))
        })
    }

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

const QUESTION: &str = "Apply? [y]es / [a]lways for this target / [N]o: ";

fn show_on(out: &mut impl Write, plan: &WritePlan) {
    let _ = writeln!(out, "kai wants to change the cluster:\n  {}", plan.summary);
    for w in &plan.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    let _ = write!(out, "{QUESTION}");
    let _ = out.flush();
}

impl Approver for TerminalApprover {
    fn approve(&self, plan: &WritePlan) -> Answer {
        if !TerminalApprover::available() {
            return NoTerminal.approve(plan);
        }
        if std::io::stdin().is_terminal() {
            print_plan(plan, "(needs approval)");
            err!("{QUESTION}");
            let mut line = String::new();
            return match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => Answer::No("no answer from the terminal".into()),
                Ok(_) => parse_answer(&line),
            };
        }
        NoTerminal.approve(plan)
    }

    fn can_ask(&self) -> bool {
        TerminalApprover::available()
    }

    /// Reads the controlling terminal without blocking a thread, so Ctrl-C (or the turn being
    /// dropped) ends the question at once and no later line is swallowed by a stale reader.
    fn ask(self: Arc<Self>, plan: WritePlan) -> AnswerFuture {
        Box::pin(async move {
            let Some(mut tty) = tty::Tty::open() else {
                return tokio::task::spawn_blocking(move || self.approve(&plan))
                    .await
                    .unwrap_or_else(|_| Answer::No("the approval prompt failed".into()));
            };
            let mut out = tty.writer().try_clone().ok();
            if let Some(o) = out.as_mut() {
                show_on(o, &plan);
            }
            tokio::select! {
                line = tty.read_line() => match line {
                    Some(l) => parse_answer(&l),
                    None => Answer::No("no answer from the terminal".into()),
                },
                _ = tokio::signal::ctrl_c() => {
                    if let Some(o) = out.as_mut() {
                        let _ = writeln!(o, "^C");
                    }
                    Answer::Cancelled
                }
            }
        })
    }

    fn announce(&self, plan: &WritePlan, note: &str) {
        print_plan(plan, note);
    }
}

/// Denies every write (no terminal, no `--yes`), after showing what was asked.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTerminal;

impl Approver for NoTerminal {
    fn approve(&self, plan: &WritePlan) -> Answer {
        print_plan(plan, &format!("(denied: {NO_TERMINAL})"));
        Answer::No(NO_TERMINAL.into())
    }

    fn can_ask(&self) -> bool {
        false
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

/// How many times a write is planned again after the target changed under it.
const CONFLICT_REPLANS: usize = 2;

/// The policy gate.
pub struct Gate {
    mode: Mode,
    protected: Vec<String>,
    approver: Arc<dyn Approver>,
    audit: Option<AuditLog>,
    client: Option<String>,
    remembered: Mutex<HashSet<TargetKey>>,
    refusals: Mutex<Vec<Refusal>>,
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

/// Records a write as cancelled if the question is abandoned (the turn dropped on Ctrl-C)
/// before an answer came back.
struct CancelGuard<'a> {
    gate: &'a Gate,
    entry: Option<AuditEntry>,
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if let Some(mut e) = self.entry.take() {
            e.decision = Refusal::Cancelled.decision_word().into();
            e.reason = Some(Refusal::Cancelled.reason());
            self.gate.record(&e);
            self.gate.note(Refusal::Cancelled);
        }
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
            client: None,
            remembered: Mutex::new(HashSet::new()),
            refusals: Mutex::new(Vec::new()),
        }
    }

    /// The gate for a command-line run (one-shot or REPL): the terminal approver when a
    /// terminal exists, else one that denies; the audit log in the user's state directory.
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

    /// The same gate (approver, audit log, protected namespaces, client) in another mode, with
    /// no answer remembered: what the REPL's `/mode` switches to.
    pub fn with_mode(&self, mode: Mode) -> Gate {
        let mut gate = Gate::new(
            mode,
            self.protected.clone(),
            self.approver.clone(),
            self.audit.clone(),
        );
        gate.client = self.client.clone();
        gate
    }

    /// The same gate, recording `client` (an MCP client's name) in every audit entry.
    pub fn with_client(mut self, client: impl Into<String>) -> Gate {
        self.client = Some(client.into());
        self
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
        self.rules("").is_protected(namespace)
    }

    /// Why the gate would refuse this write before planning it (read-only mode, a protected
    /// namespace), if it would: what a dry run reports instead of a plan.
    pub fn would_refuse(&self, cluster: &Cluster, tool: &str, args: &Value) -> Option<String> {
        if self.mode == Mode::ReadOnly {
            return Some(Refusal::ReadOnly.reason());
        }
        let (_, ns, _) = registry::write_target(tool, args).ok()?;
        let ns = ns.unwrap_or_else(|| cluster.namespace.clone());
        self.is_protected(&ns)
            .then(|| Refusal::Protected(ns).reason())
    }

    /// Every write refused so far (any refusal makes a one-shot run exit 4).
    pub fn refusals(&self) -> Vec<Refusal> {
        self.refusals.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// What to tell the user about the refusals so far, one line per distinct reason
    /// (never "--yes" for a rule that `--yes` cannot lift).
    pub fn advice(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.refusals() {
            let a = r.advice();
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    fn note(&self, r: Refusal) {
        if let Ok(mut v) = self.refusals.lock() {
            v.push(r);
        }
    }

    fn rules<'a>(&'a self, home: &'a str) -> Rules<'a> {
        Rules {
            mode: self.mode,
            protected: &self.protected,
            home,
        }
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

    /// Validates, plans, decides, asks, executes the approved plan; plans and asks again when
    /// the target changed in between.
    async fn write(&self, cluster: &Cluster, tool: &str, args: &Value) -> GateResult {
        let mut audit = AuditEntry::new(cluster, self.mode, tool, args);
        audit.client.clone_from(&self.client);
        // Refusals that need no server call come first: read-only mode sends no request at all,
        // not even a dry run, and nothing runs on arguments that are not valid names.
        if self.mode == Mode::ReadOnly {
            return self.deny(audit, None, Refusal::ReadOnly);
        }
        let (kind, ns, name) = match registry::write_target(tool, args) {
            Ok(t) => t,
            Err(e) => return self.invalid(audit, e),
        };
        let ns = ns.unwrap_or_else(|| cluster.namespace.clone());
        audit.target = Some(format!("{kind} {ns}/{name}"));
        if self.is_protected(&ns) {
            return self.deny(audit, None, Refusal::Protected(ns));
        }
        let home = cluster.namespace.clone();
        let rules = self.rules(&home);
        let mut replans = 0;
        loop {
            let plan = match registry::plan_write(cluster, tool, args).await {
                Ok(p) => p,
                Err(e) => return self.invalid(audit, e),
            };
            audit.target = Some(plan.target());
            audit.summary = Some(plan.summary.clone());
            audit.request = serde_json::to_value(plan.action()).ok();
            let key = (
                plan.tool.clone(),
                plan.kind.clone(),
                plan.namespace.clone(),
                plan.name.clone(),
            );
            let remembered = self
                .remembered
                .lock()
                .map(|set| set.contains(&key))
                .unwrap_or(false);
            let (approval, decision) =
                match authorize(plan, &rules, remembered, self.approver.can_ask()) {
                    Authorization::Approved(a) => {
                        let (note, d) = if self.mode == Mode::Auto {
                            ("(approved by --yes)", Decision::Allowed)
                        } else {
                            ("(approved earlier for this target)", Decision::Approved)
                        };
                        self.approver.announce(a.plan(), note);
                        (a, d)
                    }
                    Authorization::Refused(plan, r) => {
                        self.approver
                            .announce(&plan, &format!("(denied: {})", r.reason()));
                        return self.deny(audit, Some(plan), r);
                    }
                    Authorization::Ask(pending) => {
                        let mut shown = pending.plan().clone();
                        if shown.namespace != home {
                            shown.warnings.push(format!(
                                "namespace {} is not {home}, the namespace this run works in",
                                shown.namespace
                            ));
                        }
                        let answer = self.ask(shown, &audit).await;
                        if answer == Answer::YesForTarget
                            && let Ok(mut set) = self.remembered.lock()
                        {
                            set.insert(key);
                        }
                        match pending.answer(&answer) {
                            Ok(a) => (a, Decision::Approved),
                            Err(refused) => {
                                let (plan, r) = *refused;
                                return self.deny(audit, Some(plan), r);
                            }
                        }
                    }
                };
            let plan = approval.plan().clone();
            audit.decision = decision_word(decision).into();
            match registry::execute(cluster, approval).await {
                Err(ToolError::Conflict(m)) if replans < CONFLICT_REPLANS => {
                    replans += 1;
                    audit.result = "conflict".into();
                    audit.error = Some(m);
                    self.record(&audit);
                    self.approver.announce(
                        &plan,
                        "(the target changed since this plan; planning again)",
                    );
                    audit.error = None;
                }
                output => {
                    match &output {
                        Ok(_) => audit.result = "ok".into(),
                        Err(e) => {
                            audit.result = "error".into();
                            audit.error = Some(e.to_string());
                        }
                    }
                    self.record(&audit);
                    return GateResult {
                        decision,
                        plan: Some(plan),
                        output: output.map_err(GateError::from),
                    };
                }
            }
        }
    }

    /// Asks the approver; if the question is abandoned (Ctrl-C drops the turn) the attempt is
    /// still audited, as cancelled.
    async fn ask(&self, plan: WritePlan, audit: &AuditEntry) -> Answer {
        let mut guard = CancelGuard {
            gate: self,
            entry: Some(audit.clone()),
        };
        let answer = Arc::clone(&self.approver).ask(plan).await;
        guard.entry = None;
        answer
    }

    fn invalid(&self, mut audit: AuditEntry, e: ToolError) -> GateResult {
        audit.decision = "invalid".into();
        audit.result = "error".into();
        audit.error = Some(e.to_string());
        self.record(&audit);
        GateResult {
            decision: Decision::Allowed,
            plan: None,
            output: Err(GateError::Tool(e)),
        }
    }

    fn deny(&self, mut audit: AuditEntry, plan: Option<WritePlan>, r: Refusal) -> GateResult {
        let reason = r.reason();
        audit.decision = r.decision_word().into();
        audit.reason = Some(reason.clone());
        self.record(&audit);
        self.note(r);
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

#[cfg(test)]
pub(crate) mod tests;
