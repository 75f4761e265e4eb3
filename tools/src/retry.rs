//! The one retry and timeout layer under every API request kai sends: a per-attempt deadline,
//! bounded retries of throttled (429) and unavailable (5xx) answers with a capped
//! `Retry-After`, and a total retry budget, so no request can outlive the command's deadline.
//!
//! kube's own retry policy is switched off (see `cluster.rs`): stacked under this one it
//! multiplied the attempts, and it honours any `Retry-After` up to 1000 s.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use tower::{BoxError, Layer, Service, ServiceExt};

/// How long API requests may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One attempt: connecting, sending and the answer's headers; also the longest silence
    /// while reading a body.
    pub request: Duration,
    /// Most retries of one request.
    pub retries: u32,
    /// Longest wait a server's `Retry-After` can impose before one retry.
    pub max_retry_after: Duration,
    /// Total time one request may spend, retries and their waits included, before its last
    /// answer is taken as final.
    pub budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request: Duration::from_secs(30),
            retries: 4,
            max_retry_after: Duration::from_secs(5),
            budget: Duration::from_secs(20),
        }
    }
}

impl Limits {
    /// Limits that fit inside a command deadline of `total`: one attempt may take half of it
    /// (at most the default, at least 500 ms), retries a third.
    pub fn within(total: Duration) -> Limits {
        let d = Limits::default();
        Limits {
            request: (total / 2).clamp(Duration::from_millis(500), d.request),
            budget: (total / 3).clamp(Duration::from_millis(500), d.budget),
            ..d
        }
    }

    /// The wait before retry number `attempt` (0-based): exponential from 200 ms, or the
    /// server's `Retry-After` when longer, capped.
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = Duration::from_millis(200).saturating_mul(1 << attempt.min(8));
        retry_after
            .map_or(backoff, |r| r.max(backoff))
            .min(self.max_retry_after)
    }
}

/// An attempt that got no answer within [`Limits::request`].
#[derive(Debug, Clone, Copy)]
pub struct NoAnswer(pub Duration);

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no answer within {}", seconds(self.0))
    }
}

impl std::error::Error for NoAnswer {}

/// A duration as people read it: `3s`, `1.5s`, `500ms`.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Whether an answer with `status` to a `method` request is worth another attempt: a 429 or
/// 503 was not acted on, so any request may retry; other 5xx only when repeating is harmless.
fn retryable(method: &Method, status: StatusCode) -> bool {
    match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => true,
        StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::BAD_GATEWAY
        | StatusCode::GATEWAY_TIMEOUT => matches!(*method, Method::GET | Method::HEAD),
        _ => false,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not sent by API servers).
fn retry_after<B>(res: &Response<B>) -> Option<Duration> {
    res.headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A copy of a request for another attempt; None when its body cannot be replayed.
fn replay(req: &Request<Body>) -> Option<Request<Body>> {
    let body = req.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    *copy.extensions_mut() = req.extensions().clone();
    Some(copy)
}

/// The [`Layer`] that puts [`Retrying`] over kube's service stack.
#[derive(Debug, Clone, Copy)]
pub struct RetryLayer(pub Limits);

impl<S> Layer<S> for RetryLayer {
    type Service = Retrying<S>;

    fn layer(&self, inner: S) -> Retrying<S> {
        Retrying {
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
            limits: self.0,
        }
    }
}

/// The retrying, deadline-keeping service. The inner service sits behind a lock because a
/// retry calls it again from the response future; kube's client already dispatches one
/// request at a time, so the lock is never contended for long (it is held only to start a
/// call, never while waiting for its answer).
pub struct Retrying<S> {
    inner: Arc<tokio::sync::Mutex<S>>,
    limits: Limits,
}

impl<S> Clone for Retrying<S> {
    fn clone(&self) -> Self {
        Retrying {
            inner: Arc::clone(&self.inner),
            limits: self.limits,
        }
    }
}

impl<S, B> Service<Request<Body>> for Retrying<S>
where
    S: Service<Request<Body>, Response = Response<B>, Error = BoxError> + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness of the inner service is awaited per attempt, inside the future.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        let limits = self.limits;
        Box::pin(async move {
            let started = Instant::now();
            let mut req = req;
            let mut attempt = 0;
            loop {
                let method = req.method().clone();
                let spare = replay(&req);
                let answer = tokio::time::timeout(limits.request, async {
                    let call = {
                        let mut svc = inner.lock().await;
                        svc.ready().await?;
                        svc.call(req)
                    };
                    call.await
                })
                .await
                .map_err(|_| Box::new(NoAnswer(limits.request)) as BoxError)??;
                let Some(next) = spare.filter(|_| retryable(&method, answer.status())) else {
                    return Ok(answer);
                };
                let wait = limits.delay(attempt, retry_after(&answer));
                if attempt >= limits.retries || started.elapsed() + wait > limits.budget {
                    return Ok(answer);
                }
                drop(answer);
                tokio::time::sleep(wait).await;
                attempt += 1;
                req = next;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let l = Limits::default();
        assert_eq!(l.delay(0, None), Duration::from_millis(200));
        assert_eq!(l.delay(2, Some(Duration::ZERO)), Duration::from_millis(800));
        assert_eq!(
            l.delay(0, Some(Duration::from_secs(1000))),
            l.max_retry_after
        );
        assert_eq!(l.delay(30, None), l.max_retry_after);
    }

    #[test]
    fn limits_fit_inside_a_short_deadline() {
        let l = Limits::within(Duration::from_secs(3));
        assert_eq!(l.request, Duration::from_millis(1500));
        assert_eq!(l.budget, Duration::from_secs(1));
        assert_eq!(Limits::within(Duration::from_secs(3600)), Limits::default());
    }

    #[test]
    fn only_safe_answers_are_retried() {
        assert!(retryable(&Method::PATCH, StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable(&Method::DELETE, StatusCode::SERVICE_UNAVAILABLE));
        assert!(retryable(&Method::GET, StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!retryable(
            &Method::PATCH,
            StatusCode::INTERNAL_SERVER_ERROR
        ));
        assert!(!retryable(&Method::GET, StatusCode::NOT_FOUND));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(seconds(Duration::from_secs(3)), "3s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_millis(500)), "500ms");
    }
}
