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

use kai_tools::Cluster;

use crate::audit::AuditLog;
use crate::cli::{Global, McpArgs};
use crate::policy::Mode;
use crate::{exit, usage};

pub use server::KaiMcp;

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

/// The policy of a server, from the flags and the config file; checked before connecting.
#[derive(Debug)]
pub struct Policy {
    mode: Mode,
    protected: Vec<String>,
}

/// Checks the flags (writes, `--yes`, `--read-only`, a loopback `--http`) and reads the
/// policy settings; a contradiction is a usage error (exit 2).
pub fn policy(global: &Global, args: &McpArgs) -> anyhow::Result<Policy> {
    if let Some(addr) = args.http
        && !addr.ip().is_loopback()
    {
        return Err(usage(format!(
            "--http {addr}: kai mcp serves on loopback only; use 127.0.0.1:PORT (or [::1]:PORT)"
        )));
    }
    let yes = global.yes || args.yes;
    if yes && !args.allow_writes {
        return Err(usage(
            "--yes needs --allow-writes with kai mcp: writes are not served without it",
        ));
    }
    if global.read_only && args.allow_writes {
        return Err(usage(
            "--read-only and --allow-writes contradict each other; drop one",
        ));
    }
    let settings = crate::runtime::settings(global)?;
    let mode = if args.allow_writes {
        settings.policy.mode_with_flags(false, yes)
    } else {
        Mode::ReadOnly
    };
    Ok(Policy {
        mode,
        protected: settings.policy.protected_namespaces,
    })
}

/// Serves MCP until the client goes away (stdio) or Ctrl-C (HTTP).
pub async fn run(cluster: Cluster, policy: Policy, args: &McpArgs) -> anyhow::Result<u8> {
    let audit = AuditLog::default_path().map(AuditLog::new);
    if audit.is_none() && args.allow_writes {
        tracing::warn!("neither XDG_STATE_HOME nor HOME is set: writes will not be audited");
    }
    let shared = Arc::new(Shared {
        cluster,
        mode: policy.mode,
        allow_writes: args.allow_writes,
        protected: policy.protected,
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
        errln!(
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
    errln!("kai: serving MCP (streamable HTTP) at http://{local}/mcp; Ctrl-C stops");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        })
        .await
        .map_err(|e| anyhow::anyhow!("the MCP HTTP server failed on {local}: {e}"))?;
    Ok(exit::OK)
}
