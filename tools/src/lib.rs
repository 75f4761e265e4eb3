//! Typed Kubernetes tools and the diagnosis engine; knows nothing of models or terminals.
//!
//! A [`Cluster`] wraps a kube client with the names a user knows it by. The tool registry
//! ([`registry`]) lists every tool with its effect and JSON schema and runs calls by name; the
//! [`diagnosis`] engine turns the cluster's state into findings chained to a root cause.
//! Shared helpers: [`kinds`] (kubectl's kind names), [`mask`] (secrets out of any text),
//! [`mod@format`] (tables, ages, byte budgets), [`k8s`] (raw-JSON get/list with worded errors).
//! Read-only facts for the offline router: [`inventory`] (every name in the cluster),
//! [`history`] (rollouts and a timeline of changes), [`workloads`] (replicas, images,
//! restarts), [`usage`] (requests, limits and use). For `kai watch`: [`live`] (change feeds),
//! [`lease`] (leader election), [`record`] (Events about what kai did).

pub mod approval;
pub mod cluster;
pub mod contract;
pub mod diagnosis;
pub mod error;
pub mod format;
pub mod history;
pub mod inventory;
pub mod k8s;
pub mod kinds;
pub mod lease;
pub mod live;
pub mod mask;
pub mod names;
pub mod pods;
pub mod record;
pub mod registry;
pub mod resolve;
pub mod retry;
pub mod scope_names;
pub mod suggest;
pub mod tools;
pub mod usage;
pub mod workloads;

pub use cluster::Cluster;
pub use contract::{Effect, ToolOutput, ToolSpec, WritePlan};
pub use error::ToolError;
pub use kinds::{Kind, resolve_kind};
pub use mask::{is_secret_like_name, mask_text};
pub use registry::{plan_write, run, spec, specs};
