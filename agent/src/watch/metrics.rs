//! `--metrics-addr`: Prometheus text metrics of a watch (open findings, diagnosis latency,
//! watch restarts, remediations) and the probes `/healthz` (the process serves) and `/readyz`
//! (every watch has listed once), and whether this replica leads (`kai_leader`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kai_tools::diagnosis::Finding;

/// Upper bounds of the diagnosis latency histogram, in seconds.
const BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The numbers a scrape reads.
#[derive(Debug, Default)]
pub struct Metrics {
    ready: bool,
    /// This replica may act: it leads, or there is no election.
    leader: bool,
    /// (namespace, kind, reason, severity) → open findings.
    findings: BTreeMap<(String, String, String, String), u64>,
    /// Count per bucket (cumulative when written), then +Inf.
    latency_buckets: Vec<u64>,
    latency_sum: f64,
    latency_count: u64,
    /// kind → watch restarts.
    restarts: BTreeMap<String, u64>,
    /// (action, result) → remediations.
    remediations: BTreeMap<(String, String), u64>,
    /// result → webhook notifications.
    notifications: BTreeMap<String, u64>,
}

/// Metrics shared by the watch loop and the server.
pub type Shared = Arc<Mutex<Metrics>>;

impl Metrics {
    /// Every watch has listed once.
    pub fn set_ready(&mut self) {
        self.ready = true;
    }

    /// Whether this replica leads (always, without leader election).
    pub fn set_leader(&mut self, leads: bool) {
        self.leader = leads;
    }

    /// The open findings now.
    pub fn set_findings<'a>(&mut self, open: impl Iterator<Item = &'a Finding>) {
        self.findings.clear();
        for f in open {
            *self
                .findings
                .entry((
                    f.namespace.clone(),
                    f.kind.clone(),
                    f.reason.clone(),
                    f.severity.as_str().to_string(),
                ))
                .or_default() += 1;
        }
    }

    /// One diagnosis pass took `d`.
    pub fn observe_diagnosis(&mut self, d: Duration) {
        if self.latency_buckets.is_empty() {
            self.latency_buckets = vec![0; BUCKETS.len() + 1];
        }
        let s = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS.len());
        if let Some(c) = self.latency_buckets.get_mut(i) {
            *c += 1;
        }
        self.latency_sum += s;
        self.latency_count += 1;
    }

    /// A watch of `kind` was lost (and restarts).
    pub fn watch_restarted(&mut self, kind: &str) {
        *self.restarts.entry(kind.to_string()).or_default() += 1;
    }

    /// A remediation ended with `result`.
    pub fn remediated(&mut self, action: &str, result: &str) {
        *self
            .remediations
            .entry((action.to_string(), result.to_string()))
            .or_default() += 1;
    }

    /// A webhook notification ended with `result` (`ok`, `failed`, `dropped`).
    pub fn notified(&mut self, result: &str) {
        *self.notifications.entry(result.to_string()).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        o.push_str(
            "# HELP kai_findings Open findings of the watched scope.\n# TYPE kai_findings gauge\n",
        );
        for ((ns, kind, reason, sev), n) in &self.findings {
            o.push_str(&format!(
                "kai_findings{{namespace=\"{}\",kind=\"{}\",reason=\"{}\",severity=\"{}\"}} {n}\n",
                esc(ns),
                esc(kind),
                esc(reason),
                esc(sev)
            ));
        }
        o.push_str("# HELP kai_diagnosis_duration_seconds Time of one diagnosis pass.\n# TYPE kai_diagnosis_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.latency_buckets.get(i).copied().unwrap_or(0);
            o.push_str(&format!(
                "kai_diagnosis_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}\n"
            ));
        }
        o.push_str(&format!(
            "kai_diagnosis_duration_seconds_bucket{{le=\"+Inf\"}} {}\nkai_diagnosis_duration_seconds_sum {}\nkai_diagnosis_duration_seconds_count {}\n",
            self.latency_count, self.latency_sum, self.latency_count
        ));
        o.push_str("# HELP kai_watch_restarts_total Watches lost and restarted, by kind.\n# TYPE kai_watch_restarts_total counter\n");
        for (kind, n) in &self.restarts {
            o.push_str(&format!(
                "kai_watch_restarts_total{{kind=\"{}\"}} {n}\n",
                esc(kind)
            ));
        }
        o.push_str("# HELP kai_remediations_total Remediations by action and result.\n# TYPE kai_remediations_total counter\n");
        for ((action, result), n) in &self.remediations {
            o.push_str(&format!(
                "kai_remediations_total{{action=\"{}\",result=\"{}\"}} {n}\n",
                esc(action),
                esc(result)
            ));
        }
        o.push_str("# HELP kai_notifications_total Webhook notifications by result.\n# TYPE kai_notifications_total counter\n");
        for (result, n) in &self.notifications {
            o.push_str(&format!(
                "kai_notifications_total{{result=\"{}\"}} {n}\n",
                esc(result)
            ));
        }
        o.push_str(&format!(
            "# HELP kai_watch_ready Whether every watch has listed once.\n# TYPE kai_watch_ready gauge\nkai_watch_ready {}\n",
            u8::from(self.ready)
        ));
        o.push_str(&format!(
            "# HELP kai_leader Whether this replica may remediate: 1 when it holds the lease (or runs without --leader-elect), 0 when it follows.\n# TYPE kai_leader gauge\nkai_leader {}\n",
            u8::from(self.leader)
        ));
        o
    }
}

/// A label value escaped as the exposition format wants.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Binds `addr` and serves the metrics and probes in the background; returns the bound
/// address (port 0 picks one).
pub async fn serve(addr: SocketAddr, metrics: Shared) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        crate::usage(format!(
            "cannot serve metrics on {addr}: {e}; choose another --metrics-addr"
        ))
    })?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(metrics);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("metrics server stopped: {e}");
        }
    });
    Ok(bound)
}

async fn scrape(State(m): State<Shared>) -> impl IntoResponse {
    let text = m.lock().map(|m| m.render()).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

async fn ready(State(m): State<Shared>) -> impl IntoResponse {
    if m.lock().is_ok_and(|m| m.ready) {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the watches have not listed every kind yet\n",
        )
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
