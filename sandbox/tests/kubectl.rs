//! The real kubectl (the pinned 1.32 client, and the version dispatcher) against the sandbox.

// Test helpers fail loudly: a panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use kai_sandbox::faults::ForbiddenRule;
use kai_sandbox::resources::by_plural;
use kai_sandbox::{Faults, Sandbox, SandboxOptions};
use serde_json::{Value, json};

/// Frozen objects (given with a status): served as captured.
const FROZEN: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
status: {phase: Active}
---
apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {node-role.kubernetes.io/control-plane: ""}}
status:
  conditions: [{type: Ready, status: "True"}]
  nodeInfo: {kubeletVersion: v1.32.0}
  addresses: [{type: InternalIP, address: 10.0.0.1}]
---
apiVersion: v1
kind: Pod
metadata: {name: backend-7d9f-abcde, namespace: shop, labels: {app: backend}}
spec:
  nodeName: node-1
  containers: [{name: app, image: shop/backend:2}]
status:
  phase: Running
  podIP: 10.1.0.5
  containerStatuses:
  - name: app
    ready: false
    restartCount: 5
    image: shop/backend:2
    imageID: ""
    state: {waiting: {reason: CrashLoopBackOff, message: "back-off 5m0s restarting failed container=app"}}
    lastState: {terminated: {exitCode: 1, reason: Error, startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:01:00Z"}}
---
apiVersion: v1
kind: Pod
metadata: {name: frontend-5c8d-fghij, namespace: shop, labels: {app: frontend, tier: web}}
spec:
  nodeName: node-1
  containers: [{name: web, image: nginx:1.27}]
status:
  phase: Running
  podIP: 10.1.0.6
  conditions: [{type: Ready, status: "True"}]
  containerStatuses:
  - name: web
    ready: true
    restartCount: 0
    image: nginx:1.27
    imageID: ""
    state: {running: {startedAt: "2026-01-01T00:00:00Z"}}
---
apiVersion: sandbox.kai.dev/v1
kind: Behavior
metadata: {name: backend-logs}
spec:
  selector: {matchLabels: {app: backend}}
  exitCode: 1
  logs: ["starting backend v2", "fatal: DATABASE_URL is not set"]
  previousLogs: ["starting backend v2 (previous run)", "fatal: DATABASE_URL is not set"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
status: {replicas: 1, readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1, observedGeneration: 1}
---
apiVersion: v1
kind: Service
metadata: {name: frontend, namespace: shop}
spec:
  selector: {app: frontend}
  clusterIP: 10.96.0.10
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
"#;

/// Objects the simulation drives: a deployment without status.
const SIMULATED: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {requests: {cpu: 10m, memory: 16Mi}}
"#;

mod common;

use common::{Env, dispatcher, pinned, stderr, stdout};

/// The pinned kubectl 1.32 client, beside the `kubectl` dispatcher.
fn kubectl_132() -> PathBuf {
    pinned("1.32")
}

/// What these tests do with a sandbox: kubectl 1.32 as the admin, and waits that move the
/// simulation on.
impl Env {
    async fn start_plain(yaml: &str) -> Env {
        Self::start_with(yaml, None).await
    }

    async fn start_with(yaml: &str, faults: Option<Faults>) -> Env {
        let options = SandboxOptions {
            faults,
            ..SandboxOptions::default()
        };
        Env::start_yaml(yaml, options).await
    }

    /// Runs kubectl `bin` as the admin.
    async fn run_with(&self, bin: PathBuf, args: &[&str]) -> Output {
        self.run_as(&bin, "kubeconfig", args, &[]).await
    }

    /// Runs a kubectl with extra environment variables (`KUBE_EDITOR`).
    async fn run_env(&self, bin: PathBuf, args: &[&str], vars: &[(&str, &str)]) -> Output {
        self.run_as(&bin, "kubeconfig", args, vars).await
    }

    async fn kubectl(&self, args: &[&str]) -> Output {
        self.run_with(kubectl_132(), args).await
    }

    /// kubectl that must succeed; its stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// Polls `check` (a kubectl query) until it holds, moving the simulation on meanwhile.
    async fn wait_for(&self, what: &str, args: &[&str], check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let out = self.ok(args).await;
            if check(&out) {
                return out;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; last output:\n{out}"
            );
            self.sandbox.advance(jiff::SignedDuration::from_secs(5));
        }
    }
}

fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.split_whitespace().any(|c| c == name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
        .split_whitespace()
        .collect()
}

/// Adds an Event about an object, as the kubelet or a controller would.
fn add_event(
    sb: &Sandbox,
    kind: &str,
    plural_group: (&str, &str),
    name: &str,
    reason: &str,
    message: &str,
) {
    let world = sb.world();
    let mut w = world.lock().expect("lock");
    let rt = by_plural(plural_group.0, plural_group.1).expect("resource");
    let obj = w.store.get(rt, "shop", name).expect("object");
    let uid = obj["metadata"]["uid"].clone();
    let now = kai_sandbox::clock::rfc3339(w.store.clock().now());
    let events = by_plural("", "events").expect("events");
    w.store
        .create(
            events,
            json!({"metadata": {"name": format!("{name}.{}", reason.to_lowercase()), "namespace": "shop"},
                "involvedObject": {"kind": kind, "name": name, "namespace": "shop", "uid": uid,
                    "apiVersion": rt.api_version()},
                "reason": reason, "type": "Warning", "message": message, "count": 4,
                "firstTimestamp": now, "lastTimestamp": now,
                "source": {"component": "kubelet", "host": "node-1"}}),
        )
        .expect("event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_pods_all_namespaces_prints_kubectl_columns() {
    let env = Env::start_plain(FROZEN).await;
    let out = env.ok(&["get", "pods", "-A"]).await;
    let header: Vec<&str> = out
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let backend = row(&out, "backend-7d9f-abcde");
    assert_eq!(
        &backend[..5],
        ["shop", "backend-7d9f-abcde", "0/1", "CrashLoopBackOff", "5"]
    );
    assert!(backend[5].starts_with('('), "{out}");
    let frontend = row(&out, "frontend-5c8d-fghij");
    assert_eq!(
        &frontend[..5],
        ["shop", "frontend-5c8d-fghij", "1/1", "Running", "0"]
    );
    let wide = env.ok(&["get", "pods", "-n", "shop", "-o", "wide"]).await;
    assert!(
        wide.lines().next().expect("header").contains("IP"),
        "{wide}"
    );
    assert!(
        row(&wide, "frontend-5c8d-fghij").contains(&"10.1.0.6"),
        "{wide}"
    );
    assert!(
        row(&wide, "frontend-5c8d-fghij").contains(&"node-1"),
        "{wide}"
    );
    // JSON output is the objects as stored.
    let json: Value =
        serde_json::from_str(&env.ok(&["get", "pods", "-A", "-o", "json"]).await).expect("json");
    assert_eq!(json["items"].as_array().expect("items").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_several_kinds_through_the_dispatcher() {
    let env = Env::start_plain(FROZEN).await;
    add_event(
        &env.sandbox,
        "Pod",
        ("", "pods"),
        "backend-7d9f-abcde",
        "BackOff",
        "Back-off restarting failed container app",
    );
    let out = env
        .run_with(
            dispatcher(),
            &["get", "deploy,svc,nodes,events", "-n", "shop"],
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("deployment.apps/frontend"), "{text}");
    let d = row(&text, "deployment.apps/frontend");
    assert_eq!(&d[1..4], ["1/1", "1", "1"]);
    let s = row(&text, "service/frontend");
    assert_eq!(&s[1..5], ["ClusterIP", "10.96.0.10", "<none>", "80/TCP"]);
    let n = row(&text, "node/node-1");
    assert_eq!(n[1], "Ready");
    assert_eq!(n[2], "control-plane");
    assert!(text.contains("LAST SEEN"), "{text}");
    assert!(text.contains("pod/backend-7d9f-abcde"), "{text}");
    assert!(
        text.contains("Back-off restarting failed container app"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_pod_and_deployment_show_events() {
    let env = Env::start_plain(FROZEN).await;
    add_event(
        &env.sandbox,
        "Pod",
        ("", "pods"),
        "backend-7d9f-abcde",
        "BackOff",
        "Back-off restarting failed container app in pod backend",
    );
    add_event(
        &env.sandbox,
        "Deployment",
        ("apps", "deployments"),
        "frontend",
        "ScalingReplicaSet",
        "Scaled up replica set frontend-5c8d to 1",
    );
    let pod = env
        .ok(&["describe", "pod", "backend-7d9f-abcde", "-n", "shop"])
        .await;
    assert!(pod.contains("CrashLoopBackOff"), "{pod}");
    assert!(pod.contains("Restart Count:  5"), "{pod}");
    let events = pod.split("Events:").nth(1).expect("events section");
    assert!(events.contains("BackOff"), "{pod}");
    assert!(
        events.contains("Back-off restarting failed container app in pod backend"),
        "{pod}"
    );
    let dep = env
        .ok(&["describe", "deployment", "frontend", "-n", "shop"])
        .await;
    assert!(dep.contains("Replicas:"), "{dep}");
    assert!(
        dep.split("Events:")
            .nth(1)
            .expect("events")
            .contains("ScalingReplicaSet"),
        "{dep}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_previous_logs() {
    let env = Env::start_plain(FROZEN).await;
    let (current, previous) = {
        let world = env.sandbox.world();
        let w = world.lock().expect("lock");
        let text = |prev| {
            w.sim
                .logs(&w.store, "shop", "backend-7d9f-abcde", Some("app"), prev)
                .map(|ls| {
                    ls.into_iter()
                        .map(|l| format!("{}\n", l.text))
                        .collect::<String>()
                })
        };
        (text(false).expect("current logs"), text(true))
    };
    assert!(
        current.contains("fatal: DATABASE_URL is not set"),
        "{current}"
    );
    assert_eq!(
        env.ok(&["logs", "backend-7d9f-abcde", "-n", "shop"]).await,
        current
    );
    let out = env
        .kubectl(&["logs", "backend-7d9f-abcde", "-n", "shop", "--previous"])
        .await;
    match previous {
        Ok(p) => {
            assert!(p.contains("previous run"), "{p}");
            assert_eq!(stdout(&out), p);
        }
        Err(e) => assert!(stderr(&out).contains(&e.message), "{}", stderr(&out)),
    }
    // Following a container that is not running prints its log and ends, as kubectl does.
    let follow = tokio::time::timeout(
        Duration::from_secs(20),
        env.ok(&["logs", "-f", "backend-7d9f-abcde", "-n", "shop"]),
    )
    .await
    .expect("logs -f of a crash-looping container ends");
    assert_eq!(follow, current);
    let tail = env
        .ok(&["logs", "backend-7d9f-abcde", "-n", "shop", "--tail=1"])
        .await;
    assert_eq!(tail.lines().count(), current.lines().count().min(1));
    let out = env.kubectl(&["logs", "nope", "-n", "shop"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("pods \"nope\" not found"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_and_field_selectors() {
    let env = Env::start_plain(FROZEN).await;
    let names = |s: String| -> Vec<String> { s.lines().map(str::to_string).collect() };
    let get = |sel: &'static str| {
        let env = &env;
        async move {
            names(
                env.ok(&["get", "pods", "-n", "shop", "-o", "name", "-l", sel])
                    .await,
            )
        }
    };
    assert_eq!(get("app=frontend").await, ["pod/frontend-5c8d-fghij"]);
    assert_eq!(get("app!=frontend").await, ["pod/backend-7d9f-abcde"]);
    assert_eq!(get("app in (backend,frontend)").await.len(), 2);
    assert_eq!(
        get("app notin (backend)").await,
        ["pod/frontend-5c8d-fghij"]
    );
    assert_eq!(get("tier").await, ["pod/frontend-5c8d-fghij"]);
    assert_eq!(get("!tier").await, ["pod/backend-7d9f-abcde"]);
    let out = env
        .ok(&[
            "get",
            "pods",
            "-A",
            "-o",
            "name",
            "--field-selector",
            "metadata.name=frontend-5c8d-fghij,status.phase=Running",
        ])
        .await;
    assert_eq!(names(out), ["pod/frontend-5c8d-fghij"]);
    let none = env
        .kubectl(&["get", "pods", "-n", "shop", "-l", "app=nothing"])
        .await;
    assert!(
        stderr(&none).contains("No resources found in shop namespace."),
        "{}",
        stderr(&none)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_watch_prints_changes() {
    let env = Env::start_plain(FROZEN).await;
    let kubeconfig = env.kubeconfig();
    let args = env.args(&[
        "get",
        "pods",
        "-n",
        "shop",
        "--watch",
        "--request-timeout=4s",
    ]);
    let bin = kubectl_132();
    let world = env.sandbox.world();
    let watchers = move || world.lock().unwrap().store.watchers();
    let before = watchers();
    let watcher = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(&args)
            .output()
            .expect("watch")
    });
    // Change the pod only once kubectl's watch is open, or the event may come before it.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let opened = tokio::time::timeout(Duration::from_secs(20), async {
        while watchers() == before {
            tick.tick().await;
        }
    })
    .await;
    assert!(opened.is_ok(), "kubectl never opened its watch");
    env.ok(&[
        "label",
        "pod",
        "frontend-5c8d-fghij",
        "-n",
        "shop",
        "seen=yes",
    ])
    .await;
    let out = tokio::time::timeout(Duration::from_secs(20), watcher)
        .await
        .expect("kubectl ends with its request timeout")
        .expect("join");
    let text = stdout(&out);
    let rows = text
        .lines()
        .filter(|l| l.starts_with("frontend-5c8d-fghij"))
        .count();
    assert!(
        rows >= 2,
        "the initial row and the change: {text}\n{}",
        stderr(&out)
    );
    assert!(kubeconfig.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_then_updates() {
    let env = Env::start_plain(FROZEN).await;
    let file = env.dir.path().join("app.yaml");
    let manifest = |tier: &str, replicas: u32| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, namespace: shop, labels: {{tier: {tier}}}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: api}}}}\n  template:\n    metadata: {{labels: {{app: api}}}}\n    spec: {{containers: [{{name: api, image: shop/api:1, ports: [{{containerPort: 8080}}]}}]}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: api-config, namespace: shop}}\ndata: {{MODE: \"{tier}\"}}\n"
        )
    };
    std::fs::write(&file, manifest("one", 1)).expect("write");
    let f = file.display().to_string();
    let out = env.ok(&["apply", "-f", &f]).await;
    assert!(out.contains("deployment.apps/api created"), "{out}");
    assert!(out.contains("configmap/api-config created"), "{out}");
    std::fs::write(&file, manifest("two", 3)).expect("write");
    let diff = env.kubectl(&["diff", "-f", &f]).await;
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff finds changes: {}",
        stderr(&diff)
    );
    assert!(
        stdout(&diff).contains("+  replicas: 3") || stdout(&diff).contains("+    tier: two"),
        "{}",
        stdout(&diff)
    );
    let out = env.ok(&["apply", "-f", &f]).await;
    assert!(out.contains("deployment.apps/api configured"), "{out}");
    let got = env
        .ok(&[
            "get",
            "deploy",
            "api",
            "-n",
            "shop",
            "-o",
            "jsonpath={.metadata.labels.tier} {.spec.replicas}",
        ])
        .await;
    assert_eq!(got, "two 3");
    let cm = env
        .ok(&[
            "get",
            "cm",
            "api-config",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data.MODE}",
        ])
        .await;
    assert_eq!(cm, "two");
    let out = env.ok(&["apply", "-f", &f]).await;
    assert!(out.contains("unchanged"), "{out}");
    // JSON patch and merge patch through kubectl patch.
    env.ok(&[
        "patch",
        "cm",
        "api-config",
        "-n",
        "shop",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/data/EXTRA","value":"x"}]"#,
    ])
    .await;
    env.ok(&[
        "patch",
        "cm",
        "api-config",
        "-n",
        "shop",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"MODE":null}}"#,
    ])
    .await;
    let data = env
        .ok(&[
            "get",
            "cm",
            "api-config",
            "-n",
            "shop",
            "-o",
            "jsonpath={.data}",
        ])
        .await;
    assert_eq!(data, r#"{"EXTRA":"x"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_worded_like_kubernetes() {
    let faults = Faults {
        forbidden: vec![ForbiddenRule {
            verbs: vec!["list".into()],
            resources: vec!["secrets".into()],
            namespaces: vec!["shop".into()],
        }],
        ..Faults::default()
    };
    let env = Env::start_with(FROZEN, Some(faults)).await;
    let out = env.kubectl(&["get", "pod", "nope", "-n", "shop"]).await;
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (NotFound): pods \"nope\" not found"
    );
    let out = env.kubectl(&["get", "secrets", "-n", "shop"]).await;
    assert_eq!(
        stderr(&out).trim(),
        "Error from server (Forbidden): secrets is forbidden: User \"kai-sandbox\" cannot list resource \"secrets\" in API group \"\" in the namespace \"shop\""
    );
    let ns = env.dir.path().join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    )
    .expect("write");
    let out = env
        .kubectl(&["create", "-f", &ns.display().to_string()])
        .await;
    let err = stderr(&out);
    assert!(
        err.starts_with("Error from server (AlreadyExists): error when creating"),
        "{err}"
    );
    assert!(
        err.trim().ends_with("namespaces \"shop\" already exists"),
        "{err}"
    );
    let out = env.kubectl(&["get", "widgets"]).await;
    assert!(
        stderr(&out).contains("the server doesn't have a resource type \"widgets\""),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_then_new_pods_appear() {
    let env = Env::start_plain(SIMULATED).await;
    let ready = |want: usize| {
        move |out: &str| out.lines().filter(|l| l.contains("Running")).count() == want
    };
    env.wait_for(
        "2 running pods",
        &["get", "pods", "-n", "shop", "-l", "app=web"],
        ready(2),
    )
    .await;
    let out = env
        .ok(&["scale", "deployment/web", "--replicas=3", "-n", "shop"])
        .await;
    assert!(out.contains("deployment.apps/web scaled"), "{out}");
    env.wait_for(
        "3 running pods",
        &["get", "pods", "-n", "shop", "-l", "app=web"],
        ready(3),
    )
    .await;
    env.wait_for(
        "deployment 3/3",
        &["get", "deploy", "web", "-n", "shop"],
        |o| {
            o.lines()
                .nth(1)
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("3/3"))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_restart_then_status_completes() {
    let env = Env::start_plain(SIMULATED).await;
    env.wait_for(
        "2 running pods",
        &["get", "pods", "-n", "shop", "-l", "app=web"],
        |o| o.lines().filter(|l| l.contains("Running")).count() == 2,
    )
    .await;
    let before = env
        .ok(&["get", "pods", "-n", "shop", "-l", "app=web", "-o", "name"])
        .await;
    let out = env
        .ok(&["rollout", "restart", "deployment/web", "-n", "shop"])
        .await;
    assert!(out.contains("deployment.apps/web restarted"), "{out}");
    // `rollout status` watches; the simulation is moved on meanwhile.
    let status = env.kubectl(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "shop",
        "--timeout=50s",
    ]);
    let advance = async {
        for _ in 0..200 {
            env.sandbox.advance(jiff::SignedDuration::from_secs(2));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let out = tokio::select! {
        out = status => out,
        _ = advance => panic!("rollout status did not finish"),
    };
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("successfully rolled out"),
        "{}",
        stdout(&out)
    );
    let after = env
        .wait_for(
            "old pods gone",
            &["get", "pods", "-n", "shop", "-l", "app=web", "-o", "name"],
            |o| o.lines().count() == 2,
        )
        .await;
    for old in before.lines() {
        assert!(!after.contains(old), "{old} replaced: {after}");
    }
    let history = env
        .ok(&["rollout", "history", "deployment/web", "-n", "shop"])
        .await;
    assert!(history.contains('2'), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pod_is_replaced_by_its_controller() {
    let env = Env::start_plain(SIMULATED).await;
    let out = env
        .wait_for(
            "2 running pods",
            &["get", "pods", "-n", "shop", "-l", "app=web", "-o", "name"],
            |o| o.lines().count() == 2,
        )
        .await;
    let victim = out.lines().next().expect("a pod").to_string();
    let del = env
        .ok(&["delete", &victim, "-n", "shop", "--wait=false"])
        .await;
    assert!(del.contains("deleted"), "{del}");
    let after = env
        .wait_for(
            "a replacement",
            &["get", "pods", "-n", "shop", "-l", "app=web", "-o", "name"],
            |o| o.lines().count() == 2 && !o.lines().any(|l| l == victim),
        )
        .await;
    assert_eq!(after.lines().count(), 2);
}

#[test]
fn kubectl_bundle_is_installed() {
    let p = kubectl_132();
    assert!(Path::new(&p).is_file());
}

/// Runs `bin` and asserts success; its stdout.
async fn ok_with(env: &Env, bin: &Path, args: &[&str]) -> String {
    let out = env.run_with(bin.to_path_buf(), args).await;
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        bin.display(),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_creates_send_protobuf_and_are_stored() {
    let env = Env::start_plain(SIMULATED).await;
    for (tag, bin) in [
        ("v133", pinned("1.33")),
        ("disp", dispatcher()),
        ("v127", pinned("1.27")),
    ] {
        let ns = format!("team-{tag}");
        ok_with(&env, &bin, &["create", "namespace", &ns]).await;
        ok_with(
            &env,
            &bin,
            &[
                "create",
                "deployment",
                "api",
                "--image=api:1",
                "--replicas=2",
                "-n",
                &ns,
            ],
        )
        .await;
        ok_with(
            &env,
            &bin,
            &[
                "create",
                "configmap",
                "cfg",
                "--from-literal=mode=fast",
                "-n",
                &ns,
            ],
        )
        .await;
        ok_with(
            &env,
            &bin,
            &[
                "create",
                "secret",
                "generic",
                "pw",
                "--from-literal=password=hunter2",
                "-n",
                &ns,
            ],
        )
        .await;
        let dry = ok_with(
            &env,
            &bin,
            &[
                "create",
                "deployment",
                "dry",
                "--image=x:1",
                "-n",
                &ns,
                "--dry-run=server",
                "-o",
                "json",
            ],
        )
        .await;
        let dry: Value = serde_json::from_str(&dry).expect("json");
        assert_eq!(dry["metadata"]["name"], "dry", "{tag}");
        assert!(
            dry["metadata"]["creationTimestamp"].is_string(),
            "{tag}: {dry}"
        );
        let out = env
            .run_with(bin.clone(), &["get", "deployment", "dry", "-n", &ns])
            .await;
        assert!(
            stderr(&out).contains("NotFound"),
            "{tag}: a dry run stored: {}",
            stdout(&out)
        );
        let d: Value = serde_json::from_str(
            &ok_with(
                &env,
                &bin,
                &["get", "deployment", "api", "-n", &ns, "-o", "json"],
            )
            .await,
        )
        .expect("json");
        assert_eq!(d["spec"]["replicas"], 2, "{tag}");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "api:1"
        );
        assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "api");
        let cm = ok_with(
            &env,
            &bin,
            &[
                "get",
                "configmap",
                "cfg",
                "-n",
                &ns,
                "-o",
                "jsonpath={.data.mode}",
            ],
        )
        .await;
        assert_eq!(cm, "fast");
        let pw = ok_with(
            &env,
            &bin,
            &[
                "get",
                "secret",
                "pw",
                "-n",
                &ns,
                "-o",
                "jsonpath={.data.password}",
            ],
        )
        .await;
        assert_eq!(pw, "aHVudGVyMg==", "{tag}");
    }
}

/// `spec.replicas` of deployment `name` in `shop`.
async fn replicas_of(env: &Env, bin: &Path, name: &str) -> String {
    let path = "jsonpath={.spec.replicas}";
    ok_with(
        env,
        bin,
        &["get", "deployment", name, "-n", "shop", "-o", path],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_twice_then_a_conflict_then_forced() {
    let env = Env::start_plain(SIMULATED).await;
    for (tag, bin) in [
        ("v133", pinned("1.33")),
        ("disp", dispatcher()),
        ("v127", pinned("1.27")),
    ] {
        let name = format!("ssa-{tag}");
        let manifest = |replicas: u32, image: &str| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop, labels: {{app: {name}}}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: app, image: \"{image}\"}}]}}\n"
            )
        };
        let file = env.dir.path().join(format!("{name}.yaml"));
        let file_s = file.display().to_string();
        std::fs::write(&file, manifest(2, "web:1")).unwrap();
        let out = ok_with(&env, &bin, &["apply", "--server-side", "-f", &file_s]).await;
        assert!(out.contains("serverside-applied"), "{tag}: {out}");
        let out = ok_with(&env, &bin, &["apply", "--server-side", "-f", &file_s]).await;
        assert!(out.contains("serverside-applied"), "{tag}: {out}");
        let d: Value = serde_json::from_str(
            &ok_with(
                &env,
                &bin,
                &[
                    "get",
                    "deployment",
                    &name,
                    "-n",
                    "shop",
                    "-o",
                    "json",
                    "--show-managed-fields",
                ],
            )
            .await,
        )
        .unwrap();
        let mf = d["metadata"]["managedFields"]
            .as_array()
            .expect("managedFields");
        assert_eq!(mf.len(), 1, "{tag}: {mf:?}");
        assert_eq!(mf[0]["manager"], "kubectl");
        assert_eq!(mf[0]["operation"], "Apply");
        assert_eq!(mf[0]["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
        // Another manager changing what kubectl owns: the API server's conflict.
        std::fs::write(&file, manifest(3, "web:2")).unwrap();
        let out = env
            .run_with(
                bin.clone(),
                &[
                    "apply",
                    "--server-side",
                    "--field-manager=deployer",
                    "-f",
                    &file_s,
                ],
            )
            .await;
        assert!(!out.status.success(), "{tag}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("Apply failed with 2 conflicts: conflicts with \"kubectl\":")
                && err.contains("- .spec.replicas")
                && err.contains("- .spec.template.spec.containers[name=\"app\"].image"),
            "{tag}: {err}"
        );
        let out = ok_with(
            &env,
            &bin,
            &[
                "apply",
                "--server-side",
                "--field-manager=deployer",
                "--force-conflicts",
                "-f",
                &file_s,
            ],
        )
        .await;
        assert!(out.contains("serverside-applied"), "{tag}: {out}");
        let replicas = replicas_of(&env, &bin, &name).await;
        assert_eq!(replicas, "3", "{tag}");
        // Dry run on the server leaves the object as it is.
        std::fs::write(&file, manifest(7, "web:2")).unwrap();
        ok_with(
            &env,
            &bin,
            &[
                "apply",
                "--server-side",
                "--field-manager=deployer",
                "--dry-run=server",
                "-f",
                &file_s,
            ],
        )
        .await;
        let replicas = replicas_of(&env, &bin, &name).await;
        assert_eq!(replicas, "3", "{tag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_reads_the_served_schemas() {
    let env = Env::start_plain(SIMULATED).await;
    for bin in [pinned("1.33"), dispatcher(), pinned("1.27")] {
        let out = ok_with(&env, &bin, &["explain", "deployment.spec"]).await;
        assert!(out.contains("KIND:") && out.contains("Deployment"), "{out}");
        assert!(out.contains("replicas"), "{out}");
        assert!(out.contains("Number of desired pods"), "{out}");
        let out = ok_with(&env, &bin, &["explain", "pods.spec.containers.resources"]).await;
        assert!(out.contains("limits"), "{out}");
        let out = ok_with(
            &env,
            &bin,
            &["explain", "cronjob.spec.jobTemplate", "--recursive"],
        )
        .await;
        assert!(out.contains("backoffLimit"), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_kubectl_fetches_openapi_v2_then_applies_creates_diffs_and_edits() {
    let env = Env::start_plain(SIMULATED).await;
    for (tag, bin) in [("v127", pinned("1.27")), ("v128", pinned("1.28"))] {
        let name = format!("old-{tag}");
        let manifest = |image: &str| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: app, image: \"{image}\", ports: [{{containerPort: 80}}]}}]}}\n"
            )
        };
        let file = env.dir.path().join(format!("{name}.yaml"));
        let file_s = file.display().to_string();
        std::fs::write(&file, manifest("web:1")).unwrap();
        let out = ok_with(&env, &bin, &["apply", "-f", &file_s]).await;
        assert!(out.contains("created"), "{tag}: {out}");
        std::fs::write(&file, manifest("web:2")).unwrap();
        let out = env.run_with(bin.clone(), &["diff", "-f", &file_s]).await;
        // diff exits 1 when there are differences.
        assert_eq!(out.status.code(), Some(1), "{tag}: {}", stderr(&out));
        assert!(
            stdout(&out)
                .lines()
                .any(|l| l.starts_with('+') && l.trim_end().ends_with("image: web:2")),
            "{tag}: {}",
            stdout(&out)
        );
        let out = ok_with(&env, &bin, &["apply", "-f", &file_s]).await;
        assert!(out.contains("configured"), "{tag}: {out}");
        let cm = env.dir.path().join(format!("cm-{tag}.yaml"));
        std::fs::write(
            &cm,
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{tag}, namespace: shop}}\ndata: {{a: b}}\n"),
        )
        .unwrap();
        let out = ok_with(&env, &bin, &["create", "-f", &cm.display().to_string()]).await;
        assert!(out.contains("created"), "{tag}: {out}");
        let editor = env.dir.path().join("editor.sh");
        std::fs::write(
            &editor,
            "#!/bin/sh\nsed -i 's/^  replicas: 1$/  replicas: 3/' \"$1\"\n",
        )
        .unwrap();
        let editor_cmd = format!("sh {}", editor.display());
        let out = env
            .run_env(
                bin.clone(),
                &["edit", "deployment", &name, "-n", "shop"],
                &[("KUBE_EDITOR", &editor_cmd)],
            )
            .await;
        assert!(
            stdout(&out).contains("edited"),
            "{tag}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            out.status.success(),
            "{tag}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let got = ok_with(
            &env,
            &bin,
            &[
                "get",
                "deployment",
                &name,
                "-n",
                "shop",
                "-o",
                "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}",
            ],
        )
        .await;
        assert_eq!(got, "3 web:2", "{tag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_are_served_for_leader_election() {
    let env = Env::start_plain(SIMULATED).await;
    let bin = kubectl_132();
    let out = ok_with(
        &env,
        &bin,
        &["api-resources", "--api-group", "coordination.k8s.io"],
    )
    .await;
    assert!(out.contains("leases") && out.contains("Lease"), "{out}");
    let file = env.dir.path().join("lease.yaml");
    let lease = |holder: &str| {
        format!(
            "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: elect, namespace: shop}}\nspec: {{holderIdentity: {holder}, leaseDurationSeconds: 15}}\n"
        )
    };
    let file_s = file.display().to_string();
    std::fs::write(&file, lease("a")).unwrap();
    let applied = ["apply", "--server-side", "-f", &file_s];
    ok_with(
        &env,
        &bin,
        &[&applied[..], &["--field-manager", "a"]].concat(),
    )
    .await;
    // A second candidate cannot take a held lease without forcing it: the election's guard.
    std::fs::write(&file, lease("b")).unwrap();
    let out = env
        .run_with(
            bin.clone(),
            &[&applied[..], &["--field-manager", "b"]].concat(),
        )
        .await;
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("conflict with \"a\""),
        "{}",
        stderr(&out)
    );
    let out = ok_with(&env, &bin, &["get", "leases", "-n", "shop"]).await;
    assert!(row(&out, "elect").contains(&"a"), "{out}");
}
