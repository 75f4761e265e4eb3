//! The offline REPL keeps the conversation: "it", "its logs" and "and the database?" refer to
//! the last object; `help` and `exit` work without the slash. Driven through a pseudo-terminal
//! against the demo sandbox.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use kai_tests::{TestCluster, kai_terminal_command, on_pty};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pronouns_and_ellipsis_follow_the_last_object() {
    let tc = std::sync::Arc::new(TestCluster::start("demo").await);
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    tokio::task::spawn_blocking(move || {
        let mut cmd = kai_terminal_command(&home_path);
        cmd.arg("--kubeconfig").arg(&t.kubeconfig);
        let mut p = on_pty(cmd);
        p.exp_string("(offline) > ").unwrap();
        p.send_line("help").unwrap();
        p.exp_string("/namespace").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("describe frontend").unwrap();
        p.exp_string("deployment shop/frontend:").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("show its logs").unwrap();
        p.exp_string("Logs of deployment shop/frontend").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("and the backend?").unwrap();
        p.exp_string("Logs of deployment shop/backend").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("which image does it run").unwrap();
        p.exp_string("deployment shop/backend runs backend=shop/backend:1.4.0")
            .unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("exit").unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
}
