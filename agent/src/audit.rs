//! The audit log: one JSON line per write attempt (approved, denied, cancelled or failed),
//! masked and bounded in size.

use std::io::Write;
use std::path::{Path, PathBuf};

use kai_tools::Cluster;
use kai_tools::mask::mask_json;
use serde::Serialize;
use serde_json::Value;

use kai_tools::approval::Mode;

/// Longest string kept in an audit line's arguments; longer ones are cut, with their size.
const MAX_STRING: usize = 256;
/// Longest audit line: beyond it the arguments and the request are replaced by their size.
pub const MAX_LINE: usize = 8 * 1024;

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
    /// The MCP client that asked (its `clientInfo` name), for a call made through `kai mcp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Tool name.
    pub tool: String,
    /// Arguments as given (masked, long strings cut with their size).
    pub arguments: Value,
    /// `deployment shop/backend`, when known.
    pub target: Option<String>,
    /// The dry run's one-line summary, when it ran.
    pub summary: Option<String>,
    /// The exact request the plan sends (verb, body with the resourceVersion precondition).
    pub request: Option<Value>,
    /// `allowed`, `approved`, `denied`, `cancelled` (the prompt was interrupted), or `invalid`
    /// (validation or the dry run refused the call).
    pub decision: String,
    /// Why, for a denial.
    pub reason: Option<String>,
    /// `ok`, `error`, `conflict` (the target changed since the plan; planned again), or
    /// `not-run`.
    pub result: String,
    /// The error, when the write failed.
    pub error: Option<String>,
}

impl AuditEntry {
    /// The entry of a write attempt before any decision.
    pub fn new(cluster: &Cluster, mode: Mode, tool: &str, args: &Value) -> AuditEntry {
        let mut arguments = args.clone();
        mask_json(&mut arguments);
        AuditEntry {
            time: now(),
            context: cluster.context.clone(),
            server: cluster.server.clone(),
            mode: mode.to_string(),
            client: None,
            tool: tool.to_string(),
            arguments,
            target: None,
            summary: None,
            request: None,
            decision: String::new(),
            reason: None,
            result: "not-run".into(),
            error: None,
        }
    }

    /// The entry as one line: masked, every string bounded, and the whole line within
    /// [`MAX_LINE`] (arguments and request replaced by their size when still too long).
    pub fn line(&self) -> Result<String, serde_json::Error> {
        let mut v = serde_json::to_value(self)?;
        mask_json(&mut v);
        bound_strings(&mut v);
        let mut line = serde_json::to_string(&v)?;
        if line.len() > MAX_LINE {
            for key in ["arguments", "request"] {
                let size = v.get(key).map_or(0, |x| x.to_string().len());
                v[key] = Value::String(format!("(cut: {size} bytes)"));
            }
            line = serde_json::to_string(&v)?;
        }
        Ok(line)
    }
}

/// Cuts every string longer than [`MAX_STRING`] bytes, saying how long it was.
fn bound_strings(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > MAX_STRING => {
            let mut end = MAX_STRING;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            *s = format!("{}… ({} bytes)", &s[..end], s.len());
        }
        Value::Array(a) => a.iter_mut().for_each(bound_strings),
        Value::Object(o) => o.values_mut().for_each(bound_strings),
        _ => {}
    }
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
        let mut line = entry.line().map_err(std::io::Error::other)?;
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
