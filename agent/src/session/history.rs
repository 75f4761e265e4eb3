//! The conversation of a session and its context budget: every message in order, and beside
//! them the bookkeeping of tool outputs, so the oldest can be shrunk when the conversation
//! outgrows its budget.

use std::collections::HashSet;

use crate::chat::Message;

/// Bookkeeping of one tool message in the history.
#[derive(Debug, Clone)]
struct ToolRecord {
    /// Position of the message in the history.
    index: usize,
    /// `get_logs(pod=…)`, for the shrink note and the step-limit summary.
    label: String,
    size: usize,
    shrunk: bool,
    /// The call's key in the session's answered set ("" for calls that did not run).
    repeat_key: String,
    /// The model turn that asked for it.
    turn: usize,
}

/// The messages of a conversation with their tool-output bookkeeping.
#[derive(Debug, Default)]
pub(super) struct History {
    messages: Vec<Message>,
    outputs: Vec<ToolRecord>,
}

impl History {
    /// Every message, in order.
    pub(super) fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub(super) fn len(&self) -> usize {
        self.messages.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.messages.clear();
        self.outputs.clear();
    }

    pub(super) fn push(&mut self, m: Message) {
        self.messages.push(m);
    }

    /// Whether any tool output is in the conversation (this question's or an earlier one's).
    pub(super) fn has_outputs(&self) -> bool {
        !self.outputs.is_empty()
    }

    /// The number of the next model turn's tool outputs.
    pub(super) fn next_turn(&self) -> usize {
        self.outputs.last().map_or(0, |t| t.turn + 1)
    }

    /// Adds the answer to one tool call.
    pub(super) fn push_output(
        &mut self,
        turn: usize,
        call_id: &str,
        content: String,
        label: String,
        repeat_key: String,
    ) {
        self.outputs.push(ToolRecord {
            index: self.messages.len(),
            label,
            size: content.len(),
            shrunk: false,
            repeat_key,
            turn,
        });
        self.messages.push(Message::Tool {
            call_id: call_id.to_string(),
            content,
        });
    }

    /// Drops every message after the first `len`, with the bookkeeping that points into them.
    pub(super) fn truncate(&mut self, len: usize) {
        self.messages.truncate(len);
        self.outputs.retain(|t| t.index < len);
    }

    /// The keys of the calls whose outputs are still in the conversation.
    pub(super) fn repeat_keys(&self) -> HashSet<&str> {
        self.outputs.iter().map(|t| t.repeat_key.as_str()).collect()
    }

    /// Keeps tool outputs within `budget` bytes: the oldest are replaced by a one-line summary.
    /// Returns the keys of the shrunk calls (they may be asked for again).
    pub(super) fn fit(&mut self, budget: usize) -> Vec<String> {
        let mut total: usize = self
            .outputs
            .iter()
            .filter(|t| !t.shrunk)
            .map(|t| t.size)
            .sum();
        let mut shrunk = Vec::new();
        if total <= budget {
            return shrunk;
        }
        // The newest turn's outputs are never shrunk: the model has not seen them yet.
        let newest = self.outputs.last().map_or(0, |t| t.turn);
        for t in self.outputs.iter_mut().filter(|t| t.turn < newest) {
            if total <= budget {
                break;
            }
            if t.shrunk {
                continue;
            }
            let Some(Message::Tool { content, .. }) = self.messages.get_mut(t.index) else {
                continue;
            };
            let summary = format!(
                "[output of {} shrunk to save context ({} bytes); it began: {}] Call the tool again if you need it.",
                t.label,
                t.size,
                clip_bytes(first_line(content), 160)
            );
            total = total - t.size + summary.len();
            *content = summary;
            t.shrunk = true;
            shrunk.push(t.repeat_key.clone());
        }
        shrunk
    }

    /// The labels and first lines of the last `n` tool outputs, oldest first.
    pub(super) fn last_outputs(&self, n: usize) -> Vec<(String, String)> {
        let skip = self.outputs.len().saturating_sub(n);
        self.outputs
            .iter()
            .skip(skip)
            .filter_map(|t| match self.messages.get(t.index) {
                Some(Message::Tool { content, .. }) => {
                    Some((t.label.clone(), clip_bytes(first_line(content), 200)))
                }
                _ => None,
            })
            .collect()
    }
}

/// The first non-blank line of `s`, trimmed.
pub(super) fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// At most `max` bytes of `s`, cut at a character boundary with a note.
pub(super) fn clip_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[… {} more bytes cut]", &s[..end], s.len() - end)
}
