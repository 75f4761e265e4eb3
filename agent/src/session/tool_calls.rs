//! The tool calls of one model turn: each is checked (known tool, JSON arguments, not a repeat),
//! independent reads run concurrently, writes one at a time through the gate, and every call id
//! gets exactly one answer. Argument types are checked once, by the tool's own typed parse; a
//! misfit goes back to the model as an error it can correct.

use kai_tools::ToolError;
use kai_tools::diagnosis::Finding;
use kai_tools::registry::Effect;
use serde_json::Value;

use super::history::{clip_bytes, first_line};
use super::{EndReason, Session, Step};
use crate::chat::ToolCall;
use crate::events::{Event, EventSink};
use crate::policy::{Decision, GateError, GateResult};

/// What one call became before running.
enum Prepared {
    /// Answered without running (bad call, repeat).
    Answer { content: String, step: Option<Step> },
    /// To run through the gate.
    Run {
        args: Value,
        effect: Effect,
        key: String,
    },
}

/// Per-question state.
#[derive(Default)]
pub(super) struct Ledger {
    pub(super) steps: Vec<Step>,
    /// Findings of the `diagnose` calls, for `--output json`.
    pub(super) findings: Vec<Finding>,
    /// Whether a write was denied: the question then ends as denied (exit 4) whatever
    /// happens after.
    pub(super) denied: bool,
}

impl Ledger {
    /// The reason a question ends: `reason`, unless a write was denied.
    pub(super) fn end(&self, reason: EndReason) -> EndReason {
        if self.denied {
            EndReason::WriteDenied
        } else {
            reason
        }
    }
}

impl Session {
    pub(super) async fn run_calls(
        &mut self,
        calls: &[ToolCall],
        ledger: &mut Ledger,
        events: &dyn EventSink,
    ) {
        let prepared: Vec<Prepared> = calls.iter().map(|c| self.prepare(c)).collect();
        let turn = self.history.next_turn();
        let n = calls.len();
        let mut contents: Vec<Option<(String, String)>> = vec![None; n];
        let mut steps: Vec<Option<Step>> = vec![None; n];
        for (k, p) in prepared.iter().enumerate() {
            if let Prepared::Answer { content, step } = p {
                events.event(Event::ToolFinished {
                    id: &calls[k].id,
                    name: &calls[k].name,
                    decision: Decision::Allowed,
                    ok: step.as_ref().is_none_or(|s| s.ok),
                    detail: first_line(content),
                });
                steps[k] = step.clone();
                contents[k] = Some((content.clone(), String::new()));
            }
        }
        let runs: Vec<usize> = (0..n)
            .filter(|&k| matches!(prepared[k], Prepared::Run { .. }))
            .collect();
        let is_read = |k: usize| {
            matches!(
                prepared[k],
                Prepared::Run {
                    effect: Effect::Read,
                    ..
                }
            )
        };
        let mut r = 0;
        while r < runs.len() {
            // Consecutive reads go out together; a write runs alone, in its place.
            let mut batch = vec![runs[r]];
            if is_read(runs[r]) {
                while r + batch.len() < runs.len() && is_read(runs[r + batch.len()]) {
                    batch.push(runs[r + batch.len()]);
                }
            }
            r += batch.len();
            for &k in &batch {
                if let Prepared::Run { args, effect, .. } = &prepared[k] {
                    events.event(Event::ToolStarted {
                        id: &calls[k].id,
                        name: &calls[k].name,
                        summary: &call_label(&calls[k].name, args),
                        write: *effect == Effect::Write,
                    });
                }
            }
            let results = {
                let gate = &self.gate;
                let cluster = &self.cluster;
                let futs = batch.iter().map(|&k| {
                    let args = match &prepared[k] {
                        Prepared::Run { args, .. } => args,
                        Prepared::Answer { .. } => &Value::Null,
                    };
                    gate.execute(cluster, &calls[k].name, args)
                });
                futures::future::join_all(futs).await
            };
            for (&k, res) in batch.iter().zip(results) {
                let (text, key, step) = self.record(&calls[k], &prepared[k], res, ledger, events);
                contents[k] = Some((text, key));
                steps[k] = Some(step);
            }
        }
        ledger.steps.extend(steps.into_iter().flatten());
        for (k, (call, content)) in calls.iter().zip(contents).enumerate() {
            let (text, key) = content
                .unwrap_or_else(|| ("error: the call was not run".to_string(), String::new()));
            let label = match &prepared[k] {
                Prepared::Run { args, .. } => call_label(&call.name, args),
                Prepared::Answer { .. } => call.name.clone(),
            };
            self.history.push_output(turn, &call.id, text, label, key);
        }
    }

    /// Turns a gate result into the tool message text (and its repeat key), recording the step.
    fn record(
        &mut self,
        call: &ToolCall,
        prepared: &Prepared,
        r: GateResult,
        ledger: &mut Ledger,
        events: &dyn EventSink,
    ) -> (String, String, Step) {
        let (args, effect, key) = match prepared {
            Prepared::Run { args, effect, key } => (args.clone(), *effect, key.clone()),
            Prepared::Answer { .. } => (Value::Null, Effect::Read, String::new()),
        };
        let ok = r.ok();
        let step = Step {
            tool: call.name.clone(),
            arguments: args.clone(),
            decision: r.decision,
            ok,
        };
        // A refused plan was already shown with its reason; a refusal before any plan was not.
        let shown = match (&r.output, &r.plan) {
            (Err(GateError::Denied(_)), Some(_)) => Some(String::new()),
            (Err(GateError::Denied(reason)), None) => Some(format!("({reason})")),
            _ => None,
        };
        let text = match r.output {
            Ok(out) => {
                if call.name == "diagnose" {
                    let found: Vec<Finding> = out
                        .json
                        .get("findings")
                        .cloned()
                        .and_then(|f| serde_json::from_value(f).ok())
                        .unwrap_or_default();
                    for f in found {
                        if !ledger.findings.contains(&f) {
                            ledger.findings.push(f);
                        }
                    }
                }
                if effect == Effect::Write {
                    // The cluster changed: earlier reads may now differ, so allow them again.
                    self.answered.clear();
                }
                let mut text = clip_bytes(&out.text, self.opts.output_limit);
                if let (Effect::Write, Some(plan)) = (effect, &r.plan) {
                    text = format!("done: {}\n{text}", plan.summary);
                }
                text
            }
            Err(GateError::Denied(reason)) => {
                ledger.denied = true;
                format!(
                    "denied by kai's change policy: {reason}. Do not retry this change; tell the user what you wanted to change and why."
                )
            }
            Err(GateError::Tool(e @ ToolError::InvalidArguments { .. })) => {
                format!(
                    "error: {e}{}. Call it again with a JSON object matching its schema.",
                    quoting_hint(&e.to_string())
                )
            }
            Err(GateError::Tool(e)) => format!("error: {e}"),
        };
        events.event(Event::ToolFinished {
            id: &call.id,
            name: &call.name,
            decision: r.decision,
            ok,
            detail: shown.as_deref().unwrap_or_else(|| first_line(&text)),
        });
        if ok || effect == Effect::Write {
            self.answered.insert(key.clone(), call.name.clone());
        } else {
            // A failed read may succeed later (a pod that was starting): let it be retried.
            self.answered.remove(&key);
        }
        (text, key, step)
    }

    /// Checks one call: known tool, a JSON object of arguments, not a repeat. The types of the
    /// arguments are checked by the tool's own parse when it runs.
    fn prepare(&mut self, call: &ToolCall) -> Prepared {
        let Some(spec) = self.specs.iter().find(|s| s.name == call.name) else {
            let known: Vec<&str> = self.specs.iter().map(|s| s.name).collect();
            return Prepared::Answer {
                content: format!(
                    "error: there is no tool named \"{}\". Available tools: {}.",
                    call.name,
                    known.join(", ")
                ),
                step: Some(Step {
                    tool: call.name.clone(),
                    arguments: raw_args(&call.arguments),
                    decision: Decision::Allowed,
                    ok: false,
                }),
            };
        };
        let bad = |message: String| Prepared::Answer {
            content: format!(
                "error: invalid arguments for {}: {message}. Call it again with a JSON object matching its schema.",
                call.name
            ),
            step: Some(Step {
                tool: call.name.clone(),
                arguments: raw_args(&call.arguments),
                decision: Decision::Allowed,
                ok: false,
            }),
        };
        let text = call.arguments.trim();
        let args: Value = if text.is_empty() {
            Value::Object(Default::default())
        } else {
            match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => return bad(format!("the arguments are not valid JSON ({e})")),
            }
        };
        let args = match args {
            Value::Null => Value::Object(Default::default()),
            v @ Value::Object(_) => v,
            // Serde would read an array positionally into the tool's fields: refuse it here.
            other => return bad(format!("expected a JSON object, got {}", type_name(&other))),
        };
        let key = format!("{}{}", call.name, canonical(&args));
        if self.answered.contains_key(&key) {
            return Prepared::Answer {
                content: format!(
                    "note: {} was already called with these arguments while answering this question; its result is above. Use it, or call with different arguments.",
                    call.name
                ),
                step: None,
            };
        }
        // Reserve the key so an identical call later in the same turn is not run twice.
        self.answered.insert(key.clone(), call.name.clone());
        Prepared::Run {
            args,
            effect: spec.effect,
            key,
        }
    }
}

/// The arguments for a step: parsed JSON, else the raw text.
fn raw_args(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// JSON with object keys sorted, so equal arguments give equal keys.
pub(super) fn canonical(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    // Null and absent mean the same to the tools.
                    if !m[k].is_null() {
                        out.insert(k.clone(), sort(&m[k]));
                    }
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

/// `get_logs(pod=backend-1, namespace=shop)`.
pub fn call_label(name: &str, args: &Value) -> String {
    let mut parts = Vec::new();
    if let Value::Object(m) = args {
        for (k, v) in m {
            let v = match v {
                Value::String(s) => clip_bytes(s, 60),
                Value::Null => continue,
                other => clip_bytes(&other.to_string(), 60),
            };
            parts.push(format!("{k}={v}"));
        }
    }
    format!("{name}({})", parts.join(", "))
}

/// A hint for the commonest misfit of small models: a number or boolean written as a string
/// (serde says `invalid type: string "3", expected i64`).
fn quoting_hint(message: &str) -> String {
    let Some(rest) = message.split("invalid type: string \"").nth(1) else {
        return String::new();
    };
    let value = rest.split('"').next().unwrap_or("").trim();
    let scalar = value.parse::<f64>().is_ok() || matches!(value, "true" | "false");
    if scalar {
        format!(" (write {value} without quotes)")
    } else {
        String::new()
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
