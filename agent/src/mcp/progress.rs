//! Progress and cancellation of one MCP request: while a call runs, a client that sent a
//! progress token hears that it started, a beat every second while it lasts (a `diagnose -A`
//! over a large cluster takes a while), and that it finished; a cancelled request drops the
//! call at once.

use std::future::Future;
use std::time::{Duration, Instant};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer};

/// How often a running call reports that it is still running.
const BEAT: Duration = Duration::from_secs(1);

/// Runs `work` for the request of `ctx`, reporting progress under `label` when the client
/// asked for it. `None` when the client cancelled the request (the call is dropped: a write
/// still waiting for approval is audited as cancelled by the gate).
pub async fn run<T>(
    ctx: &RequestContext<RoleServer>,
    label: &str,
    work: impl Future<Output = T>,
) -> Option<T> {
    let token = ctx.meta.get_progress_token();
    let reporter = Reporter {
        peer: ctx.peer.clone(),
        token,
    };
    let started = Instant::now();
    reporter.send(0.0, None, format!("{label}: started")).await;
    tokio::pin!(work);
    let mut beats = tokio::time::interval_at(tokio::time::Instant::now() + BEAT, BEAT);
    let mut n = 0.0;
    let out = loop {
        tokio::select! {
            out = &mut work => break Some(out),
            () = ctx.ct.cancelled() => break None,
            _ = beats.tick() => {
                n += 1.0;
                let secs = started.elapsed().as_secs();
                reporter.send(n, None, format!("{label}: running ({secs} s)")).await;
            }
        }
    };
    match &out {
        Some(_) => {
            reporter
                .send(n + 1.0, Some(n + 1.0), format!("{label}: done"))
                .await;
        }
        None => tracing::info!("{label}: cancelled by the client"),
    }
    out
}

struct Reporter {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
}

impl Reporter {
    async fn send(&self, progress: f64, total: Option<f64>, message: String) {
        let Some(token) = &self.token else {
            return;
        };
        let mut p = ProgressNotificationParam::new(token.clone(), progress).with_message(message);
        if let Some(t) = total {
            p = p.with_total(t);
        }
        if let Err(e) = self.peer.notify_progress(p).await {
            tracing::debug!("cannot send a progress notification: {e}");
        }
    }
}
