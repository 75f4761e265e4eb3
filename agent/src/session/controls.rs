//! Changes a REPL makes to a live conversation between questions: cancel a turn, switch the
//! model, the approval mode, the context or the namespace.

use std::sync::Arc;

use kai_tools::Cluster;

use super::Session;
use crate::model::ModelClient;
use crate::policy::{Gate, Mode};

impl Session {
    /// Drops every message after the first `len` (a cancelled turn leaves nothing
    /// half-answered behind), with the bookkeeping that points into them.
    pub fn truncate(&mut self, len: usize) {
        self.history.truncate(len);
        let kept = self.history.repeat_keys();
        self.answered.retain(|k, _| kept.contains(k.as_str()));
    }

    /// Talks to another model from the next question on; the conversation stays.
    pub fn set_model(&mut self, model: ModelClient) {
        self.model = model;
    }

    /// Uses another gate (a new approval mode) from the next tool call on, and tells the model,
    /// whose system prompt named the old mode.
    pub fn set_gate(&mut self, gate: Arc<Gate>) {
        if !self.history.is_empty() && gate.mode() != self.gate.mode() {
            self.note = Some(format!(
                "I switched kai's change policy to {} mode: {}",
                gate.mode(),
                match gate.mode() {
                    Mode::ReadOnly => "every change will be refused",
                    Mode::Confirm => "each change is shown to me before it runs",
                    Mode::Auto => "changes run without asking, unless a rule refuses them",
                }
            ));
        }
        self.gate = gate;
    }

    /// Points the conversation at another cluster or namespace. The conversation stays (so
    /// "it" still means what it meant), with a note telling the model where it now looks.
    pub fn set_cluster(&mut self, cluster: Cluster) {
        // A user-side note, not a system message mid-conversation: strict chat templates
        // (some llama.cpp models) reject a second system message.
        if !self.history.is_empty() {
            self.note = Some(format!(
                "I switched to context {} and namespace {}: tool calls without a namespace now look there",
                cluster.context, cluster.namespace
            ));
        }
        self.cluster = cluster;
    }
}
