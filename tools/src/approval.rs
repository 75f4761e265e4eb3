//! The approval core of the policy gate: the pure decision (mode × protected × outside the
//! user's namespace × remembered answer × terminal × effect → verdict), and the [`Approval`]
//! token without which no write runs.
//!
//! An [`Approval`] can only be made here, from a plan and a decision that allows it, and
//! [`crate::registry::execute`] needs one: a write that did not pass [`authorize`] cannot run.
//! The agent's gate adds the person (the prompt), the audit log and the wording.

use std::str::FromStr;

use crate::contract::{Effect, WritePlan};

/// How writes are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
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

/// A person's answer to one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes, this once.
    Yes,
    /// Yes, and for every further call of this tool on this target in the session.
    YesForTarget,
    /// No, with the reason given back to the model.
    No(String),
    /// The prompt was cancelled (Ctrl-C) before an answer.
    Cancelled,
}

/// Everything the decision depends on; nothing else (no model text) can reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The policy mode.
    pub mode: Mode,
    /// Read or write.
    pub effect: Effect,
    /// The target's namespace is protected.
    pub protected: bool,
    /// The target is outside the namespace the user named (`-n`, or the context's).
    pub outside_namespace: bool,
    /// The person answered "always for this target" earlier in the session.
    pub remembered: bool,
    /// A person can be asked (a terminal exists).
    pub terminal: bool,
}

/// What the gate must do with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run it without asking.
    Run,
    /// Ask a person first.
    Ask,
    /// Refuse it.
    Deny(Refusal),
}

/// Why a write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `--read-only`.
    ReadOnly,
    /// A protected namespace (named).
    Protected(String),
    /// The target's namespace (first) is not the one the user named (second).
    OutsideNamespace(String, String),
    /// No terminal to ask on and no `--yes`.
    NoTerminal,
    /// A person said no, with their words.
    Declined(String),
    /// A person cancelled the prompt.
    Cancelled,
}

/// The reason a write is refused when no one can approve it.
pub const NO_TERMINAL: &str = "no terminal to approve on and --yes not given";

impl Refusal {
    /// The reason, as told to the model and written to the audit log.
    pub fn reason(&self) -> String {
        match self {
            Refusal::ReadOnly => "kai runs in read-only mode (--read-only): no change is allowed; tell the user what you would change instead".into(),
            Refusal::Protected(ns) => {
                format!("namespace \"{ns}\" is protected by policy: kai never changes it")
            }
            Refusal::OutsideNamespace(target, home) => format!(
                "the target is in namespace \"{target}\", outside namespace \"{home}\" that this run works in: kai changes another namespace only when the user names it"
            ),
            Refusal::NoTerminal => NO_TERMINAL.into(),
            Refusal::Declined(why) => why.clone(),
            Refusal::Cancelled => "the user cancelled the approval prompt (Ctrl-C)".into(),
        }
    }

    /// What the user can do about it, matching the reason (never `--yes` for a rule).
    pub fn advice(&self) -> String {
        match self {
            Refusal::ReadOnly => {
                "read-only mode refused it; rerun without --read-only to allow changes".into()
            }
            Refusal::Protected(ns) => format!(
                "namespace {ns} is protected by policy, so kai will not change it in any mode; make the change yourself if it is really needed"
            ),
            Refusal::OutsideNamespace(target, _) => format!(
                "the target is in namespace {target}, which you did not name; rerun with -n {target} to change it there"
            ),
            Refusal::NoTerminal => {
                "no terminal to approve on; rerun on a terminal, or with --yes to allow it".into()
            }
            Refusal::Declined(_) => "you declined it".into(),
            Refusal::Cancelled => "you cancelled the approval prompt".into(),
        }
    }

    /// The audit log's decision word: `cancelled` for a cancelled prompt, else `denied`.
    pub fn decision_word(&self) -> &'static str {
        match self {
            Refusal::Cancelled => "cancelled",
            _ => "denied",
        }
    }
}

/// The decision, a pure function of the facts.
pub fn decide(f: &Facts) -> Verdict {
    if f.effect == Effect::Read {
        return Verdict::Run;
    }
    match f.mode {
        Mode::ReadOnly => Verdict::Deny(Refusal::ReadOnly),
        _ if f.protected => Verdict::Deny(Refusal::Protected(String::new())),
        Mode::Auto if f.outside_namespace => {
            Verdict::Deny(Refusal::OutsideNamespace(String::new(), String::new()))
        }
        Mode::Auto => Verdict::Run,
        Mode::Confirm if f.remembered => Verdict::Run,
        Mode::Confirm if !f.terminal => Verdict::Deny(Refusal::NoTerminal),
        Mode::Confirm => Verdict::Ask,
    }
}

/// The rules a gate applies to every write.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The mode.
    pub mode: Mode,
    /// Protected namespaces.
    pub protected: &'a [String],
    /// The namespace the user named (`-n`, or the context's).
    pub home: &'a str,
}

impl Rules<'_> {
    /// Whether writes in `namespace` are refused by rule. Namespaces are validated DNS labels,
    /// so an exact comparison is the right one.
    pub fn is_protected(&self, namespace: &str) -> bool {
        self.protected.iter().any(|p| p.trim() == namespace)
    }
}

/// A write a person or the mode approved: the only way to run one.
#[derive(Debug)]
pub struct Approval {
    plan: WritePlan,
}

impl Approval {
    /// The approved plan.
    pub fn plan(&self) -> &WritePlan {
        &self.plan
    }

    /// Gives the plan back (after the run).
    pub(crate) fn into_plan(self) -> WritePlan {
        self.plan
    }
}

/// A write waiting for a person's answer.
#[derive(Debug)]
pub struct Pending {
    plan: WritePlan,
}

impl Pending {
    /// The plan to show.
    pub fn plan(&self) -> &WritePlan {
        &self.plan
    }

    /// Applies the person's answer: an approval of this plan, or the refusal with the plan.
    pub fn answer(self, answer: &Answer) -> Result<Approval, Box<(WritePlan, Refusal)>> {
        match answer {
            Answer::Yes | Answer::YesForTarget => Ok(Approval { plan: self.plan }),
            Answer::No(why) => Err(Box::new((self.plan, Refusal::Declined(why.clone())))),
            Answer::Cancelled => Err(Box::new((self.plan, Refusal::Cancelled))),
        }
    }
}

/// The outcome of [`authorize`].
#[derive(Debug)]
pub enum Authorization {
    /// Run it.
    Approved(Approval),
    /// Ask a person, then call [`Pending::answer`].
    Ask(Pending),
    /// Refused, with the plan for the record.
    Refused(WritePlan, Refusal),
}

/// Decides a planned write under `rules`.
pub fn authorize(
    plan: WritePlan,
    rules: &Rules<'_>,
    remembered: bool,
    terminal: bool,
) -> Authorization {
    let facts = Facts {
        mode: rules.mode,
        effect: Effect::Write,
        protected: rules.is_protected(&plan.namespace),
        outside_namespace: plan.namespace != rules.home,
        remembered,
        terminal,
    };
    match decide(&facts) {
        Verdict::Run => Authorization::Approved(Approval { plan }),
        Verdict::Ask => Authorization::Ask(Pending { plan }),
        Verdict::Deny(r) => {
            let r = match r {
                Refusal::Protected(_) => Refusal::Protected(plan.namespace.clone()),
                Refusal::OutsideNamespace(..) => {
                    Refusal::OutsideNamespace(plan.namespace.clone(), rules.home.to_string())
                }
                other => other,
            };
            Authorization::Refused(plan, r)
        }
    }
}

#[cfg(test)]
#[path = "approval_tests.rs"]
mod tests;
