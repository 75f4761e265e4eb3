//! The one harness of the sandbox's kubectl tests: the real kubectl clients, a sandbox on
//! 127.0.0.1 with kubeconfigs in a temporary directory, and kubectl run off the async runtime.

// Each test file uses part of the harness.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use kai_sandbox::rbac::Subject;
use kai_sandbox::{Sandbox, SandboxOptions, Scenario};

/// The `kubectl` version dispatcher on PATH.
pub fn dispatcher() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .expect("kubectl on PATH (the tests run the real kubectl)")
}

/// A pinned kubectl client (`kubectl.1.27`, `kubectl.1.32` ...), beside the dispatcher.
pub fn pinned(version: &str) -> PathBuf {
    let real = std::fs::canonicalize(dispatcher()).expect("resolve kubectl");
    let pinned = real
        .parent()
        .expect("dir")
        .join(format!("kubectl.{version}"));
    assert!(
        pinned.exists(),
        "kubectl.{version} not found beside {} (install the kubectl bundle)",
        real.display()
    );
    pinned
}

/// A sandbox with the admin's kubeconfig (`kubeconfig`) in a temporary directory, which also
/// holds kubectl's cache and any file a test writes.
pub struct Env {
    /// The running sandbox.
    pub sandbox: Sandbox,
    /// The temporary directory.
    pub dir: tempfile::TempDir,
}

impl Env {
    /// Starts `scenario` with `options` and writes the admin's kubeconfig.
    pub async fn start(scenario: Scenario, options: SandboxOptions) -> Env {
        let sandbox = Sandbox::start(scenario, options)
            .await
            .expect("sandbox starts");
        let dir = tempfile::tempdir().expect("tempdir");
        sandbox
            .write_kubeconfig(&dir.path().join("kubeconfig"))
            .expect("kubeconfig");
        Env { sandbox, dir }
    }

    /// Starts a scenario given as YAML.
    pub async fn start_yaml(yaml: &str, options: SandboxOptions) -> Env {
        let scenario = Scenario::from_yaml("kubectl-test", yaml).expect("scenario");
        Self::start(scenario, options).await
    }

    /// Writes a kubeconfig named `user` for `subject` (e.g. `serviceaccount:shop:deployer`).
    pub fn add_user(&self, user: &str, subject: &str) {
        let subject = Subject::parse(subject).expect("subject");
        self.sandbox
            .write_kubeconfig_as(&self.dir.path().join(user), &subject)
            .expect("kubeconfig");
    }

    /// The admin's kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Writes `text` to a file in the directory; its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p.display().to_string()
    }

    /// kubectl's arguments for the admin: the kubeconfig and cache flags, then `args`.
    pub fn args(&self, args: &[&str]) -> Vec<String> {
        self.args_as("kubeconfig", args)
    }

    /// kubectl's arguments for the kubeconfig `user`.
    pub fn args_as(&self, user: &str, args: &[&str]) -> Vec<String> {
        let mut all = vec![
            format!("--kubeconfig={}", self.dir.path().join(user).display()),
            format!("--cache-dir={}", self.dir.path().join("cache").display()),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    /// Runs kubectl `bin` with the kubeconfig `user` (`kubeconfig` is the admin) and extra
    /// environment variables, off the async runtime so the server keeps serving.
    pub async fn run_as(
        &self,
        bin: &Path,
        user: &str,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Output {
        let all = self.args_as(user, args);
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let bin = bin.to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin)
                .args(&all)
                .env_remove("KUBECONFIG")
                .envs(vars)
                .output()
                .expect("run kubectl")
        })
        .await
        .expect("join")
    }
}

/// kubectl's stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// kubectl's stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout then stderr.
pub fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// The stdout of a kubectl run that must have succeeded.
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "kubectl failed:\n{}", text(o));
    stdout(o)
}
