//! Model and policy configuration: flags, then environment, then the config file.
//!
//! Precedence for the model: `--model`/`--base-url`/`--api-key-env`, then `KAI_MODEL`,
//! `KAI_BASE_URL`, `KAI_API_KEY`, then `OPENAI_BASE_URL`, `OPENAI_API_KEY`, then
//! `$XDG_CONFIG_HOME/kai/config.toml` (else `~/.config/kai/config.toml`). Every resolved value
//! remembers where it came from, for `-v` logs; the API key is never printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::policy::Mode;

/// OpenAI's endpoint, used when a key is configured without a base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Model used on OpenAI's endpoint when none is named.
pub const OPENAI_DEFAULT_MODEL: &str = "gpt-4o-mini";
/// Namespaces where writes are always refused, before any config adds more.
pub const DEFAULT_PROTECTED_NAMESPACES: [&str; 3] =
    ["kube-system", "kube-public", "kube-node-lease"];

/// A configuration error: one line saying what is wrong and where (exit 2).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag (`--model`).
    Flag(&'static str),
    /// An environment variable, by name.
    Env(String),
    /// The config file.
    File(PathBuf),
    /// Built in.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::File(path) => write!(f, "config file {}", path.display()),
            Source::Default => f.write_str("built-in default"),
        }
    }
}

/// An API key. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    #[allow(
        dead_code,
        reason = "API for the one-shot path, the REPL and MCP; not all callers exist yet"
    )]
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything needed to talk to one OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Model name sent in every request.
    pub model: String,
    /// Base URL ending before `/chat/completions` (`http://localhost:11434/v1`).
    pub base_url: String,
    /// Bearer key, if any (local servers need none).
    pub api_key: Option<ApiKey>,
    /// Ask for streamed responses (default true).
    pub stream: bool,
    /// Longest wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for the response or between streamed chunks.
    pub idle_timeout: Duration,
    /// Retries after 429, 5xx, connect errors and timeouts.
    pub max_retries: u32,
    /// Most tokens the model may generate in one turn (`--max-tokens`, `max_tokens`).
    pub max_tokens: Option<u32>,
    /// `tool_choice` sent whenever tools are (`auto` by default; `None` sends none).
    pub tool_choice: Option<ToolChoice>,
    /// Longest time for one model request, from sending it to the end of its answer.
    pub turn_timeout: Duration,
    /// Longest time spent on the model over one question: all its turns and retries.
    pub total_timeout: Duration,
    /// Where each value came from, for `-v` logs.
    pub sources: ModelSources,
}

/// Most tokens generated per turn when nothing else is configured: room for an answer with its
/// evidence, and a bound on a local model that would otherwise write until its context is full.
pub const DEFAULT_MAX_TOKENS: u32 = 2048;

/// The `tool_choice` sent with the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides (the default). Some servers leave the tools out of the prompt without it.
    Auto,
    /// The model must call a tool.
    Required,
    /// The model must not call a tool.
    None,
}

impl std::str::FromStr for ToolChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<ToolChoice, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "required" => Ok(ToolChoice::Required),
            "none" => Ok(ToolChoice::None),
            other => Err(format!(
                "unknown tool_choice \"{other}\": use auto, required, none, or omit to send none"
            )),
        }
    }
}

impl ModelConfig {
    /// A configuration for `model` at `base_url`, with default timeouts and retries.
    pub fn new(
        model: impl Into<String>,
        base_url: impl Into<String>,
        api_key: Option<ApiKey>,
    ) -> ModelConfig {
        ModelConfig {
            model: model.into(),
            base_url: base_url.into(),
            api_key,
            stream: true,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_retries: 3,
            max_tokens: Some(DEFAULT_MAX_TOKENS),
            tool_choice: Some(ToolChoice::Auto),
            turn_timeout: Duration::from_secs(300),
            total_timeout: Duration::from_secs(900),
            sources: ModelSources::default(),
        }
    }

    /// Logs each value and its source at info level (`-v`); the key only as present/absent.
    pub fn log_sources(&self) {
        tracing::info!("model {:?} (from {})", self.model, self.sources.model);
        tracing::info!(
            "model endpoint {} (from {})",
            self.base_url,
            self.sources.base_url
        );
        match &self.api_key {
            Some(_) => tracing::info!("API key set (from {})", self.sources.api_key),
            None => tracing::info!("no API key"),
        }
    }
}

/// Hosted endpoints that refuse every request without a key, with the variable their users
/// usually hold it in.
const KEYED_HOSTS: [(&str, &str); 7] = [
    ("api.openai.com", "OPENAI_API_KEY"),
    ("generativelanguage.googleapis.com", "GEMINI_API_KEY"),
    ("openrouter.ai", "OPENROUTER_API_KEY"),
    ("api.groq.com", "GROQ_API_KEY"),
    ("api.mistral.ai", "MISTRAL_API_KEY"),
    ("api.deepseek.com", "DEEPSEEK_API_KEY"),
    ("api.together.xyz", "TOGETHER_API_KEY"),
];

impl ModelConfig {
    /// Why this configuration cannot work before any request is sent: a hosted endpoint that
    /// needs a key and has none. One line naming the variable to set.
    pub fn missing_key(&self) -> Option<String> {
        if self.api_key.is_some() {
            return None;
        }
        let host = reqwest::Url::parse(&self.base_url)
            .ok()?
            .host_str()?
            .to_ascii_lowercase();
        let (_, var) = KEYED_HOSTS.iter().find(|(h, _)| *h == host)?;
        let how = if *var == "OPENAI_API_KEY" {
            "set OPENAI_API_KEY (or KAI_API_KEY)".to_string()
        } else {
            format!("set KAI_API_KEY, or pass --api-key-env {var} with {var} set")
        };
        Some(format!(
            "no API key for {} (model {}): {how}, or use --offline",
            self.base_url, self.model
        ))
    }

    /// Checks that the endpoint's host resolves and accepts a TCP connection, so an
    /// unreachable endpoint costs one line and one connect timeout, not a series of retries.
    /// Skipped when a proxy is configured for the endpoint (the proxy may reach it).
    pub async fn check_reachable(&self) -> Result<(), String> {
        let Ok(url) = reqwest::Url::parse(&self.base_url) else {
            return Ok(());
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Ok(());
        };
        if proxied(url.scheme(), host) {
            return Ok(());
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let wait = self.connect_timeout.min(Duration::from_secs(5));
        let what = format!("cannot reach the model endpoint {}", self.base_url);
        let fix = "check --base-url (or KAI_BASE_URL) and that the server runs, or use --offline";
        let addrs: Vec<std::net::SocketAddr> = match tokio::time::timeout(
            wait,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(_)) | Err(_) => {
                return Err(format!("{what}: host {host} does not resolve; {fix}"));
            }
        };
        let mut last = String::from("no address");
        for addr in addrs {
            match tokio::time::timeout(wait, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => last = io_words(&e),
                Err(_) => last = format!("no answer within {}s", wait.as_secs()),
            }
        }
        Err(format!("{what}: {last}; {fix}"))
    }
}

/// An I/O error in words, without Rust's `(os error N)` suffix.
fn io_words(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_lowercase(),
        None => s.to_lowercase(),
    }
}

/// Whether reqwest would send a request for `scheme://host` through a proxy from the
/// environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, minus `NO_PROXY`).
fn proxied(scheme: &str, host: &str) -> bool {
    let var = |names: &[&str]| {
        names
            .iter()
            .filter_map(|n| std::env::var(n).ok())
            .find(|v| !v.trim().is_empty())
    };
    let proxy = if scheme == "https" {
        var(&["HTTPS_PROXY", "https_proxy"])
    } else {
        var(&["HTTP_PROXY", "http_proxy"])
    }
    .or_else(|| var(&["ALL_PROXY", "all_proxy"]));
    proxy.is_some() && !kai_tools::cluster::bypasses_proxy(host)
}

/// Sources of the model values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSources {
    /// Of the model name.
    pub model: Source,
    /// Of the base URL.
    pub base_url: Source,
    /// Of the API key.
    pub api_key: Source,
}

impl Default for ModelSources {
    fn default() -> Self {
        ModelSources {
            model: Source::Default,
            base_url: Source::Default,
            api_key: Source::Default,
        }
    }
}

/// Policy settings from the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Namespaces where writes are refused: the defaults plus the config's.
    pub protected_namespaces: Vec<String>,
    /// The mode when no flag chooses one.
    pub mode: Mode,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            protected_namespaces: DEFAULT_PROTECTED_NAMESPACES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            mode: Mode::Confirm,
        }
    }
}

impl PolicyConfig {
    /// The mode after flags: `--read-only` and `--yes` win over the config file.
    pub fn mode_with_flags(&self, read_only: bool, yes: bool) -> Mode {
        if read_only {
            Mode::ReadOnly
        } else if yes {
            Mode::Auto
        } else {
            self.mode
        }
    }
}

/// The resolved configuration of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The model, or `None` when none is configured (the offline path).
    pub model: Option<ModelConfig>,
    /// Policy settings.
    pub policy: PolicyConfig,
    /// The config file read, if one existed.
    pub config_file: Option<PathBuf>,
}

/// The model-related command-line flags.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--model`.
    pub model: Option<String>,
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--api-key-env`.
    pub api_key_env: Option<String>,
}

impl From<&crate::cli::Global> for Flags {
    fn from(g: &crate::cli::Global) -> Flags {
        Flags {
            model: g.model.clone(),
            base_url: g.base_url.clone(),
            api_key_env: g.api_key_env.clone(),
        }
    }
}

/// The config file's shape.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Model name.
    pub model: Option<String>,
    /// Base URL of the endpoint.
    pub base_url: Option<String>,
    /// Name of the environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Ask for streamed responses.
    pub stream: Option<bool>,
    /// Connect timeout in seconds.
    pub connect_timeout_secs: Option<u64>,
    /// Idle timeout (between streamed chunks) in seconds.
    pub idle_timeout_secs: Option<u64>,
    /// Retries after transient failures.
    pub max_retries: Option<u32>,
    /// Most tokens generated per turn.
    pub max_tokens: Option<u32>,
    /// `auto`, `required`, `none`, or `omit` (send no `tool_choice`).
    pub tool_choice: Option<String>,
    /// Longest time for one model request, in seconds.
    pub turn_timeout_secs: Option<u64>,
    /// Longest time spent on the model over one question, in seconds.
    pub total_timeout_secs: Option<u64>,
    /// `[policy]`.
    #[serde(default)]
    pub policy: FilePolicy,
}

/// The config file's `[policy]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePolicy {
    /// More protected namespaces (added to the defaults).
    #[serde(default)]
    pub protected_namespaces: Vec<String>,
    /// `read-only`, `confirm` or `auto`.
    pub mode: Option<String>,
}

/// Path of the config file: `$XDG_CONFIG_HOME/kai/config.toml`, else `~/.config/kai/config.toml`.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(x) = env("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("kai").join("config.toml"));
    }
    env("HOME").filter(|v| !v.is_empty()).map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("kai")
            .join("config.toml")
    })
}

/// Reads and parses a config file; a missing file is `Ok(None)`.
pub fn read_file(path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError(format!(
                "cannot read config file {}: {e}",
                path.display()
            )));
        }
    };
    toml::from_str::<FileConfig>(&text).map(Some).map_err(|e| {
        ConfigError(format!(
            "config file {}: {}",
            path.display(),
            one_line(&e.to_string())
        ))
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Settings {
    /// Logs where the configuration came from (`-v`); the API key only as present or absent.
    #[allow(
        dead_code,
        reason = "API for the one-shot path, the REPL and MCP; not all callers exist yet"
    )]
    pub fn log(&self) {
        match &self.config_file {
            Some(p) => tracing::info!("config file {}", p.display()),
            None => tracing::info!("no config file"),
        }
        match &self.model {
            Some(m) => m.log_sources(),
            None => tracing::info!("no model configured"),
        }
        tracing::info!(
            "policy: mode {} unless --read-only/--yes; protected namespaces {}",
            self.policy.mode,
            self.policy.protected_namespaces.join(", ")
        );
    }

    /// Resolves the configuration from flags, the process environment and the config file.
    pub fn load(flags: &Flags) -> Result<Settings, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        let path = config_path(&env);
        let file = match &path {
            Some(p) => read_file(p)?,
            None => None,
        };
        let found = file.as_ref().and(path);
        Settings::resolve(flags, &env, file, found)
    }

    /// Resolves from explicit inputs (testable): `env` looks variables up, `file` is the parsed
    /// config file found at `file_path`.
    pub fn resolve(
        flags: &Flags,
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<FileConfig>,
        file_path: Option<PathBuf>,
    ) -> Result<Settings, ConfigError> {
        let file = file.unwrap_or_default();
        let file_src = || Source::File(file_path.clone().unwrap_or_default());
        let get = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let model: Option<(String, Source)> = flags
            .model
            .clone()
            .filter(|m| !m.trim().is_empty())
            .map(|m| (m, Source::Flag("--model")))
            .or_else(|| get("KAI_MODEL").map(|m| (m, Source::Env("KAI_MODEL".into()))))
            .or_else(|| file.model.clone().map(|m| (m, file_src())));

        let base_url: Option<(String, Source)> = flags
            .base_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .map(|u| (u, Source::Flag("--base-url")))
            .or_else(|| get("KAI_BASE_URL").map(|u| (u, Source::Env("KAI_BASE_URL".into()))))
            .or_else(|| get("OPENAI_BASE_URL").map(|u| (u, Source::Env("OPENAI_BASE_URL".into()))))
            .or_else(|| file.base_url.clone().map(|u| (u, file_src())));

        let api_key: Option<(ApiKey, Source)> = match &flags.api_key_env {
            Some(var) => match get(var) {
                Some(k) => Some((ApiKey(k), Source::Env(var.clone()))),
                None => {
                    return Err(ConfigError(format!(
                        "--api-key-env {var}: the environment variable {var} is not set or empty; export it or name another variable"
                    )));
                }
            },
            None => get("KAI_API_KEY")
                .map(|k| (ApiKey(k), Source::Env("KAI_API_KEY".into())))
                .or_else(|| {
                    get("OPENAI_API_KEY").map(|k| (ApiKey(k), Source::Env("OPENAI_API_KEY".into())))
                })
                .or_else(|| {
                    let var = file.api_key_env.as_ref()?;
                    get(var).map(|k| (ApiKey(k), Source::Env(var.clone())))
                }),
        };

        let policy = policy_from(&file.policy, file_path.as_deref())?;

        let configured = model.is_some() || base_url.is_some() || api_key.is_some();
        let model_cfg = if configured {
            let (base_url, base_src) = match base_url {
                Some((u, s)) => (u, s),
                None => (OPENAI_BASE_URL.to_string(), Source::Default),
            };
            validate_url(&base_url, &base_src)?;
            let (model, model_src) = match model {
                Some(m) => m,
                None if is_openai(&base_url) => (OPENAI_DEFAULT_MODEL.to_string(), Source::Default),
                None => {
                    return Err(ConfigError(format!(
                        "a model endpoint is configured ({base_url}, from {base_src}) but no model name: pass --model NAME or set KAI_MODEL"
                    )));
                }
            };
            let (key, key_src) = match api_key {
                Some((k, s)) => (Some(k), s),
                None => (None, Source::Default),
            };
            let mut cfg = ModelConfig::new(model, base_url.trim_end_matches('/'), key);
            if let Some(s) = file.stream {
                cfg.stream = s;
            }
            if let Some(s) = file.connect_timeout_secs {
                cfg.connect_timeout = Duration::from_secs(s.max(1));
            }
            if let Some(s) = file.idle_timeout_secs {
                cfg.idle_timeout = Duration::from_secs(s.max(1));
            }
            if let Some(n) = file.max_retries {
                cfg.max_retries = n;
            }
            apply_generation(&mut cfg, &file, file_path.as_deref())?;
            cfg.sources = ModelSources {
                model: model_src,
                base_url: base_src,
                api_key: key_src,
            };
            Some(cfg)
        } else {
            None
        };
        Ok(Settings {
            model: model_cfg,
            policy,
            config_file: file_path,
        })
    }
}

fn policy_from(p: &FilePolicy, path: Option<&Path>) -> Result<PolicyConfig, ConfigError> {
    let mut out = PolicyConfig::default();
    for ns in &p.protected_namespaces {
        let ns = ns.trim();
        if !ns.is_empty() && !out.protected_namespaces.iter().any(|n| n == ns) {
            out.protected_namespaces.push(ns.to_string());
        }
    }
    if let Some(m) = &p.mode {
        out.mode = m.parse().map_err(|e: String| {
            let at = path
                .map(|p| format!("config file {}: ", p.display()))
                .unwrap_or_default();
            ConfigError(format!("{at}[policy] mode: {e}"))
        })?;
    }
    Ok(out)
}

/// The config file's bounds on generation: `max_tokens`, `tool_choice` and the deadlines.
fn apply_generation(
    cfg: &mut ModelConfig,
    file: &FileConfig,
    path: Option<&Path>,
) -> Result<(), ConfigError> {
    let at = || {
        path.map(|p| format!("config file {}: ", p.display()))
            .unwrap_or_default()
    };
    if let Some(n) = file.max_tokens {
        if n == 0 {
            return Err(ConfigError(format!(
                "{}max_tokens must be at least 1",
                at()
            )));
        }
        cfg.max_tokens = Some(n);
    }
    if let Some(c) = &file.tool_choice {
        cfg.tool_choice = if c.trim().eq_ignore_ascii_case("omit") {
            None
        } else {
            Some(
                c.parse()
                    .map_err(|e: String| ConfigError(format!("{}{e}", at())))?,
            )
        };
    }
    if let Some(s) = file.turn_timeout_secs {
        cfg.turn_timeout = Duration::from_secs(s.max(1));
    }
    if let Some(s) = file.total_timeout_secs {
        cfg.total_timeout = Duration::from_secs(s.max(1));
    }
    Ok(())
}

/// Whether `url` is OpenAI's own endpoint.
pub fn is_openai(url: &str) -> bool {
    url.contains("://api.openai.com")
}

fn validate_url(url: &str, src: &Source) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) | Err(_) => Err(ConfigError(format!(
            "model base URL \"{url}\" (from {src}) is not an http(s) URL: use e.g. http://localhost:11434/v1"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn file(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn nothing_configured_means_offline() {
        let s = Settings::resolve(&Flags::default(), &env_of(&[]), None, None).unwrap();
        assert!(s.model.is_none());
        assert_eq!(s.policy, PolicyConfig::default());
    }

    #[test]
    fn flags_beat_kai_env_beat_openai_env_beat_file() {
        let f = file(
            "model = \"file-model\"\nbase_url = \"http://file:1/v1\"\napi_key_env = \"FILE_KEY\"\n",
        );
        let env = env_of(&[
            ("KAI_MODEL", "kai-model"),
            ("KAI_BASE_URL", "http://kai:1/v1/"),
            ("OPENAI_BASE_URL", "http://openai:1/v1"),
            ("OPENAI_API_KEY", "sk-openai"),
            ("FILE_KEY", "sk-file"),
            ("MY_KEY", "sk-mine"),
        ]);
        let path = PathBuf::from("/c/kai/config.toml");
        let flags = Flags {
            model: Some("flag-model".into()),
            base_url: None,
            api_key_env: Some("MY_KEY".into()),
        };
        let m = Settings::resolve(&flags, &env, Some(f.clone()), Some(path.clone()))
            .unwrap()
            .model
            .unwrap();
        assert_eq!(m.model, "flag-model");
        assert_eq!(m.sources.model, Source::Flag("--model"));
        assert_eq!(m.base_url, "http://kai:1/v1", "trailing slash trimmed");
        assert_eq!(m.sources.base_url, Source::Env("KAI_BASE_URL".into()));
        assert_eq!(m.api_key.as_ref().unwrap().expose(), "sk-mine");

        // Without flags and KAI_*: OPENAI_* beat the file.
        let env = env_of(&[
            ("OPENAI_BASE_URL", "http://openai:1/v1"),
            ("OPENAI_API_KEY", "sk-openai"),
            ("FILE_KEY", "sk-file"),
        ]);
        let m = Settings::resolve(&Flags::default(), &env, Some(f.clone()), Some(path.clone()))
            .unwrap()
            .model
            .unwrap();
        assert_eq!(m.model, "file-model");
        assert_eq!(m.sources.model, Source::File(path.clone()));
        assert_eq!(m.base_url, "http://openai:1/v1");
        assert_eq!(m.api_key.as_ref().unwrap().expose(), "sk-openai");

        // Only the file: its api_key_env names the variable.
        let env = env_of(&[("FILE_KEY", "sk-file")]);
        let m = Settings::resolve(&Flags::default(), &env, Some(f), Some(path))
            .unwrap()
            .model
            .unwrap();
        assert_eq!(m.base_url, "http://file:1/v1");
        assert_eq!(m.api_key.as_ref().unwrap().expose(), "sk-file");
        assert_eq!(m.sources.api_key, Source::Env("FILE_KEY".into()));
    }

    #[test]
    fn openai_key_alone_uses_openai_defaults() {
        let m = Settings::resolve(
            &Flags::default(),
            &env_of(&[("OPENAI_API_KEY", "sk-x")]),
            None,
            None,
        )
        .unwrap()
        .model
        .unwrap();
        assert_eq!(m.base_url, OPENAI_BASE_URL);
        assert_eq!(m.model, OPENAI_DEFAULT_MODEL);
    }

    #[test]
    fn endpoint_without_model_name_is_a_clear_error() {
        let flags = Flags {
            base_url: Some("http://localhost:11434/v1".into()),
            ..Flags::default()
        };
        let e = Settings::resolve(&flags, &env_of(&[]), None, None).unwrap_err();
        assert!(e.0.contains("--model"), "{e}");
    }

    #[test]
    fn missing_api_key_env_variable_is_an_error() {
        let flags = Flags {
            model: Some("m".into()),
            api_key_env: Some("NOPE".into()),
            ..Flags::default()
        };
        let e = Settings::resolve(&flags, &env_of(&[]), None, None).unwrap_err();
        assert!(e.0.contains("NOPE"), "{e}");
    }

    #[test]
    fn bad_url_is_an_error() {
        let flags = Flags {
            model: Some("m".into()),
            base_url: Some("localhost:8080".into()),
            ..Flags::default()
        };
        assert!(Settings::resolve(&flags, &env_of(&[]), None, None).is_err());
    }

    #[test]
    fn policy_from_file_extends_defaults() {
        let f = file(
            "[policy]\nprotected_namespaces = [\"prod\", \"kube-system\"]\nmode = \"read-only\"\n",
        );
        let s = Settings::resolve(&Flags::default(), &env_of(&[]), Some(f), None).unwrap();
        assert_eq!(
            s.policy.protected_namespaces,
            vec!["kube-system", "kube-public", "kube-node-lease", "prod"]
        );
        assert_eq!(s.policy.mode, Mode::ReadOnly);
        assert_eq!(s.policy.mode_with_flags(false, true), Mode::Auto);
        assert_eq!(s.policy.mode_with_flags(true, false), Mode::ReadOnly);
        let f = file("[policy]\nmode = \"yolo\"\n");
        assert!(Settings::resolve(&Flags::default(), &env_of(&[]), Some(f), None).is_err());
    }

    #[test]
    fn unknown_file_keys_are_rejected_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "modle = \"x\"\n").unwrap();
        let e = read_file(&p).unwrap_err();
        assert!(e.0.contains("config.toml") && e.0.contains("modle"), "{e}");
        assert!(read_file(&dir.path().join("none.toml")).unwrap().is_none());
    }

    #[test]
    fn config_path_prefers_xdg() {
        assert_eq!(
            config_path(&env_of(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/kai/config.toml"))
        );
        assert_eq!(
            config_path(&env_of(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.config/kai/config.toml"))
        );
    }

    #[test]
    fn hosted_endpoints_without_a_key_name_the_variable() {
        let m = ModelConfig::new("gpt-4o", OPENAI_BASE_URL, None);
        let line = m.missing_key().unwrap();
        assert!(
            line.contains("OPENAI_API_KEY") && !line.contains('\n'),
            "{line}"
        );
        let m = ModelConfig::new(
            "g",
            "https://generativelanguage.googleapis.com/v1beta/openai",
            None,
        );
        assert!(
            m.missing_key()
                .unwrap()
                .contains("--api-key-env GEMINI_API_KEY")
        );
        let local = ModelConfig::new("q", "http://localhost:11434/v1", None);
        assert_eq!(local.missing_key(), None);
        let keyed = ModelConfig::new("gpt-4o", OPENAI_BASE_URL, Some(ApiKey::new("k")));
        assert_eq!(keyed.missing_key(), None);
    }

    #[tokio::test]
    async fn an_endpoint_nobody_listens_on_is_one_line() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let m = ModelConfig::new("q", format!("http://127.0.0.1:{port}/v1"), None);
        let e = m.check_reachable().await.unwrap_err();
        assert!(
            e.contains("cannot reach") && e.contains("--base-url") && !e.contains('\n'),
            "{e}"
        );
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let m = ModelConfig::new("q", format!("http://127.0.0.1:{port}/v1"), None);
        assert_eq!(m.check_reachable().await, Ok(()));
    }

    #[test]
    fn api_key_is_never_printed() {
        let m = ModelConfig::new("m", "http://h/v1", Some(ApiKey::new("sk-very-secret")));
        let shown = format!("{m:?} {}", m.api_key.as_ref().unwrap());
        assert!(!shown.contains("sk-very-secret"), "{shown}");
    }
}
