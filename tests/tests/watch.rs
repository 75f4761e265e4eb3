//! `kai watch` end to end through the kai binary against the demo sandbox on a manual clock:
//! backend's crash opens, is rolled back through the policy gate and resolves; metrics and
//! probes show it; a dry run changes nothing; without approval the gate refuses.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kai_tests::TestCluster;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

/// The longest any one line may take to come (a failure, not a hang).
const LINE: Duration = Duration::from_secs(90);

struct Watch {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
}

impl Watch {
    fn start(tc: &TestCluster, args: &[&str]) -> Watch {
        let mut cmd = tokio::process::Command::from(tc.kai());
        cmd.arg("watch")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Watch {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next JSON line, or None once the watch ended.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(LINE, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no line within {LINE:?}; saw {:#?}", self.seen))
            .unwrap()?;
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["time"].is_string(), "{v}");
        self.seen.push(v.clone());
        Some(v)
    }

    /// Lines up to and including the first that `want` accepts.
    async fn until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next().await {
                Some(v) if want(&v) => return v,
                Some(_) => {}
                None => panic!("the watch ended first; saw {:#?}", self.seen),
            }
        }
    }

    /// Reads to the end; the exit code and stderr.
    async fn finish(mut self) -> (Option<i32>, String, Vec<Value>) {
        while self.next().await.is_some() {}
        let status = tokio::time::timeout(LINE, self.child.wait())
            .await
            .unwrap()
            .unwrap();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut err).await.unwrap();
        }
        (status.code(), err, self.seen)
    }
}

fn about(v: &Value, event: &str, name: &str, reason: &str) -> bool {
    v["event"] == event && v["finding"]["name"] == name && v["finding"]["reason"] == reason
}

/// GET over plain HTTP/1.0: the status code and body.
async fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let code = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (code, body)
}

fn backend_image(tc: &TestCluster) -> String {
    let rt = kai_sandbox::resources::by_plural("apps", "deployments").unwrap();
    let world = tc.sandbox.world();
    let w = world.lock().unwrap();
    let d = w.store.get(rt, "shop", "backend").unwrap();
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Advances the sandbox's clock a second at a time until `reached` holds (bounded).
fn advance_until(tc: &TestCluster, what: &str, reached: impl Fn(&TestCluster) -> bool) {
    for _ in 0..300 {
        if reached(tc) {
            return;
        }
        tc.advance(1);
    }
    assert!(reached(tc), "{what}: never reached on the sandbox's clock");
}

/// The watch's next rollback (not a follower's deferral): done, from and to these revisions.
async fn rolled_back(w: &mut Watch, from: i64, to: i64) {
    let action = w
        .until(|v| v["event"] == "remediation" && v["result"] != "not_leader")
        .await;
    assert_eq!(action["result"], "ok", "{action}");
    assert_eq!(action["from_revision"].as_i64(), Some(from), "{action}");
    assert_eq!(action["to_revision"].as_i64(), Some(to), "{action}");
}

fn backend_ready(tc: &TestCluster) -> i64 {
    let rt = kai_sandbox::resources::by_plural("apps", "deployments").unwrap();
    let world = tc.sandbox.world();
    let w = world.lock().unwrap();
    let d = w.store.get(rt, "shop", "backend").unwrap();
    d["status"]["readyReplicas"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn rolls_back_backends_crash_and_reports_it_resolved_with_metrics() {
    let tc = TestCluster::start_manual("demo").await;
    let mut w = Watch::start(
        &tc,
        &[
            "-n",
            "shop",
            "--remediate",
            "rollback",
            "--yes",
            "--output",
            "json",
            "--until-resolved",
            "--metrics-addr",
            "127.0.0.1:0",
            "--timeout",
            "5m",
        ],
    );
    let serving = w.until(|v| v["event"] == "serving").await;
    let metrics = serving["metrics"].as_str().unwrap().to_string();
    let base = metrics.trim_end_matches("/metrics").to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let synced = w.until(|v| v["event"] == "synced").await;
    assert!(synced["objects"].as_u64().unwrap() > 5, "{synced}");
    assert_eq!(get(&format!("{base}/readyz")).await.0, 200);
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);

    let opened = w
        .until(|v| about(v, "opened", "backend", "CrashLoopBackOff"))
        .await;
    let f = &opened["finding"];
    assert_eq!(f["kind"], "deployment");
    assert_eq!(f["namespace"], "shop");
    assert_eq!(f["severity"], "critical");
    assert!(
        f["evidence"]
            .to_string()
            .contains("KeyError: 'DATABASE_URL'"),
        "{f}"
    );
    let action = w.until(|v| v["event"] == "remediation").await;
    assert_eq!(action["result"], "ok", "{action}");
    assert_eq!(action["action"], "rollback");
    assert_eq!(action["target"], "deployment shop/backend");
    assert_eq!(action["from_revision"], 2);
    assert_eq!(action["to_revision"], 1);
    assert_eq!(backend_image(&tc), "shop/backend:1.3.2");

    // The remediation is counted, and the open findings are exposed, while the watch runs.
    let (code, text) = get(&metrics).await;
    assert_eq!(code, 200);
    assert!(
        text.contains("kai_remediations_total{action=\"rollback\",result=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("kai_findings{namespace=\"shop\",kind=\"deployment\""),
        "{text}"
    );
    assert!(
        text.contains("kai_diagnosis_duration_seconds_count "),
        "{text}"
    );
    assert!(text.contains("kai_watch_ready 1"), "{text}");

    // Simulated time brings revision 1's pods up; the watch sees it and ends by itself.
    advance_until(&tc, "the rolled back revision never became ready", |tc| {
        backend_ready(tc) >= 2
    });
    let (code, err, seen) = w.finish().await;
    assert_eq!(code, Some(0), "stderr: {err}\n{seen:#?}");
    assert!(
        seen.iter()
            .any(|v| about(v, "resolved", "backend", "CrashLoopBackOff")),
        "{seen:#?}"
    );
    assert_eq!(seen.last().unwrap()["event"], "done", "{seen:#?}");
    // Exactly one rollback, through the gate, audited.
    let rollbacks: Vec<&Value> = seen
        .iter()
        .filter(|v| v["event"] == "remediation")
        .collect();
    assert_eq!(rollbacks.len(), 1, "{rollbacks:#?}");
    let audit = tc.audit();
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(audit[0]["tool"], "rollout_undo");
    assert_eq!(audit[0]["result"], "ok");
    assert_eq!(audit[0]["decision"], "allowed");
    let all = serde_json::to_string(&seen).unwrap();
    for canary in ["CANARY", "S3CR3T", "eyJhbGciOiJIUzI1NiJ9"] {
        assert!(!all.contains(canary), "{canary} leaked: {all}");
    }
}

/// A watch that ends by itself, run to completion.
async fn watch_to_end(tc: &TestCluster, args: &[&str]) -> std::process::Output {
    let mut cmd = tc.kai();
    cmd.arg("watch").args(args);
    kai_tests::run(cmd, None).await
}

#[tokio::test]
async fn dry_run_says_what_it_would_do_and_changes_nothing() {
    let tc = TestCluster::start_manual("demo").await;
    let args = [
        "-n",
        "shop",
        "--remediate",
        "rollback",
        "--dry-run",
        "--output",
        "json",
    ];
    let out = watch_to_end(
        &tc,
        &[&args[..], &["--exit-after", "1", "--timeout", "5m"]].concat(),
    )
    .await;
    assert_eq!(kai_tests::code(&out), 0, "{}", kai_tests::explain(&out));
    let seen: Vec<Value> = kai_tests::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let action = seen
        .iter()
        .find(|v| v["event"] == "remediation")
        .unwrap_or_else(|| panic!("{seen:#?}"));
    assert_eq!(action["result"], "dry_run", "{action}");
    assert!(
        action["detail"]
            .as_str()
            .unwrap()
            .contains("revision 2 (shop/backend:1.4.0) → revision 1 (shop/backend:1.3.2)"),
        "{action}"
    );
    assert_eq!(backend_image(&tc), "shop/backend:1.4.0");
    assert!(tc.audit().is_empty(), "{:#?}", tc.audit());
}

#[tokio::test]
async fn without_approval_the_gate_refuses_and_audits_it() {
    let tc = TestCluster::start_manual("demo").await;
    let args = ["-n", "shop", "--remediate", "rollback", "--exit-after", "1"];
    let out = watch_to_end(&tc, &[&args[..], &["--timeout", "5m"]].concat()).await;
    assert_eq!(kai_tests::code(&out), 0, "{}", kai_tests::explain(&out));
    let text = kai_tests::stdout(&out);
    assert!(
        text.contains("opened   critical deployment shop/backend CrashLoopBackOff"),
        "{text}"
    );
    assert!(
        text.contains("remediation denied: rollback deployment shop/backend (revision 2 → 1"),
        "{text}"
    );
    assert_eq!(backend_image(&tc), "shop/backend:1.4.0");
    let audit = tc.audit();
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(audit[0]["tool"], "rollout_undo");
    assert_ne!(audit[0]["result"], "ok");
}

#[tokio::test]
async fn in_a_pod_without_a_kubeconfig_kai_uses_the_in_cluster_config() {
    // No kubeconfig, but the environment of a pod: kai takes the service account's config
    // (here there is no token mounted, so it says exactly that, in one line).
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = kai_tests::kai_command(dir.path());
    cmd.env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", "1")
        .args(["watch", "-n", "shop"]);
    let out = kai_tests::run(cmd, None).await;
    let err = kai_tests::stderr(&out);
    assert_eq!(kai_tests::code(&out), 2, "{}", kai_tests::explain(&out));
    assert!(
        err.contains("no kubeconfig, and the in-cluster service account config failed"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Sets backend's image, as `kubectl set image` would, and lets the controllers run.
fn set_backend_image(tc: &TestCluster, image: &str) {
    let rt = kai_sandbox::resources::by_plural("apps", "deployments").unwrap();
    let world = tc.sandbox.world();
    let mut w = world.lock().unwrap();
    let mut d = (*w.store.get(rt, "shop", "backend").unwrap()).clone();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image.into();
    d["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    w.store.update(rt, d).unwrap();
    w.reconcile();
}

fn leads(v: &Value, leader: bool) -> bool {
    v["event"] == "leadership" && v["leader"] == leader
}

#[tokio::test]
async fn two_replicas_elect_one_leader_which_alone_rolls_back_and_hands_over() {
    let tc = TestCluster::start_manual("demo").await;
    let args = [
        "-n",
        "shop",
        "--remediate",
        "rollback",
        "--yes",
        "--output",
        "json",
        "--leader-elect",
        "--lease-namespace",
        "shop",
        // Long enough that a starved test machine does not cost the leader its lease; the
        // handover below is by release, not by expiry.
        "--lease-duration",
        "10s",
        "--metrics-addr",
        "127.0.0.1:0",
        "--timeout",
        "5m",
    ];
    let mut a = Watch::start(&tc, &args);
    let said = a.until(|v| leads(v, true)).await;
    let a_id = said["identity"].as_str().unwrap().to_string();
    assert_eq!(said["lease"], "shop/kai-watch", "{said}");
    let mut b = Watch::start(&tc, &args);
    let b_metrics = b.until(|v| v["event"] == "serving").await["metrics"]
        .as_str()
        .unwrap()
        .to_string();
    let follower = b.until(|v| v["event"] == "leadership").await;
    assert_eq!(follower["leader"], false, "{follower}");
    assert_eq!(follower["role"], "follower", "{follower}");
    assert_eq!(follower["holder"], a_id.as_str(), "{follower}");
    let b_id = follower["identity"].as_str().unwrap().to_string();
    assert_ne!(a_id, b_id);

    // The leader rolls back; the follower sees the same crash and leaves it alone.
    rolled_back(&mut a, 2, 1).await;
    b.until(|v| about(v, "opened", "backend", "CrashLoopBackOff"))
        .await;
    let (_, text) = get(&b_metrics).await;
    assert!(text.contains("kai_leader 0"), "{text}");
    assert!(!text.contains("result=\"ok\""), "{text}");
    // The Lease is a real object: kubectl and kube clients see its holder.
    {
        let rt = kai_sandbox::resources::by_plural("coordination.k8s.io", "leases").unwrap();
        let world = tc.sandbox.world();
        let w = world.lock().unwrap();
        let lease = w.store.get(rt, "shop", "kai-watch").unwrap();
        assert_eq!(lease["spec"]["holderIdentity"], a_id.as_str(), "{lease}");
    }

    // Revision 1 (now 3) comes up.
    advance_until(&tc, "the rolled back revision never became ready", |tc| {
        backend_ready(tc) >= 2
    });

    // The leader is stopped as Kubernetes stops a pod: it gives the lease up on the way out.
    let pid = a.child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, err, seen_a) = a.finish().await;
    assert_eq!(code, Some(0), "stderr: {err}\n{seen_a:#?}");
    assert_eq!(seen_a.last().unwrap()["event"], "done", "{seen_a:#?}");

    // The follower takes over, and it is the one that acts on the next failing revision.
    let took = b.until(|v| leads(v, true)).await;
    assert_eq!(took["identity"], b_id.as_str(), "{took}");
    let (_, text) = get(&b_metrics).await;
    assert!(text.contains("kai_leader 1"), "{text}");
    set_backend_image(&tc, "shop/backend:1.4.0");
    advance_until(&tc, "the new revision never crash-looped", |tc| {
        backend_states(tc).1 > 0
    });
    rolled_back(&mut b, 4, 3).await;
    b.child.kill().await.unwrap();
    let (_, _, seen_b) = b.finish().await;

    // Exactly one rollback per failing revision across both replicas, each audited once.
    let oks: Vec<&Value> = seen_a
        .iter()
        .chain(seen_b.iter())
        .filter(|v| v["event"] == "remediation" && v["result"] == "ok")
        .collect();
    assert_eq!(oks.len(), 2, "{oks:#?}");
    let audit = tc.audit();
    assert_eq!(audit.len(), 2, "{audit:#?}");
    assert!(audit.iter().all(|a| a["result"] == "ok"), "{audit:#?}");
}

/// The states of backend's containers: (running, waiting in CrashLoopBackOff) pods.
fn backend_states(tc: &TestCluster) -> (usize, usize) {
    let rt = kai_sandbox::resources::by_plural("", "pods").unwrap();
    let world = tc.sandbox.world();
    let w = world.lock().unwrap();
    let pods = w.store.list(rt, Some("shop"));
    let backend = pods.iter().filter(|p| {
        p["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("backend-"))
    });
    let (mut running, mut looping) = (0, 0);
    for p in backend {
        let state = &p["status"]["containerStatuses"][0]["state"];
        if state["running"].is_object() {
            running += 1;
        }
        if state["waiting"]["reason"] == "CrashLoopBackOff" {
            looping += 1;
        }
    }
    (running, looping)
}

/// Diagnosis passes the watch has made, from its metrics.
async fn passes(metrics: &str) -> u64 {
    let (_, text) = get(metrics).await;
    text.lines()
        .find_map(|l| l.strip_prefix("kai_diagnosis_duration_seconds_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Advances the sandbox's clock until `reached` holds, then waits (bounded) for the watch to
/// diagnose what changed.
async fn step_until(
    tc: &TestCluster,
    metrics: &str,
    what: &str,
    reached: impl Fn(&TestCluster) -> bool,
) {
    let before = passes(metrics).await;
    advance_until(tc, what, reached);
    let deadline = tokio::time::Instant::now() + LINE;
    while passes(metrics).await <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the watch never diagnosed it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_crash_loop_stays_open_while_its_pods_run_between_restarts() {
    let tc = TestCluster::start_manual("demo").await;
    let mut w = Watch::start(
        &tc,
        &[
            "-n",
            "shop",
            "--output",
            "json",
            "--metrics-addr",
            "127.0.0.1:0",
            "--timeout",
            "5m",
        ],
    );
    let metrics = w.until(|v| v["event"] == "serving").await["metrics"]
        .as_str()
        .unwrap()
        .to_string();
    w.until(|v| about(v, "opened", "backend", "CrashLoopBackOff"))
        .await;
    // Two turns of the crash loop: the back-off ends, the containers run (and the finding's
    // condition is absent for that while), they crash and back off again.
    for turn in 0..2 {
        step_until(&tc, &metrics, &format!("turn {turn}: running"), |tc| {
            backend_states(tc).0 > 0
        })
        .await;
        step_until(
            &tc,
            &metrics,
            &format!("turn {turn}: crash-looping"),
            |tc| backend_states(tc).1 > 0 && backend_states(tc).0 == 0,
        )
        .await;
    }
    // A fixed image: the crash-looping pods are replaced, and the finding resolves at once.
    set_backend_image(&tc, "shop/backend:1.3.2");
    step_until(&tc, &metrics, "fixed", |tc| backend_ready(tc) >= 2).await;
    w.until(|v| about(v, "resolved", "backend", "CrashLoopBackOff"))
        .await;
    w.child.kill().await.unwrap();
    let (_, _, seen) = w.finish().await;
    let about_backend: Vec<&Value> = seen
        .iter()
        .filter(|v| {
            v["finding"]["name"] == "backend" && v["finding"]["reason"] == "CrashLoopBackOff"
        })
        .collect();
    let events: Vec<&str> = about_backend
        .iter()
        .map(|v| v["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e != "changed")
            .collect::<Vec<_>>(),
        [&"opened", &"resolved"],
        "{about_backend:#?}"
    );
}

#[tokio::test]
async fn exit_after_n_prints_exactly_n_finding_lines_though_one_pass_finds_more() {
    let tc = TestCluster::start_manual("more-failures").await;
    let out = watch_to_end(
        &tc,
        &[
            "-A",
            "--output",
            "json",
            "--exit-after",
            "2",
            "--timeout",
            "5m",
        ],
    )
    .await;
    assert_eq!(kai_tests::code(&out), 0, "{}", kai_tests::explain(&out));
    let seen: Vec<Value> = kai_tests::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let findings = seen
        .iter()
        .filter(|v| ["opened", "changed", "resolved"].contains(&v["event"].as_str().unwrap()))
        .count();
    assert_eq!(findings, 2, "{seen:#?}");
    let done = seen.last().unwrap();
    assert_eq!(done["event"], "done", "{seen:#?}");
    assert_eq!(done["reason"], "2 finding lines (--exit-after 2)", "{done}");
}

/// A webhook on 127.0.0.1 that records every body it is sent and answers the first with a 500,
/// so the watch has to retry it.
async fn recording_webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                let mut all = seen.lock().unwrap();
                all.push(body);
                if all.len() == 1 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test]
async fn a_rollback_is_recorded_as_an_event_and_posted_once_to_the_webhook() {
    let tc = TestCluster::start_manual("demo").await;
    let (hook, got) = recording_webhook().await;
    let mut w = Watch::start(
        &tc,
        &[
            "-n",
            "shop",
            "--remediate",
            "rollback",
            "--yes",
            "--record-events",
            "--webhook",
            &hook,
            "--output",
            "json",
            "--until-resolved",
            "--timeout",
            "5m",
        ],
    );
    rolled_back(&mut w, 2, 1).await;
    advance_until(&tc, "the rolled back revision never became ready", |tc| {
        backend_ready(tc) >= 2
    });
    let (code, err, seen) = w.finish().await;
    assert_eq!(code, Some(0), "stderr: {err}\n{seen:#?}");
    assert!(
        !seen.iter().any(|v| v["event"] == "record_failed"),
        "{seen:#?}"
    );

    // The Event sits on the Deployment, as the kubelet's and controllers' do.
    let rt = kai_sandbox::resources::by_plural("", "events").unwrap();
    let events: Vec<Value> = {
        let world = tc.sandbox.world();
        let w = world.lock().unwrap();
        w.store
            .list(rt, Some("shop"))
            .iter()
            .map(|e| (**e).clone())
            .filter(|e| e["source"]["component"] == "kai-watch")
            .collect()
    };
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e["involvedObject"]["kind"], "Deployment", "{e}");
    assert_eq!(e["involvedObject"]["name"], "backend", "{e}");
    assert!(e["involvedObject"]["uid"].is_string(), "{e}");
    assert_eq!(e["reason"], "RolledBack", "{e}");
    assert_eq!(e["type"], "Normal", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("rollback deployment shop/backend (revision 2 → 1"),
        "{e}"
    );

    // Slack-compatible bodies: opened once (the 500 retried), the rollback, resolved once.
    let posts = got.lock().unwrap().clone();
    assert!(
        posts
            .iter()
            .all(|p| p.as_object().unwrap().len() == 1 && p["text"].is_string()),
        "{posts:#?}"
    );
    let texts: Vec<&str> = posts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    let count = |needle: &str| texts.iter().filter(|t| t.contains(needle)).count();
    assert_eq!(
        count("opened critical deployment shop/backend CrashLoopBackOff"),
        2,
        "{texts:#?}"
    );
    assert_eq!(texts[0], texts[1], "the first post is retried: {texts:#?}");
    assert_eq!(
        count("remediated: rollback deployment shop/backend"),
        1,
        "{texts:#?}"
    );
    assert_eq!(
        count("resolved deployment shop/backend CrashLoopBackOff"),
        1,
        "{texts:#?}"
    );
    let all = texts.join("\n");
    for canary in ["CANARY", "S3CR3T", "eyJhbGciOiJIUzI1NiJ9"] {
        assert!(!all.contains(canary), "{canary} leaked: {all}");
    }
}

#[tokio::test]
async fn a_leader_whose_lease_was_taken_stops_acting_at_once() {
    let tc = TestCluster::start_manual("demo").await;
    let mut w = Watch::start(
        &tc,
        &[
            "-n",
            "shop",
            "--remediate",
            "rollback",
            "--yes",
            "--output",
            "json",
            "--leader-elect",
            "--lease-namespace",
            "shop",
            "--lease-duration",
            "10s",
            "--timeout",
            "5m",
        ],
    );
    w.until(|v| leads(v, true)).await;
    rolled_back(&mut w, 2, 1).await;
    advance_until(&tc, "the rolled back revision never became ready", |tc| {
        backend_ready(tc) >= 2
    });
    // Another holder takes the Lease (an operator, a partition healed the other way): from now
    // on this replica must not act, before its election even notices.
    {
        let rt = kai_sandbox::resources::by_plural("coordination.k8s.io", "leases").unwrap();
        let world = tc.sandbox.world();
        let mut w = world.lock().unwrap();
        let mut lease = (*w.store.get(rt, "shop", "kai-watch").unwrap()).clone();
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        lease["spec"]["holderIdentity"] = "intruder".into();
        lease["spec"]["renewTime"] = now.into();
        lease["spec"]["leaseDurationSeconds"] = 3600.into();
        lease["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("resourceVersion");
        w.store.update(rt, lease).unwrap();
    }
    set_backend_image(&tc, "shop/backend:1.4.0");
    advance_until(&tc, "the new revision never crash-looped", |tc| {
        backend_states(tc).1 > 0
    });
    let left = w.until(|v| v["event"] == "remediation").await;
    assert_eq!(left["result"], "not_leader", "{left}");
    assert_eq!(left["from_revision"], 4, "{left}");
    // Its election notices too, at its next renewal, and says so.
    let lost = w.until(|v| v["event"] == "leadership").await;
    assert_eq!(lost["leader"], false, "{lost}");
    assert_eq!(lost["holder"], "intruder", "{lost}");
    w.child.kill().await.unwrap();
    assert_eq!(backend_image(&tc), "shop/backend:1.4.0");
    assert_eq!(tc.audit().len(), 1, "{:#?}", tc.audit());
}
