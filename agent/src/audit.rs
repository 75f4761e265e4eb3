//! The audit log: one JSON line per write attempt (approved, denied or failed).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// One write attempt.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// RFC 3339 time of the attempt.
    pub time: String,
    /// Kube context.
    pub context: String,
    /// API server URL.
    pub server: String,
    /// Policy mode (`read-only`, `confirm`, `auto`).
    pub mode: String,
    /// Tool name.
    pub tool: String,
    /// Arguments as given.
    pub arguments: Value,
    /// `deployment shop/backend`, when known.
    pub target: Option<String>,
    /// The dry run's one-line summary, when it ran.
    pub summary: Option<String>,
    /// `allowed`, `approved`, `denied`, or `invalid` (the dry run refused the call).
    pub decision: String,
    /// Why, for a denial.
    pub reason: Option<String>,
    /// `ok`, `error`, or `not-run`.
    pub result: String,
    /// The error, when the write failed.
    pub error: Option<String>,
}

/// An append-only JSON-lines file.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// A log at `path` (created with its directories on the first write).
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    /// The default location: `$XDG_STATE_HOME/kai/audit.jsonl`, else
    /// `~/.local/state/kai/audit.jsonl`; `None` without either variable.
    pub fn default_path() -> Option<PathBuf> {
        state_dir().map(|d| d.join("audit.jsonl"))
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry as one line.
    pub fn append(&self, entry: &AuditEntry) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        // One write call per line so concurrent kai processes do not interleave within a line.
        f.write_all(line.as_bytes())
    }
}

/// Now, as RFC 3339.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// kai's state directory: `$XDG_STATE_HOME/kai`, else `~/.local/state/kai` (audit log, history).
pub fn state_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .map(|d| d.join("kai"))
}
