//! Every tool against the sandbox's `demo` scenario over real HTTP: reads, writes with their
//! dry-run plans, worded errors (wrong names, 403, unreachable) and the secret canaries.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use kai_sandbox::faults::ForbiddenRule;
use kai_sandbox::{Faults, Sandbox, SandboxOptions, Scenario};
use kai_tools::approval::{Authorization, Mode, Rules, authorize};
use kai_tools::registry::{Effect, ToolOutput, effect, execute, plan_write, run};
use kai_tools::{Cluster, ToolError};
use serde_json::{Value, json};

struct Env {
    sandbox: Sandbox,
    cluster: Cluster,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

async fn start(faults: Option<Faults>) -> Env {
    let scenario = Scenario::builtin("demo").expect("demo scenario");
    let sandbox = Sandbox::start(
        scenario,
        SandboxOptions {
            faults,
            ..SandboxOptions::default()
        },
    )
    .await
    .expect("sandbox starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let cluster = Cluster::connect(Some(&kubeconfig), None, None)
        .await
        .expect("connect");
    Env {
        sandbox,
        cluster,
        _dir: dir,
        kubeconfig,
    }
}

/// Runs a read, or plans, approves (auto mode, no protected namespaces) and executes a write.
async fn invoke(env: &Env, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
    if effect(tool) != Some(Effect::Write) {
        return run(&env.cluster, tool, args).await;
    }
    let plan = plan_write(&env.cluster, tool, &args).await?;
    let rules = Rules {
        mode: Mode::Auto,
        protected: &[],
        home: &env.cluster.namespace,
    };
    match authorize(plan, &rules, false, false) {
        Authorization::Approved(a) => execute(&env.cluster, a).await,
        other => panic!("{tool} {args} not approved: {other:?}"),
    }
}

async fn call(env: &Env, tool: &str, args: Value) -> ToolOutput {
    match invoke(env, tool, args.clone()).await {
        Ok(out) => out,
        Err(e) => panic!("{tool} {args}: {e}"),
    }
}

async fn fail(env: &Env, tool: &str, args: Value) -> ToolError {
    match invoke(env, tool, args.clone()).await {
        Ok(out) => panic!("{tool} {args} should fail, got:\n{}", out.text),
        Err(e) => e,
    }
}

#[tokio::test]
async fn list_pods_shows_backend_crash_looping() {
    let env = start(None).await;
    assert_eq!(env.cluster.namespace, "shop");
    let out = call(&env, "list_pods", json!({})).await;
    assert!(out.text.contains("NAME"), "{}", out.text);
    let backend: Vec<&str> = out
        .text
        .lines()
        .filter(|l| l.starts_with("backend-"))
        .collect();
    assert!(!backend.is_empty(), "{}", out.text);
    assert!(
        backend
            .iter()
            .all(|l| l.contains("CrashLoopBackOff") || l.contains("Error")),
        "{}",
        out.text
    );
    assert!(out.text.contains("frontend-") && out.text.contains("database-0"));
    let pods = out.json["pods"].as_array().unwrap();
    assert!(pods.iter().any(|p| p["status"] == "CrashLoopBackOff"));

    let only = call(&env, "list_pods", json!({"only_unhealthy": true})).await;
    for p in only.json["pods"].as_array().unwrap() {
        assert!(
            p["name"].as_str().unwrap().starts_with("backend-"),
            "{}",
            only.text
        );
    }
    let all = call(
        &env,
        "list_pods",
        json!({"all_namespaces": true, "label_selector": "app=backend"}),
    )
    .await;
    assert!(
        all.text.contains("NAMESPACE") && all.text.contains("shop"),
        "{}",
        all.text
    );
    assert!(!all.text.contains("frontend-"));
}

#[tokio::test]
async fn list_resources_every_kind() {
    let env = start(None).await;
    for kind in [
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "services",
        "endpoints",
        "ingresses",
        "configmaps",
        "secrets",
        "pvcs",
        "pvs",
        "storageclasses",
        "nodes",
        "namespaces",
        "events",
        "hpas",
        "pdbs",
        "networkpolicies",
        "po",
        "deploy",
        "svc",
    ] {
        let out = call(&env, "list_resources", json!({"kind": kind})).await;
        assert!(!out.text.is_empty(), "{kind}");
        let all = call(
            &env,
            "list_resources",
            json!({"kind": kind, "all_namespaces": true}),
        )
        .await;
        assert!(!all.text.is_empty(), "{kind}");
    }
    let d = call(&env, "list_resources", json!({"kind": "deploy"})).await;
    let line = d
        .text
        .lines()
        .find(|l| l.starts_with("backend "))
        .expect(&d.text);
    assert!(
        line.contains("0/2") && line.contains("shop/backend:1.4.0"),
        "{}",
        d.text
    );
    let s = call(&env, "list_resources", json!({"kind": "secret"})).await;
    assert!(s.text.contains("api-key(20B)"), "{}", s.text);
    let svc = call(&env, "list_resources", json!({"kind": "svc"})).await;
    assert!(svc.text.contains("app=backend"), "{}", svc.text);
    let rs = call(&env, "list_resources", json!({"kind": "rs"})).await;
    assert!(
        rs.text.contains("shop/backend:1.3.2") && rs.text.contains("shop/backend:1.4.0"),
        "{}",
        rs.text
    );
    let nodes = call(&env, "list_resources", json!({"kind": "nodes"})).await;
    assert!(nodes.text.contains("Ready"), "{}", nodes.text);
}

#[tokio::test]
async fn describe_backend_shows_pods_events_and_references() {
    let env = start(None).await;
    let out = call(
        &env,
        "describe",
        json!({"kind": "deployment", "name": "backend"}),
    )
    .await;
    let t = &out.text;
    assert!(t.starts_with("deployment shop/backend"), "{t}");
    assert!(t.contains("Pods (2 total, 2 unhealthy)"), "{t}");
    assert!(t.contains("CrashLoopBackOff"), "{t}");
    assert!(t.contains("shop/backend:1.4.0"), "{t}");
    assert!(
        t.contains("API_KEY=<secret backend-secrets/api-key>"),
        "{t}"
    );
    assert!(
        t.contains("ReplicaSets:") && t.contains("shop/backend:1.3.2"),
        "{t}"
    );
    assert!(t.contains("Events"), "{t}");
    assert!(t.contains("BackOff") || t.contains("Back-off"), "{t}");
    assert_eq!(out.json["pods"].as_array().unwrap().len(), 2);

    let svc = call(&env, "describe", json!({"kind": "svc", "name": "backend"})).await;
    assert!(svc.text.contains("Endpoints: <none>"), "{}", svc.text);
    let pod_name = svc.json["pods"][0]["name"].as_str().unwrap().to_string();
    let pod = call(&env, "describe", json!({"kind": "po", "name": pod_name})).await;
    assert!(pod.text.contains("Last state: Terminated"), "{}", pod.text);
    assert!(
        pod.text.contains("Controlled by: replicaset/backend-"),
        "{}",
        pod.text
    );
    let node = call(
        &env,
        "describe",
        json!({"kind": "node", "name": pod.json["status"]["node"].as_str().unwrap()}),
    )
    .await;
    assert!(node.text.contains("Allocatable"), "{}", node.text);
}

#[tokio::test]
async fn get_logs_of_the_failing_workload() {
    let env = start(None).await;
    for workload in ["backend", "deployment/backend", "deploy/backend"] {
        let out = call(
            &env,
            "get_logs",
            json!({"workload": workload, "previous": true}),
        )
        .await;
        assert!(
            out.text.contains("KeyError: 'DATABASE_URL'"),
            "{workload}: {}",
            out.text
        );
        assert!(out.text.contains("picked: pod backend-"), "{}", out.text);
    }
    let as_pod = call(
        &env,
        "get_logs",
        json!({"pod": "backend", "previous": true}),
    )
    .await;
    assert!(
        as_pod.text.contains("KeyError: 'DATABASE_URL'"),
        "{}",
        as_pod.text
    );
    let e = fail(&env, "get_logs", json!({"pod": "backend-xyz"})).await;
    assert!(
        e.to_string().starts_with(
            "pod \"backend-xyz\" not found in namespace \"shop\"; did you mean \"backend-"
        ),
        "{e}"
    );
    let grep = call(
        &env,
        "get_logs",
        json!({"workload": "backend", "previous": true, "grep": "keyerror"}),
    )
    .await;
    let lines = grep.json["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{}", grep.text);
    let tail = call(
        &env,
        "get_logs",
        json!({"workload": "backend", "previous": true, "tail_lines": 2}),
    )
    .await;
    assert!(
        tail.json["lines"].as_array().unwrap().len() <= 2,
        "{}",
        tail.text
    );
    let db = call(
        &env,
        "get_logs",
        json!({"pod": "database-0", "grep": "ready to accept"}),
    )
    .await;
    assert!(
        db.text.contains("ready to accept connections"),
        "{}",
        db.text
    );
    let e = fail(
        &env,
        "get_logs",
        json!({"pod": "database-0", "container": "postgress"}),
    )
    .await;
    assert!(e.to_string().contains("did you mean \"postgres\""), "{e}");
}

#[tokio::test]
async fn long_logs_are_cut_to_the_budget_with_a_note() {
    let env = start(None).await;
    let pods = call(&env, "list_pods", json!({"label_selector": "app=frontend"})).await;
    let pod = pods.json["pods"][0]["name"].as_str().unwrap().to_string();
    let out = call(&env, "get_logs", json!({"pod": pod, "tail_lines": 5000})).await;
    assert!(out.text.len() <= 8 * 1024 + 200, "{} bytes", out.text.len());
    assert!(
        out.text.contains("more lines cut (showing the last"),
        "{}",
        out.text
    );
    assert_eq!(out.json["tail_lines"], 5000);
    let huge = call(
        &env,
        "get_logs",
        json!({"pod": pod, "tail_lines": 1_000_000}),
    )
    .await;
    assert_eq!(
        huge.json["tail_lines"], 5000,
        "never more than 5000 lines asked"
    );
}

#[tokio::test]
async fn diagnose_wraps_the_engine() {
    let env = start(None).await;
    let out = call(&env, "diagnose", json!({})).await;
    assert!(
        out.json.get("findings").is_some_and(Value::is_array),
        "{}",
        out.json
    );
    assert!(out.text.contains("backend"), "{}", out.text);
    assert!(
        out.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "backend"),
        "{}",
        out.json
    );
    let one = call(
        &env,
        "diagnose",
        json!({"kind": "deployment", "name": "frontend"}),
    )
    .await;
    assert!(
        one.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] == "frontend" || f["related"].to_string().contains("frontend")),
        "{}",
        one.json
    );
    let e = fail(&env, "diagnose", json!({"kind": "widget"})).await;
    assert!(e.to_string().contains("unknown kind \"widget\""), "{e}");
}

#[tokio::test]
async fn get_events_warnings() {
    let env = start(None).await;
    let out = call(&env, "get_events", json!({"warnings_only": true})).await;
    assert!(out.json["total"].as_u64().unwrap() > 0, "{}", out.text);
    for e in out.json["events"].as_array().unwrap() {
        assert_eq!(e["type"], "Warning");
    }
    assert!(out.text.contains("BackOff"), "{}", out.text);
    let backend = call(
        &env,
        "get_events",
        json!({"kind": "deployment", "name": "backend"}),
    )
    .await;
    assert!(
        backend.json["total"].as_u64().unwrap() > 0,
        "{}",
        backend.text
    );
    for e in backend.json["events"].as_array().unwrap() {
        assert!(
            e["object"]["name"].as_str().unwrap().starts_with("backend"),
            "{e}"
        );
    }
}

async fn replicas(env: &Env) -> i64 {
    let out = call(
        env,
        "describe",
        json!({"kind": "deployment", "name": "backend"}),
    )
    .await;
    out.json["status"]["replicas"].as_i64().unwrap()
}

#[tokio::test]
async fn scale_plans_with_a_dry_run_then_scales() {
    let env = start(None).await;
    let args = json!({"kind": "deployment", "name": "backend", "replicas": 3});
    let plan = plan_write(&env.cluster, "scale", &args).await.unwrap();
    assert_eq!(
        plan.summary,
        "scale deployment shop/backend: replicas 2 → 3"
    );
    assert!(plan.warnings.is_empty());
    assert_eq!(replicas(&env).await, 2, "the dry run changed nothing");
    let out = call(&env, "scale", args).await;
    assert!(
        out.text
            .contains("scaled deployment shop/backend: replicas 2 → 3"),
        "{}",
        out.text
    );
    assert_eq!(replicas(&env).await, 3);
    let zero = plan_write(
        &env.cluster,
        "scale",
        &json!({"kind": "deploy", "name": "backend", "replicas": 0}),
    )
    .await
    .unwrap();
    assert!(zero.warnings[0].contains("scaling to zero"), "{zero:?}");
    let e = plan_write(&env.cluster, "list_pods", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(e, ToolError::InvalidArguments { .. }));
}

async fn template_annotation(env: &Env) -> Option<String> {
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(env.cluster.client.clone(), "shop");
    let d = api.get("backend").await.unwrap();
    d.spec?
        .template
        .metadata?
        .annotations?
        .get("kubectl.kubernetes.io/restartedAt")
        .cloned()
}

#[tokio::test]
async fn restart_sets_the_template_annotation() {
    let env = start(None).await;
    let args = json!({"kind": "deployment", "name": "backend"});
    let plan = plan_write(&env.cluster, "restart", &args).await.unwrap();
    assert!(
        plan.summary
            .starts_with("restart deployment shop/backend: new rollout"),
        "{}",
        plan.summary
    );
    assert_eq!(
        template_annotation(&env).await,
        None,
        "the dry run changed nothing"
    );
    call(&env, "restart", args).await;
    assert!(template_annotation(&env).await.is_some());
    let pod_plan = plan_write(
        &env.cluster,
        "restart",
        &json!({"kind": "pod", "name": "database-0"}),
    )
    .await
    .unwrap();
    assert!(
        pod_plan
            .summary
            .contains("statefulset database creates a new one"),
        "{}",
        pod_plan.summary
    );
    let db = call(
        &env,
        "describe",
        json!({"kind": "pod", "name": "database-0"}),
    )
    .await;
    assert!(
        db.text.starts_with("pod shop/database-0"),
        "the dry run deleted nothing"
    );
    call(
        &env,
        "restart",
        json!({"kind": "pod", "name": "database-0"}),
    )
    .await;
}

#[tokio::test]
async fn rollout_undo_returns_backend_to_the_previous_image() {
    let env = start(None).await;
    let args = json!({"kind": "deployment", "name": "backend"});
    let plan = plan_write(&env.cluster, "rollout_undo", &args)
        .await
        .unwrap();
    assert_eq!(
        plan.summary,
        "rollback deployment shop/backend: revision 2 (shop/backend:1.4.0) → revision 1 (shop/backend:1.3.2)"
    );
    assert!(!plan.warnings.is_empty());
    call(&env, "rollout_undo", args).await;
    let d = call(&env, "list_resources", json!({"kind": "deploy"})).await;
    let line = d
        .text
        .lines()
        .find(|l| l.starts_with("backend "))
        .expect(&d.text);
    assert!(line.contains("shop/backend:1.3.2"), "{}", d.text);
    let e = fail(
        &env,
        "rollout_undo",
        json!({"kind": "deployment", "name": "backend", "to_revision": 9}),
    )
    .await;
    assert!(e.to_string().contains("has no revision 9"), "{e}");
}

#[tokio::test]
async fn wrong_names_get_suggestions() {
    let env = start(None).await;
    let e = fail(
        &env,
        "describe",
        json!({"kind": "deployment", "name": "backnd"}),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "deployment \"backnd\" not found in namespace \"shop\"; did you mean \"backend\"?"
    );
    let e = fail(&env, "get_logs", json!({"workload": "frontnd"})).await;
    assert!(e.to_string().contains("did you mean \"frontend\""), "{e}");
    let e = fail(
        &env,
        "scale",
        json!({"kind": "deployment", "name": "backnd", "replicas": 1}),
    )
    .await;
    assert!(e.to_string().contains("did you mean \"backend\""), "{e}");
    let e = fail(&env, "list_pods", json!({"namespace": "shpo"})).await;
    assert_eq!(
        e.to_string(),
        format!(
            "namespace \"shpo\" not found in context \"{}\"; did you mean \"shop\"?",
            env.cluster.context
        )
    );
    let e = fail(
        &env,
        "describe",
        json!({"kind": "svc", "name": "backend", "namespace": "nope"}),
    )
    .await;
    assert!(
        e.to_string()
            .starts_with("namespace \"nope\" not found in context"),
        "{e}"
    );
}

#[tokio::test]
async fn invalid_arguments_are_sent_back() {
    let env = start(None).await;
    for (tool, args, needle) in [
        ("list_pods", json!({"bogus": 1}), "unknown field `bogus`"),
        (
            "list_resources",
            json!({"kind": "widgets"}),
            "unknown kind \"widgets\"",
        ),
        (
            "describe",
            json!({"kind": "deploy"}),
            "missing field `name`",
        ),
        (
            "restart",
            json!({"kind": "job", "name": "x"}),
            "unknown variant `job`",
        ),
        (
            "scale",
            json!({"kind": "deployment", "name": "backend", "replicas": -1}),
            "replicas must be between 0",
        ),
        ("get_logs", json!({}), "give pod"),
        (
            "list_pods",
            json!({"namespace": "shop", "all_namespaces": true}),
            "not both",
        ),
        (
            "get_logs",
            json!({"pod": "database-0", "tail_lines": 0}),
            "tail_lines must be at least 1",
        ),
    ] {
        let e = fail(&env, tool, args).await;
        assert!(
            matches!(e, ToolError::InvalidArguments { .. }),
            "{tool}: {e:?}"
        );
        assert!(e.to_string().contains(needle), "{tool}: {e}");
    }
    let e = fail(&env, "kubectl_exec", json!({})).await;
    assert!(matches!(e, ToolError::UnknownTool(_)));
}

#[tokio::test]
async fn forbidden_names_verb_and_resource() {
    let faults = Faults {
        forbidden: vec![
            ForbiddenRule {
                verbs: vec!["list".into()],
                resources: vec!["secrets".into()],
                namespaces: vec!["shop".into()],
            },
            ForbiddenRule {
                verbs: vec!["get".into()],
                resources: vec!["pods/log".into()],
                namespaces: vec![],
            },
        ],
        ..Faults::default()
    };
    let env = start(Some(faults)).await;
    let e = fail(&env, "list_resources", json!({"kind": "secrets"})).await;
    assert_eq!(
        e.to_string(),
        "forbidden: cannot list secrets in namespace \"shop\" (RBAC)"
    );
    let e = fail(&env, "get_logs", json!({"pod": "database-0"})).await;
    assert_eq!(
        e.to_string(),
        "forbidden: cannot get pods/log in namespace \"shop\" (RBAC)"
    );
    // Everything else still works.
    call(&env, "list_pods", json!({})).await;
    // A list the user may not read is reported inside a description, not fatal to it.
    let faults = Faults {
        forbidden: vec![ForbiddenRule {
            verbs: vec!["list".into()],
            resources: vec!["pods".into(), "events".into()],
            namespaces: vec![],
        }],
        ..Faults::default()
    };
    let env = start(Some(faults)).await;
    let out = call(
        &env,
        "describe",
        json!({"kind": "deploy", "name": "backend"}),
    )
    .await;
    assert!(
        out.text.contains(
            "Pods: not checked (forbidden: cannot list pods in namespace \"shop\" (RBAC))"
        ),
        "{}",
        out.text
    );
    assert!(out.text.contains("Events: not checked"), "{}", out.text);
    let e = fail(&env, "list_pods", json!({})).await;
    assert_eq!(
        e.to_string(),
        "forbidden: cannot list pods in namespace \"shop\" (RBAC)"
    );
}

#[tokio::test]
async fn throttled_reads_are_retried() {
    let faults = Faults {
        throttle_rate: 0.3,
        retry_after_seconds: 1,
        seed: 7,
        ..Faults::default()
    };
    let env = start(Some(faults)).await;
    for _ in 0..3 {
        let out = call(&env, "list_pods", json!({})).await;
        assert!(out.text.contains("backend-"), "{}", out.text);
    }
}

#[tokio::test]
async fn unreachable_names_server_and_context() {
    let env = start(None).await;
    let server = env.cluster.server.clone();
    env.sandbox.shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let cluster = Cluster::connect(Some(&env.kubeconfig), None, None)
        .await
        .unwrap();
    let e = run(&cluster, "list_pods", json!({})).await.unwrap_err();
    assert!(matches!(e, ToolError::Unreachable { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains(&server) && msg.contains(&cluster.context),
        "{msg}"
    );
}

const CANARIES: &[&str] = &[
    "CANARY",
    "S3CR3T",
    "tok-CANARY-91b2e4",
    "pw-CANARY-55d1",
    "UzNDUjNULUNBTkFSWS03ZjNhOWM",
    "cHctQ0FOQVJZLTU1ZDE",
    "eyJhbGciOiJIUzI1NiJ9",
];

fn check(what: &str, text: &str) {
    for c in CANARIES {
        assert!(!text.contains(c), "canary {c:?} leaked in {what}:\n{text}");
    }
}

#[tokio::test]
async fn secret_canaries_never_leave() {
    let env = start(None).await;
    let mut calls: Vec<(&str, Value)> = Vec::new();
    for ns in [json!({}), json!({"all_namespaces": true})] {
        let mut a = ns.clone();
        calls.push(("list_pods", a.clone()));
        a["only_unhealthy"] = json!(true);
        calls.push(("list_pods", a));
        for kind in [
            "secrets",
            "configmaps",
            "deployments",
            "statefulsets",
            "replicasets",
            "pods",
            "events",
            "services",
            "endpoints",
            "pvcs",
            "nodes",
            "namespaces",
        ] {
            let mut a = ns.clone();
            a["kind"] = json!(kind);
            calls.push(("list_resources", a));
        }
        calls.push(("get_events", ns.clone()));
        calls.push(("diagnose", ns.clone()));
    }
    // Describe every pod, workload, secret, configmap and service; logs of every container.
    let mut outputs: Vec<(String, String)> = Vec::new();
    for kind in [
        "pods",
        "deployments",
        "statefulsets",
        "replicasets",
        "secrets",
        "configmaps",
        "services",
    ] {
        let list = call(&env, "list_resources", json!({"kind": kind})).await;
        let items = list
            .json
            .get("items")
            .or_else(|| list.json.get("pods"))
            .unwrap();
        for item in items.as_array().unwrap() {
            let name = item["name"].as_str().unwrap().to_string();
            calls.push(("describe", json!({"kind": kind, "name": name})));
            if kind == "pods" {
                for previous in [false, true] {
                    calls.push(("get_logs", json!({"pod": name, "previous": previous})));
                    calls.push(("get_logs", json!({"pod": name, "previous": previous, "grep": "bearer|postgres://|token"})));
                }
            }
            if ["deployments", "statefulsets"].contains(&kind) {
                calls.push(("get_logs", json!({"workload": format!("{kind}/{name}")})));
                calls.push(("get_events", json!({"kind": kind, "name": name})));
                calls.push(("diagnose", json!({"kind": kind, "name": name})));
            }
        }
    }
    assert!(calls.len() > 40);
    for (tool, args) in &calls {
        let what = format!("{tool} {args}");
        match run(&env.cluster, tool, args.clone()).await {
            Ok(out) => {
                outputs.push((what.clone(), out.text.clone()));
                check(&what, &out.text);
                check(&what, &out.json.to_string());
            }
            Err(e) => check(&what, &e.to_string()),
        }
    }
    // The frontend's logs did carry the canaries: they were masked, not missing.
    let frontend_logs = outputs
        .iter()
        .filter(|(w, _)| w.starts_with("get_logs") && w.contains("frontend-"))
        .map(|(_, t)| t.as_str())
        .collect::<String>();
    assert!(
        frontend_logs.contains("Authorization: Bearer ****"),
        "{frontend_logs}"
    );
    assert!(frontend_logs.contains("****@db:5432"), "{frontend_logs}");
    let describe_frontend = outputs
        .iter()
        .find(|(w, _)| {
            w.starts_with("describe") && w.contains("\"frontend\"") && w.contains("deployments")
        })
        .map(|(_, t)| t.clone())
        .unwrap();
    assert!(
        describe_frontend.contains("API_TOKEN=****"),
        "{describe_frontend}"
    );
}

#[tokio::test]
async fn large_lists_stay_within_the_budget() {
    let sandbox = Sandbox::start(Scenario::generated(1500), SandboxOptions::default())
        .await
        .expect("sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&path).unwrap();
    let cluster = Cluster::connect(Some(&path), None, None).await.unwrap();
    let out = run(&cluster, "list_pods", json!({"all_namespaces": true}))
        .await
        .unwrap();
    assert!(out.text.len() <= 8 * 1024 + 200, "{} bytes", out.text.len());
    assert!(
        out.text.contains("more rows cut (showing the first"),
        "{}",
        out.text
    );
    // Paged listing (500 per page) still counts every pod.
    assert!(
        out.json["total"].as_u64().unwrap() >= 1500,
        "{}",
        out.json["total"]
    );
    let rs = run(
        &cluster,
        "list_resources",
        json!({"kind": "rs", "all_namespaces": true}),
    )
    .await
    .unwrap();
    assert!(rs.text.len() <= 8 * 1024 + 200, "{} bytes", rs.text.len());
}
