//! Errors of tools: each reads as one line saying what failed, on what, and what to do.

/// An error from a tool call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not fit the tool's schema; sent back to a model so it can correct them.
    #[error("invalid arguments for {tool}: {message}")]
    InvalidArguments {
        /// The tool called.
        tool: String,
        /// What is wrong.
        message: String,
    },
    /// No tool by that name.
    #[error("unknown tool \"{0}\"")]
    UnknownTool(String),
    /// The object does not exist (with a close name, if any).
    #[error("{message}")]
    NotFound {
        /// e.g. `deployment "backnd" not found in namespace "shop"; did you mean "backend"?`
        message: String,
    },
    /// The API server refused the request (RBAC).
    #[error("{0}")]
    Forbidden(String),
    /// The API server could not be reached.
    #[error("cannot reach the Kubernetes API at {server} (context \"{context}\"): {message}")]
    Unreachable {
        /// Server URL.
        server: String,
        /// Context name.
        context: String,
        /// Cause.
        message: String,
    },
    /// Loading the kubeconfig or context failed.
    #[error("{0}")]
    Config(String),
    /// The target changed since the write was planned (409): plan again and ask again.
    #[error("{0}")]
    Conflict(String),
    /// Any other API error, as the server worded it.
    #[error("{0}")]
    Api(String),
}

impl ToolError {
    /// Words a failed API call: `verb` on `resource` (plural, e.g. `secrets`, `pods/log`) in
    /// `namespace` (None: cluster scope or all namespaces). 403 names the refused verb and
    /// resource; transport failures name the server and context.
    pub fn from_kube(
        err: kube::Error,
        cluster: &crate::Cluster,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> ToolError {
        let place = match namespace {
            Some(ns) => format!("in namespace \"{ns}\""),
            None => "at cluster scope".to_string(),
        };
        match err {
            kube::Error::Api(status) => match status.code {
                403 => ToolError::Forbidden(format!(
                    "forbidden: cannot {verb} {resource} {place} (RBAC)"
                )),
                401 => ToolError::Config(format!(
                    "unauthorized: the API server {} rejected the credentials of context \"{}\"; log in again or pick another --context",
                    cluster.server, cluster.context
                )),
                409 => ToolError::Conflict(format!(
                    "{verb} {resource} {place}: the object changed since it was read ({})",
                    if status.message.is_empty() {
                        "conflict"
                    } else {
                        status.message.as_str()
                    }
                )),
                404 => ToolError::NotFound {
                    message: if status.message.is_empty() {
                        format!("{resource} not found {place}")
                    } else {
                        status.message.clone()
                    },
                },
                code => ToolError::Api(format!(
                    "{verb} {resource} {place} failed: {} ({code}{})",
                    if status.message.is_empty() {
                        "no message from the server"
                    } else {
                        status.message.as_str()
                    },
                    if status.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", status.reason)
                    }
                )),
            },
            kube::Error::SerdeError(e) => ToolError::Api(format!(
                "{verb} {resource} {place}: unreadable answer from the API server: {e}"
            )),
            kube::Error::BuildRequest(e) => {
                ToolError::Api(format!("{verb} {resource} {place}: bad request: {e}"))
            }
            other => ToolError::Unreachable {
                server: cluster.server.clone(),
                context: cluster.context.clone(),
                message: other.to_string(),
            },
        }
    }

    /// The HTTP-like status this error stands for, for callers that branch on it.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ToolError::NotFound { .. })
    }
}
