//! A conversation with a model that investigates the cluster through the tools, every call
//! passing the policy gate.
//!
//! The loop of one question is in [`turn`], the calls of one model turn in [`tool_calls`], the
//! conversation and its context budget in [`history`], and the changes a REPL makes to a live
//! conversation in [`controls`].

mod controls;
mod history;
mod tool_calls;
mod turn;

#[cfg(test)]
mod outcome_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use kai_tools::Cluster;
use kai_tools::diagnosis::Finding;
use kai_tools::registry::{self, Effect, ToolSpec};
use serde::Serialize;
use serde_json::Value;

use self::history::History;
use self::tool_calls::Ledger;
pub use self::tool_calls::call_label;
use crate::events::EventSink;
use crate::model::{ModelClient, ModelError};
use crate::policy::{Decision, Gate};

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Most model turns with tool calls per question (`--max-steps`).
    pub max_steps: usize,
    /// A system prompt template replacing the built-in one (`--system-prompt` file's text).
    pub system_prompt: Option<String>,
    /// Bytes of tool output kept in the conversation before older outputs are shrunk.
    pub context_budget: usize,
    /// Bytes of one tool output sent to the model.
    pub output_limit: usize,
    /// Bytes of piped-in context sent to the model.
    pub extra_context_limit: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            max_steps: 20,
            system_prompt: None,
            context_budget: 60_000,
            output_limit: 24_000,
            extra_context_limit: 16_000,
        }
    }
}

/// One tool call as `--output json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Tool name.
    pub tool: String,
    /// Arguments (as parsed; the raw text as a string when it was not JSON).
    pub arguments: Value,
    /// The gate's decision.
    pub decision: Decision,
    /// Whether it ran and succeeded.
    pub ok: bool,
}

/// Why a question ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The model answered.
    Finished,
    /// The step limit was reached (exit 5); the answer is what was learned so far.
    StepLimit,
    /// A write was denied, whatever happened after (exit 4).
    WriteDenied,
    /// The answer was cut at the token limit (exit 1): shown, but not whole.
    Cut,
}

/// The result of one question.
#[derive(Debug, Clone, Serialize)]
pub struct TurnOutcome {
    /// The answer (markdown).
    pub answer: String,
    /// Every tool call, in order.
    pub steps: Vec<Step>,
    /// The diagnosis engine's findings from the `diagnose` calls of this question.
    pub findings: Vec<Finding>,
    /// Why it ended.
    pub reason: EndReason,
    /// Things the user should know about the answer (cut, no tool used), one line each.
    pub warnings: Vec<String>,
}

/// Why a question could not be answered by the model.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// The model request failed (after retries); the caller falls back to the offline path.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model failed after this question had already changed the cluster. The caller must
    /// not answer the question again offline: that would repeat the change.
    #[error(
        "the model stopped answering after kai changed the cluster ({error}); not repeating the question offline"
    )]
    AfterChange {
        /// Why the model failed.
        error: ModelError,
        /// The calls made before it failed, the change among them.
        steps: Vec<Step>,
    },
    /// The model failed after a write was denied in this question. The caller may answer
    /// offline, but the run still ends as denied (exit 4).
    #[error("{error}")]
    AfterDenial {
        /// Why the model failed.
        error: ModelError,
        /// The calls made before it failed, the denied one among them.
        steps: Vec<Step>,
    },
}

/// A conversation with a model about one cluster.
pub struct Session {
    cluster: Cluster,
    model: ModelClient,
    gate: Arc<Gate>,
    opts: SessionOptions,
    specs: Vec<ToolSpec>,
    history: History,
    /// Calls answered in the current question: key → tool name.
    answered: HashMap<String, String>,
    /// A note for the model sent with the next question (a context or namespace switch).
    note: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("cluster", &self.cluster)
            .field("model", &self.model)
            .field("messages", &self.history.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session on `cluster` with `model`, every tool call passing `gate`.
    pub fn new(
        cluster: Cluster,
        model: ModelClient,
        gate: Arc<Gate>,
        opts: SessionOptions,
    ) -> Session {
        Session {
            cluster,
            model,
            gate,
            opts,
            specs: registry::specs(),
            history: History::default(),
            answered: HashMap::new(),
            note: None,
        }
    }

    /// Forgets the conversation (the system prompt is rebuilt on the next question).
    pub fn clear(&mut self) {
        self.history.clear();
        self.answered.clear();
    }

    /// Number of messages in the conversation, the system prompt included.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// Whether the conversation is empty.
    #[cfg_attr(not(test), allow(dead_code, reason = "the pair of len, used by tests"))]
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// Asks one question, keeping the conversation for the next. `extra_context` is text piped
    /// in by the user. On a model error the conversation is left as it was before the question.
    pub async fn ask(
        &mut self,
        question: &str,
        extra_context: Option<&str>,
        events: &dyn EventSink,
    ) -> Result<TurnOutcome, SessionError> {
        let start_len = self.history.len();
        let mut ledger = Ledger::default();
        match self
            .ask_inner(question, extra_context, events, &mut ledger)
            .await
        {
            Ok(o) => Ok(o),
            Err(SessionError::Model(error))
                if ledger
                    .steps
                    .iter()
                    .any(|s| s.ok && registry::effect(&s.tool) == Some(Effect::Write)) =>
            {
                // The conversation keeps the change, so the next question knows it happened.
                Err(SessionError::AfterChange {
                    error,
                    steps: ledger.steps,
                })
            }
            Err(SessionError::Model(error)) if ledger.denied => {
                self.history.truncate(start_len);
                Err(SessionError::AfterDenial {
                    error,
                    steps: ledger.steps,
                })
            }
            Err(e) => {
                self.history.truncate(start_len);
                Err(e)
            }
        }
    }
}
