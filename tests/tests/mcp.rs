//! End to end: `kai mcp` over stdio, spoken to line by line as JSON-RPC against the sandbox
//! (the reference Python client drives the rest in scripts/check-mcp.sh).

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use kai_tests::TestCluster;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// Longest wait for one message: a bound, not a synchronisation.
const WAIT: Duration = Duration::from_secs(60);

struct Mcp {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next: u64,
}

impl Mcp {
    /// Starts `kai --kubeconfig K mcp ARGS` and completes the handshake as `client`, declaring
    /// elicitation when `elicit`.
    async fn start(tc: &TestCluster, args: &[&str], elicit: bool) -> Mcp {
        let mut cmd = tokio::process::Command::from(tc.kai());
        cmd.arg("mcp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn kai mcp");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut m = Mcp {
            child,
            stdin,
            lines,
            next: 1,
        };
        let caps = if elicit {
            json!({"elicitation": {"form": {}}})
        } else {
            json!({})
        };
        let init = m
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": caps,
                    "clientInfo": {"name": "rust-test-client", "version": "0.1"}
                }),
                |_| panic!("no request expected during initialize"),
            )
            .await;
        assert_eq!(init["result"]["serverInfo"]["name"], "kai", "{init}");
        m.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        m
    }

    async fn send(&mut self, v: Value) {
        let mut line = v.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to kai mcp");
    }

    /// Sends a request and returns its response; a request from the server on the way (an
    /// elicitation) is answered with `answer`'s result.
    async fn request(
        &mut self,
        method: &str,
        params: Value,
        mut answer: impl FnMut(&Value) -> Value,
    ) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .expect("kai mcp answers in time")
                .expect("read kai mcp")
                .expect("kai mcp is still running");
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout holds only JSON-RPC: {e}: {line}"));
            if msg.get("method").is_some() && msg.get("id").is_some() {
                let result = answer(&msg);
                let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
                self.send(reply).await;
            } else if msg["id"] == json!(id) {
                return msg;
            }
        }
    }

    async fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self
            .request(
                "tools/call",
                json!({"name": tool, "arguments": args}),
                |m| panic!("unexpected request {m}"),
            )
            .await;
        r["result"].clone()
    }

    async fn stop(mut self) {
        drop(self.stdin);
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("kai mcp exits when its client closes stdin")
            .expect("wait");
        assert!(status.success(), "{status}");
    }
}

fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn read_only_by_default_with_errors_as_results() {
    let tc = TestCluster::start("demo").await;
    let mut m = Mcp::start(&tc, &[], false).await;
    let tools = m.request("tools/list", json!({}), |_| Value::Null).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "list_pods",
            "list_resources",
            "describe",
            "get_logs",
            "get_events",
            "diagnose"
        ]
    );
    let t = &tools["result"]["tools"][0];
    assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
    assert_eq!(t["inputSchema"]["type"], "object", "{t}");

    let diag = m.call("diagnose", json!({})).await;
    assert_eq!(diag["isError"], false, "{diag}");
    assert!(diag["structuredContent"].is_object(), "{diag}");
    assert!(text(&diag).contains("backend"), "{diag}");

    let missing = m
        .call("describe", json!({"kind": "deployment", "name": "ghost"}))
        .await;
    assert_eq!(missing["isError"], true, "{missing}");
    assert!(text(&missing).contains("not found"), "{missing}");

    let before = tc.replicas("shop", "backend");
    let w = m
        .call(
            "scale",
            json!({"kind": "deployment", "name": "backend", "replicas": before + 2}),
        )
        .await;
    assert_eq!(w["isError"], true, "{w}");
    assert!(text(&w).contains("--allow-writes"), "{w}");
    assert_eq!(tc.replicas("shop", "backend"), before);
    let audit = tc.audit();
    let last = audit.last().expect("the refusal is audited");
    assert_eq!(last["decision"], "denied", "{last}");
    assert_eq!(last["client"], "rust-test-client", "{last}");
    m.stop().await;
}

#[tokio::test]
async fn elicitation_approves_or_declines_each_write() {
    let tc = TestCluster::start("demo").await;
    let mut m = Mcp::start(&tc, &["--allow-writes"], true).await;
    let mut asked = Vec::new();
    let r = m
        .request(
            "tools/call",
            json!({"name": "scale", "arguments": {"kind": "deployment", "name": "frontend", "replicas": 3}}),
            |req| {
                asked.push(req.clone());
                json!({"action": "accept", "content": {"apply": true}})
            },
        )
        .await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["method"], "elicitation/create");
    let question = asked[0]["params"]["message"].as_str().unwrap_or_default();
    assert!(
        question.contains("frontend") && question.contains("3"),
        "{question}"
    );
    assert_eq!(tc.replicas("shop", "frontend"), 3);

    let r = m
        .request(
            "tools/call",
            json!({"name": "scale", "arguments": {"kind": "deployment", "name": "frontend", "replicas": 5}}),
            |_| json!({"action": "decline"}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(text(&r["result"]).contains("declined"), "{r}");
    assert_eq!(tc.replicas("shop", "frontend"), 3);

    let audit = tc.audit();
    let decisions: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| {
            (
                e["decision"].as_str().unwrap_or(""),
                e["client"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("approved", "rust-test-client"),
            ("denied", "rust-test-client")
        ]
    );
    m.stop().await;
}

#[tokio::test]
async fn contradicting_flags_are_usage_errors_before_connecting() {
    let home = tempfile::tempdir().expect("tempdir");
    for (args, words) in [
        (&["mcp", "--yes"][..], "--yes needs --allow-writes"),
        (&["--read-only", "mcp", "--allow-writes"][..], "contradict"),
        (&["mcp", "--http", "0.0.0.0:8931"][..], "loopback only"),
    ] {
        let mut cmd = kai_tests::kai_command(home.path());
        // No kubeconfig at all: the flags are refused before kai looks for one.
        cmd.args(args);
        let out = kai_tests::run(cmd, None).await;
        let err = kai_tests::stderr(&out);
        assert_eq!(kai_tests::code(&out), 2, "{}", kai_tests::explain(&out));
        assert!(
            err.contains(words) && err.trim().lines().count() == 1,
            "{err}"
        );
        assert!(kai_tests::stdout(&out).is_empty());
    }
}
