//! Closed stdout and stderr (`kai ... | head -1`, a terminal that went away) end every command
//! quietly: its own exit code, never 101, no panic text; a server keeps serving.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use kai_tests::kai_command;

/// Runs `kai ARGS` with stdout (and, when `close_stderr`, stderr) a pipe whose reader is
/// already gone; stderr otherwise goes to a file. Returns the exit code and that stderr.
fn closed(home: &Path, args: &[&str], close_stderr: bool) -> (i32, String) {
    let err_path = home.join("stderr.txt");
    let mut c = kai_command(home);
    c.args(args).stdout(Stdio::piped());
    if close_stderr {
        c.stderr(Stdio::piped());
    } else {
        c.stderr(std::fs::File::create(&err_path).unwrap());
    }
    let mut child = c.spawn().unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let code = wait(&mut child, Duration::from_secs(120));
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    (code, err)
}

/// Waits for the child to exit, at most `limit` (then kills it and fails).
fn wait(child: &mut Child, limit: Duration) -> i32 {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("kai did not exit within {limit:?} with its output closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_command_exits_quietly_with_its_own_code_on_a_closed_pipe() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["--sandbox", "demo", "why is backend crashing"], 0),
        (
            &[
                "--sandbox",
                "demo",
                "--output",
                "json",
                "why is backend crashing",
            ],
            0,
        ),
        (&["--sandbox", "demo", "list pods in shop"], 0),
        (&["--sandbox", "demo", "health"], 1),
        (&["--sandbox", "demo", "health", "--format", "json"], 1),
        (&["--sandbox", "demo", "health", "--format", "junit"], 1),
        (&["--sandbox", "demo", "health", "--format", "markdown"], 1),
        (&["--sandbox", "healthy", "health", "-A"], 0),
        (&["sandbox", "--list"], 0),
        (&["eval", "--list"], 0),
        (&["eval", "--offline", "--task", "demo-diagnose"], 0),
        (&["completions", "bash"], 0),
        (&["--help"], 0),
        (&["health", "--help"], 0),
        (&["sandbox", "--generate-pods", "99999999999"], 2),
    ];
    for (args, want) in cases {
        for close_stderr in [false, true] {
            let (code, err) = closed(home.path(), args, close_stderr);
            assert_eq!(
                code, *want,
                "kai {args:?} (stderr closed: {close_stderr}) exited {code}\n{err}"
            );
            assert!(
                !err.contains("panicked") && !err.contains("Broken pipe"),
                "kai {args:?}: {err}"
            );
        }
    }
}

#[test]
fn a_sandbox_serves_on_with_its_output_closed() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kc");
    let err_path = home.path().join("sandbox-stderr.txt");
    let mut c = kai_command(home.path());
    c.args(["sandbox", "demo", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut server = c.spawn().unwrap();
    drop(server.stdout.take());
    // The kubeconfig is written once the server listens.
    let end = Instant::now() + Duration::from_secs(60);
    while !kubeconfig.exists() {
        if let Some(s) = server.try_wait().unwrap() {
            panic!(
                "kai sandbox exited ({s}) with stdout closed: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < end,
            "kai sandbox never wrote its kubeconfig"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut health = kai_command(home.path());
    health
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["health", "-n", "shop"]);
    let out = health.output().unwrap();
    let still_running = server.try_wait().unwrap().is_none();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(still_running, "the sandbox stopped serving");
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn replica_counts_beyond_the_sandbox_are_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    let scenario = home.path().join("big.yaml");
    std::fs::write(
        &scenario,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec:\n  replicas: 99999999\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
    )
    .unwrap();
    let mut c = kai_command(home.path());
    c.arg("--sandbox").arg(&scenario).arg("health");
    let started = Instant::now();
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        err.contains("spec.replicas") && err.contains("at most 5000"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // --generate-pods is bounded the same way, before any memory is used.
    let mut c = kai_command(home.path());
    c.args(["sandbox", "--generate-pods", "99999999999"]);
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("at most 200000 pods"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
