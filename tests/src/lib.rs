//! Shared harness for kai end-to-end tests: the kai binary, sandboxes on loopback, commands.

pub mod model;

#[cfg(test)]
mod declared_tests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use kai_sandbox::{Sandbox, SandboxOptions, Scenario};

/// Path of the `kai` binary that Cargo built for this test run.
///
/// The end-to-end files in `tests/tests/` are integration tests of the `kai` package (declared as
/// `[[test]]` in agent/Cargo.toml), so Cargo builds the binary first and hands its path over in
/// `CARGO_BIN_EXE_kai` (at run time since Cargo 1.94), in whatever profile and target directory
/// the run uses.
pub fn kai_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("CARGO_BIN_EXE_kai") {
        Some(bin) => PathBuf::from(bin),
        None => panic!(
            "CARGO_BIN_EXE_kai is not set: run the end-to-end tests through Cargo 1.94 or later \
             (`cargo test -p kai --test NAME`), which builds the kai binary and sets it; \
             a new file in tests/tests/ must be declared as a [[test]] in agent/Cargo.toml"
        ),
    })
}

/// A scenario file of the harness (`tests/scenarios/NAME`), wherever the test using it is built.
pub fn scenario_file(name: &str) -> String {
    format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A sandbox served on 127.0.0.1 with its kubeconfig written to a temporary directory.
pub struct TestCluster {
    /// The running sandbox.
    pub sandbox: Sandbox,
    /// Temporary directory holding the kubeconfig (and anything else a test writes).
    pub dir: tempfile::TempDir,
    /// Path of the kubeconfig.
    pub kubeconfig: PathBuf,
}

impl TestCluster {
    /// Starts a built-in scenario (or scenario file) on a free port.
    pub async fn start(scenario: &str) -> TestCluster {
        let scenario = Scenario::load(scenario).expect("load scenario");
        Self::start_with(scenario, SandboxOptions::default()).await
    }

    /// Starts a parsed scenario with options.
    pub async fn start_with(scenario: Scenario, options: SandboxOptions) -> TestCluster {
        let sandbox = Sandbox::start(scenario, options)
            .await
            .expect("start sandbox");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sandbox
            .write_kubeconfig(&kubeconfig)
            .expect("write kubeconfig");
        TestCluster {
            sandbox,
            dir,
            kubeconfig,
        }
    }

    /// Starts a built-in scenario with the sandbox's clock stopped at the present: time moves
    /// only when the test calls [`TestCluster::advance`], so nothing waits on real seconds.
    pub async fn start_manual(scenario: &str) -> TestCluster {
        let scenario = Scenario::load(scenario).expect("load scenario");
        Self::start_with(scenario, manual_clock()).await
    }

    /// Moves the sandbox's manual clock on by `secs` seconds and lets its controllers run.
    pub fn advance(&self, secs: i64) {
        self.sandbox.advance(jiff::SignedDuration::from_secs(secs));
    }

    /// Replicas of a deployment, read straight from the sandbox's store.
    pub fn replicas(&self, ns: &str, name: &str) -> i64 {
        let rt = kai_sandbox::resources::by_plural("apps", "deployments").expect("deployments");
        let world = self.sandbox.world();
        let w = world.lock().unwrap_or_else(|e| e.into_inner());
        let obj = w.store.get(rt, ns, name).expect("deployment exists");
        obj["spec"]["replicas"].as_i64().unwrap_or(1)
    }

    /// The audit log lines written under the test's private state directory.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        let p = self
            .dir
            .path()
            .join("state")
            .join("kai")
            .join("audit.jsonl");
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    /// A `kai` command pointed at this sandbox, with a private HOME/state so tests do not
    /// share history, audit logs or config.
    pub fn kai(&self) -> Command {
        let mut c = kai_command(self.dir.path());
        c.arg("--kubeconfig").arg(&self.kubeconfig);
        c
    }
}

/// Sandbox options with the clock stopped at the present (see [`TestCluster::advance`]).
pub fn manual_clock() -> SandboxOptions {
    SandboxOptions {
        clock: Some(kai_sandbox::Clock::manual(jiff::Timestamp::now())),
        ..SandboxOptions::default()
    }
}

/// A `kai` command with an isolated environment rooted at `home`: no model variables from
/// the developer's shell, private config and state directories, no colours.
pub fn kai_command(home: &Path) -> Command {
    let mut c = kai_terminal_command(home);
    c.stdin(Stdio::null());
    c
}

/// Like [`kai_command`] but leaving stdin alone, for runs under a pseudo-terminal.
pub fn kai_terminal_command(home: &Path) -> Command {
    let mut c = Command::new(kai_bin());
    for var in [
        "KAI_MODEL",
        "KAI_BASE_URL",
        "KAI_API_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "KUBECONFIG",
        "RUST_LOG",
        "GITHUB_STEP_SUMMARY",
    ] {
        c.env_remove(var);
    }
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("NO_COLOR", "1");
    c
}

/// `cmd` (usually [`kai_terminal_command`]) on a pseudo-terminal, escape codes stripped, each
/// expectation bounded to 30 s.
pub fn on_pty(cmd: Command) -> rexpect::session::PtySession {
    rexpect::session::spawn_with_options(
        cmd,
        rexpect::reader::Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn kai under a pty")
}

/// Runs a command to completion off the async runtime (so an in-process sandbox keeps
/// serving), feeding `stdin` if given.
pub async fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    let input = stdin.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn command");
        if let Some(text) = input {
            let mut si = child.stdin.take().expect("stdin");
            si.write_all(text.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("wait for command")
    })
    .await
    .expect("join command")
}

/// The exit code of a finished command (-1 when killed by a signal).
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Exit code, stdout and stderr, for an assertion message.
pub fn explain(o: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        code(o),
        stdout(o),
        stderr(o)
    )
}

/// stdout of an output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr of an output as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
