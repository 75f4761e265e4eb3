//! Typed Kubernetes tools and the diagnosis engine; knows nothing of models or terminals.
//!
//! A [`Cluster`] wraps a kube client with the names a user knows it by. The tool registry
//! ([`registry`]) lists every tool with its effect and JSON schema and runs calls by name; the
//! [`diagnosis`] engine turns the cluster's state into findings chained to a root cause.

pub mod cluster;
pub mod diagnosis;
pub mod error;
pub mod registry;

pub use cluster::Cluster;
pub use error::ToolError;
