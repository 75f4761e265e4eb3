//! A simulated Kubernetes API server that the real kubectl and kube-rs accept.
//!
//! [`Sandbox::start`] serves a [`Scenario`] over HTTP on 127.0.0.1; the [`sim`] module plays
//! the controllers, the scheduler and the kubelet so the cluster behaves, not just answers.

pub mod clock;
pub mod crd;
pub mod defaults;
pub mod error;
pub mod eviction;
pub mod faults;
pub mod fieldsel;
mod generated;
pub mod namespaces;
pub mod params;
pub mod rbac;
pub mod resources;
pub mod reviews;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod store;
pub mod validate;

pub use clock::Clock;
pub use error::ApiError;
pub use faults::Faults;
pub use scenario::Scenario;
pub use server::{Sandbox, SandboxOptions};

/// Errors of starting or loading a sandbox. Each reads as one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A scenario file or document is malformed.
    #[error("{file}: document {document}: {message}")]
    Scenario {
        /// The file (or built-in scenario name).
        file: String,
        /// 1-based document number within the file.
        document: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// No built-in scenario and no file by that name.
    #[error("unknown scenario \"{0}\": not a built-in (see `kai sandbox --list`) and no such file")]
    UnknownScenario(String),
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server could not bind its port.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
}
