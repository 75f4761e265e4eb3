//! `--webhook URL`: Slack-compatible notifications (`{"text": "..."}` posted as JSON) when a
//! finding opens or resolves and when a remediation is done, refused or fails. A finding is
//! posted once while it stays open (its resolution once, if its opening was posted); texts are
//! masked like every output. Posting never holds the watch up: lines go through a bounded
//! queue to a background task that tries each at most [`ATTEMPTS`] times; a full queue drops
//! the newest line and counts it.

use std::collections::BTreeSet;
use std::time::Duration;

use kai_tools::mask_text;
use serde_json::json;
use tokio::sync::mpsc;

use super::diff::{Change, Key, Transition, key};
use super::metrics;
use super::remediate::Action;
use super::view::masked;

/// Tries per notification (the first and two retries).
const ATTEMPTS: u32 = 3;
/// Time one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ending watch waits for its last notifications.
const CLOSE: Duration = Duration::from_secs(15);
/// Notifications waiting to be posted before new ones are dropped.
const QUEUE: usize = 256;

/// Posts the notifications of a watch.
pub struct Notifier {
    tx: mpsc::Sender<String>,
    task: tokio::task::JoinHandle<()>,
    posted: Posted,
    metrics: metrics::Shared,
}

/// The webhook's address without its path, which may hold a token (Slack's does).
fn origin(url: &reqwest::Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    )
}

impl Notifier {
    /// Checks the URL and starts the posting task.
    pub fn start(url: &str, metrics: metrics::Shared) -> anyhow::Result<Notifier> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                crate::usage("--webhook needs an http:// or https:// URL (Slack's incoming webhook, or anything that takes {\"text\": ...})")
            })?;
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("--webhook: cannot build an HTTP client: {e}"))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(deliver(client, parsed, rx, metrics.clone()));
        Ok(Notifier {
            tx,
            task,
            posted: Posted::default(),
            metrics,
        })
    }

    fn send(&self, text: String) {
        if self.tx.try_send(mask_text(&text)).is_err()
            && let Ok(mut m) = self.metrics.lock()
        {
            m.notified("dropped");
        }
    }

    /// A finding's transition: openings once while open, resolutions of what was posted.
    pub fn finding(&mut self, c: &Change) {
        if let Some(text) = self.posted.text(c) {
            self.send(text);
        }
    }

    /// Posts what is still queued, within [`CLOSE`], as the watch ends.
    pub async fn close(self) {
        let Notifier { tx, task, .. } = self;
        drop(tx);
        let _ = tokio::time::timeout(CLOSE, task).await;
    }

    /// A remediation done, planned, refused, skipped or failed.
    pub fn remediation(&self, a: &Action) {
        self.send(format!("kai: {}", a.line()));
    }
}

/// The findings whose opening was posted and that are still open.
#[derive(Debug, Default)]
pub struct Posted(BTreeSet<Key>);

impl Posted {
    /// The text to post for a transition, if any: an opening not posted yet, or the
    /// resolution of one that was; nothing for a change of wording.
    pub fn text(&mut self, c: &Change) -> Option<String> {
        let f = masked(&c.finding);
        let k = key(&c.finding);
        match c.transition {
            Transition::Opened if self.0.insert(k.clone()) => Some(format!(
                "kai: opened {} {} {}: {}",
                f.severity.as_str(),
                f.subject(),
                f.reason,
                f.message
            )),
            Transition::Resolved if self.0.remove(&k) => {
                Some(format!("kai: resolved {} {}", f.subject(), f.reason))
            }
            _ => None,
        }
    }
}

/// Posts each queued text, retrying a failed post after 1 s and 2 s.
async fn deliver(
    client: reqwest::Client,
    url: reqwest::Url,
    mut rx: mpsc::Receiver<String>,
    metrics: metrics::Shared,
) {
    while let Some(text) = rx.recv().await {
        let body = json!({ "text": text });
        let mut result = "failed";
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
            }
            match client.post(url.clone()).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    result = "ok";
                    break;
                }
                // A refusal that a retry cannot change (a wrong or revoked URL).
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    tracing::warn!("webhook {}: HTTP {}", origin(&url), r.status());
                    break;
                }
                Ok(r) => tracing::warn!("webhook {}: HTTP {}", origin(&url), r.status()),
                Err(e) => tracing::warn!(
                    "webhook {}: {}",
                    origin(&url),
                    mask_text(&e.without_url().to_string())
                ),
            }
        }
        if let Ok(mut m) = metrics.lock() {
            m.notified(result);
        }
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
