//! The command line: global options, subcommands, and the one-shot question.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kai: ask your Kubernetes cluster what is wrong, in plain words.
#[derive(Debug, Parser)]
#[command(
    name = "kai",
    version,
    about = "A natural-language operations agent for Kubernetes",
    after_help = "Examples:
  kai --sandbox demo \"why is backend crashing\"   # no cluster, no model needed
  kai -n shop \"what's wrong\"
  kai -A -l app=web \"which pods are not ready\"
  kubectl logs web-1 | kai \"what does this mean\"
  kai health -A --fail-on warning
  kai completions bash > ~/.local/share/bash-completion/completions/kai

Subcommands have their own help: kai health --help, kai sandbox --help, kai eval --help,
kai completions --help."
)]
pub struct Cli {
    /// Options of a question and of the REPL.
    #[command(flatten)]
    pub global: Global,
    /// A subcommand (health, sandbox, completions); without one, the words are a question.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The question; with none on a terminal, kai opens a REPL.
    #[arg(value_name = "QUESTION", trailing_var_arg = true)]
    pub question: Vec<String>,
}

/// Options of a question and of the REPL. Given before a subcommand, the cluster options
/// (`--kubeconfig`, `--context`, `-n`, `-A`, `-l`, `--sandbox`) apply to it too.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH", help_heading = "Cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// Kube context (default: the current one).
    #[arg(long, value_name = "NAME", help_heading = "Cluster")]
    pub context: Vec<String>,
    /// Namespace (default: the context's).
    #[arg(short = 'n', long, value_name = "NS", help_heading = "Cluster")]
    pub namespace: Option<String>,
    /// Look in every namespace.
    #[arg(short = 'A', long, help_heading = "Cluster")]
    pub all_namespaces: bool,
    /// Only objects with these labels (`app=web,tier!=cache`).
    #[arg(short = 'l', long, value_name = "SELECTOR", help_heading = "Cluster")]
    pub selector: Option<String>,
    /// Run against a built-in simulated cluster (or a scenario YAML file), in-process.
    #[arg(long, value_name = "SCENARIO", help_heading = "Cluster")]
    pub sandbox: Option<String>,
    /// Model name (KAI_MODEL).
    #[arg(long, value_name = "NAME", help_heading = "Model")]
    pub model: Option<String>,
    /// OpenAI-compatible endpoint (KAI_BASE_URL, OPENAI_BASE_URL).
    #[arg(long, value_name = "URL", help_heading = "Model")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (default KAI_API_KEY, OPENAI_API_KEY).
    #[arg(long, value_name = "VAR", help_heading = "Model")]
    pub api_key_env: Option<String>,
    /// Answer without a model, from fixed queries and the diagnosis engine.
    #[arg(long, help_heading = "Model")]
    pub offline: bool,
    /// Most tool-calling steps before giving up (exit 5).
    #[arg(long, default_value_t = 20, value_name = "N", help_heading = "Model")]
    pub max_steps: usize,
    /// Most tokens the model may generate in one turn (default 2048; config `max_tokens`).
    #[arg(long, value_name = "N", help_heading = "Model")]
    pub max_tokens: Option<u32>,
    /// System prompt file replacing the built-in one.
    #[arg(long, value_name = "PATH", help_heading = "Model")]
    pub system_prompt: Option<PathBuf>,
    /// Refuse every change to the cluster.
    #[arg(long, conflicts_with = "yes")]
    pub read_only: bool,
    /// Approve changes without asking (protected namespaces are still refused).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Output of a one-shot answer.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Most time the whole command may take (90s, 5m; default 10m for a question, 2m for
    /// health, or --wait plus 30s).
    #[arg(long, value_name = "DURATION", value_parser = crate::health::parse_duration, global = true)]
    pub timeout: Option<std::time::Duration>,
    /// Never read stdin, even when it is piped (for `while read` loops; or use `< /dev/null`).
    #[arg(long)]
    pub no_stdin: bool,
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The cluster options a subcommand takes after its name (`kai health -n shop`).
#[derive(Debug, Args, Clone, Default)]
pub struct Target {
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kube context (default: the current one); may be given several times.
    #[arg(long, value_name = "NAME")]
    pub context: Vec<String>,
    /// Namespace (default: the context's, as kubectl).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Run against a built-in simulated cluster (or a scenario YAML file), in-process.
    #[arg(long, value_name = "SCENARIO")]
    pub sandbox: Option<String>,
}

impl Global {
    /// These options with a subcommand's cluster options laid over them: a value given
    /// after the subcommand wins, contexts add up.
    pub fn with_target(mut self, t: &Target) -> Global {
        if t.kubeconfig.is_some() {
            self.kubeconfig.clone_from(&t.kubeconfig);
        }
        self.context.extend(t.context.iter().cloned());
        if t.namespace.is_some() {
            self.namespace.clone_from(&t.namespace);
        }
        if t.sandbox.is_some() {
            self.sandbox.clone_from(&t.sandbox);
        }
        self
    }

    /// The label selector, if a non-blank one was given.
    pub fn label_selector(&self) -> Option<&str> {
        self.selector
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Output of a one-shot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Text for people (markdown rendered on a terminal).
    #[default]
    Text,
    /// One JSON document: answer, mode, steps, findings.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Health summary of a namespace or the cluster, with an exit code for CI.
    #[command(after_help = HEALTH_EXAMPLES)]
    Health(HealthCmd),
    /// Serve a simulated cluster that kubectl and kai can use.
    #[command(after_help = SANDBOX_EXAMPLES)]
    Sandbox(SandboxArgs),
    /// Print a shell completion script for kai.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Score a model (or the offline engine) on break/fix tasks in fresh sandboxes.
    #[command(after_help = EVAL_EXAMPLES)]
    Eval(EvalArgs),
    /// Serve kai's tools, prompt and findings to an MCP client (stdio, or HTTP on loopback).
    #[command(after_help = MCP_EXAMPLES)]
    Mcp(McpCmd),
    /// Watch a scope live: a line per finding opened, changed or resolved; optionally remediate.
    #[command(after_help = WATCH_EXAMPLES)]
    Watch(WatchCmd),
}

/// `kai watch`: its cluster options and its own.
#[derive(Debug, Args)]
pub struct WatchCmd {
    /// Cluster options.
    #[command(flatten)]
    pub target: Target,
    /// Watch options.
    #[command(flatten)]
    pub args: crate::watch::WatchArgs,
}

const WATCH_EXAMPLES: &str = "Examples:
  kai watch -n shop                               # findings as they open, change and resolve
  kai watch -A --output json | jq .               # JSON lines, every namespace
  kai watch -n shop --remediate rollback --dry-run        # say which rollbacks it would do
  kai watch -n shop --remediate rollback --yes            # roll back failing new revisions
  kai watch -A --metrics-addr 127.0.0.1:9090      # Prometheus metrics, /healthz, /readyz
  kai watch -n shop --until-resolved --timeout 10m        # end once nothing is failing

Every remediation passes the policy gate (--yes or policy mode auto; protected namespaces are
refused) and is audited; each revision is tried once, with a cooldown and an hourly cap.";

/// `kai mcp`: its cluster options and its own.
#[derive(Debug, Args)]
pub struct McpCmd {
    /// Cluster options.
    #[command(flatten)]
    pub target: Target,
    /// MCP server options.
    #[command(flatten)]
    pub args: McpArgs,
}

/// The names of the subcommands, for "did you mean".
pub const SUBCOMMANDS: [&str; 6] = ["health", "sandbox", "completions", "eval", "mcp", "watch"];

const HEALTH_EXAMPLES: &str = "Examples:
  kai health                         # the context's namespace, as kubectl
  kai health -n shop --wait 5m       # re-check until healthy, for CI after helm install
  kai health -A --fail-on warning    # every namespace; exit 1 on warnings too
  kai health -l app=web --format junit > kai-health.xml
  kai health --context staging --context prod   # several clusters at once
  kai --sandbox demo health          # a simulated cluster, no setup
  kai health -n shop --allow-unchecked nodes,storageclasses   # an identity that may not list them

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 could not check: the
cluster, a kind that could not be read (forbidden, undecodable; unless --allow-unchecked names
it), or a namespace or -l selector with nothing in it. What was checked and fails is still 1.";

const SANDBOX_EXAMPLES: &str = "Examples:
  kai sandbox --list
  kai sandbox demo --write-kubeconfig /tmp/kc    # then: kubectl --kubeconfig /tmp/kc get pods -A
  kai sandbox healthy --port 6443
  kai sandbox ./my-scenario.yaml --latency-ms 200 --forbid list:secrets";

const COMPLETIONS_EXAMPLES: &str = "Examples:
  source <(kai completions bash)                                   # bash, this shell
  kai completions bash > ~/.local/share/bash-completion/completions/kai
  kai completions zsh > \"${fpath[1]}/_kai\"                          # zsh
  kai completions fish > ~/.config/fish/completions/kai.fish       # fish
  kai completions powershell >> $PROFILE                           # PowerShell";

const MCP_EXAMPLES: &str = "Examples:
  kai --sandbox demo mcp                      # try it: a simulated cluster, read-only tools
  kai mcp -n shop                             # the current context, namespace shop
  kai mcp --allow-writes                      # writes too, each approved in the client
  kai mcp --allow-writes --yes                # writes without asking (protected namespaces hold)
  kai mcp --http 127.0.0.1:8931               # streamable HTTP at http://127.0.0.1:8931/mcp

The README has configuration snippets for Claude Desktop, VS Code and Cursor.";

/// `kai mcp` options.
#[derive(Debug, Args, Clone, Default)]
pub struct McpArgs {
    /// Expose the write tools (restart, scale, rollout_undo); each write still needs approval.
    #[arg(long)]
    pub allow_writes: bool,
    /// Approve writes without asking the client (needs --allow-writes; protected namespaces
    /// are still refused).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Serve streamable HTTP on this loopback address (`127.0.0.1:8931`; port 0 picks one)
    /// instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
}

/// `kai eval` options.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Tasks to run: built-in names or task files (default: every built-in task).
    #[arg(long = "task", value_name = "NAME|FILE", num_args = 1..)]
    pub tasks: Vec<String>,
    /// Runs of each task (models are not deterministic; the score counts every run).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
    /// Report format.
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,
    /// List the tasks (names, kinds, one-line descriptions) and exit.
    #[arg(long)]
    pub list: bool,
    /// Score the offline engine (no model): the baseline a model should beat.
    #[arg(long)]
    pub offline: bool,
    /// Exit 1 when the score is below this: 0.8 or 80%.
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<String>,
    /// Model name (as the global --model).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// OpenAI-compatible endpoint (as the global --base-url).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Environment variable holding the API key (as the global --api-key-env).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Most tool-calling steps per task before it fails (default: the global --max-steps, 20).
    #[arg(long, value_name = "N")]
    pub max_steps: Option<usize>,
}

const EVAL_EXAMPLES: &str = "Examples:
  kai eval --list
  kai eval --offline                                   # the deterministic engine's baseline
  kai eval --base-url http://localhost:11434/v1 --model qwen2.5:7b
  kai eval --task demo-rollback --task ./my-task.yaml --repeat 3
  kai eval --output json --min-score 0.7 > eval.json   # CI: exit 1 below 70%

Each task runs in its own in-process sandbox: writes are allowed there and only there.
Exit codes: 0 the run completed (whatever the score), 1 the score is below --min-score or a
run failed, 2 usage or configuration error.";

/// `kai health`: its cluster options and its own.
#[derive(Debug, Args)]
pub struct HealthCmd {
    /// Cluster options.
    #[command(flatten)]
    pub target: Target,
    /// Health options.
    #[command(flatten)]
    pub args: crate::health::HealthArgs,
}

/// `kai completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `kai sandbox` options.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Built-in scenario name or scenario YAML file.
    #[arg(value_name = "SCENARIO|FILE", default_value = "demo")]
    pub scenario: String,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Write a kubeconfig for the sandbox to this path.
    #[arg(long, value_name = "PATH")]
    pub write_kubeconfig: Option<PathBuf>,
    /// The kubeconfig's user: `serviceaccount:NAMESPACE:NAME`, whose RBAC bindings apply
    /// (default: the cluster admin).
    #[arg(long = "as", value_name = "serviceaccount:NS:NAME")]
    pub as_identity: Option<String>,
    /// List the built-in scenarios.
    #[arg(long)]
    pub list: bool,
    /// Serve a generated cluster with this many pods instead of a scenario (benchmarks; at
    /// most 200000, as every pod is kept in memory).
    #[arg(long, value_name = "N", value_parser = parse_pod_count)]
    pub generate_pods: Option<usize>,
    /// Added latency on every API request, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub latency_ms: Option<u64>,
    /// Fraction of API requests answered 500.
    #[arg(long, value_name = "RATE")]
    pub error_rate: Option<f64>,
    /// Fraction of API requests answered 429 with Retry-After.
    #[arg(long, value_name = "RATE")]
    pub throttle_rate: Option<f64>,
    /// Refuse a verb on a resource with 403, as RBAC would: `list:secrets`, `patch:deployments`.
    #[arg(long, value_name = "VERB:RESOURCE")]
    pub forbid: Vec<String>,
}

/// Prints a command-line error in kai's one voice (`kai: error: ...; see kai X --help`) and
/// returns exit 2; help and version go to stdout as clap prints them.
pub fn parse_failure(e: &clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return std::process::ExitCode::from(crate::exit::OK);
    }
    errln!("kai: error: {}", one_line_error(&e.render().to_string()));
    std::process::ExitCode::from(crate::exit::USAGE)
}

/// Folds clap's multi-line error (message, tips, usage) into one line: the message, the
/// suggestion if there is one, and which help to read.
fn one_line_error(rendered: &str) -> String {
    let mut message = String::new();
    let mut tips = Vec::new();
    let mut command = "kai".to_string();
    for line in rendered.lines() {
        let t = line.trim();
        if let Some(m) = t.strip_prefix("error: ") {
            message = m.trim().to_string();
        } else if let Some(tip) = t.strip_prefix("tip: ") {
            let tip = tip.trim();
            if tip.starts_with("to pass ") {
                continue;
            }
            tips.push(match tip.strip_prefix("a similar argument exists: ") {
                Some(arg) => format!("did you mean {arg}?"),
                None => match tip.strip_prefix("a similar value exists: ") {
                    Some(v) => format!("did you mean {v}?"),
                    None => tip.to_string(),
                },
            });
        } else if let Some(usage) = t.strip_prefix("Usage: ") {
            // `kai health [OPTIONS]` → `kai health`.
            command = usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    if message.is_empty() {
        message = rendered
            .lines()
            .next()
            .unwrap_or("bad arguments")
            .to_string();
    }
    let mut out = message;
    for tip in tips {
        out.push_str("; ");
        out.push_str(&tip);
    }
    out.push_str(&format!("; see {command} --help"));
    out
}

/// Refuses a question that is really a mistyped subcommand (`kai helth`, `kai sandbx demo`),
/// naming the subcommand meant.
pub fn check_not_a_typo(question: &[String]) -> anyhow::Result<()> {
    let words: Vec<&str> = question.iter().flat_map(|q| q.split_whitespace()).collect();
    let Some(first) = words.first() else {
        return Ok(());
    };
    if words.len() > 3 || first.chars().count() < 4 {
        return Ok(());
    }
    let first = first.to_lowercase();
    let near = SUBCOMMANDS.iter().find(|s| {
        let d = kai_tools::suggest::edit_distance(&first, s);
        (1..=2).contains(&d)
    });
    match near {
        Some(s) => Err(crate::usage(format!(
            "unknown command \"{first}\"; did you mean `kai {s}`? (to ask a question, use more words: kai \"is {first} ok\")"
        ))),
        None => Ok(()),
    }
}

/// The most pods `--generate-pods` makes: the sandbox keeps every object in memory (about
/// 10 KB a pod with its owners and events), so larger counts would exhaust the machine.
pub const MAX_GENERATED_PODS: usize = 200_000;

/// Parses `--generate-pods N`: a whole number from 1 to [`MAX_GENERATED_PODS`].
pub fn parse_pod_count(s: &str) -> Result<usize, String> {
    let n: u128 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of pods from 1 to {MAX_GENERATED_PODS}"))?;
    match usize::try_from(n) {
        Ok(n) if (1..=MAX_GENERATED_PODS).contains(&n) => Ok(n),
        _ => Err(format!(
            "at most {MAX_GENERATED_PODS} pods (the sandbox keeps every pod in memory), at least 1"
        )),
    }
}
