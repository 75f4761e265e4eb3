//! The HTTP API server: routing, verbs, discovery, tables, watch and fault injection.
//!
//! Served on 127.0.0.1: `/version`, discovery (`/api`, `/apis`, legacy and aggregated v2 /
//! v2beta1, `/api/v1`, `/apis/GROUP/VERSION`), `/openapi/v2` and `/openapi/v3` with the real
//! schemas (`kubectl explain`, old kubectl's validation), every resource of [`crate::resources::RESOURCES`] under the usual
//! namespaced and cluster paths with the `status`, `scale` and `log` subresources, `/healthz`,
//! and `POST /sandbox/v1/advance?seconds=N`, which moves the clock for tests in other
//! processes. Request bodies are JSON, YAML or protobuf (`server/protobuf.rs`); answers are JSON
//! or protobuf, as the `Accept` header prefers.
//!
//! A resource request flows: [`parse_route`] → fault injection → `admission::authorize` →
//! `api::serve` (one file per verb family) → for writes, `api::commit`, which runs
//! `admission::admit` (mutation, validation) before the store.

mod admission;
mod api;
mod apply;
mod discovery;
mod metrics;
mod openapi;
mod patch;
mod protobuf;
mod select;
mod table;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;

use crate::SandboxError;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::faults::{FaultInjector, FaultRequest, Faults};
use crate::resources::{ResourceType, by_plural};
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

impl World {
    /// Lets the simulation catch up with the store's clock.
    pub fn reconcile(&mut self) {
        let World { store, sim } = self;
        // The API server's own controllers: namespaces, disruption budgets, definitions.
        crate::namespaces::finalize(store);
        crate::crd::reconcile(store);
        sim.reconcile(store);
        crate::eviction::refresh_budgets(store);
    }
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
    tick: Option<tokio::task::JoinHandle<()>>,
    notices: Vec<String>,
    shared: Arc<Shared>,
}

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) world: Arc<Mutex<World>>,
    /// API requests served, by (verb, resource), so tests can tell a watch from a re-list.
    pub(crate) served: Mutex<std::collections::BTreeMap<(&'static str, String), u64>>,
    pub(crate) faults: FaultInjector,
    pub(crate) server_addr: String,
    pub(crate) clock: Clock,
}

impl Shared {
    /// Locks the world; a panic in another request does not make the sandbox unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Locks a world, recovering from a poisoned lock.
fn lock_world(world: &Mutex<World>) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sandbox {
    /// Loads `scenario` and serves it on 127.0.0.1.
    pub async fn start(
        scenario: Scenario,
        options: SandboxOptions,
    ) -> Result<Sandbox, SandboxError> {
        let clock = options.clock.unwrap_or_else(Clock::real);
        let mut store = Store::new(clock.clone());
        let mut sim = Simulator::new(&scenario);
        let (name, namespace, scenario_faults) = (
            scenario.name.clone(),
            scenario.settings.namespace.clone(),
            scenario.settings.faults.clone(),
        );
        // The scenario's objects move into the store: a large one is never held twice.
        sim.load_owned(&mut store, scenario)?;
        crate::rbac::bootstrap(&mut store);
        let notices = crate::crd::adopt_schemaless(&mut store);
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
        let faults = options.faults.unwrap_or(scenario_faults);
        let shared = Arc::new(Shared {
            world: world.clone(),
            faults: FaultInjector::new(faults),
            served: Mutex::default(),
            server_addr: addr.to_string(),
            clock: clock.clone(),
        });
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        // A manual clock moves only through `advance`, which reconciles itself.
        let tick = (!clock.is_manual()).then(|| {
            let world = world.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(500));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    // Off the async workers: a big cluster's pass must not stall requests
                    // that do not need the lock.
                    let w = world.clone();
                    let _ = tokio::task::spawn_blocking(move || lock_world(&w).reconcile()).await;
                }
            })
        });
        Ok(Sandbox {
            notices,
            addr,
            scenario: name,
            namespace: namespace.unwrap_or_else(|| "default".into()),
            world,
            clock,
            task,
            tick,
            shared,
        })
    }

    /// Base URL: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many API requests of a verb (`list`, `watch`, `get`...) on a resource (plural,
    /// with `/subresource`) were served so far.
    pub fn served(&self, verb: &str, resource: &str) -> u64 {
        self.shared
            .served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|((v, r), _)| *v == verb && r == resource)
            .map(|(_, n)| *n)
            .sum()
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
        self.kubeconfig_as(&crate::rbac::Subject::admin())
    }

    /// A kubeconfig whose user is `subject` (its bearer token); a ServiceAccount's context
    /// selects the account's namespace.
    pub fn kubeconfig_as(&self, subject: &crate::rbac::Subject) -> String {
        let ctx = self.context_name();
        let ns = subject
            .service_account_of()
            .map_or(self.namespace.as_str(), |(ns, _)| ns);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {ctx}\n  cluster:\n    server: {url}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {ctx}\n    user: {ctx}\n    namespace: {ns}\ncurrent-context: {ctx}\nusers:\n- name: {ctx}\n  user:\n    token: {token}\n{imp}preferences: {{}}\n",
            url = self.url(),
            token = subject.token(),
            // kubectl sends no bearer token over plain HTTP; impersonation headers it sends.
            imp = if subject.is_superuser() {
                String::new()
            } else {
                format!("    as: {}\n", subject.user)
            }
        )
    }

    /// Creates the ServiceAccount `subject` names (and its namespace) if the scenario has
    /// none, as `kubectl create serviceaccount` would, so its token names a real account.
    pub fn ensure_service_account(&self, subject: &crate::rbac::Subject) {
        let Some((ns, name)) = subject.service_account_of() else {
            return;
        };
        let mut w = lock_world(&self.world);
        let (Some(nrt), Some(sart)) = (
            by_plural("", "namespaces"),
            by_plural("", "serviceaccounts"),
        ) else {
            return;
        };
        if w.store.get(nrt, "", ns).is_none() {
            let _ = w.store.create(
                nrt,
                serde_json::json!({"metadata": {"name": ns,
                "labels": {"kubernetes.io/metadata.name": ns}}}),
            );
        }
        if w.store.get(sart, ns, name).is_none() {
            let _ = w.store.create(
                sart,
                serde_json::json!({"metadata": {"name": name, "namespace": ns}}),
            );
        }
        w.reconcile();
    }

    /// What loading the scenario wants the user to know (custom resources served schemaless).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Writes [`Sandbox::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SandboxError> {
        self.write_kubeconfig_as(path, &crate::rbac::Subject::admin())
    }

    /// Writes [`Sandbox::kubeconfig_as`] to `path`.
    pub fn write_kubeconfig_as(
        &self,
        path: &Path,
        subject: &crate::rbac::Subject,
    ) -> Result<(), SandboxError> {
        std::fs::write(path, self.kubeconfig_as(subject)).map_err(|source| SandboxError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The sandbox's clock (advance a manual one to move the simulation on).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves the clock forward by `by` and lets the simulation catch up.
    pub fn advance(&self, by: jiff::SignedDuration) {
        advance_world(&self.world, &self.clock, by);
    }

    /// The store and simulation, for tests that inspect or change the world directly.
    pub fn world(&self) -> Arc<Mutex<World>> {
        self.world.clone()
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        self.task.abort();
        if let Some(t) = &self.tick {
            t.abort();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Moves the clock and lets the simulation catch up; the simulation plays the time in between
/// moment by moment itself, so one call equals that much real time.
fn advance_world(world: &Mutex<World>, clock: &Clock, by: jiff::SignedDuration) {
    if by > jiff::SignedDuration::ZERO {
        clock.advance(by);
    }
    lock_world(world).reconcile();
}

/// Where a resource request points.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The resource type.
    pub(crate) rt: &'static ResourceType,
    /// Namespace from the URL.
    pub(crate) namespace: Option<String>,
    /// Object name from the URL.
    pub(crate) name: Option<String>,
    /// Subresource (`status`, `scale`, `log`).
    pub(crate) sub: Option<String>,
}

#[derive(Debug)]
enum Route {
    Version,
    Api,
    Apis,
    Group(String),
    GroupVersion(String, String),
    Resource(Target),
    Advance,
    Healthz,
    OpenApiRoot,
    OpenApiDoc(String),
    OpenApiV2,
    Metrics(Vec<String>),
}

fn parse_route(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz"] | ["readyz"] | ["livez"] => Some(Route::Healthz),
        ["sandbox", "v1", "advance"] => Some(Route::Advance),
        ["openapi", "v2"] => Some(Route::OpenApiV2),
        ["openapi", "v3"] => Some(Route::OpenApiRoot),
        ["openapi", "v3", rest @ ..] => Some(Route::OpenApiDoc(rest.join("/"))),
        ["api"] => Some(Route::Api),
        ["apis"] => Some(Route::Apis),
        ["api", v] => Some(Route::GroupVersion(String::new(), v.to_string())),
        ["apis", g] => Some(Route::Group(g.to_string())),
        ["apis", g, v] => Some(Route::GroupVersion(g.to_string(), v.to_string())),
        ["apis", metrics::GROUP, metrics::VERSION, rest @ ..] => {
            Some(Route::Metrics(rest.iter().map(|s| s.to_string()).collect()))
        }
        ["api", v, rest @ ..] => resource_route("", v, rest),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest),
        _ => None,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Option<Route> {
    let find = |plural: &str| by_plural(group, plural).filter(|r| r.version == version);
    let target = |rt, ns: Option<&&str>, name: Option<&&str>, sub: Option<&&str>| {
        Some(Route::Resource(Target {
            rt,
            namespace: ns.map(|s| s.to_string()),
            name: name.map(|s| s.to_string()),
            sub: sub.map(|s| s.to_string()),
        }))
    };
    match rest {
        // `/api/v1/namespaces/NS/status` is the namespace's own subresource.
        ["namespaces", ns, sub] if group.is_empty() && find(sub).is_none() => {
            target(find("namespaces")?, None, Some(ns), Some(sub))
        }
        ["namespaces", ns, plural, tail @ ..] if tail.len() <= 2 => {
            let rt = find(plural)?;
            if !rt.namespaced {
                return None;
            }
            target(rt, Some(ns), tail.first(), tail.get(1))
        }
        [plural, tail @ ..] if tail.len() <= 2 => {
            let rt = find(plural)?;
            target(rt, None, tail.first(), tail.get(1))
        }
        _ => None,
    }
}

/// Query parameters of a request, in order.
pub(crate) type QueryPairs = Vec<(String, String)>;

/// The last value of a query parameter.
pub(crate) fn param<'a>(q: &'a QueryPairs, key: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A JSON answer.
pub(crate) fn json_response(code: u16, body: Vec<u8>) -> Response {
    respond(code, "application/json", body)
}

/// An answer with a content type.
pub(crate) fn respond(code: u16, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON value answer.
pub(crate) fn value_response(code: u16, v: &Value) -> Response {
    json_response(code, serde_json::to_vec(v).unwrap_or_default())
}

/// An error answered as a `Status`, with `Retry-After` on a 429.
pub(crate) fn error_response(e: &ApiError) -> Response {
    let mut r = value_response(e.code, &e.status());
    if let Some(secs) = e.retry_after()
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The verb of a resource request, as RBAC names it.
fn verb_of(method: &Method, t: &Target, q: &QueryPairs) -> &'static str {
    let watch = crate::params::parse_bool(param(q, "watch"));
    match *method {
        Method::GET | Method::HEAD if t.name.is_none() => {
            if watch {
                "watch"
            } else {
                "list"
            }
        }
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if t.name.is_none() => "deletecollection",
        Method::DELETE => "delete",
        _ => "unknown",
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let q: QueryPairs = Query::<QueryPairs>::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let accept = header_str(&headers, header::ACCEPT).to_string();
    let Some(route) = parse_route(&path) else {
        return error_response(&ApiError::no_route(&path));
    };
    let discovery_check = |p: &str| {
        shared.faults.check(&FaultRequest {
            verb: "get",
            group: "",
            resource: p,
            name: None,
            namespace: None,
            discovery: true,
        })
    };
    let get_only = || {
        if method == Method::GET || method == Method::HEAD {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    // This sandbox's custom resource types, for discovery.
    let custom = || crate::crd::served_types(&shared.lock().store);
    let result: Result<Response, ApiError> = match route {
        Route::Healthz => Ok(respond(200, "text/plain", b"ok".to_vec())),
        Route::Advance => advance_request(&shared, &method, &q),
        Route::OpenApiV2 => discovery_check(&path).and_then(|_| get_only()).map(|_| {
            if accept.contains("protobuf") {
                respond(
                    200,
                    openapi::v2::PROTOBUF,
                    openapi::v2::protobuf_document().to_vec(),
                )
            } else {
                value_response(200, &openapi::v2::json_document())
            }
        }),
        Route::OpenApiRoot => discovery_check(&path)
            .and_then(|_| get_only())
            .map(|_| value_response(200, &openapi::root())),
        Route::OpenApiDoc(key) => discovery_check(&path)
            .and_then(|_| get_only())
            .and_then(|_| openapi::group_version(&key).ok_or_else(|| ApiError::no_route(&path)))
            .map(|doc| respond(200, "application/json", doc.to_vec())),
        Route::Version => discovery_check(&path)
            .and_then(|_| get_only())
            .map(|_| value_response(200, &discovery::version())),
        Route::Api => discovery_check(&path).and_then(|_| get_only()).map(|_| {
            match discovery::wants_aggregated(&accept) {
                Some(v) => aggregated_response(&discovery::aggregated(true, v, &custom()), v),
                None => value_response(200, &discovery::api_versions(&shared.server_addr)),
            }
        }),
        Route::Apis => discovery_check(&path).and_then(|_| get_only()).map(|_| {
            match discovery::wants_aggregated(&accept) {
                Some(v) => aggregated_response(&discovery::aggregated(false, v, &custom()), v),
                None => value_response(200, &discovery::api_group_list(&custom())),
            }
        }),
        Route::Group(g) => discovery_check(&path)
            .and_then(|_| get_only())
            .and_then(|_| {
                discovery::api_group(&g, &custom()).ok_or_else(|| ApiError::no_route(&path))
            })
            .map(|v| value_response(200, &v)),
        Route::GroupVersion(g, v) => discovery_check(&path)
            .and_then(|_| get_only())
            .and_then(|_| {
                discovery::resource_list(&g, &v, &custom()).ok_or_else(|| ApiError::no_route(&path))
            })
            .map(|v| value_response(200, &v)),
        Route::Metrics(rest) => metrics::serve(&shared, method == Method::GET, &rest, &q),
        Route::Resource(target) => {
            resource_request(&shared, &method, target, q, accept, &headers, body).await
        }
    };
    match result {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

/// A request on a resource: faults and latency, authorization, then the API itself.
async fn resource_request(
    shared: &Arc<Shared>,
    method: &Method,
    target: Target,
    q: QueryPairs,
    accept: String,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let verb = verb_of(method, &target, &q);
    let resource = match &target.sub {
        Some(s) => format!("{}/{s}", target.rt.plural),
        None => target.rt.plural.to_string(),
    };
    let fr = FaultRequest {
        verb,
        group: target.rt.group,
        resource: &resource,
        name: target.name.as_deref(),
        namespace: target.namespace.as_deref(),
        discovery: false,
    };
    *shared
        .served
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((verb, resource.clone()))
        .or_default() += 1;
    let delay = shared.faults.latency(&fr);
    let check = shared.faults.check(&fr).and_then(|()| {
        let attrs = admission::Attributes {
            verb,
            group: target.rt.group,
            resource: target.rt.plural,
            subresource: target.sub.as_deref(),
            namespace: target.namespace.as_deref(),
            name: target.name.as_deref(),
        };
        let subject = admission::subject_of(headers)?;
        admission::authorize(&shared.lock().store, &subject, &attrs)?;
        Ok(subject)
    });
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let subject = check?;
    let req = api::Request {
        shared: shared.clone(),
        target,
        verb,
        q,
        accept,
        content_type: header_str(headers, header::CONTENT_TYPE).to_string(),
        user_agent: header_str(headers, header::USER_AGENT).to_string(),
        body,
        subject,
    };
    api::serve(req).await
}

fn aggregated_response(v: &Value, version: &str) -> Response {
    respond(
        200,
        &format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"),
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

/// `POST /sandbox/v1/advance?seconds=N`: moves the clock for tests in other processes.
fn advance_request(
    shared: &Arc<Shared>,
    method: &Method,
    q: &QueryPairs,
) -> Result<Response, ApiError> {
    if *method != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    let secs: f64 = param(q, "seconds")
        .unwrap_or("0")
        .parse()
        .map_err(|_| ApiError::bad_request("seconds must be a number, e.g. ?seconds=30"))?;
    if !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return Err(ApiError::bad_request(
            "seconds must be between 0 and one year",
        ));
    }
    let by = jiff::SignedDuration::from_millis((secs * 1000.0) as i64);
    advance_world(&shared.world, &shared.clock, by);
    let now = crate::clock::rfc3339(shared.clock.now());
    Ok(value_response(200, &serde_json::json!({"now": now})))
}
