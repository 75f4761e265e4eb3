//! `kai mcp`: kai's typed tools, the `investigate` prompt and the diagnosis findings served to
//! MCP clients over stdio or streamable HTTP on loopback. Every tool call passes the one policy
//! gate ([`crate::policy::Gate`]); stdout carries only the protocol, logs go to stderr.

mod approver;
mod content;
mod progress;
mod server;
mod tools;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use kai_tools::Cluster;

use crate::audit::AuditLog;
use crate::cli::Global;
use crate::policy::Mode;
use crate::{exit, usage};

pub use server::KaiMcp;

/// `kai mcp` examples, shown by `kai mcp --help`.
pub const EXAMPLES: &str = "Examples:
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
    #[arg(long, short = 'y', requires = "allow_writes")]
    pub yes: bool,
    /// Serve streamable HTTP on this loopback address (`127.0.0.1:8931`; port 0 picks one)
    /// instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
}

/// What every session of one server shares: the cluster and the policy it was started with.
#[derive(Debug)]
pub struct Shared {
    /// The cluster every tool runs on.
    pub cluster: Cluster,
    /// The policy mode of writes (`read-only` unless `--allow-writes`).
    pub mode: Mode,
    /// Whether write tools are listed.
    pub allow_writes: bool,
    /// Namespaces where writes are refused.
    pub protected: Vec<String>,
    /// Where write attempts are recorded.
    pub audit: Option<AuditLog>,
}

/// Serves MCP until the client goes away (stdio) or Ctrl-C (HTTP).
pub async fn run(global: &Global, cluster: Cluster, args: &McpArgs) -> anyhow::Result<u8> {
    let settings = crate::runtime::settings(global)?;
    let mode = if !args.allow_writes {
        if global.yes {
            return Err(usage(
                "--yes needs --allow-writes with kai mcp: writes are not served without it",
            ));
        }
        Mode::ReadOnly
    } else {
        if global.read_only {
            return Err(usage(
                "--read-only and --allow-writes contradict each other; drop one",
            ));
        }
        settings
            .policy
            .mode_with_flags(false, global.yes || args.yes)
    };
    let audit = AuditLog::default_path().map(AuditLog::new);
    if audit.is_none() && args.allow_writes {
        tracing::warn!("neither XDG_STATE_HOME nor HOME is set: writes will not be audited");
    }
    let shared = Arc::new(Shared {
        cluster,
        mode,
        allow_writes: args.allow_writes,
        protected: settings.policy.protected_namespaces.clone(),
        audit,
    });
    match args.http {
        Some(addr) => serve_http(shared, addr).await,
        None => serve_stdio(shared).await,
    }
}

async fn serve_stdio(shared: Arc<Shared>) -> anyhow::Result<u8> {
    use rmcp::ServiceExt;
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!(
            "kai: serving MCP on stdio: an MCP client starts this command and speaks JSON-RPC on stdin (see the README for Claude Desktop, VS Code and Cursor); Ctrl-D ends it"
        );
    }
    tracing::info!(
        "serving MCP on stdio for context {} ({} mode)",
        shared.cluster.context,
        shared.mode
    );
    let service = KaiMcp::new(shared)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("the MCP client did not complete the handshake: {e}"))?;
    service
        .waiting()
        .await
        .map_err(|e| anyhow::anyhow!("the MCP server stopped: {e}"))?;
    Ok(exit::OK)
}

async fn serve_http(shared: Arc<Shared>, addr: SocketAddr) -> anyhow::Result<u8> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
    if !addr.ip().is_loopback() {
        return Err(usage(format!(
            "--http {addr}: kai mcp serves on loopback only; use 127.0.0.1:PORT (or [::1]:PORT)"
        )));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}; pick another port"))?;
    let local = listener
        .local_addr()
        .map_err(|e| anyhow::anyhow!("cannot read the address of {addr}: {e}"))?;
    let config = StreamableHttpServerConfig::default();
    let stop = config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        move || Ok(KaiMcp::new(Arc::clone(&shared))),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().route_service("/mcp", service);
    // The address goes to stderr: stdout stays free, and a script can read the port from it.
    eprintln!("kai: serving MCP (streamable HTTP) at http://{local}/mcp; Ctrl-C stops");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        })
        .await
        .map_err(|e| anyhow::anyhow!("the MCP HTTP server failed on {local}: {e}"))?;
    Ok(exit::OK)
}
