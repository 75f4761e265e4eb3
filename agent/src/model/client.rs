//! The HTTP side of a model turn: one request with its deadline, retries with back-off for
//! what may pass (429, 5xx, timeouts, refused connections), and the classification of failures
//! into [`ModelError`]s.

use std::time::{Duration, Instant};

use kai_tools::registry::ToolSpec;

use super::ModelError;
use super::attempt::{Attempt, Failures, Retry};
use super::hygiene::clean_text;
use super::wire::{self, parse_completion, parse_retry_after};
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

/// The limits of one attempt.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Longest silence.
    pub(super) idle: Duration,
    /// Longest time for the whole attempt.
    pub(super) turn: Duration,
}

/// What the attempts of one turn have done so far, for the retry decisions.
#[derive(Debug, Default)]
struct Tries {
    backoffs: u32,
    timed_out: bool,
    unstreamed: bool,
}

impl ModelClient {
    /// A client for `cfg` (retries from `cfg.max_retries`).
    pub fn new(cfg: ModelConfig) -> Result<ModelClient, ModelError> {
        crate::tls::install_crypto_provider();
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

    /// Runs one model turn within the client's own total deadline.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "sessions pass their question's deadline")
    )]
    pub async fn complete(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        events: &dyn EventSink,
    ) -> Result<Completion, ModelError> {
        let deadline = Instant::now() + self.cfg.total_timeout;
        self.complete_by(messages, tools, events, deadline).await
    }

    /// Runs one model turn, ending by `deadline` whatever happens; text deltas go to `events`
    /// as they arrive. With no `tools` the model must answer in text. A completion with
    /// neither text nor a tool call is an error, never an empty answer.
    pub async fn complete_by(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        events: &dyn EventSink,
        deadline: Instant,
    ) -> Result<Completion, ModelError> {
        let mut tries = Tries::default();
        let mut stream = self.cfg.stream;
        let mut limits = Limits {
            idle: self.cfg.idle_timeout,
            turn: self.cfg.turn_timeout,
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.failures().deadline_passed());
            }
            let body = wire::request(&self.cfg, messages, tools, stream);
            let window = limits.turn.min(left);
            let result = match tokio::time::timeout(window, self.attempt(&body, events, limits))
                .await
            {
                Ok(r) => r,
                Err(_) if window < limits.turn => return Err(self.failures().deadline_passed()),
                Err(_) => Err(Attempt::with(
                    self.failures().timed_out(window),
                    Retry::Timeout,
                )),
            };
            let a = match result {
                Ok(c) => {
                    if let Some(usage) = c.usage {
                        events.event(Event::Usage(usage));
                    }
                    return Ok(c);
                }
                Err(a) => a,
            };
            let delay = match a.retry {
                Retry::No => return Err(a.error),
                Retry::Unstreamed if stream && !tries.unstreamed => {
                    tries.unstreamed = true;
                    stream = false;
                    Duration::ZERO
                }
                Retry::Unstreamed => return Err(a.error),
                Retry::Timeout if tries.timed_out => return Err(a.error),
                Retry::Timeout => {
                    tries.timed_out = true;
                    limits.idle = limits.idle.saturating_mul(2);
                    limits.turn = limits.turn.saturating_mul(2);
                    Duration::ZERO
                }
                Retry::Backoff => match self.backoff(&a, &mut tries) {
                    Some(d) => d,
                    None => return Err(a.error),
                },
            };
            if Instant::now() + delay >= deadline {
                return Err(a.error);
            }
            self.announce(&a, &tries, delay, stream, events);
            tokio::time::sleep(delay).await;
        }
    }

    /// The wait before the next try after a transient failure, if one is left.
    fn backoff(&self, a: &Attempt, tries: &mut Tries) -> Option<Duration> {
        if tries.backoffs >= self.retry.max_retries {
            return None;
        }
        let backoff = self
            .retry
            .base_delay
            .saturating_mul(2u32.saturating_pow(tries.backoffs))
            .min(self.retry.max_delay);
        let delay = match a.retry_after {
            Some(d) if d > self.retry.max_delay => return None,
            Some(d) => d,
            None => jitter(backoff),
        };
        tries.backoffs += 1;
        Some(delay)
    }

    fn announce(
        &self,
        a: &Attempt,
        tries: &Tries,
        delay: Duration,
        stream: bool,
        events: &dyn EventSink,
    ) {
        let how = match a.retry {
            Retry::Unstreamed => "; asking again without streaming".to_string(),
            Retry::Timeout => "; asking once more with twice the time".to_string(),
            _ => String::new(),
        };
        tracing::info!(
            "model request failed ({}){how}; retry in {:.1}s (stream {stream})",
            a.error,
            delay.as_secs_f64()
        );
        events.event(Event::Retrying {
            attempt: tries.backoffs + u32::from(tries.timed_out) + u32::from(tries.unstreamed),
            delay,
            reason: format!("{}{how}", a.error),
        });
    }

    async fn attempt(
        &self,
        body: &async_openai::types::chat::CreateChatCompletionRequest,
        events: &dyn EventSink,
        limits: Limits,
    ) -> Result<Completion, Attempt> {
        let mut req = self.http.post(self.endpoint()).json(body).header(
            reqwest::header::ACCEPT,
            "text/event-stream, application/json",
        );
        if let Some(key) = &self.cfg.api_key {
            req = req.bearer_auth(key.expose());
        }
        let idle = limits.idle;
        let resp = match tokio::time::timeout(idle, req.send()).await {
            Err(_) => {
                return Err(Attempt::with(
                    self.failures().timed_out(idle),
                    Retry::Timeout,
                ));
            }
            Ok(Err(e)) => return Err(self.failures().transport_error(&e)),
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
            return Err(self
                .failures()
                .status_error(status.as_u16(), &text, retry_after));
        }
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("text/event-stream"));
        let completion = if is_sse {
            super::stream::read(self.failures(), resp, events, idle).await?
        } else {
            // Not streamed (stream off, or a server that ignores `stream`): one JSON document.
            let bytes = match tokio::time::timeout(idle, resp.bytes()).await {
                Err(_) => {
                    return Err(Attempt::with(
                        self.failures().timed_out(idle),
                        Retry::Timeout,
                    ));
                }
                Ok(Err(e)) => return Err(self.failures().transport_error(&e)),
                Ok(Ok(b)) => b,
            };
            let mut c =
                parse_completion(&bytes).map_err(|m| Attempt::fail(self.failures().protocol(m)))?;
            c.content = clean_text(&c.content);
            if !c.content.is_empty() {
                events.event(Event::Text(&c.content));
            }
            c
        };
        if completion.content.trim().is_empty() && completion.tool_calls.is_empty() {
            let error = ModelError::Empty {
                url: self.cfg.base_url.clone(),
                finish: completion.finish_reason.clone(),
            };
            return Err(Attempt::with(error, Retry::Unstreamed));
        }
        Ok(completion)
    }

    /// How this endpoint's failures are worded and classified.
    pub(super) fn failures(&self) -> Failures<'_> {
        Failures { cfg: &self.cfg }
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
