//! Reads a streamed (SSE) response with `eventsource-stream`: text deltas go to the events as
//! they arrive, cleaned of template tokens, and every chunk is merged into one completion.

use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;
use serde_json::Value;
use tokio::time::Instant;

use super::accumulate::Accumulator;
use super::attempt::{Attempt, Failures, Retry};
use super::hygiene::TextFilter;
use super::wire::{clip, error_message};
use crate::chat::Completion;
use crate::events::{Event, EventSink};

/// Reads `resp` as an event stream until `[DONE]` or its end.
///
/// `idle` is the longest time without progress: a new piece of text or of a tool call, or a
/// finish reason. SSE comments (`: keep-alive`) and chunks that add nothing do not count, so a
/// server that only sends keep-alives times out like a silent one. A stream that ends with
/// neither `[DONE]` nor a finish reason was cut: it is an error, never a short answer.
pub(super) async fn read(
    client: Failures<'_>,
    resp: reqwest::Response,
    events: &dyn EventSink,
    idle: Duration,
) -> Result<Completion, Attempt> {
    let mut stream = resp.bytes_stream().eventsource();
    let mut acc = Accumulator::default();
    let mut filter = TextFilter::default();
    let mut shown = String::new();
    let mut done = false;
    let mut last_progress = Instant::now();
    loop {
        let event = match tokio::time::timeout_at(last_progress + idle, stream.next()).await {
            // Once something was shown, a retry would show it twice: fail instead.
            Err(_) if acc.has_output() => return Err(Attempt::fail(client.timed_out(idle))),
            Err(_) => return Err(Attempt::with(client.timed_out(idle), Retry::Timeout)),
            Ok(None) => break,
            Ok(Some(Err(EventStreamError::Transport(e)))) if !acc.has_output() => {
                return Err(client.transport_error(&e));
            }
            Ok(Some(Err(e))) => {
                let error = client.protocol(format!("the stream broke: {e}"));
                return Err(Attempt::with(error, Retry::Unstreamed));
            }
            Ok(Some(Ok(event))) => event,
        };
        let data = event.data.trim();
        if data.is_empty() {
            continue;
        }
        if data == "[DONE]" {
            done = true;
            break;
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            Attempt::fail(client.protocol(format!(
                "unreadable stream chunk ({e}): {}",
                clip(data, 200)
            )))
        })?;
        if let Some(err) = v.get("error") {
            let msg = error_message(err);
            let code = err.get("code").and_then(Value::as_u64).unwrap_or(500);
            let mut a = client.status_error(u16::try_from(code).unwrap_or(500), &msg, None);
            if acc.has_output() && a.retry != Retry::No {
                a.retry = Retry::Unstreamed;
            }
            return Err(a);
        }
        let before = acc.size();
        if let Some(text) = acc.apply_chunk(&v) {
            let clean = filter.push(&text);
            if !clean.is_empty() {
                events.event(Event::Text(&clean));
                shown.push_str(&clean);
            }
        }
        if acc.size() != before {
            last_progress = Instant::now();
            events.event(Event::Received { bytes: acc.size() });
        }
        if filter.ended() {
            // The model started writing the user's next turn: the answer is complete, and
            // closing the connection lets the server stop generating.
            done = true;
            break;
        }
    }
    let rest = filter.finish();
    if !rest.is_empty() {
        events.event(Event::Text(&rest));
        shown.push_str(&rest);
    }
    let mut completion = acc.finish();
    if !done && completion.finish_reason.is_none() {
        let error = client.protocol(
            "the stream ended before its end (no [DONE] and no finish reason)".to_string(),
        );
        return Err(Attempt::with(error, Retry::Unstreamed));
    }
    completion.content = shown;
    Ok(completion)
}
