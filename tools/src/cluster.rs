//! A connection to one cluster: the kube client plus the context, server and namespace names.

use std::path::Path;

use crate::error::ToolError;

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
        let kc = match kubeconfig {
            Some(p) => kube::config::Kubeconfig::read_from(p).map_err(|e| {
                ToolError::Config(format!(
                    "cannot read kubeconfig {}: {}; pass another --kubeconfig, or try --sandbox demo",
                    p.display(),
                    kubeconfig_words(&e, Some(p))
                ))
            })?,
            None => kube::config::Kubeconfig::read().map_err(|e| {
                ToolError::Config(format!(
                    "no usable kubeconfig (KUBECONFIG or ~/.kube/config): {}; pass --kubeconfig, or try --sandbox demo",
                    kubeconfig_words(&e, None)
                ))
            })?,
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
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let ns = namespace
            .map(str::to_string)
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = kube::Client::try_from(config).map_err(|e| ToolError::Unreachable {
            server: server.clone(),
            context: context_name.clone(),
            message: e.to_string(),
        })?;
        Ok(Cluster {
            client,
            context: context_name,
            server,
            namespace: ns,
        })
    }

    /// The namespace to use: the one given, else the cluster's default.
    pub fn ns<'a>(&'a self, given: Option<&'a str>) -> &'a str {
        given.filter(|n| !n.is_empty()).unwrap_or(&self.namespace)
    }
}
