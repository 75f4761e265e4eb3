//! The shared vocabulary of pod-level problems: an [`Issue`] of one pod, and a reference a
//! pod makes to something that does not exist.

use crate::diagnosis::Severity;

/// One problem of one pod.
#[derive(Debug, Clone)]
pub(crate) struct Issue {
    pub severity: Severity,
    /// Kubernetes' word.
    pub reason: String,
    /// How deep a cause this is (higher wins when pods of a workload differ).
    pub rank: u8,
    /// The container concerned.
    pub container: Option<String>,
    /// What the pods do, as a verb phrase: `crash-loop: container api exits with code 1 (Error)`.
    pub what: String,
    /// Proven causes, deepest last: `its log says KeyError: 'DATABASE_URL'`.
    pub because: Vec<String>,
    pub evidence: Vec<String>,
    pub suggestion: String,
    pub related: Vec<String>,
    /// Config names the log says are missing.
    pub missing_env: Vec<String>,
    /// Whether a log tail backed this issue (preferred as the group's representative).
    pub has_log: bool,
    /// Found only in the log of a running pod (the pod itself looks healthy).
    pub log_only: bool,
    /// A Service without ready endpoints this container depends on: (namespace, name).
    pub depends_on: Option<(String, String)>,
    /// The log's host is a healthy Service and no cause was found beyond the line itself.
    pub target_ready: bool,
}

impl Issue {
    pub fn new(
        severity: Severity,
        reason: &str,
        rank: u8,
        container: Option<&str>,
        what: String,
    ) -> Issue {
        Issue {
            severity,
            reason: reason.to_string(),
            rank,
            container: container.map(str::to_string),
            what,
            because: Vec::new(),
            evidence: Vec::new(),
            suggestion: String::new(),
            related: Vec::new(),
            missing_env: Vec::new(),
            has_log: false,
            log_only: false,
            depends_on: None,
            target_ready: false,
        }
    }
}

/// A reference the pod makes to an object (or key) that does not exist.
pub(crate) struct MissingRef {
    /// `secret db has no key url (keys: host, user)`.
    pub text: String,
    /// `secret/db`.
    pub related: String,
    /// A next step.
    pub fix: String,
}
