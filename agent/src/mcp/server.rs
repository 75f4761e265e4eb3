//! The MCP server handler of one session: lists and calls the registry's tools through the
//! session's policy gate (whose approver is the client, and whose audit entries carry the
//! client's name), and serves the prompt and the findings resources.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorCode, GetPromptRequestParams, GetPromptResponse,
    Implementation, InitializeRequestParams, InitializeResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use super::approver::ElicitApprover;
use super::{Shared, content, progress, tools};
use crate::policy::{Approver, Gate, GateError};

/// The newest protocol revision served: the last with the `initialize` handshake, whose
/// `clientInfo` names the client in the audit log and whose server-to-client requests carry
/// the approval question. A client that probes a newer revision falls back to it.
const NEWEST: ProtocolVersion = ProtocolVersion::V_2025_11_25;

const INSTRUCTIONS: &str = "kai investigates a Kubernetes cluster with typed, read-only tools: start with `diagnose` (findings chained to a root cause), confirm with `get_logs`, `get_events` and `describe`. Secret values are never returned. Write tools (restart, scale, rollout_undo) are listed only when the server runs with --allow-writes, and every write passes kai's policy gate: the user approves it, protected namespaces are refused, and each attempt is audited.";

/// One MCP session's handler.
pub struct KaiMcp {
    shared: Arc<Shared>,
    gate: OnceLock<Arc<Gate>>,
}

impl KaiMcp {
    /// A handler for a new session over `shared`.
    pub fn new(shared: Arc<Shared>) -> KaiMcp {
        KaiMcp {
            shared,
            gate: OnceLock::new(),
        }
    }

    /// The session's gate, made on its first call: the client (named by its `clientInfo`) is
    /// its approver and is recorded with every write attempt.
    fn gate(&self, ctx: &RequestContext<RoleServer>) -> Arc<Gate> {
        let gate = self.gate.get_or_init(|| {
            let client = ctx
                .client_info()
                .map(|i| i.name)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "unnamed MCP client".into());
            let approver: Arc<dyn Approver> = Arc::new(ElicitApprover::new(ctx.peer.clone()));
            let s = &self.shared;
            Arc::new(
                Gate::new(s.mode, s.protected.clone(), approver, s.audit.clone())
                    .with_client(client),
            )
        });
        Arc::clone(gate)
    }

    async fn findings(
        &self,
        uri: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, McpError> {
        let Some(args) = content::diagnose_args(uri) else {
            return Err(McpError::resource_not_found(
                format!(
                    "no resource {uri}: kai serves kai://findings/namespace/NAME and kai://findings/all-namespaces"
                ),
                None,
            ));
        };
        let gate = self.gate(ctx);
        let run = gate.execute(&self.shared.cluster, "diagnose", &args);
        let Some(r) = progress::run(ctx, "diagnose", run).await else {
            return Err(cancelled());
        };
        match r.output {
            Ok(out) => {
                let json = serde_json::to_string_pretty(&out.json)
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::text(json, uri).with_mime_type("application/json"),
                    ResourceContents::text(out.text, uri).with_mime_type("text/markdown"),
                ]))
            }
            Err(e @ GateError::Tool(_)) | Err(e @ GateError::Denied(_)) => Err(
                McpError::internal_error(tools::error_line(&e, self.shared.allow_writes), None),
            ),
        }
    }
}

fn cancelled() -> McpError {
    McpError::new(
        ErrorCode::INTERNAL_ERROR,
        "the client cancelled the request",
        None,
    )
}

impl ServerHandler for KaiMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_prompts()
            .enable_resources()
            .build();
        let mut info = ServerConfig::new(capabilities).with_instructions(INSTRUCTIONS);
        info.protocol_version = NEWEST;
        info.server_info = Implementation::new("kai", env!("CARGO_PKG_VERSION"))
            .with_title("kai: Kubernetes investigation tools");
        info
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&NEWEST))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        tracing::info!(
            "MCP client {} {} connected (protocol {})",
            request.client_info.name,
            request.client_info.version,
            request.protocol_version
        );
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::listed(
            self.shared.allow_writes,
        )))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let label = crate::session::call_label(&name, &args);
        tracing::info!("MCP call {label}");
        let gate = self.gate(&context);
        let run = gate.execute(&self.shared.cluster, &name, &args);
        let Some(r) = progress::run(&context, &label, run).await else {
            return Err(cancelled());
        };
        if let Err(e) = &r.output {
            tracing::info!("MCP call {label} failed: {e}");
        }
        Ok(tools::result(r, self.shared.allow_writes).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(content::prompts()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if request.name != content::INVESTIGATE {
            return Err(McpError::invalid_params(
                format!(
                    "no prompt \"{}\": kai serves \"{}\"",
                    request.name,
                    content::INVESTIGATE
                ),
                None,
            ));
        }
        let prompt = content::investigate(&self.shared, request.arguments.as_ref()).await?;
        Ok(GetPromptResponse::Complete(prompt))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(content::resources(
            &self.shared,
        )))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            content::templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let result = self.findings(&request.uri, &context).await?;
        Ok(ReadResourceResponse::Complete(result))
    }
}
