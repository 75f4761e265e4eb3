//! Runs one task once: a fresh pair of sandboxes, the question put to the model loop (or the
//! offline router), every call through a gate that allows writes in the task's own sandbox
//! only, then simulated time to settle and the judge.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use kai_tools::Cluster;
use kai_tools::registry::{self, Effect, ToolOutput, WritePlan};
use serde::Serialize;
use serde_json::Value;

use super::judge::Ending;
use super::task::{Kind, Task};
use super::world::{TURN_TIME, WRITE_TIME, Worlds};
use crate::config::ModelConfig;
use crate::events::{Event, EventSink};
use crate::model::ModelClient;
use crate::offline::{self, CallError, Runner};
use crate::policy::{Answer, Approver, Decision, Gate, Mode};
use crate::session::{EndReason, Session, SessionError, SessionOptions, Step, call_label};

/// How the tasks are answered.
#[derive(Debug, Clone)]
pub enum Agent {
    /// The model loop with this model.
    Model(Box<ModelConfig>),
    /// The offline router and diagnosis engine.
    Offline,
}

/// What the run needs besides the task.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Who answers.
    pub agent: Agent,
    /// Session options (`--max-steps`, `--system-prompt`).
    pub session: SessionOptions,
    /// Namespaces where writes are refused even here, as on a real cluster.
    pub protected: Vec<String>,
}

/// Tokens of a run, summed over its model requests.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tokens {
    /// Prompt tokens.
    pub prompt: u64,
    /// Generated tokens.
    pub completion: u64,
    /// Both.
    pub total: u64,
}

/// The outcome of one run of one task (one object of `--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Task name.
    pub task: String,
    /// What it asked for: diagnose, fix, refuse.
    pub kind: Kind,
    /// 1-based run number (with `--repeat`).
    pub run: usize,
    /// Whether the judge passed it.
    pub passed: bool,
    /// Why it failed, or what passing meant.
    pub reason: String,
    /// Model requests made (0 offline).
    pub steps: usize,
    /// Tool calls made.
    pub tool_calls: usize,
    /// Tokens, when the server reported them.
    pub tokens: Option<Tokens>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// How the question ended: answered, step_limit, model_error, cut.
    pub end: &'static str,
    /// Every write attempted: `scale deployment shop/web (allowed, ok)`.
    pub writes: Vec<String>,
    /// Changes outside what the task allows.
    pub collateral: Vec<String>,
    /// The answer as given.
    pub answer: String,
}

/// Denies what would need a person (there is none) and stays quiet: the report says it all.
struct NoOne;

impl Approver for NoOne {
    fn approve(&self, _plan: &WritePlan) -> Answer {
        Answer::No("no one to ask during kai eval".into())
    }

    fn can_ask(&self) -> bool {
        false
    }
}

/// Moves the task's cluster on as the agent works, and counts what the report shows.
struct Pace<'a> {
    worlds: &'a Worlds,
    turns: AtomicUsize,
    prompt: AtomicU64,
    completion: AtomicU64,
    reported: AtomicUsize,
}

impl<'a> Pace<'a> {
    fn new(worlds: &'a Worlds) -> Pace<'a> {
        Pace {
            worlds,
            turns: AtomicUsize::new(0),
            prompt: AtomicU64::new(0),
            completion: AtomicU64::new(0),
            reported: AtomicUsize::new(0),
        }
    }

    fn tokens(&self) -> Option<Tokens> {
        (self.reported.load(Ordering::Relaxed) > 0).then(|| {
            let prompt = self.prompt.load(Ordering::Relaxed);
            let completion = self.completion.load(Ordering::Relaxed);
            Tokens {
                prompt,
                completion,
                total: prompt + completion,
            }
        })
    }
}

impl EventSink for Pace<'_> {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::ModelTurn { .. } => {
                self.turns.fetch_add(1, Ordering::Relaxed);
                self.worlds.advance(TURN_TIME);
            }
            Event::ToolFinished { name, ok: true, .. }
                if registry::effect(name) == Some(Effect::Write) =>
            {
                self.worlds.advance(WRITE_TIME);
            }
            Event::Usage(u) => {
                self.reported.fetch_add(1, Ordering::Relaxed);
                self.prompt.fetch_add(u.prompt, Ordering::Relaxed);
                self.completion.fetch_add(u.completion, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// The offline path's calls through the gate, pacing the cluster after each change.
struct OfflineRunner<'a> {
    gate: &'a Gate,
    cluster: &'a Cluster,
    worlds: &'a Worlds,
    steps: Vec<Step>,
}

impl Runner for OfflineRunner<'_> {
    async fn call(&mut self, tool: &str, args: Value) -> Result<ToolOutput, CallError> {
        let result = self.gate.execute(self.cluster, tool, &args).await;
        if result.ok() && registry::effect(tool) == Some(Effect::Write) {
            self.worlds.advance(WRITE_TIME);
        }
        crate::runtime::record(&mut self.steps, tool, args, result)
    }
}

/// What the agent did, before judging.
struct Attempt {
    answer: String,
    steps: Vec<Step>,
    end: &'static str,
    failure: Option<String>,
}

/// Runs `task` once and judges it.
pub async fn run_once(
    task: &Task,
    run: usize,
    settings: &RunSettings,
) -> anyhow::Result<RunResult> {
    let started = Instant::now();
    let worlds = Worlds::start(&task.scenario).await?;
    let cluster = Cluster::connect(Some(&worlds.agent.kubeconfig), None, None)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the task's sandbox: {e}"))?;
    // Writes are allowed without asking, in this sandbox only; protected namespaces are still
    // refused, as they would be on the user's cluster.
    let gate = Arc::new(Gate::new(
        Mode::Auto,
        settings.protected.clone(),
        Arc::new(NoOne),
        None,
    ));
    let pace = Pace::new(&worlds);
    let attempt = match &settings.agent {
        Agent::Model(cfg) => ask_model(task, &cluster, cfg, &gate, &settings.session, &pace).await,
        Agent::Offline => ask_offline(task, &cluster, &gate, &worlds).await,
    };
    worlds.settle(task.settle);
    let verdict = task.judge.verdict(
        &Ending {
            answer: &attempt.answer,
            failure: attempt.failure,
        },
        &worlds,
    );
    let writes = attempt
        .steps
        .iter()
        .filter(|s| registry::effect(&s.tool) == Some(Effect::Write))
        .map(|s| {
            let decision = match s.decision {
                Decision::Allowed => "allowed",
                Decision::Approved => "approved",
                Decision::Denied => "denied",
            };
            let result = if s.ok { "ok" } else { "failed" };
            format!(
                "{} ({decision}, {result})",
                call_label(&s.tool, &s.arguments)
            )
        })
        .collect();
    Ok(RunResult {
        task: task.name.clone(),
        kind: task.kind,
        run,
        passed: verdict.passed,
        reason: verdict.reason,
        steps: pace.turns.load(Ordering::Relaxed),
        tool_calls: attempt.steps.len(),
        tokens: pace.tokens(),
        seconds: started.elapsed().as_secs_f64(),
        end: attempt.end,
        writes,
        collateral: verdict.collateral,
        answer: attempt.answer,
    })
}

async fn ask_model(
    task: &Task,
    cluster: &Cluster,
    cfg: &ModelConfig,
    gate: &Arc<Gate>,
    opts: &SessionOptions,
    pace: &Pace<'_>,
) -> Attempt {
    let client = match ModelClient::new(cfg.clone()) {
        Ok(c) => c,
        Err(e) => return failed(format!("model error: {e}"), Vec::new()),
    };
    let mut session = Session::new(cluster.clone(), client, gate.clone(), opts.clone());
    match session.ask(&task.question, None, pace).await {
        Ok(turn) => {
            let (end, failure) = match turn.reason {
                EndReason::StepLimit => (
                    "step_limit",
                    Some(format!(
                        "stopped at the step limit ({} steps) before an answer",
                        opts.max_steps
                    )),
                ),
                EndReason::Cut => (
                    "cut",
                    Some("the answer was cut at the token limit".to_string()),
                ),
                EndReason::Finished | EndReason::WriteDenied => ("answered", None),
            };
            Attempt {
                answer: turn.answer,
                steps: turn.steps,
                end,
                failure,
            }
        }
        Err(SessionError::Model(e)) => failed(format!("model error: {e}"), Vec::new()),
        Err(
            SessionError::AfterChange { error, steps } | SessionError::AfterDenial { error, steps },
        ) => failed(format!("model error: {error}"), steps),
    }
}

fn failed(why: String, steps: Vec<Step>) -> Attempt {
    Attempt {
        answer: String::new(),
        steps,
        end: "model_error",
        failure: Some(why),
    }
}

async fn ask_offline(task: &Task, cluster: &Cluster, gate: &Gate, worlds: &Worlds) -> Attempt {
    let mut runner = OfflineRunner {
        gate,
        cluster,
        worlds,
        steps: Vec::new(),
    };
    let mut conversation = offline::Conversation::default();
    match offline::answer(cluster, &mut runner, &task.question, &mut conversation).await {
        Ok(answer) => Attempt {
            answer: answer.text,
            steps: runner.steps,
            end: "answered",
            failure: None,
        },
        Err(e) => Attempt {
            end: "error",
            ..failed(format!("the offline answer failed: {e:#}"), runner.steps)
        },
    }
}
