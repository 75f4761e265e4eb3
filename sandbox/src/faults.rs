//! Fault injection: added latency, error rates, throttling and forbidden verbs (RBAC stand-in).

use serde::Deserialize;

/// Faults the API server injects into requests. Set in a scenario's `Settings` document
/// (`faults:`) or on the `kai sandbox` command line.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Added to every API request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Fraction (0.0 to 1.0) of API requests answered `500 InternalError`.
    #[serde(default)]
    pub error_rate: f64,
    /// Fraction (0.0 to 1.0) of API requests answered `429 TooManyRequests`.
    #[serde(default)]
    pub throttle_rate: f64,
    /// `Retry-After` seconds sent with a 429.
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u64,
    /// Requests refused with `403 Forbidden`, worded like RBAC.
    #[serde(default)]
    pub forbidden: Vec<ForbiddenRule>,
    /// Seed of the fault generator, so a run is repeatable.
    #[serde(default)]
    pub seed: u64,
}

fn default_retry_after() -> u64 {
    1
}

/// Refuses matching requests with `403 Forbidden`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForbiddenRule {
    /// Verbs refused (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`); empty = all.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Resources refused, by plural (`secrets`, `deployments`, `pods/log`); empty = all.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Namespaces where the rule applies; empty = all and cluster scope.
    #[serde(default)]
    pub namespaces: Vec<String>,
}
