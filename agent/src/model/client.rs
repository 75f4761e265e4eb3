//! The HTTP side of a model turn: one request with its deadline, retries with back-off for
//! what may pass (429, 5xx, timeouts, refused connections), and the classification of failures
//! into [`ModelError`]s.

use std::time::Duration;

use kai_tools::registry::ToolSpec;

use super::ModelError;
use super::wire::{self, body_message, parse_completion, parse_retry_after};
use crate::chat::{Completion, Message};
use crate::config::ModelConfig;
use crate::events::{Event, EventSink};

/// Back-off settings for transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First delay; doubled each retry.
    pub base_delay: Duration,
    /// Longest delay, and the longest `Retry-After` honoured before giving up.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// A client for one configured endpoint and model.
#[derive(Clone)]
pub struct ModelClient {
    http: reqwest::Client,
    cfg: ModelConfig,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ModelClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelClient")
            .field("model", &self.cfg.model)
            .field("base_url", &self.cfg.base_url)
            .finish_non_exhaustive()
    }
}

/// A failure of one attempt, with whether to try again.
pub(super) struct Attempt {
    pub(super) error: ModelError,
    pub(super) retry: bool,
    pub(super) retry_after: Option<Duration>,
}

impl Attempt {
    /// A failure not worth retrying.
    pub(super) fn fail(error: ModelError) -> Attempt {
        Attempt {
            error,
            retry: false,
            retry_after: None,
        }
    }
}

impl ModelClient {
    /// A client for `cfg` (retries from `cfg.max_retries`).
    pub fn new(cfg: ModelConfig) -> Result<ModelClient, ModelError> {
        super::install_crypto();
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("kai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModelError::Unreachable {
                url: cfg.base_url.clone(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let retry = RetryPolicy {
            max_retries: cfg.max_retries,
            ..RetryPolicy::default()
        };
        Ok(ModelClient { http, cfg, retry })
    }

    /// Replaces the back-off settings.
    #[cfg_attr(not(test), allow(dead_code, reason = "tests shorten the back-off"))]
    pub fn with_retry(mut self, retry: RetryPolicy) -> ModelClient {
        self.retry = retry;
        self
    }

    /// The configuration it was made from.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    fn endpoint(&self) -> String {
        format!(
            "{}/chat/completions",
            self.cfg.base_url.trim_end_matches('/')
        )
    }

    /// Runs one model turn with retries; text deltas go to `events` as they arrive. With no
    /// `tools` the model must answer in text.
    pub async fn complete(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        events: &dyn EventSink,
    ) -> Result<Completion, ModelError> {
        let body = wire::request(&self.cfg, messages, tools, self.cfg.stream);
        let mut attempt: u32 = 0;
        loop {
            let a = match self.attempt(&body, events).await {
                Ok(c) => return Ok(c),
                Err(a) => a,
            };
            if !a.retry || attempt >= self.retry.max_retries {
                return Err(a.error);
            }
            let backoff = self
                .retry
                .base_delay
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(self.retry.max_delay);
            let delay = match a.retry_after {
                Some(d) if d > self.retry.max_delay => return Err(a.error),
                Some(d) => d,
                None => jitter(backoff),
            };
            attempt += 1;
            tracing::info!(
                "model request failed ({}); retry {attempt}/{} in {:.1}s",
                a.error,
                self.retry.max_retries,
                delay.as_secs_f64()
            );
            events.event(Event::Retrying {
                attempt,
                delay,
                reason: a.error.to_string(),
            });
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        body: &async_openai::types::chat::CreateChatCompletionRequest,
        events: &dyn EventSink,
    ) -> Result<Completion, Attempt> {
        let mut req = self.http.post(self.endpoint()).json(body).header(
            reqwest::header::ACCEPT,
            "text/event-stream, application/json",
        );
        if let Some(key) = &self.cfg.api_key {
            req = req.bearer_auth(key.expose());
        }
        let idle = self.cfg.idle_timeout;
        let resp = match tokio::time::timeout(idle, req.send()).await {
            Err(_) => return Err(self.timeout()),
            Ok(Err(e)) => return Err(self.transport_error(&e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let text = match tokio::time::timeout(idle, resp.text()).await {
                Ok(Ok(t)) => t,
                _ => String::new(),
            };
            return Err(self.status_error(status.as_u16(), &text, retry_after));
        }
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("text/event-stream"));
        if is_sse {
            return super::stream::read(self, resp, events).await;
        }
        // Not streamed (stream off, or a server that ignores `stream`): one JSON document.
        let bytes = match tokio::time::timeout(idle, resp.bytes()).await {
            Err(_) => return Err(self.timeout()),
            Ok(Err(e)) => return Err(self.transport_error(&e)),
            Ok(Ok(b)) => b,
        };
        let completion = parse_completion(&bytes).map_err(|m| Attempt::fail(self.protocol(m)))?;
        if !completion.content.is_empty() {
            events.event(Event::Text(&completion.content));
        }
        Ok(completion)
    }

    /// The idle timeout passed: worth one more try.
    pub(super) fn timeout(&self) -> Attempt {
        Attempt {
            error: ModelError::Timeout {
                url: self.cfg.base_url.clone(),
                secs: self.cfg.idle_timeout.as_secs(),
            },
            retry: true,
            retry_after: None,
        }
    }

    pub(super) fn protocol(&self, message: String) -> ModelError {
        ModelError::Protocol {
            url: self.cfg.base_url.clone(),
            message,
        }
    }

    pub(super) fn transport_error(&self, e: &reqwest::Error) -> Attempt {
        let url = self.cfg.base_url.clone();
        let message = error_chain(e);
        if e.is_timeout() {
            return Attempt {
                error: ModelError::Timeout {
                    url,
                    secs: self.cfg.idle_timeout.as_secs(),
                },
                retry: true,
                retry_after: None,
            };
        }
        Attempt {
            error: ModelError::Unreachable { url, message },
            retry: true,
            retry_after: None,
        }
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
        Attempt {
            error,
            retry: status == 429 || status == 408 || (500..600).contains(&status),
            retry_after,
        }
    }
}

/// A delay with up to 20% random-ish jitter, so several clients do not retry in step.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let fraction = f64::from(nanos % 1000) / 1000.0 * 0.2;
    d.mul_f64(1.0 + fraction)
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
