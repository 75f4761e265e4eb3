//! The conversation's own vocabulary: the messages a session keeps and the model's turn.
//! The model client converts them to the wire format; nothing above it sees wire types.

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The system prompt.
    System(String),
    /// The user's words (a question, a piped context, a nudge).
    User(String),
    /// A model turn: its text and the tool calls it asked for.
    Assistant {
        /// Text (may be empty when only tools are called).
        content: String,
        /// Tool calls, in order.
        tool_calls: Vec<ToolCall>,
    },
    /// The answer to one tool call.
    Tool {
        /// The id of the call it answers.
        call_id: String,
        /// What the tool returned (or the error).
        content: String,
    },
}

impl Message {
    /// The assistant message recording `c` in the history.
    pub fn assistant(c: &Completion) -> Message {
        Message::Assistant {
            content: c.content.clone(),
            tool_calls: c.tool_calls.clone(),
        }
    }
}

/// One tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The call id (generated when the server sent none).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as the model wrote them (JSON text, maybe malformed).
    pub arguments: String,
}

/// One model turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// The text of the answer (may be empty when only tools are called).
    pub content: String,
    /// Tool calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// The finish reason as the server said it, if it did.
    pub finish_reason: Option<String>,
    /// Tokens the server says the turn used, when it says.
    pub usage: Option<Usage>,
}

/// Tokens of one model turn as the server reports them (`usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Tokens of the prompt (the conversation sent).
    pub prompt: u64,
    /// Tokens generated.
    pub completion: u64,
}

impl Usage {
    /// Reads an OpenAI-style `usage` object; None when absent or without counts.
    pub fn from_json(v: &serde_json::Value) -> Option<Usage> {
        let prompt = v.get("prompt_tokens").and_then(serde_json::Value::as_u64);
        let completion = v
            .get("completion_tokens")
            .and_then(serde_json::Value::as_u64);
        if prompt.is_none() && completion.is_none() {
            return None;
        }
        Some(Usage {
            prompt: prompt.unwrap_or(0),
            completion: completion.unwrap_or(0),
        })
    }
}
