//! The wire format: a session's messages and the tools' specs as async-openai's typed request,
//! and the JSON of a whole response or an error body read back.

use std::time::Duration;

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionTool, ChatCompletionToolChoiceOption,
    ChatCompletionTools, CreateChatCompletionRequest, FunctionCall, FunctionObject,
    ToolChoiceOptions,
};
use kai_tools::registry::ToolSpec;
use serde_json::Value;

use super::accumulate::Accumulator;
use crate::chat::{Completion, Message, ToolCall};
use crate::config::{ModelConfig, ToolChoice, is_openai};

/// The request body: the messages, the tools (none: the model must answer in text).
pub fn request(
    cfg: &ModelConfig,
    messages: &[Message],
    tools: &[ToolSpec],
    stream: bool,
) -> CreateChatCompletionRequest {
    // OpenAI's newer models refuse `max_tokens`; every other server knows only it.
    let (max_tokens, max_completion_tokens) = if is_openai(&cfg.base_url) {
        (None, cfg.max_tokens)
    } else {
        (cfg.max_tokens, None)
    };
    let tool_choice = cfg.tool_choice.filter(|_| !tools.is_empty()).map(|c| {
        ChatCompletionToolChoiceOption::Mode(match c {
            ToolChoice::Auto => ToolChoiceOptions::Auto,
            ToolChoice::Required => ToolChoiceOptions::Required,
            ToolChoice::None => ToolChoiceOptions::None,
        })
    });
    #[allow(
        deprecated,
        reason = "`max_tokens` is what llama.cpp, Ollama and vLLM read"
    )]
    CreateChatCompletionRequest {
        model: cfg.model.clone(),
        messages: messages.iter().map(wire_message).collect(),
        tools: if tools.is_empty() {
            None
        } else {
            Some(tools.iter().map(wire_tool).collect())
        },
        tool_choice,
        max_tokens,
        max_completion_tokens,
        stream: stream.then_some(true),
        ..Default::default()
    }
}

fn wire_tool(s: &ToolSpec) -> ChatCompletionTools {
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: s.name.to_string(),
            description: Some(s.description.clone()),
            parameters: Some(s.parameters.clone()),
            strict: None,
        },
    })
}

fn wire_message(m: &Message) -> ChatCompletionRequestMessage {
    match m {
        Message::System(text) => {
            ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(text.clone()),
                name: None,
            })
        }
        Message::User(text) => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                // The question and piped text are the user's; a secret they hold stays here.
                content: ChatCompletionRequestUserMessageContent::Text(kai_tools::mask_text(text)),
                name: None,
            })
        }
        Message::Assistant {
            content,
            tool_calls,
        } => wire_assistant(content, tool_calls),
        Message::Tool { call_id, content } => {
            ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
                content: ChatCompletionRequestToolMessageContent::Text(kai_tools::mask_text(
                    content,
                )),
                tool_call_id: call_id.clone(),
            })
        }
    }
}

#[allow(
    deprecated,
    reason = "async-openai marks the legacy `function_call` field deprecated"
)]
fn wire_assistant(content: &str, calls: &[ToolCall]) -> ChatCompletionRequestMessage {
    let tool_calls: Vec<ChatCompletionMessageToolCalls> = calls
        .iter()
        .map(|t| {
            ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                id: t.id.clone(),
                function: FunctionCall {
                    name: t.name.clone(),
                    // Malformed text is sent back as it was, so the model sees its own mistake;
                    // empty becomes `{}` (some servers reject an empty string).
                    arguments: if t.arguments.trim().is_empty() {
                        "{}".into()
                    } else {
                        t.arguments.clone()
                    },
                },
            })
        })
        .collect();
    ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
        // Always a string, "" beside tool calls: chat templates that read `message.content`
        // (llama-cpp-python's) fail with a 500 when it is absent.
        content: Some(ChatCompletionRequestAssistantMessageContent::Text(
            content.to_string(),
        )),
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        ..Default::default()
    })
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let ms = when.as_millisecond() - now.as_millisecond();
    Some(Duration::from_millis(u64::try_from(ms.max(0)).unwrap_or(0)))
}

pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The message of an error object: `{"message": ...}` or a plain string.
pub fn error_message(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string()),
        other => other.to_string(),
    }
}

/// The message of an error body: OpenAI's `{"error": {"message"}}`, Ollama's `{"error": "..."}`,
/// or the text itself.
pub fn body_message(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(v) => match v.get("error") {
            Some(e) => error_message(e),
            None => v
                .get("message")
                .or_else(|| v.get("detail"))
                .map(|m| {
                    m.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| m.to_string())
                })
                .unwrap_or_else(|| body.to_string()),
        },
        Err(_) => body.to_string(),
    };
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.is_empty() {
        "no message".into()
    } else {
        clip(&one, 300)
    }
}

/// Parses a non-streamed response.
pub fn parse_completion(bytes: &[u8]) -> Result<Completion, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not a chat completion ({e}): {}",
            clip(&String::from_utf8_lossy(bytes), 200)
        )
    })?;
    if let Some(err) = v.get("error") {
        return Err(error_message(err));
    }
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| format!("no choices in the response: {}", clip(&v.to_string(), 200)))?;
    let msg = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut acc = Accumulator::default();
    if let Some(text) = msg.get("content").and_then(Value::as_str) {
        acc.content.push_str(text);
    }
    if let Some(calls) = msg.get("tool_calls").and_then(Value::as_array) {
        for (i, c) in calls.iter().enumerate() {
            acc.merge_call(i, c);
        }
    }
    acc.usage = v.get("usage").and_then(crate::chat::Usage::from_json);
    acc.finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(acc.finish())
}
