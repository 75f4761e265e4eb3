//! What a turn reports while it runs (model text, tool calls, retries) and the sink that shows
//! it. Below both the model client and the session, so neither imports the other for it.

use std::time::Duration;

use crate::chat::Usage;
use crate::policy::Decision;

/// Something that happened during a turn, for the caller to show.
#[allow(
    dead_code,
    reason = "every sink reads the fields it shows; not every field has a reader yet"
)]
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A piece of the model's text, as it streams.
    Text(&'a str),
    /// A model request starts (1-based turn number).
    ModelTurn {
        /// Turn number within this question.
        step: usize,
    },
    /// A tool call starts.
    ToolStarted {
        /// Call id.
        id: &'a str,
        /// Tool name.
        name: &'a str,
        /// `get_logs(pod=backend-1, namespace=shop)`.
        summary: &'a str,
        /// Whether it is a write (the gate may ask for approval).
        write: bool,
    },
    /// A tool call ended.
    ToolFinished {
        /// Call id.
        id: &'a str,
        /// Tool name.
        name: &'a str,
        /// The gate's decision.
        decision: Decision,
        /// Whether it ran and succeeded.
        ok: bool,
        /// A short line: the error, the denial, or the first line of the output.
        detail: &'a str,
    },
    /// The model's answer grew (text or a tool call): `bytes` received so far in this request.
    Received {
        /// Bytes of text and tool calls so far.
        bytes: usize,
    },
    /// The server reported the tokens of a finished model request.
    Usage(Usage),
    /// A model request failed transiently and is retried.
    Retrying {
        /// Retry number.
        attempt: u32,
        /// Wait before it.
        delay: Duration,
        /// Why.
        reason: String,
    },
}

/// Receives [`Event`]s (the one-shot renderer, the REPL).
pub trait EventSink: Send + Sync {
    /// Called for every event, in order.
    fn event(&self, event: Event<'_>);
}

/// Ignores every event.
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "used by tests and library callers")
)]
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn event(&self, _event: Event<'_>) {}
}
