//! Moments of the simulation: arithmetic on timestamps and their RFC 3339 form in objects.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::clock::rfc3339;

/// `t + secs`, saturating.
pub fn plus(t: Timestamp, secs: f64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs_f64(secs))
        .unwrap_or(t)
}

/// Seconds from `a` to `b` (negative if `b` is earlier).
pub fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    b.duration_since(a).as_secs_f64()
}

/// Parses an RFC 3339 timestamp field.
pub fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|t| t.parse().ok())
}

/// A timestamp as Kubernetes writes it.
pub fn time(t: Timestamp) -> Value {
    json!(rfc3339(t))
}
