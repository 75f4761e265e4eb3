//! Piped stdin as extra context for a question: read only when it is not a terminal and not
//! declined, with a notice when it stays open, so a `while read` loop is never swallowed
//! silently.

use std::io::{IsTerminal, Read};
use std::time::Duration;

/// Most bytes of piped stdin taken as extra context.
const STDIN_LIMIT: u64 = 256 * 1024;

/// How long stdin may stay open before kai says it is waiting for it.
const NOTICE_AFTER: Duration = Duration::from_secs(1);

/// Reads piped stdin (`kubectl logs x | kai "what does this mean"`); None for a terminal,
/// for `--no-stdin`, and for empty input.
pub async fn read_piped(declined: bool) -> Option<String> {
    if declined || std::io::stdin().is_terminal() {
        return None;
    }
    let mut reading = tokio::task::spawn_blocking(|| {
        let mut buf = Vec::new();
        let _ = std::io::stdin().take(STDIN_LIMIT).read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let text = match tokio::time::timeout(NOTICE_AFTER, &mut reading).await {
        Ok(done) => done.ok()?,
        Err(_) => {
            errln!(
                "kai: reading stdin as context for the question until it ends (Ctrl-D); pass --no-stdin or < /dev/null to skip it"
            );
            reading.await.ok()?
        }
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
