//! Every command has a deadline: a hung API server, or one that throttles forever, ends the run
//! in one clear line within the time given (`--timeout`, `--wait`), never an endless wait.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kai_sandbox::{Faults, SandboxOptions, Scenario};
use kai_tests::{TestCluster, code, explain, kai_command};

/// Runs `cmd` and kills it once `limit` has passed: a test that would otherwise hang fails
/// instead. Returns the output and how long the run took.
fn run_within(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn kai");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let reader_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    // Polls the exit with a bounded number of checks; the process, not the test, sets the pace.
    let status = loop {
        if let Some(s) = child.try_wait().expect("poll kai") {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break child.wait().expect("reap kai");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let output = Output {
        status,
        stdout: reader_out.join().expect("stdout reader"),
        stderr: reader_err.join().expect("stderr reader"),
    };
    (output, elapsed)
}

/// A TCP server on loopback that accepts every connection and never answers; the accepted
/// sockets stay open until the test process ends.
fn silent_server() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(64) {
            match conn {
                Ok(c) => held.push(c),
                Err(_) => break,
            }
        }
    });
    (format!("http://{addr}"), handle)
}

fn kubeconfig_for(dir: &std::path::Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1
kind: Config
current-context: hung
clusters:
- name: hung
  cluster:
    server: {server}
contexts:
- name: hung
  context:
    cluster: hung
    user: me
    namespace: shop
users:
- name: me
  user:
    token: not-a-secret
"
    );
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

/// The clear line kai ends with (on stderr, or in a health report), saying what did not answer
/// and what to do; never a panic or a debug dump.
fn assert_one_clear_line(o: &Output, words: &[&str]) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
    .to_lowercase();
    let line = all.lines().find(|l| l.contains("error"));
    assert!(line.is_some(), "{}", explain(o));
    for w in words {
        assert!(all.contains(w), "missing {w:?}: {}", explain(o));
    }
    assert!(!all.contains("panicked"), "{}", explain(o));
    assert!(!all.contains("error {"), "a debug dump: {}", explain(o));
}

/// Runs kai with `args` against a server that never answers; kills it after 40 s.
fn against_silent_server(args: &[&str]) -> (Output, Duration) {
    let (server, _h) = silent_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = kubeconfig_for(dir.path(), &server);
    let mut cmd = kai_command(dir.path());
    cmd.arg("--kubeconfig").arg(&kc).args(args);
    run_within(cmd, Duration::from_secs(40))
}

#[test]
fn a_hung_api_server_ends_a_question_within_the_timeout() {
    let (o, took) =
        against_silent_server(&["--offline", "--timeout", "3s", "why is backend crashing"]);
    assert!(
        took < Duration::from_secs(8),
        "took {took:?}: {}",
        explain(&o)
    );
    assert_ne!(code(&o), 0, "{}", explain(&o));
    assert_one_clear_line(&o, &["no answer", "--timeout"]);
}

#[test]
fn a_hung_api_server_ends_health_within_the_timeout_with_exit_2() {
    let (o, took) = against_silent_server(&["--timeout", "3s", "health", "-n", "shop"]);
    assert!(
        took < Duration::from_secs(8),
        "took {took:?}: {}",
        explain(&o)
    );
    assert_eq!(code(&o), 2, "{}", explain(&o));
    assert_one_clear_line(&o, &["no answer"]);
}

#[test]
fn health_wait_is_bounded_by_its_own_value_against_a_hung_server() {
    let (o, took) =
        against_silent_server(&["health", "-n", "shop", "--wait", "3s", "--format", "json"]);
    assert!(
        took < Duration::from_secs(9),
        "took {took:?}: {}",
        explain(&o)
    );
    assert_eq!(code(&o), 2, "{}", explain(&o));
}

/// An API server that answers every request `429` with `Retry-After: 0`: kai's one retry layer
/// gives up within its budget, and the command ends with the throttling named.
#[tokio::test]
async fn constant_throttling_ends_within_the_retry_budget() {
    let scenario = Scenario::load("demo").expect("demo");
    let faults = Faults {
        throttle_rate: 1.0,
        retry_after_seconds: 0,
        ..Faults::default()
    };
    let tc = TestCluster::start_with(
        scenario,
        SandboxOptions {
            faults: Some(faults),
            ..SandboxOptions::default()
        },
    )
    .await;
    for args in [
        vec!["health", "-n", "shop"],
        vec!["--offline", "-n", "shop", "why is backend crashing"],
    ] {
        let mut cmd = tc.kai();
        cmd.args(&args);
        let (o, took) =
            tokio::task::spawn_blocking(move || run_within(cmd, Duration::from_secs(60)))
                .await
                .expect("join");
        assert!(
            took < Duration::from_secs(30),
            "{args:?} took {took:?}: {}",
            explain(&o)
        );
        assert_ne!(code(&o), 0, "{args:?}: {}", explain(&o));
        assert_one_clear_line(&o, &["429"]);
    }
}
