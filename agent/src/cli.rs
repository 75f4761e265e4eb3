//! The command line: global options, subcommands, and the one-shot question.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kai: ask your Kubernetes cluster what is wrong, in plain words.
#[derive(Debug, Parser)]
#[command(
    name = "kai",
    version,
    about = "A natural-language operations agent for Kubernetes",
    after_help = "Examples:\n  kai --sandbox demo \"why is backend crashing\"\n  kai health -A --fail-on warning\n  kai sandbox demo --write-kubeconfig /tmp/kc   # then: kubectl --kubeconfig /tmp/kc get pods -A"
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// A subcommand (health, sandbox); without one, the words are a question.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The question; with none on a terminal, kai opens a REPL.
    #[arg(value_name = "QUESTION", trailing_var_arg = true)]
    pub question: Vec<String>,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kube context (default: the current one). `health` takes several.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Vec<String>,
    /// Namespace (default: the context's).
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Run against a built-in simulated cluster (or a scenario YAML file), in-process.
    #[arg(long, global = true, value_name = "SCENARIO")]
    pub sandbox: Option<String>,
    /// Model name (KAI_MODEL).
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// OpenAI-compatible endpoint (KAI_BASE_URL, OPENAI_BASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (default KAI_API_KEY, OPENAI_API_KEY).
    #[arg(long, global = true, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Answer without a model, from fixed queries and the diagnosis engine.
    #[arg(long, global = true)]
    pub offline: bool,
    /// Refuse every change to the cluster.
    #[arg(long, global = true, conflicts_with = "yes")]
    pub read_only: bool,
    /// Approve changes without asking (protected namespaces are still refused).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Output of a one-shot answer.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Most tool-calling steps before giving up (exit 5).
    #[arg(long, global = true, default_value_t = 20, value_name = "N")]
    pub max_steps: usize,
    /// System prompt file replacing the built-in one.
    #[arg(long, global = true, value_name = "PATH")]
    pub system_prompt: Option<PathBuf>,
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
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
    Health(crate::health::HealthArgs),
    /// Serve a simulated cluster that kubectl and kai can use.
    Sandbox(SandboxArgs),
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
    /// Serve a generated cluster with this many pods instead of a scenario (benchmarks).
    #[arg(long, value_name = "N")]
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
