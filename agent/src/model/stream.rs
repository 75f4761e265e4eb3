//! Reads a streamed (SSE) response with `eventsource-stream`: text deltas go to the events as
//! they arrive, every chunk is merged into one completion.

use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;
use serde_json::Value;

use super::accumulate::Accumulator;
use super::client::{Attempt, ModelClient};
use super::wire::{clip, error_message};
use crate::chat::Completion;
use crate::events::{Event, EventSink};

/// Reads `resp` as an event stream until `[DONE]` or its end.
///
/// The idle timeout is the longest wait for the next event. SSE comments (`: keep-alive`)
/// carry no event, so they do not count as progress: a server that only sends keep-alives
/// times out like a silent one.
pub(super) async fn read(
    client: &ModelClient,
    resp: reqwest::Response,
    events: &dyn EventSink,
) -> Result<Completion, Attempt> {
    let idle = client.config().idle_timeout;
    let mut stream = resp.bytes_stream().eventsource();
    let mut acc = Accumulator::default();
    // Once anything was shown or merged, a retry would duplicate it: fail instead.
    let mut started = false;
    loop {
        let event = match tokio::time::timeout(idle, stream.next()).await {
            Err(_) => {
                let mut a = client.timeout();
                a.retry &= !started;
                return Err(a);
            }
            Ok(None) => break,
            Ok(Some(Err(EventStreamError::Transport(e)))) if !started => {
                return Err(client.transport_error(&e));
            }
            Ok(Some(Err(e))) => {
                let mut a = Attempt::fail(client.protocol(format!("the stream broke: {e}")));
                a.retry = !started;
                return Err(a);
            }
            Ok(Some(Ok(event))) => event,
        };
        let data = event.data.trim();
        if data.is_empty() {
            continue;
        }
        if data == "[DONE]" {
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
            a.retry &= !started;
            return Err(a);
        }
        if let Some(text) = acc.apply_chunk(&v) {
            events.event(Event::Text(&text));
        }
        started |= acc.has_output();
    }
    Ok(acc.finish())
}
