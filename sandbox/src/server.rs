//! The HTTP API server: routing, verbs, discovery, tables, watch and fault injection.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use serde_json::json;

use crate::SandboxError;
use crate::clock::Clock;
use crate::faults::Faults;
use crate::scenario::Scenario;
use crate::sim::Simulator;
use crate::store::Store;

/// The store and the simulation behind one lock.
#[derive(Debug)]
pub struct World {
    /// All objects.
    pub store: Store,
    /// The controllers, scheduler and kubelet.
    pub sim: Simulator,
}

/// How to start a sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Faults to inject, overriding the scenario's.
    pub faults: Option<Faults>,
    /// The clock; default real time.
    pub clock: Option<Clock>,
}

/// A running sandbox API server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    scenario: String,
    namespace: String,
    world: Arc<Mutex<World>>,
    clock: Clock,
    task: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Loads `scenario` and serves it on 127.0.0.1.
    pub async fn start(
        scenario: Scenario,
        options: SandboxOptions,
    ) -> Result<Sandbox, SandboxError> {
        let clock = options.clock.unwrap_or_else(Clock::real);
        let store = Store::new(clock.clone());
        let sim = Simulator::new(&scenario);
        let world = Arc::new(Mutex::new(World { store, sim }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|source| SandboxError::Bind {
                port: options.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            port: options.port,
            source,
        })?;
        let app = Router::new().route(
            "/version",
            get(|| async {
                axum::Json(
                    json!({"major": "1", "minor": "32", "gitVersion": "v1.32.0-kai-sandbox"}),
                )
            }),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sandbox {
            addr,
            scenario: scenario.name.clone(),
            namespace: "default".into(),
            world,
            clock,
            task,
        })
    }

    /// Base URL: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The port served.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Name of the kubeconfig context and cluster: `kai-sandbox-SCENARIO`.
    pub fn context_name(&self) -> String {
        format!("kai-sandbox-{}", self.scenario)
    }

    /// The namespace the kubeconfig context selects.
    pub fn default_namespace(&self) -> &str {
        &self.namespace
    }

    /// A kubeconfig (YAML) whose current context points at this sandbox.
    pub fn kubeconfig(&self) -> String {
        let ctx = self.context_name();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {ctx}\n  cluster:\n    server: {url}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {ctx}\n    user: {ctx}\n    namespace: {ns}\ncurrent-context: {ctx}\nusers:\n- name: {ctx}\n  user:\n    token: kai-sandbox\npreferences: {{}}\n",
            url = self.url(),
            ns = self.namespace
        )
    }

    /// Writes [`Sandbox::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SandboxError> {
        std::fs::write(path, self.kubeconfig()).map_err(|source| SandboxError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The sandbox's clock (advance a manual one to move the simulation on).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The store and simulation, for tests that inspect or change the world directly.
    pub fn world(&self) -> Arc<Mutex<World>> {
        self.world.clone()
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}
