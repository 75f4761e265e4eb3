//! What one-shot runs and the REPL share: settings and session options from the flags, the
//! policy gate of a run, and the runner that takes the offline path's calls through the gate.

use std::sync::Arc;

use kai_tools::Cluster;
use kai_tools::registry::{self, Effect, ToolOutput};
use serde_json::Value;

use crate::cli::Global;
use crate::config::{Flags, Settings};
use crate::offline::{CallError, Runner};
use crate::policy::{Gate, GateError, GateResult};
use crate::progress::Progress;
use crate::session::{SessionOptions, Step, call_label};
use crate::usage;

/// Runs the offline path's tool calls through the gate, recording steps and showing progress.
pub struct GateRunner<'a> {
    /// The policy gate every call passes.
    pub gate: &'a Gate,
    /// The cluster.
    pub cluster: &'a Cluster,
    /// Calls made so far.
    pub steps: Vec<Step>,
    /// Where progress goes.
    pub progress: &'a Progress,
}

impl Runner for GateRunner<'_> {
    async fn call(&mut self, tool: &str, args: Value) -> Result<ToolOutput, CallError> {
        let label = call_label(tool, &args);
        let write = registry::spec(tool).is_some_and(|s| s.effect == Effect::Write);
        self.progress.started(&label, write);
        let result = self.gate.execute(self.cluster, tool, &args).await;
        let ok = result.ok();
        let detail = match &result.output {
            // The plan line already said why the change was refused: say it once.
            Err(GateError::Denied(_)) if result.plan.is_some() => String::new(),
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        self.progress.finished(&label, result.decision, ok, &detail);
        record(&mut self.steps, tool, args, result)
    }
}

/// Records a gated call as a step and gives the offline path its output, or why there is none.
pub fn record(
    steps: &mut Vec<Step>,
    tool: &str,
    args: Value,
    result: GateResult,
) -> Result<ToolOutput, CallError> {
    steps.push(Step {
        tool: tool.to_string(),
        arguments: args,
        decision: result.decision,
        ok: result.ok(),
    });
    match result.output {
        Ok(out) => Ok(out),
        Err(GateError::Denied(reason)) => Err(CallError::Denied(reason)),
        Err(GateError::Tool(e)) => Err(CallError::Failed(e.to_string())),
    }
}

/// Builds the policy gate of a run from the settings and flags.
pub fn gate_for(global: &Global, settings: &Settings) -> Arc<Gate> {
    let mode = settings
        .policy
        .mode_with_flags(global.read_only, global.yes);
    Arc::new(Gate::for_cli(
        mode,
        settings.policy.protected_namespaces.clone(),
    ))
}

/// Loads the model and policy settings, `--max-tokens` over the config; a bad configuration is
/// a usage error (exit 2).
pub fn settings(global: &Global) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(&Flags::from(global)).map_err(|e| usage(e.0))?;
    if let Some(n) = global.max_tokens {
        if n == 0 {
            return Err(usage("--max-tokens must be at least 1"));
        }
        if let Some(m) = settings.model.as_mut() {
            m.max_tokens = Some(n);
        }
    }
    Ok(settings)
}

/// Session options from the flags (and the `--system-prompt` file).
pub fn session_options(global: &Global) -> anyhow::Result<SessionOptions> {
    let system_prompt = match &global.system_prompt {
        Some(p) => Some(crate::prompt::read_template(p).map_err(usage)?),
        None => None,
    };
    if global.max_steps == 0 {
        return Err(usage("--max-steps must be at least 1"));
    }
    Ok(SessionOptions {
        max_steps: global.max_steps,
        system_prompt,
        ..SessionOptions::default()
    })
}
