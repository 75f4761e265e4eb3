//! The `kai` binary: command line, configuration, sessions and rendering.

#[macro_use]
mod stdio;
mod audit;
mod chat;
mod cli;
mod config;
mod deadline;
mod eval;
mod events;
mod exit;
mod health;
mod input;
mod mcp;
mod model;
mod offline;
mod oneshot;
mod policy;
mod progress;
mod prompt;
mod render;
mod repl;
mod runtime;
mod sandbox_cmd;
mod scope;
mod session;
mod tls;
mod watch;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use kai_tools::{Cluster, ToolError};

use crate::cli::{Cli, Command, Global};
pub use crate::exit::{Fail, usage};

/// The allocator: mimalloc. Both of kai's large workloads are allocation-bound: `health -A`
/// decoding the pages of a large cluster, and `kai sandbox` building and encoding a generated
/// one, where glibc's malloc (its free-list consolidation above all) took 45% of a 100,000-pod
/// load's CPU. Built without transparent huge pages (`no_thp`): with them, a diagnosis of
/// 100,000 pods held 20–30 MB more (see README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::parse_failure(&e),
    };
    init_logging(cli.global.verbose);
    // reqwest and kube share one rustls crypto provider; installing it twice is harmless.
    tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!(
                "kai: error: cannot start the async runtime: {e}; free some memory or threads and retry"
            );
            return ExitCode::from(exit::FAILURE);
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for background tasks (a sandbox's tick, idle connections) at exit.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e.downcast_ref::<Fail>().map_or(exit::FAILURE, |f| f.code);
            errln!("kai: error: {}", kai_tools::mask_text(&format!("{e:#}")));
            ExitCode::from(code)
        }
    }
}

fn init_logging(verbose: u8) {
    // kube-rs logs every failed request at ERROR; kai reports the failure itself in one line,
    // so library logs stay quiet unless asked for (-vv, RUST_LOG).
    let default = match verbose {
        0 => "kai=warn,kai_tools=warn,kai_sandbox=warn,off",
        1 => "kai=info,kai_tools=info,kai_sandbox=info,off",
        _ => "kai=debug,kai_tools=debug,kai_sandbox=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let Cli {
        global,
        command,
        question,
    } = cli;
    let mut mcp_args = None;
    let mut watch_args = None;
    let (global, health) = match command {
        Some(Command::Sandbox(args)) => return sandbox_cmd::serve(&args).await,
        Some(Command::Completions(args)) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "kai", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not an error.
            return match std::io::Write::write_all(&mut std::io::stdout(), &script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(anyhow::anyhow!(
                    "cannot write the completion script to stdout: {e}; redirect it to a file"
                )),
                _ => Ok(exit::OK),
            };
        }
        Some(Command::Health(h)) => (global.with_target(&h.target), Some(h.args)),
        Some(Command::Eval(args)) => return eval::run(global, args).await,
        Some(Command::Mcp(m)) => {
            mcp_args = Some(m.args);
            (global.with_target(&m.target), None)
        }
        Some(Command::Watch(w)) => {
            watch_args = Some(w.args);
            (global.with_target(&w.target), None)
        }
        None => (global, None),
    };
    if health.is_none() && mcp_args.is_none() && watch_args.is_none() {
        cli::check_not_a_typo(&question)?;
    }
    // `--sandbox` serves a simulated cluster in-process for the rest of the run.
    let embedded = match &global.sandbox {
        Some(name) => Some(sandbox_cmd::Embedded::start(name).await?),
        None => None,
    };
    let global = match &embedded {
        Some(e) => Global {
            kubeconfig: Some(e.kubeconfig.clone()),
            ..global
        },
        None => global,
    };
    if let Some(args) = mcp_args {
        let policy = mcp::policy(&global, &args)?;
        let cluster = connect(&global).await?;
        return mcp::run(cluster, policy, &args).await;
    }
    if let Some(mut args) = watch_args {
        return watch_cmd(&global, &mut args).await;
    }
    if let Some(mut args) = health {
        // kubectl's flags before the subcommand count as if given after it.
        args.all_namespaces |= global.all_namespaces;
        if args.selector.is_none() {
            args.selector.clone_from(&global.selector);
        }
        let limit = deadline::health(&global, &args);
        let limits = deadline::limits(limit, args.wait);
        return deadline::within(limit, exit::USAGE, "the cluster", async {
            let targets = connect_all(&global, limits).await;
            Ok(clamp(
                health::run(targets, global.namespace.clone(), &args).await,
            ))
        })
        .await;
    }
    if question.is_empty() {
        if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
            let cluster = connect(&global).await?;
            return repl::run(global, cluster).await;
        }
        return Err(usage(
            "no question given, and the REPL needs a terminal; ask one: kai \"why is backend crashing\", or see kai --help",
        ));
    }
    let question = question.join(" ");
    let limit = deadline::question(&global);
    deadline::within(limit, exit::FAILURE, "the cluster or the model", async {
        let cluster = connect(&global).await?;
        oneshot::run(&global, &cluster, &question).await
    })
    .await
}

/// `kai watch`: the flags before the subcommand count too; runs until it ends by itself, or
/// within `--timeout` when one is given.
async fn watch_cmd(global: &Global, args: &mut watch::WatchArgs) -> anyhow::Result<u8> {
    args.all_namespaces |= global.all_namespaces;
    if args.selector.is_none() {
        args.selector.clone_from(&global.selector);
    }
    let json = match args.output {
        Some(f) => f == watch::WatchFormat::Json,
        None => global.output == cli::OutputFormat::Json,
    };
    let settings = runtime::settings(global)?;
    let gate_flags = Global {
        yes: global.yes || args.yes,
        ..global.clone()
    };
    let gate = runtime::gate_for(&gate_flags, &settings);
    let work = async {
        let cluster = connect(global).await?;
        watch::run(cluster, gate, global.namespace.clone(), args, json).await
    };
    match global.timeout {
        Some(limit) => deadline::within(limit, exit::FAILURE, "the watch", work).await,
        None => work.await,
    }
}

fn clamp(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(exit::FAILURE)
}

/// Connects to the one context of a one-shot run (the first `--context`, else the current);
/// a namespace given with `-n` that does not exist is a usage error, said before anything
/// runs (with the closest name).
pub async fn connect(global: &Global) -> anyhow::Result<Cluster> {
    let context = global.context.first().map(String::as_str);
    let cluster = Cluster::connect_with(
        global.kubeconfig.as_deref(),
        context,
        global.namespace.as_deref(),
        deadline::limits(deadline::question(global), None),
    )
    .await
    .map_err(|e| match e {
        ToolError::Config(m) => usage(m),
        other => anyhow::Error::new(other),
    })?;
    if let Some(ns) = &global.namespace
        && !global.all_namespaces
    {
        // Only a namespace known to be missing stops the run; an unreachable server is
        // reported by the first real call, in its own words.
        if let Err(ToolError::NotFound { message }) =
            kai_tools::k8s::check_namespace(&cluster, ns).await
        {
            return Err(usage(format!("{message}; kai -A looks in every namespace")));
        }
    }
    Ok(cluster)
}

/// Connects to every `--context` given (or the current one), keeping failures per context.
async fn connect_all(
    global: &Global,
    limits: kai_tools::retry::Limits,
) -> Vec<(String, Result<Cluster, ToolError>)> {
    let contexts: Vec<Option<String>> = if global.context.is_empty() {
        vec![None]
    } else {
        global.context.iter().cloned().map(Some).collect()
    };
    let kubeconfig: Option<PathBuf> = global.kubeconfig.clone();
    let tasks = contexts.into_iter().map(|ctx| {
        let kubeconfig = kubeconfig.clone();
        let ns = global.namespace.clone();
        async move {
            let r =
                Cluster::connect_with(kubeconfig.as_deref(), ctx.as_deref(), ns.as_deref(), limits)
                    .await;
            let name = match (&r, ctx) {
                (Ok(c), _) => c.context.clone(),
                (Err(_), Some(c)) => c,
                (Err(_), None) => "current context".to_string(),
            };
            (name, r)
        }
    });
    futures::future::join_all(tasks).await
}
