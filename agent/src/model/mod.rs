//! The chat-completions client for any OpenAI-compatible endpoint.
//!
//! A session's [`Message`](crate::chat::Message)s become async-openai's typed request in
//! [`wire`]; the HTTP exchange, retries and error classification are in [`client`]; streamed
//! (SSE) and whole responses are read in [`stream`] and merged into one
//! [`Completion`](crate::chat::Completion) by [`accumulate`]. async-openai's own transport is not
//! used: its error path drops the `Retry-After` header and the status of non-JSON error bodies,
//! and its typed stream chunks reject servers that omit `created`/`model`/`object` or use other
//! finish reasons.

mod accumulate;
mod attempt;
mod client;
mod hygiene;
mod stream;
mod wire;

#[cfg(test)]
mod failure_tests;
#[cfg(test)]
mod tests;

pub use client::ModelClient;

/// Why a model request failed, in the words the offline notice needs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// No connection could be made (refused, DNS, TLS).
    #[error("cannot reach the model endpoint {url}: {message}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// Cause.
        message: String,
    },
    /// The endpoint went silent, or one request ran out of its time (after one retry).
    #[error("the model endpoint {url} did not answer within {secs}s")]
    Timeout {
        /// The base URL.
        url: String,
        /// The time waited, in seconds.
        secs: u64,
    },
    /// The question's total time for the model ran out (`total_timeout_secs`).
    #[error(
        "the model endpoint {url} did not finish within the total deadline of {secs}s (total_timeout_secs in the config file)"
    )]
    Deadline {
        /// The base URL.
        url: String,
        /// The total deadline in seconds.
        secs: u64,
    },
    /// The conversation does not fit the model's context window.
    #[error(
        "the request does not fit the model's context window at {url}: {message}; pipe in less text or give the server a larger context"
    )]
    ContextOverflow {
        /// The base URL.
        url: String,
        /// The server's message.
        message: String,
    },
    /// The model answered with no text and no tool call (streamed, then not streamed).
    #[error(
        "the model endpoint {url} answered with no text and no tool call{}",
        finish_note(.finish)
    )]
    Empty {
        /// The base URL.
        url: String,
        /// The finish reason it gave, if any.
        finish: Option<String>,
    },
    /// 401/403: the key is missing or refused.
    #[error(
        "the model endpoint {url} refused the API key ({status}): {message}; set KAI_API_KEY or --api-key-env"
    )]
    AuthRefused {
        /// The base URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// 404: the model (or the path) does not exist.
    #[error("model \"{model}\" not found at {url}: {message}; check --model and --base-url")]
    ModelNotFound {
        /// The model name.
        model: String,
        /// The base URL.
        url: String,
        /// The server's message.
        message: String,
    },
    /// 400 mentioning tools or functions: the model cannot call tools.
    #[error("model \"{model}\" cannot call tools: {message}")]
    NoToolSupport {
        /// The model name.
        model: String,
        /// The server's message.
        message: String,
    },
    /// Any other HTTP error (after retries for 429 and 5xx).
    #[error("the model endpoint {url} answered {status}: {message}")]
    Http {
        /// The base URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The response could not be understood, or the stream broke after output was shown.
    #[error("bad response from the model endpoint {url}: {message}")]
    Protocol {
        /// The base URL.
        url: String,
        /// What was wrong.
        message: String,
    },
}

fn finish_note(finish: &Option<String>) -> String {
    finish
        .as_ref()
        .map(|f| format!(" (finish reason \"{f}\")"))
        .unwrap_or_default()
}

impl ModelError {
    /// One line for the offline notice: why kai answers without the model.
    pub fn offline_reason(&self) -> String {
        self.to_string()
    }
}
