//! A connection to one cluster: the kube client plus the context, server and namespace names.

use std::path::Path;

use crate::error::ToolError;
use crate::retry::{Limits, NoAnswer, RetryLayer, seconds};

/// One cluster as the user names it.
#[derive(Clone)]
pub struct Cluster {
    /// The kube-rs client.
    pub client: kube::Client,
    /// Context name from the kubeconfig.
    pub context: String,
    /// API server URL.
    pub server: String,
    /// Namespace used when a call names none.
    pub namespace: String,
    /// How long its API requests may take.
    pub limits: Limits,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Whether kai runs in a Kubernetes pod (the API server's address is in the environment).
fn in_a_pod() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|h| !h.is_empty())
}

/// Whether `NO_PROXY` (or `no_proxy`) exempts `host` from a proxy: `*`, the host itself, or
/// a domain it ends in (`.example.com` or `example.com`).
pub fn bypasses_proxy(host: &str) -> bool {
    let list = ["NO_PROXY", "no_proxy"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_default();
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    list.split(',')
        .map(|n| n.trim().to_ascii_lowercase())
        .any(|n| {
            let domain = n.trim_start_matches('.');
            n == "*"
                || (!domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}"))))
        })
}

/// A kubeconfig error in words: the cause of a failed read without the path kube-rs quotes
/// (the caller names it) or Rust's `(os error N)`.
fn kubeconfig_words(e: &kube::config::KubeconfigError, named: Option<&Path>) -> String {
    let s = match e {
        kube::config::KubeconfigError::ReadConfig(io, path) => {
            let cause = io.to_string();
            let cause = cause
                .split(" (os error")
                .next()
                .unwrap_or_default()
                .to_lowercase();
            if named == Some(path.as_path()) {
                cause
            } else {
                format!("{cause}: {}", path.display())
            }
        }
        other => other.to_string(),
    };
    s.replace('\n', " ")
}

impl Cluster {
    /// Connects using a kubeconfig (the given file, else `KUBECONFIG`, else `~/.kube/config`),
    /// a context (else the current one) and a namespace (else the context's, else `default`).
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        namespace: Option<&str>,
    ) -> Result<Cluster, ToolError> {
        Self::connect_with(kubeconfig, context, namespace, Limits::default()).await
    }

    /// [`Cluster::connect`] with the time its API requests may take.
    pub async fn connect_with(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        namespace: Option<&str>,
        limits: Limits,
    ) -> Result<Cluster, ToolError> {
        let kc = match kubeconfig {
            Some(p) => kube::config::Kubeconfig::read_from(p).map_err(|e| {
                ToolError::Config(format!(
                    "cannot read kubeconfig {}: {}; pass another --kubeconfig, or try --sandbox demo",
                    p.display(),
                    kubeconfig_words(&e, Some(p))
                ))
            })?,
            None => match kube::config::Kubeconfig::read() {
                Ok(kc) => kc,
                // In a pod with no kubeconfig: the service account's token and CA (kube's
                // in-cluster config, as `Config::infer` does), e.g. `kai watch` from charts/kai.
                Err(_) if context.is_none() && in_a_pod() => {
                    return Self::in_cluster(namespace, limits);
                }
                Err(e) => {
                    return Err(ToolError::Config(format!(
                        "no usable kubeconfig (KUBECONFIG or ~/.kube/config): {}; pass --kubeconfig, or try --sandbox demo",
                        kubeconfig_words(&e, None)
                    )));
                }
            },
        };
        let context_name = match context {
            Some(c) => c.to_string(),
            None => kc.current_context.clone().ok_or_else(|| {
                ToolError::Config("the kubeconfig has no current context; pass --context".into())
            })?,
        };
        if !kc.contexts.iter().any(|c| c.name == context_name) {
            let known: Vec<_> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            return Err(ToolError::Config(format!(
                "context \"{context_name}\" not found in the kubeconfig (known: {})",
                known.join(", ")
            )));
        }
        let opts = kube::config::KubeConfigOptions {
            context: Some(context_name.clone()),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| ToolError::Config(format!("context \"{context_name}\": {e}")))?;
        // kube-rs takes HTTPS_PROXY for every cluster but reads NO_PROXY only with a feature
        // kai does not build; a cluster NO_PROXY exempts (a local one, usually) goes direct.
        if config.proxy_url.is_some() && config.cluster_url.host().is_some_and(bypasses_proxy) {
            config.proxy_url = None;
        }
        Self::from_config(config, context_name, namespace, limits)
    }

    /// Connects from inside a pod with its service account (no kubeconfig).
    fn in_cluster(namespace: Option<&str>, limits: Limits) -> Result<Cluster, ToolError> {
        let config = kube::Config::incluster().map_err(|e| {
            ToolError::Config(format!(
                "no kubeconfig, and the in-cluster service account config failed: {e}; mount the service account token (automountServiceAccountToken) or pass --kubeconfig"
            ))
        })?;
        Self::from_config(config, "in-cluster".to_string(), namespace, limits)
    }

    /// The client for a resolved config, under kai's one retry layer and deadlines.
    fn from_config(
        mut config: kube::Config,
        context_name: String,
        namespace: Option<&str>,
        limits: Limits,
    ) -> Result<Cluster, ToolError> {
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let ns = namespace
            .map(str::to_string)
            .unwrap_or_else(|| config.default_namespace.clone());
        // One retry layer (ours), and no read without a deadline.
        config.default_retry = false;
        config.connect_timeout = Some(limits.request);
        config.read_timeout = Some(limits.request);
        config.write_timeout = Some(limits.request);
        config.reset_reader_on_write = true;
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| ToolError::Unreachable {
                server: server.clone(),
                context: context_name.clone(),
                message: e.to_string(),
            })?
            .with_layer(&RetryLayer(limits))
            .build();
        Ok(Cluster {
            client,
            context: context_name,
            server,
            namespace: ns,
            limits,
        })
    }

    /// The namespace to use: the one given, else the cluster's default.
    pub fn ns<'a>(&'a self, given: Option<&'a str>) -> &'a str {
        given.filter(|n| !n.is_empty()).unwrap_or(&self.namespace)
    }
}

// How a failed call on this cluster is worded lives here, beside the cluster it names, so that
// error.rs stays below cluster.rs.
impl ToolError {
    /// Words a failed API call: `verb` on `resource` (plural, e.g. `secrets`, `pods/log`) in
    /// `namespace` (None: cluster scope or all namespaces). 403 names the refused verb and
    /// resource; transport failures name the server and context.
    pub fn from_kube(
        err: kube::Error,
        cluster: &Cluster,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> ToolError {
        let place = match namespace {
            Some(ns) => format!("in namespace \"{ns}\""),
            None => "at cluster scope".to_string(),
        };
        match err {
            kube::Error::Api(status) => match status.code {
                403 => ToolError::Forbidden(format!(
                    "forbidden: cannot {verb} {resource} {place} (RBAC)"
                )),
                401 => ToolError::Config(format!(
                    "unauthorized: the API server {} rejected the credentials of context \"{}\"; log in again or pick another --context",
                    cluster.server, cluster.context
                )),
                409 => ToolError::Conflict(format!(
                    "{verb} {resource} {place}: the object changed since it was read ({})",
                    if status.message.is_empty() {
                        "conflict"
                    } else {
                        status.message.as_str()
                    }
                )),
                404 => ToolError::NotFound {
                    message: if status.message.is_empty() {
                        format!("{resource} not found {place}")
                    } else {
                        status.message.clone()
                    },
                },
                429 => ToolError::Api(format!(
                    "{verb} {resource} {place}: the API server kept throttling (429 {}) through kai's retries; try again later",
                    if status.reason.is_empty() {
                        "TooManyRequests"
                    } else {
                        status.reason.as_str()
                    }
                )),
                code => ToolError::Api(format!(
                    "{verb} {resource} {place} failed: {} ({code}{})",
                    if status.message.is_empty() {
                        "no message from the server"
                    } else {
                        status.message.as_str()
                    },
                    if status.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", status.reason)
                    }
                )),
            },
            kube::Error::SerdeError(e) => ToolError::Api(format!(
                "{verb} {resource} {place}: unreadable answer from the API server: {e}"
            )),
            kube::Error::BuildRequest(e) => {
                ToolError::Api(format!("{verb} {resource} {place}: bad request: {e}"))
            }
            other => ToolError::Unreachable {
                server: cluster.server.clone(),
                context: cluster.context.clone(),
                message: transport_words(&other, cluster.limits),
            },
        }
    }

    /// The HTTP-like status this error stands for, for callers that branch on it.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ToolError::NotFound { .. })
    }
}

/// A transport failure in words: a missed deadline says which, anything else keeps the cause
/// without kube's `ServiceError:`/`HyperError:` prefixes.
fn transport_words(err: &kube::Error, limits: Limits) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(n) = e.downcast_ref::<NoAnswer>() {
            return format!("{n}; check that the server is up, or raise --timeout");
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return format!(
                "no answer within {}; check that the server is up, or raise --timeout",
                seconds(limits.request)
            );
        }
        source = e.source();
    }
    let text = err.to_string();
    ["ServiceError: ", "HyperError: "]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(&text)
        .to_string()
}
