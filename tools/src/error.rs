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
    /// The same error with secret-like values in its words masked (a server's message may
    /// quote a request or a log line).
    pub fn masked(&self) -> ToolError {
        let m = |s: &str| crate::mask::mask_text(s);
        match self {
            ToolError::InvalidArguments { tool, message } => ToolError::InvalidArguments {
                tool: tool.clone(),
                message: m(message),
            },
            ToolError::UnknownTool(t) => ToolError::UnknownTool(m(t)),
            ToolError::NotFound { message } => ToolError::NotFound {
                message: m(message),
            },
            ToolError::Forbidden(s) => ToolError::Forbidden(m(s)),
            ToolError::Unreachable {
                server,
                context,
                message,
            } => ToolError::Unreachable {
                server: m(server),
                context: context.clone(),
                message: m(message),
            },
            ToolError::Config(s) => ToolError::Config(m(s)),
            ToolError::Conflict(s) => ToolError::Conflict(m(s)),
            ToolError::Api(s) => ToolError::Api(m(s)),
        }
    }
}
