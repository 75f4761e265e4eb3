//! One attempt's failure and what may be done about it: the retry classes, and the wording and
//! classification of an endpoint's errors, shared by the client and the stream reader.

use std::time::Duration;

use super::ModelError;
use super::wire::body_message;
use crate::config::ModelConfig;

/// What may be done after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Nothing: it would fail the same way (4xx, a chat template's 500, a bad response).
    No,
    /// Again after a back-off (429, 5xx, a refused connection), up to `max_retries` times.
    Backoff,
    /// The server went silent or ran out of time. It may still be working on the request, so
    /// it is sent again at most once, with twice the time.
    Timeout,
    /// A stream ended without its end, or with nothing in it: asked again once without
    /// streaming, which makes servers say what went wrong (a context overflow is a 400 there).
    Unstreamed,
}

/// A failure of one attempt, with what may be done about it.
pub(super) struct Attempt {
    pub(super) error: ModelError,
    pub(super) retry: Retry,
    pub(super) retry_after: Option<Duration>,
}

impl Attempt {
    /// A failure not worth retrying.
    pub(super) fn fail(error: ModelError) -> Attempt {
        Attempt {
            error,
            retry: Retry::No,
            retry_after: None,
        }
    }

    /// A failure worth `retry`.
    pub(super) fn with(error: ModelError, retry: Retry) -> Attempt {
        Attempt {
            error,
            retry,
            retry_after: None,
        }
    }
}

/// Words and classifies the failures of one endpoint.
#[derive(Clone, Copy)]
pub(super) struct Failures<'a> {
    pub(super) cfg: &'a ModelConfig,
}

impl Failures<'_> {
    /// The model went silent, or an attempt ran out of its time.
    pub(super) fn timed_out(&self, after: Duration) -> ModelError {
        ModelError::Timeout {
            url: self.cfg.base_url.clone(),
            secs: after.as_secs(),
        }
    }

    pub(super) fn deadline_passed(&self) -> ModelError {
        ModelError::Deadline {
            url: self.cfg.base_url.clone(),
            secs: self.cfg.total_timeout.as_secs(),
        }
    }

    pub(super) fn protocol(&self, message: String) -> ModelError {
        ModelError::Protocol {
            url: self.cfg.base_url.clone(),
            message,
        }
    }

    pub(super) fn transport_error(&self, e: &reqwest::Error) -> Attempt {
        if e.is_timeout() {
            return Attempt::with(self.timed_out(self.cfg.idle_timeout), Retry::Timeout);
        }
        let error = ModelError::Unreachable {
            url: self.cfg.base_url.clone(),
            message: error_chain(e),
        };
        Attempt::with(error, Retry::Backoff)
    }

    pub(super) fn status_error(
        &self,
        status: u16,
        body: &str,
        retry_after: Option<Duration>,
    ) -> Attempt {
        let url = self.cfg.base_url.clone();
        let message = body_message(body);
        let lower = message.to_ascii_lowercase();
        let error = match status {
            401 | 403 => ModelError::AuthRefused {
                url,
                status,
                message,
            },
            404 => ModelError::ModelNotFound {
                model: self.cfg.model.clone(),
                url,
                message,
            },
            400 | 413 | 422 | 500 if is_overflow(&lower) => {
                ModelError::ContextOverflow { url, message }
            }
            400 | 422 if ["tool", "function"].iter().any(|w| lower.contains(w)) => {
                ModelError::NoToolSupport {
                    model: self.cfg.model.clone(),
                    message,
                }
            }
            _ => ModelError::Http {
                url,
                status,
                message,
            },
        };
        let transient = status == 429 || status == 408 || (500..600).contains(&status);
        let retry = if transient && !fails_the_same(&error, &lower) {
            Retry::Backoff
        } else {
            Retry::No
        };
        Attempt {
            error,
            retry,
            retry_after,
        }
    }
}

/// Whether a server's message says the request does not fit the model's context.
fn is_overflow(lower: &str) -> bool {
    [
        "context window",
        "context length",
        "context_length",
        "maximum context",
        "context size",
        "n_ctx",
        "too many tokens",
        "prompt is too long",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Whether a 5xx will come back the same however often it is sent: the request itself is the
/// problem (a chat template that cannot render it, a context it does not fit).
fn fails_the_same(error: &ModelError, lower: &str) -> bool {
    matches!(error, ModelError::ContextOverflow { .. })
        || [
            "template",
            "jinja",
            "has no attribute",
            "is undefined",
            "roles must alternate",
            "conversation roles",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !parts.iter().any(|p| p.contains(&s_text)) {
            parts.push(s_text);
        }
        cur = s.source();
    }
    parts.join(": ")
}
