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
