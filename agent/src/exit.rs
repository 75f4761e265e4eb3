//! Exit codes of the command-line contract and the error that ends a run with one of them.

/// Answered / nothing at or above --fail-on.
pub const OK: u8 = 0;
/// Runtime failure / findings at or above --fail-on.
pub const FAILURE: u8 = 1;
/// Usage or configuration error / could not check.
pub const USAGE: u8 = 2;
/// A change was needed but not approved.
pub const DENIED: u8 = 4;
/// The step limit was reached without an answer.
pub const STEP_LIMIT: u8 = 5;

/// An error that ends the run with a chosen exit code and one line on stderr.
#[derive(Debug)]
pub struct Fail {
    /// Exit code.
    pub code: u8,
    /// The line to print.
    pub message: String,
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// A usage or configuration error (exit 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Fail {
        code: USAGE,
        message: message.into(),
    }
    .into()
}
