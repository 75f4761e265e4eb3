//! What `kai watch` prints: one line per finding opened, changed or resolved, per remediation,
//! and per change in the watch's own health; text for people or JSON lines for machines,
//! masked like every output of kai.

use std::io::Write;

use kai_tools::diagnosis::Finding;
use kai_tools::lease::Leadership;
use kai_tools::live::FeedEvent;
use kai_tools::mask_text;
use serde_json::{Value, json};

use super::diff::{Change, Transition};
use super::remediate::Action;

/// Prints the lines of a watch.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// JSON lines instead of text.
    pub json: bool,
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The finding with every text it quotes masked.
pub fn masked(f: &Finding) -> Finding {
    let mut f = f.clone();
    for s in [&mut f.reason, &mut f.message, &mut f.suggestion] {
        *s = mask_text(s);
    }
    for s in f.evidence.iter_mut().chain(f.related.iter_mut()) {
        *s = mask_text(s);
    }
    f
}

impl View {
    fn emit(&self, value: Value, text: &str) {
        let line = if self.json {
            let mut v = value;
            if let Value::Object(m) = &mut v {
                m.insert("time".into(), json!(now()));
            }
            v.to_string()
        } else {
            format!("{} {}", now(), mask_text(text))
        };
        let mut out = std::io::stdout().lock();
        // A closed pipe is the reader's choice; the watch goes on for its metrics and actions.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// A finding opened, changed or resolved.
    pub fn finding(&self, c: &Change) {
        let f = masked(&c.finding);
        let text = match c.transition {
            Transition::Resolved => format!("resolved {} {}", f.subject(), f.reason),
            t => format!(
                "{:<8} {:<8} {} {}: {}",
                t.as_str(),
                f.severity.as_str(),
                f.subject(),
                f.reason,
                f.message
            ),
        };
        self.emit(json!({"event": c.transition.as_str(), "finding": f}), &text);
    }

    /// A change in the health of the watches.
    pub fn feed(&self, e: &FeedEvent, objects: usize) {
        let (value, text) = match e {
            FeedEvent::Synced => (
                json!({"event": "synced", "objects": objects}),
                format!(
                    "watching: {objects} objects listed; findings follow as they open, change and resolve"
                ),
            ),
            FeedEvent::Lost { kind, message } => (
                json!({"event": "watch_lost", "kind": kind, "message": mask_text(message)}),
                format!("watch lost: {kind}: {message}; retrying with backoff"),
            ),
            FeedEvent::Recovered { kind, relisted } => (
                json!({"event": "watch_recovered", "kind": kind, "relisted": relisted}),
                format!(
                    "watch recovered: {kind}{}",
                    if *relisted { " (listed again)" } else { "" }
                ),
            ),
            FeedEvent::Unavailable { kind, message } => (
                json!({"event": "watch_unavailable", "kind": kind, "message": mask_text(message)}),
                format!("not watched: {kind}: {message}"),
            ),
            FeedEvent::Changed { .. } => return,
        };
        self.emit(value, &text);
    }

    /// A diagnosis pass that failed (the API is down): the findings stay as they were.
    pub fn diagnosis_failed(&self, message: &str) {
        self.emit(
            json!({"event": "diagnosis_failed", "message": mask_text(message)}),
            &format!("diagnosis failed: {message}; keeping the last findings, retrying"),
        );
    }

    /// A remediation tried, refused, skipped or reported (dry run).
    pub fn remediation(&self, a: &Action) {
        let mut value = serde_json::to_value(a).unwrap_or_else(|_| json!({}));
        if let Value::Object(m) = &mut value {
            m.insert("event".into(), json!("remediation"));
        }
        self.emit(value, &a.line());
    }

    /// This replica's part in the leader election: it leads (and remediates), or it follows
    /// (`holder` leads) and only watches and reports.
    pub fn leadership(&self, leads: bool, l: &Leadership, holder: Option<&str>) {
        let (lease, me) = (l.lease(), l.identity());
        let text = if leads {
            format!("leader: this replica ({me}) holds lease {lease}; it remediates")
        } else {
            format!(
                "follower: lease {lease} is held by {}; this replica ({me}) watches and reports, the leader remediates",
                holder.unwrap_or("no one yet")
            )
        };
        self.emit(
            json!({"event": "leadership", "leader": leads,
                "role": if leads { "leader" } else { "follower" },
                "lease": lease, "identity": me, "holder": if leads { Some(me) } else { holder }}),
            &text,
        );
    }

    /// The election stopped for good: this replica no longer remediates.
    pub fn election_ended(&self) {
        self.emit(
            json!({"event": "leadership", "leader": false, "role": "follower",
                "message": "leader election stopped; this replica no longer remediates"}),
            "follower: leader election stopped; this replica no longer remediates",
        );
    }

    /// An Event about a remediation could not be written.
    pub fn record_failed(&self, target: &str, message: &str) {
        self.emit(
            json!({"event": "record_failed", "target": target, "message": mask_text(message)}),
            &format!("event not recorded on {target}: {message}"),
        );
    }

    /// Where the metrics are served (port 0 picked one).
    pub fn serving(&self, addr: std::net::SocketAddr) {
        self.emit(
            json!({"event": "serving", "metrics": format!("http://{addr}/metrics")}),
            &format!("serving metrics on http://{addr}/metrics (/healthz, /readyz)"),
        );
    }

    /// The watch ends by itself (`--until-resolved`, `--exit-after`).
    pub fn done(&self, why: &str) {
        self.emit(
            json!({"event": "done", "reason": why}),
            &format!("done: {why}"),
        );
    }
}
