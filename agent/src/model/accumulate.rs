//! Merges a response's pieces into one [`Completion`]: streamed deltas, or a whole message.
//!
//! Tool-call deltas are merged by `index`, which copes with servers that repeat the id and name
//! in every delta (llama.cpp) or send a whole call in one chunk with no finish reason (some
//! Ollama versions).

use serde_json::Value;

use crate::chat::{Completion, ToolCall, Usage};

#[derive(Debug, Default, Clone)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Merges streamed deltas into one completion.
#[derive(Debug, Default)]
pub struct Accumulator {
    pub(super) content: String,
    calls: Vec<PartialCall>,
    /// `index` → position in `calls` of the latest call with that index.
    by_index: Vec<(u64, usize)>,
    pub(super) finish_reason: Option<String>,
    /// Token counts, from the chunk that carries them (often the last, with no choices).
    pub(super) usage: Option<Usage>,
}

impl Accumulator {
    /// Bytes merged so far (text, tool names and arguments) plus one for a finish reason: it
    /// grows with every chunk that brings something.
    pub fn size(&self) -> usize {
        self.content.len()
            + self
                .calls
                .iter()
                .map(|c| c.name.len() + c.arguments.len() + c.id.len())
                .sum::<usize>()
            + usize::from(self.finish_reason.is_some())
    }

    /// Whether any text or tool call has been merged.
    pub fn has_output(&self) -> bool {
        !self.content.is_empty() || !self.calls.is_empty()
    }

    /// Merges one chunk; returns its text delta, if any.
    pub fn apply_chunk(&mut self, chunk: &Value) -> Option<String> {
        if let Some(u) = chunk.get("usage").and_then(Usage::from_json) {
            self.usage = Some(u);
        }
        let choice = chunk.get("choices")?.get(0)?;
        if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(r.to_string());
        }
        // `delta` normally; a few servers send a whole `message` in the last chunk.
        let delta = choice.get("delta").or_else(|| choice.get("message"))?;
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for (pos, c) in calls.iter().enumerate() {
                self.merge_call(pos, c);
            }
        }
        let text = delta.get("content").and_then(Value::as_str)?;
        if text.is_empty() {
            return None;
        }
        self.content.push_str(text);
        Some(text.to_string())
    }

    pub(super) fn merge_call(&mut self, pos: usize, c: &Value) {
        let index = c.get("index").and_then(Value::as_u64).unwrap_or(pos as u64);
        let id = c.get("id").and_then(Value::as_str).unwrap_or("");
        let func = c.get("function");
        let name = func
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let args = match func.and_then(|f| f.get("arguments")) {
            Some(Value::String(s)) => s.clone(),
            // Some servers send the arguments as an object rather than JSON text.
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => String::new(),
        };
        let slot = self
            .by_index
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| *p);
        let slot = match slot {
            // A different id at a known index is a new call (servers that reuse index 0).
            Some(p) if !id.is_empty() && !self.calls[p].id.is_empty() && self.calls[p].id != id => {
                None
            }
            other => other,
        };
        let p = match slot {
            Some(p) => p,
            None => {
                self.calls.push(PartialCall::default());
                let p = self.calls.len() - 1;
                self.by_index.retain(|(i, _)| *i != index);
                self.by_index.push((index, p));
                p
            }
        };
        let call = &mut self.calls[p];
        if call.id.is_empty() {
            call.id = id.to_string();
        }
        if !name.is_empty() && call.name != name {
            // Names normally come whole; repeated (llama.cpp) they are equal and skipped above.
            if call.name.is_empty() || !call.name.ends_with(name) {
                call.name.push_str(name);
            }
        }
        if !args.is_empty() {
            let complete = !call.arguments.is_empty()
                && serde_json::from_str::<Value>(&call.arguments).is_ok();
            // A server that repeats the whole arguments at the end must not double them.
            if !(complete && args == call.arguments) {
                call.arguments.push_str(&args);
            }
        }
    }

    /// The merged completion; calls without a name are dropped, missing ids generated.
    pub fn finish(self) -> Completion {
        let mut seen: Vec<String> = Vec::new();
        let mut tool_calls = Vec::new();
        for (n, c) in self.calls.into_iter().enumerate() {
            if c.name.trim().is_empty() {
                continue;
            }
            let mut id = if c.id.is_empty() {
                format!("call_{n}")
            } else {
                c.id
            };
            // Every id must be unique so each gets exactly one answer.
            while seen.contains(&id) {
                id.push_str("_dup");
            }
            seen.push(id.clone());
            tool_calls.push(ToolCall {
                id,
                name: c.name.trim().to_string(),
                arguments: c.arguments,
            });
        }
        Completion {
            content: self.content,
            tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
        }
    }
}
