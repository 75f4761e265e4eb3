//! The interactive REPL: a conversation with the cluster.
//!
//! The loop reads a line ([`editor`]), parses it ([`commands::parse_line`]), and either runs a
//! slash command or a turn: the model session when a model answers, else the offline path,
//! both through the same policy gate. Ctrl-C during a turn cancels it and keeps the
//! conversation; Ctrl-D or `/exit` leaves.

pub mod commands;
pub mod editor;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kai_tools::Cluster;
use kai_tools::registry::{self, Effect};
use kai_tools::scope_names;
use rustyline::Editor;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use tokio::sync::watch;

use self::commands::{COMMANDS, Line, ModeArg, SlashCommand, parse_line};
use self::editor::{KaiHelper, Names, join_lines};
use crate::cli::Global;
use crate::config::ModelConfig;
use crate::model::ModelClient;
use crate::offline;
use crate::policy::{Gate, Mode};
use crate::progress::Progress;
use crate::render;
use crate::runtime::{GateRunner, gate_for, session_options, settings};
use crate::session::{EndReason, Session, SessionError};

/// How often the completion cache is refreshed in the background.
const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Everything the REPL knows between turns.
struct Repl {
    global: Global,
    cluster: Cluster,
    model: Option<ModelConfig>,
    /// `/offline` (or `--offline`, or a model that stopped answering).
    offline: bool,
    mode: Mode,
    gate: Arc<Gate>,
    session: Option<Session>,
    /// What the conversation is about, for "restart it" on the offline path.
    conversation: offline::Conversation,
    cluster_tx: watch::Sender<Cluster>,
}

/// Where the REPL keeps its history: `history` in kai's state directory.
pub fn history_path() -> Option<PathBuf> {
    crate::audit::state_dir().map(|d| d.join("history"))
}

/// Runs the REPL until `/exit` or Ctrl-D.
pub async fn run(global: Global, cluster: Cluster) -> anyhow::Result<u8> {
    let settings = settings(&global)?;
    // Bad --max-steps or --system-prompt is a usage error now, not a "model failure" later.
    session_options(&global)?;
    let mode = settings
        .policy
        .mode_with_flags(global.read_only, global.yes);
    let gate = gate_for(&global, &settings);
    let (cluster_tx, cluster_rx) = watch::channel(cluster.clone());
    let names = Arc::new(RwLock::new(Names {
        contexts: kube_contexts(&global),
        ..Names::default()
    }));
    tokio::spawn(refresh_names(cluster_rx, names.clone()));

    // A hosted endpoint without a key cannot answer: say so once and start offline.
    let missing_key = settings.model.as_ref().and_then(ModelConfig::missing_key);
    let mut repl = Repl {
        model: settings.model.clone(),
        offline: global.offline || settings.model.is_none() || missing_key.is_some(),
        global,
        cluster,
        mode,
        gate,
        session: None,
        conversation: offline::Conversation::default(),
        cluster_tx,
    };

    let config = editor::config()?;
    let mut rl: Editor<KaiHelper, FileHistory> = Editor::with_config(config)?;
    rl.set_helper(Some(KaiHelper { names }));
    let history = history_path();
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.load_history(h);
    }

    if let Some(why) = &missing_key {
        errln!("kai: answering offline: {why}");
    }
    outln!(
        "kai — ask about your cluster in plain words. /help lists commands, Ctrl-D leaves.{}",
        if repl.offline && repl.model.is_none() {
            "\nNo model configured: answering offline from the diagnosis engine."
        } else {
            ""
        }
    );
    loop {
        let prompt = repl.prompt();
        let read = tokio::task::block_in_place(|| rl.readline(&prompt));
        let input = match read {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(anyhow::anyhow!("cannot read input: {e}")),
        };
        let line = join_lines(&input);
        let parsed = parse_line(&line);
        // Leaving is never worth recalling.
        if !line.trim().is_empty() && parsed != Line::Command(SlashCommand::Exit) {
            // The history file outlives the session: a pasted token stays out of it.
            let _ = rl.add_history_entry(kai_tools::mask_text(line.trim()));
            if let Some(h) = &history {
                let _ = rl.save_history(h);
            }
        }
        match parsed {
            Line::Empty => {}
            Line::Invalid(message) => errln!("{message}"),
            Line::Command(SlashCommand::Exit) => break,
            Line::Command(cmd) => repl.command(cmd).await,
            Line::Question(q) => repl.turn(&q).await,
        }
    }
    Ok(crate::exit::OK)
}

impl Repl {
    fn prompt(&self) -> String {
        let who = if self.offline {
            "offline".to_string()
        } else {
            self.model
                .as_ref()
                .map_or("offline".to_string(), |m| m.model.clone())
        };
        let mode = match self.mode {
            Mode::ReadOnly => ", read-only",
            Mode::Auto => ", auto",
            Mode::Confirm => "",
        };
        let text = format!(
            "kai {}/{} ({who}{mode}) > ",
            self.cluster.context, self.cluster.namespace
        );
        if render::stdout_styled() {
            format!("\x1b[1;36m{text}\x1b[0m")
        } else {
            text
        }
    }

    /// The model session, created on first use.
    fn session(&mut self) -> Result<&mut Session, String> {
        if self.session.is_none() {
            let Some(cfg) = self.model.clone() else {
                return Err("no model configured".into());
            };
            let client = ModelClient::new(cfg).map_err(|e| e.offline_reason())?;
            let opts = session_options(&self.global).map_err(|e| e.to_string())?;
            self.session = Some(Session::new(
                self.cluster.clone(),
                client,
                self.gate.clone(),
                opts,
            ));
        }
        self.session
            .as_mut()
            .ok_or_else(|| "no session".to_string())
    }

    async fn turn(&mut self, question: &str) {
        let progress = Progress::streaming(render::stderr_styled());
        let scoped = match crate::scope::Scope::of(&self.global).note() {
            Some(note) => format!("{question}\n{note}"),
            None => question.to_string(),
        };
        if !self.offline {
            let session = match self.session() {
                Ok(s) => s,
                Err(reason) => {
                    self.go_offline(&reason);
                    return self.offline_turn(question, &progress).await;
                }
            };
            let before = session.len();
            let result = tokio::select! {
                r = session.ask(&scoped, None, &progress) => Some(r),
                _ = tokio::signal::ctrl_c() => None,
            };
            progress.finish();
            match result {
                None => {
                    // The cancelled turn leaves no half-answered tool calls behind.
                    session.truncate(before);
                    errln!("interrupted; the conversation is kept");
                }
                Some(Ok(turn)) => {
                    // Streamed answers are on screen already: each answer is printed once.
                    if !progress.showed(&turn.answer) {
                        outln!(
                            "{}",
                            render::markdown(turn.answer.trim_end(), render::stdout_styled())
                                .trim_end()
                        );
                    }
                    for w in &turn.warnings {
                        errln!("kai: {w}");
                    }
                    match turn.reason {
                        EndReason::Finished | EndReason::Cut => {}
                        EndReason::StepLimit => {
                            errln!("(stopped at the step limit of {})", self.global.max_steps)
                        }
                        EndReason::WriteDenied => {
                            errln!("(a change was needed but not approved)")
                        }
                    }
                }
                Some(Err(e @ SessionError::AfterChange { .. })) => {
                    // The change is done; answering again offline would repeat it.
                    errln!("kai: {e}");
                    self.offline = true;
                }
                Some(Err(SessionError::Model(e) | SessionError::AfterDenial { error: e, .. })) => {
                    self.go_offline(&e.offline_reason());
                    self.offline_turn(question, &progress).await;
                }
            }
            return;
        }
        self.offline_turn(question, &progress).await;
    }

    fn go_offline(&mut self, reason: &str) {
        errln!(
            "kai: the model is not answering ({reason}); switching to offline. /online tries it again."
        );
        self.offline = true;
    }

    async fn offline_turn(&mut self, question: &str, progress: &Progress) {
        let mut runner = GateRunner {
            gate: &self.gate,
            cluster: &self.cluster,
            steps: Vec::new(),
            progress,
        };
        // kai -A / -l given when the REPL started hold for every question, as in one-shot.
        let mut runner = crate::scope::Scoped {
            inner: &mut runner,
            scope: crate::scope::Scope::of(&self.global),
            default_namespace: self.cluster.namespace.clone(),
        };
        self.conversation.all_namespaces = self.global.all_namespaces;
        let result = tokio::select! {
            r = offline::answer(&self.cluster, &mut runner, question, &mut self.conversation) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        progress.finish();
        match result {
            None => errln!("interrupted"),
            Some(Ok(answer)) => {
                outln!(
                    "{}",
                    render::markdown(answer.text.trim_end(), render::stdout_styled()).trim_end()
                );
            }
            Some(Err(e)) => errln!("kai: {e:#}"),
        }
    }

    // One arm per slash command (the table in commands.rs), each a few lines: split by command
    // it would scatter the REPL's state changes over as many functions.
    async fn command(&mut self, cmd: SlashCommand) {
        match cmd {
            SlashCommand::Help => {
                for (c, help) in COMMANDS {
                    outln!("  {c:32} {help}");
                }
                outln!(
                    "  Anything else is a question: \"why is backend crashing\", \"restart it\"."
                );
            }
            SlashCommand::Tools => {
                for spec in registry::specs() {
                    let effect = match spec.effect {
                        Effect::Read => "read ",
                        Effect::Write => "write",
                    };
                    let first = spec.description.lines().next().unwrap_or("");
                    outln!("  {:14} {effect}  {first}", spec.name);
                }
            }
            SlashCommand::Health => {
                let progress = Progress::new(render::stderr_styled());
                self.offline_turn("what's wrong", &progress).await;
            }
            SlashCommand::Clear => {
                if let Some(s) = self.session.as_mut() {
                    s.clear();
                }
                self.conversation = offline::Conversation::default();
                outln!("conversation cleared");
            }
            SlashCommand::Offline => {
                self.offline = true;
                outln!("offline: answers come from the diagnosis engine and fixed queries");
            }
            SlashCommand::Online => match &self.model {
                Some(m) => {
                    self.offline = false;
                    outln!("online: using model {} at {}", m.model, m.base_url);
                }
                None => errln!(
                    "no model configured: set KAI_MODEL and KAI_BASE_URL (or OPENAI_API_KEY), or use --model/--base-url"
                ),
            },
            SlashCommand::Model(None) => match &self.model {
                Some(m) => outln!(
                    "model {} at {}{}",
                    m.model,
                    m.base_url,
                    if self.offline { " (offline now)" } else { "" }
                ),
                None => outln!("no model configured; answering offline"),
            },
            SlashCommand::Model(Some(name)) => match self.model.as_mut() {
                Some(m) => {
                    let mut cfg = m.clone();
                    cfg.model = name.clone();
                    // A session is made on first use; without one, the new name is all it needs.
                    if let Some(s) = self.session.as_mut() {
                        match ModelClient::new(cfg.clone()) {
                            Ok(client) => s.set_model(client),
                            Err(e) => return errln!("kai: {}", e.offline_reason()),
                        }
                    }
                    *m = cfg;
                    self.offline = false;
                    outln!("model is now {name}");
                }
                None => errln!(
                    "no endpoint configured: start kai with --base-url (or KAI_BASE_URL) to use a model"
                ),
            },
            SlashCommand::Mode(None) => outln!("mode: {}", self.mode),
            SlashCommand::Mode(Some(m)) => {
                self.mode = match m {
                    ModeArg::ReadOnly => Mode::ReadOnly,
                    ModeArg::Confirm => Mode::Confirm,
                    ModeArg::Auto => Mode::Auto,
                };
                self.gate = Arc::new(self.gate.with_mode(self.mode));
                if let Some(s) = self.session.as_mut() {
                    s.set_gate(self.gate.clone());
                }
                outln!("mode: {}", self.mode);
            }
            SlashCommand::Namespace(None) => outln!("namespace: {}", self.cluster.namespace),
            SlashCommand::Namespace(Some(ns)) => {
                match kai_tools::k8s::check_namespace(&self.cluster, &ns).await {
                    Ok(()) => {}
                    // "not found in context ...", with the closest name when there is one.
                    Err(e @ kai_tools::ToolError::NotFound { .. }) => return errln!("{e}"),
                    // Without the right to read namespaces, trust the user.
                    Err(e) => tracing::debug!("cannot check namespace {ns}: {e}"),
                }
                self.cluster.namespace = ns.clone();
                self.cluster_changed();
                outln!("namespace: {ns}");
            }
            SlashCommand::Context(None) => {
                for c in kube_contexts(&self.global) {
                    let mark = if c == self.cluster.context { "*" } else { " " };
                    outln!("{mark} {c}");
                }
            }
            SlashCommand::Context(Some(name)) => {
                match Cluster::connect(self.global.kubeconfig.as_deref(), Some(&name), None).await {
                    Ok(c) => {
                        self.cluster = c;
                        self.conversation = offline::Conversation::default();
                        self.cluster_changed();
                        outln!("context: {name} (namespace {})", self.cluster.namespace);
                    }
                    Err(e) => errln!("kai: {e}"),
                }
            }
            SlashCommand::Exit => {}
        }
    }

    fn cluster_changed(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.set_cluster(self.cluster.clone());
        }
        let _ = self.cluster_tx.send(self.cluster.clone());
    }
}

fn kube_contexts(global: &Global) -> Vec<String> {
    let kc = match &global.kubeconfig {
        Some(p) => kube::config::Kubeconfig::read_from(p),
        None => kube::config::Kubeconfig::read(),
    };
    kc.map(|k| k.contexts.into_iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// Keeps the completion cache fresh: at start, whenever the cluster or namespace changes,
/// and every [`REFRESH_EVERY`]. Completion never waits for it.
async fn refresh_names(mut rx: watch::Receiver<Cluster>, names: Arc<RwLock<Names>>) {
    loop {
        let cluster = rx.borrow_and_update().clone();
        let (namespaces, workloads) = futures::join!(
            scope_names::namespace_names(&cluster),
            scope_names::workload_names(&cluster, &cluster.namespace),
        );
        let namespaces = namespaces.unwrap_or_default();
        if let Ok(mut n) = names.write() {
            if !namespaces.is_empty() {
                n.namespaces = namespaces;
            }
            n.workloads = workloads;
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep(REFRESH_EVERY) => {}
        }
    }
}
