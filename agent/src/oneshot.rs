//! One-shot `kai QUESTION`: the model loop when a model answers, else the offline path; the
//! answer on stdout, progress on stderr, and the exit codes of the command-line contract.

use std::sync::Arc;

use kai_tools::Cluster;
use kai_tools::diagnosis::Finding;
use kai_tools::registry::{self, Effect, ToolOutput};
use serde_json::{Value, json};

use crate::cli::{Global, OutputFormat};
use crate::config::{Flags, Settings};
use crate::model::ModelClient;
use crate::offline::{self, CallError, Runner};
use crate::policy::{Gate, GateError};
use crate::progress::Progress;
use crate::session::{EndReason, Session, SessionError, SessionOptions, Step, call_label};
use crate::{exit, render, usage};

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
        self.steps.push(Step {
            tool: tool.to_string(),
            arguments: args,
            decision: result.decision,
            ok,
        });
        match result.output {
            Ok(out) => Ok(out),
            Err(GateError::Denied(reason)) => Err(CallError::Denied(reason)),
            Err(GateError::Tool(e)) => Err(CallError::Failed(e.to_string())),
        }
    }
}

/// What a one-shot run produced, whichever path answered.
struct Outcome {
    answer: String,
    mode: &'static str,
    steps: Vec<Step>,
    findings: Vec<Finding>,
    code: u8,
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

/// Loads the model and policy settings; a bad configuration is a usage error (exit 2).
pub fn settings(global: &Global) -> anyhow::Result<Settings> {
    Settings::load(&Flags::from(global)).map_err(|e| usage(e.0))
}

/// Answers one question and returns the exit code.
pub async fn run(global: &Global, cluster: &Cluster, question: &str) -> anyhow::Result<u8> {
    let settings = settings(global)?;
    // Checked before anything runs, so a bad flag is exit 2 on the offline path too.
    let opts = session_options(global)?;
    let gate = gate_for(global, &settings);
    let progress = Progress::new(render::stderr_styled());

    let mut offline_reason = if global.offline {
        Some("--offline given".to_string())
    } else {
        match &settings.model {
            None => Some(
                "no model configured (set KAI_MODEL and KAI_BASE_URL, or OPENAI_API_KEY; see kai --help)"
                    .to_string(),
            ),
            Some(cfg) => match cfg.missing_key() {
                Some(why) => Some(why),
                None => cfg.check_reachable().await.err(),
            },
        }
    };
    // Piped stdin is context for a model only: offline, it is left unread (a `while read`
    // loop keeps its input).
    let extra = if offline_reason.is_none() {
        crate::input::read_piped(global.no_stdin).await
    } else {
        None
    };
    let scope = crate::scope::Scope::of(global);
    // The model reads the flags' scope with the question; the offline router gets the
    // question alone and the scope laid over its calls.
    let asked = question;
    let scoped_question = match scope.note() {
        Some(note) => format!("{question}\n{note}"),
        None => question.to_string(),
    };
    let question = scoped_question.as_str();

    let mut outcome = None;
    if let (None, Some(cfg)) = (&offline_reason, settings.model.clone()) {
        cfg.log_sources();
        match ModelClient::new(cfg) {
            Err(e) => offline_reason = Some(e.offline_reason()),
            Ok(client) => {
                let mut session = Session::new(cluster.clone(), client, gate.clone(), opts);
                match session.ask(question, extra.as_deref(), &progress).await {
                    Ok(turn) => {
                        let code = match turn.reason {
                            EndReason::Finished => exit::OK,
                            EndReason::StepLimit => exit::STEP_LIMIT,
                            EndReason::WriteDenied => exit::DENIED,
                        };
                        outcome = Some(Outcome {
                            answer: turn.answer,
                            mode: "model",
                            steps: turn.steps,
                            findings: turn.findings,
                            code,
                        });
                    }
                    Err(SessionError::Model(e)) => offline_reason = Some(e.offline_reason()),
                    Err(e @ SessionError::AfterChange { .. }) => {
                        return Err(anyhow::Error::new(e));
                    }
                }
            }
        }
    }

    let outcome = match outcome {
        Some(o) => o,
        None => {
            let reason = offline_reason.unwrap_or_else(|| "the model did not answer".into());
            eprintln!("kai: answering offline: {reason}");
            if extra.is_some() {
                eprintln!("kai: piped input is only read by a model; answering from the cluster");
            }
            let mut runner = GateRunner {
                gate: &gate,
                cluster,
                steps: Vec::new(),
                progress: &progress,
            };
            let mut scoped = crate::scope::Scoped {
                inner: &mut runner,
                scope,
                default_namespace: cluster.namespace.clone(),
            };
            let answer = offline::answer(cluster, &mut scoped, asked).await?;
            Outcome {
                code: if answer.denied {
                    exit::DENIED
                } else {
                    exit::OK
                },
                answer: answer.text,
                mode: "offline",
                steps: runner.steps,
                findings: answer.findings,
            }
        }
    };
    progress.finish();
    print_outcome(global.output, &outcome);
    Ok(outcome.code)
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

fn print_outcome(format: OutputFormat, o: &Outcome) {
    match format {
        OutputFormat::Json => {
            let doc = json!({
                "answer": o.answer,
                "mode": o.mode,
                "steps": o.steps,
                "findings": o.findings,
                "exit_code": o.code,
            });
            render::print_line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        OutputFormat::Text => {
            let text = render::markdown(o.answer.trim_end(), render::stdout_styled());
            render::print_line(text.trim_end());
            // A refused change was said where it was refused (once); exit 4 tells scripts.
            if o.code == exit::STEP_LIMIT {
                eprintln!(
                    "kai: stopped at the step limit (--max-steps) before a final answer (exit 5)"
                );
            }
        }
    }
}
