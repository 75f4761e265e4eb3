//! Per-command deadlines: how long a question or a health check may take in all (`--timeout`,
//! else a default per command), and the one line kai ends with when the time runs out.

use std::future::Future;
use std::time::Duration;

use kai_tools::retry::{Limits, seconds};

use crate::cli::Global;
use crate::exit::Fail;
use crate::health::HealthArgs;

/// A question's default deadline: room for a model's whole tool-calling loop.
const QUESTION: Duration = Duration::from_secs(10 * 60);
/// A health check's default deadline without `--wait`.
const HEALTH: Duration = Duration::from_secs(2 * 60);
/// Beyond `--wait`, the time the last check and the report may take before kai gives up.
const AFTER_WAIT: Duration = Duration::from_secs(30);

/// The deadline of a question.
pub fn question(global: &Global) -> Duration {
    global.timeout.unwrap_or(QUESTION)
}

/// The deadline of `kai health`: `--timeout`, else `--wait` plus the last check, else the
/// default.
pub fn health(global: &Global, args: &HealthArgs) -> Duration {
    global
        .timeout
        .unwrap_or_else(|| args.wait.map_or(HEALTH, |w| w + AFTER_WAIT))
}

/// The API request limits that fit inside a command's deadline; `--wait` bounds them too, so
/// one hung request cannot outlast the wait.
pub fn limits(total: Duration, wait: Option<Duration>) -> Limits {
    Limits::within(wait.map_or(total, |w| w.min(total)))
}

/// Runs `work` within `limit`; when the time runs out, ends the run with exit `code` and one
/// line naming the deadline and `who` did not answer.
pub async fn within<T>(
    limit: Duration,
    code: u8,
    who: &str,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(Fail {
            code,
            message: format!(
                "no answer within {} (--timeout): {who} did not respond in time; check {}, or allow more with --timeout",
                seconds(limit),
                if who.contains(" or ") { "them" } else { "it" }
            ),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_command_past_its_deadline_ends_in_one_line_with_its_code() {
        let never = std::future::pending::<anyhow::Result<()>>();
        let e = within(Duration::from_millis(50), 2, "the cluster", never)
            .await
            .expect_err("times out");
        let fail = e.downcast_ref::<Fail>().expect("a Fail");
        assert_eq!(fail.code, 2);
        assert_eq!(
            fail.message,
            "no answer within 50ms (--timeout): the cluster did not respond in time; check it, or allow more with --timeout"
        );
    }

    #[test]
    fn wait_bounds_the_request_limits() {
        let l = limits(Duration::from_secs(600), Some(Duration::from_secs(4)));
        assert_eq!(l.request, Duration::from_secs(2));
    }
}
