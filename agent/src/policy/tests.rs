//! The gate against the sandbox: modes, remembered answers, validation, namespaces, plans that
//! run as approved, conflicts, cancellation and the audit log.

use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::api::apps::v1::Deployment;
use kai_sandbox::{Sandbox, SandboxOptions, Scenario};
use serde_json::json;

use super::*;

/// A sandbox with the demo scenario and a cluster connected to it.
pub(crate) struct Demo {
    pub _sandbox: Sandbox,
    pub cluster: Cluster,
    pub dir: tempfile::TempDir,
}

pub(crate) async fn demo() -> Demo {
    crate::tls::install_crypto_provider();
    let sandbox = Sandbox::start(
        Scenario::builtin("demo").unwrap(),
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kc).unwrap();
    let cluster = Cluster::connect(Some(&kc), None, None).await.unwrap();
    Demo {
        _sandbox: sandbox,
        cluster,
        dir,
    }
}

pub(crate) async fn replicas(cluster: &Cluster, name: &str) -> i32 {
    replicas_in(cluster, "shop", name).await
}

/// Answers every question the same way and counts them.
pub(crate) struct Fixed(pub Answer, pub AtomicUsize);

impl Approver for Fixed {
    fn approve(&self, _plan: &WritePlan) -> Answer {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.clone()
    }
}

fn audit_lines(d: &Demo) -> Vec<Value> {
    let p = d.dir.path().join("audit.jsonl");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn gate(d: &Demo, mode: Mode, answer: Answer) -> (Gate, Arc<Fixed>) {
    let fixed = Arc::new(Fixed(answer, AtomicUsize::new(0)));
    let g = Gate::new(
        mode,
        crate::config::PolicyConfig::default().protected_namespaces,
        fixed.clone(),
        Some(AuditLog::new(d.dir.path().join("audit.jsonl"))),
    );
    (g, fixed)
}

fn scale(n: i64) -> Value {
    json!({"kind": "deployment", "name": "frontend", "namespace": "shop", "replicas": n})
}

#[tokio::test]
async fn confirm_asks_and_a_no_changes_nothing() {
    let d = demo().await;
    let before = replicas(&d.cluster, "frontend").await;
    let (g, fixed) = gate(&d, Mode::Confirm, Answer::No("not now".into()));
    let r = g.execute(&d.cluster, "scale", &scale(5)).await;
    assert_eq!(r.decision, Decision::Denied);
    assert!(matches!(&r.output, Err(GateError::Denied(m)) if m == "not now"));
    let plan = r.plan.unwrap();
    assert!(plan.summary.contains("frontend"), "{}", plan.summary);
    assert_eq!(fixed.1.load(Ordering::SeqCst), 1);
    assert_eq!(replicas(&d.cluster, "frontend").await, before);
    let lines = audit_lines(&d);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["decision"], "denied");
    assert_eq!(lines[0]["tool"], "scale");
    assert_eq!(lines[0]["arguments"]["replicas"], 5);
    assert_eq!(lines[0]["target"], "deployment shop/frontend");
    assert_eq!(lines[0]["result"], "not-run");
}

#[tokio::test]
async fn yes_for_target_is_remembered_for_that_target_only() {
    let d = demo().await;
    let (g, fixed) = gate(&d, Mode::Confirm, Answer::YesForTarget);
    let r = g.execute(&d.cluster, "scale", &scale(3)).await;
    assert_eq!(r.decision, Decision::Approved);
    assert!(r.ok(), "{:?}", r.output);
    assert_eq!(replicas(&d.cluster, "frontend").await, 3);
    let r = g.execute(&d.cluster, "scale", &scale(4)).await;
    assert_eq!(r.decision, Decision::Approved);
    assert_eq!(
        fixed.1.load(Ordering::SeqCst),
        1,
        "asked once for the target"
    );
    assert_eq!(replicas(&d.cluster, "frontend").await, 4);
    // Another target is asked about again.
    let other =
        json!({"kind": "deployment", "name": "backend", "namespace": "shop", "replicas": 1});
    g.execute(&d.cluster, "scale", &other).await;
    assert_eq!(fixed.1.load(Ordering::SeqCst), 2);
    let lines = audit_lines(&d);
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l["decision"] == "approved" && l["result"] == "ok")
    );
    assert!(lines[0]["summary"].as_str().unwrap().contains("3"));
}

#[tokio::test]
async fn read_only_and_protected_namespaces_deny_without_asking() {
    let d = demo().await;
    let before = replicas(&d.cluster, "frontend").await;
    let (g, fixed) = gate(&d, Mode::ReadOnly, Answer::Yes);
    let r = g.execute(&d.cluster, "scale", &scale(0)).await;
    assert_eq!(r.decision, Decision::Denied);
    assert!(r.output.unwrap_err().to_string().contains("read-only"));
    // Reads still run in read-only mode.
    let r = g
        .execute(&d.cluster, "list_pods", &json!({"namespace": "shop"}))
        .await;
    assert_eq!(r.decision, Decision::Allowed);
    assert!(r.ok(), "{:?}", r.output);

    let (g, _) = gate(&d, Mode::Auto, Answer::Yes);
    let sys =
        json!({"kind": "deployment", "name": "coredns", "namespace": "kube-system", "replicas": 0});
    let r = g.execute(&d.cluster, "scale", &sys).await;
    assert_eq!(r.decision, Decision::Denied);
    assert!(r.output.unwrap_err().to_string().contains("protected"));
    assert_eq!(fixed.1.load(Ordering::SeqCst), 0);
    assert_eq!(replicas(&d.cluster, "frontend").await, before);
    let lines = audit_lines(&d);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["decision"] == "denied"));
}

#[tokio::test]
async fn auto_allows_and_a_failed_dry_run_is_audited_as_invalid() {
    let d = demo().await;
    let (g, fixed) = gate(&d, Mode::Auto, Answer::No("never asked".into()));
    let r = g.execute(&d.cluster, "scale", &scale(2)).await;
    assert_eq!(r.decision, Decision::Allowed);
    assert!(r.ok(), "{:?}", r.output);
    assert_eq!(fixed.1.load(Ordering::SeqCst), 0);
    let missing = json!({"kind": "deployment", "name": "nope", "namespace": "shop", "replicas": 2});
    let r = g.execute(&d.cluster, "scale", &missing).await;
    assert!(matches!(r.output, Err(GateError::Tool(_))));
    let lines = audit_lines(&d);
    assert_eq!(lines[0]["decision"], "allowed");
    assert_eq!(lines[1]["decision"], "invalid");
    assert_eq!(lines[1]["result"], "error");
}

#[test]
fn answers_parse() {
    assert_eq!(parse_answer("y\n"), Answer::Yes);
    assert_eq!(parse_answer("A"), Answer::YesForTarget);
    assert!(matches!(parse_answer(""), Answer::No(_)));
    assert!(matches!(parse_answer("nope"), Answer::No(_)));
    assert_eq!("read_only".parse::<Mode>(), Ok(Mode::ReadOnly));
    assert!("x".parse::<Mode>().is_err());
}

#[tokio::test]
async fn no_terminal_denies_with_the_reason() {
    let d = demo().await;
    let args = json!({"kind": "deployment", "name": "backend", "replicas": 0});
    let plan = registry::plan_write(&d.cluster, "scale", &args)
        .await
        .unwrap();
    assert_eq!(NoTerminal.approve(&plan), Answer::No(NO_TERMINAL.into()));
    let g = Gate::new(
        Mode::Confirm,
        vec![],
        Arc::new(NoTerminal),
        Some(AuditLog::new(d.dir.path().join("audit.jsonl"))),
    );
    let r = g.execute(&d.cluster, "scale", &args).await;
    assert_eq!(r.decision, Decision::Denied);
    assert_eq!(g.refusals(), vec![Refusal::NoTerminal]);
    assert!(g.advice()[0].contains("--yes"), "{:?}", g.advice());
}

/// Every decorated spelling of a protected namespace or of a name is an argument error the
/// model can correct: nothing is planned, nothing runs, in any mode.
#[tokio::test]
async fn decorated_namespaces_and_names_never_reach_a_request() {
    let d = demo().await;
    put_coredns(&d.cluster).await;
    let before = replicas_in(&d.cluster, "kube-system", "coredns").await;
    for mode in [Mode::Auto, Mode::Confirm] {
        let (g, fixed) = gate(&d, mode, Answer::Yes);
        for ns in [
            "kube-system/",
            "/kube-system",
            "kube-system//",
            "./kube-system",
            "kube-system%2F",
            " kube-system",
            "kube-system\n",
            "Kube-System",
            "KUBE-SYSTEM",
            "kube\u{2010}system",
            "kub\u{435}-system",
            "kube-system/..",
        ] {
            for tool in ["scale", "restart", "rollout_undo"] {
                let args = json!({"kind": "deployment", "name": "coredns", "namespace": ns, "replicas": 0});
                let mut args = args;
                if tool != "scale" {
                    args.as_object_mut().unwrap().remove("replicas");
                }
                let r = g.execute(&d.cluster, tool, &args).await;
                let err = r
                    .output
                    .as_ref()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(
                    matches!(
                        r.output,
                        Err(GateError::Tool(ToolError::InvalidArguments { .. }))
                    ),
                    "{tool} in {ns:?}: {err}"
                );
                assert!(err.contains("namespace"), "{err}");
                assert!(!err.contains('\n'), "{err}");
            }
        }
        for name in [
            "kube-system/coredns",
            "coredns/",
            "CoreDNS",
            "core%64ns",
            "coredns ",
        ] {
            let args = json!({"kind": "deployment", "name": name, "replicas": 0});
            let r = g.execute(&d.cluster, "scale", &args).await;
            assert!(
                matches!(
                    r.output,
                    Err(GateError::Tool(ToolError::InvalidArguments { .. }))
                ),
                "{name:?}: {:?}",
                r.output
            );
        }
        assert_eq!(fixed.1.load(Ordering::SeqCst), 0, "nobody was asked");
    }
    assert_eq!(
        replicas_in(&d.cluster, "kube-system", "coredns").await,
        before
    );
    // The clean name is refused by rule, before any dry run.
    let (g, _) = gate(&d, Mode::Auto, Answer::Yes);
    let clean =
        json!({"kind": "deployment", "name": "coredns", "namespace": "kube-system", "replicas": 0});
    let r = g.execute(&d.cluster, "scale", &clean).await;
    assert!(r.plan.is_none(), "no dry run for a protected namespace");
    assert_eq!(g.refusals(), vec![Refusal::Protected("kube-system".into())]);
    assert!(!g.advice()[0].contains("--yes"), "{:?}", g.advice());
}

/// A write never leaves the namespace the run works in without a person naming it: `--yes`
/// refuses it, `confirm` asks with a warning.
#[tokio::test]
async fn writes_stay_in_the_users_namespace() {
    let d = demo().await;
    let mut staging = d.cluster.clone();
    staging.namespace = "default".into();
    let args =
        json!({"kind": "deployment", "name": "frontend", "namespace": "shop", "replicas": 0});
    let before = replicas(&d.cluster, "frontend").await;
    let (g, fixed) = gate(&d, Mode::Auto, Answer::Yes);
    let r = g.execute(&staging, "scale", &args).await;
    assert_eq!(r.decision, Decision::Denied);
    let err = r.output.unwrap_err().to_string();
    assert!(err.contains("outside namespace \"default\""), "{err}");
    assert_eq!(
        g.refusals(),
        vec![Refusal::OutsideNamespace("shop".into(), "default".into())]
    );
    assert!(g.advice()[0].contains("-n shop"), "{:?}", g.advice());
    assert_eq!(replicas(&d.cluster, "frontend").await, before);
    assert_eq!(fixed.1.load(Ordering::SeqCst), 0);

    let seen = Arc::new(Recording::new(Answer::No("no".into())));
    let g = Gate::new(Mode::Confirm, vec![], seen.clone(), None);
    g.execute(&staging, "scale", &args).await;
    let shown = seen.plans();
    assert_eq!(shown.len(), 1);
    assert!(
        shown[0]
            .warnings
            .iter()
            .any(|w| w.contains("namespace shop is not default")),
        "{:?}",
        shown[0].warnings
    );
}

/// What a person approved is what runs: the request sent is the plan's, and when the target
/// changed in between, the gate plans again and asks again.
#[tokio::test]
async fn a_changed_target_is_planned_and_asked_again() {
    let d = demo().await;
    let cluster = d.cluster.clone();
    // While the first question is open, someone else scales frontend to 5.
    let interfering = Arc::new(Interfering {
        cluster,
        asked: AtomicUsize::new(0),
        plans: Mutex::new(Vec::new()),
    });
    let g = Gate::new(
        Mode::Confirm,
        vec![],
        interfering.clone(),
        Some(AuditLog::new(d.dir.path().join("audit.jsonl"))),
    );
    let r = g.execute(&d.cluster, "scale", &scale(4)).await;
    assert!(r.ok(), "{:?}", r.output);
    assert_eq!(interfering.asked.load(Ordering::SeqCst), 2, "asked again");
    let plans = interfering.plans.lock().unwrap().clone();
    assert!(plans[0].contains("replicas 2 → 4"), "{plans:?}");
    assert!(plans[1].contains("replicas 5 → 4"), "{plans:?}");
    assert_eq!(replicas(&d.cluster, "frontend").await, 4);
    let lines = audit_lines(&d);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["result"], "conflict");
    assert_eq!(lines[1]["result"], "ok");
    assert!(lines[1]["request"]["body"]["metadata"]["resourceVersion"].is_string());
}

/// A question abandoned by Ctrl-C (the turn dropped) is audited as cancelled; an answer of
/// "cancelled" too.
#[tokio::test]
async fn a_cancelled_prompt_is_audited() {
    let d = demo().await;
    let before = replicas(&d.cluster, "frontend").await;
    let g = Gate::new(
        Mode::Confirm,
        vec![],
        Arc::new(Never),
        Some(AuditLog::new(d.dir.path().join("audit.jsonl"))),
    );
    let args = scale(3);
    let turn = g.execute(&d.cluster, "scale", &args);
    // The prompt never answers: dropping the turn stands for the REPL's Ctrl-C.
    let dropped = tokio::time::timeout(std::time::Duration::from_millis(500), turn).await;
    assert!(dropped.is_err());
    let (g2, _) = gate(&d, Mode::Confirm, Answer::Cancelled);
    let r = g2.execute(&d.cluster, "scale", &scale(3)).await;
    assert_eq!(r.decision, Decision::Denied);
    let lines = audit_lines(&d);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().all(|l| l["decision"] == "cancelled"),
        "{lines:?}"
    );
    assert_eq!(g.refusals(), vec![Refusal::Cancelled]);
    assert_eq!(replicas(&d.cluster, "frontend").await, before);
}

#[tokio::test]
async fn audit_lines_are_bounded_and_masked() {
    let d = demo().await;
    let (g, _) = gate(&d, Mode::ReadOnly, Answer::Yes);
    let huge = "x".repeat(600_000);
    let args = json!({"kind": "deployment", "name": huge, "replicas": 1,
        "note": "password=hunter2-CANARY"});
    g.execute(&d.cluster, "scale", &args).await;
    let text = std::fs::read_to_string(d.dir.path().join("audit.jsonl")).unwrap();
    let line = text.lines().next().unwrap();
    assert!(line.len() <= crate::audit::MAX_LINE, "{} bytes", line.len());
    assert!(line.contains("(600000 bytes)"), "{line}");
    assert!(!line.contains("hunter2-CANARY"), "{line}");
}

/// A deployment in kube-system to aim at.
async fn put_coredns(cluster: &Cluster) {
    let ns: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(cluster.client.clone());
    let _ = ns
        .create(
            &kube::api::PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "kube-system"}})).unwrap(),
        )
        .await;
    let api: kube::Api<Deployment> = kube::Api::namespaced(cluster.client.clone(), "kube-system");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "coredns", "namespace": "kube-system"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {"containers": [{"name": "coredns", "image": "coredns/coredns:1.11.1"}]}}}
    }))
    .unwrap();
    api.create(&kube::api::PostParams::default(), &d)
        .await
        .unwrap();
}

async fn replicas_in(cluster: &Cluster, ns: &str, name: &str) -> i32 {
    let api: kube::Api<Deployment> = kube::Api::namespaced(cluster.client.clone(), ns);
    api.get(name)
        .await
        .unwrap()
        .spec
        .unwrap()
        .replicas
        .unwrap_or(1)
}

/// Records the plans it is shown and answers the same way.
pub(crate) struct Recording {
    answer: Answer,
    shown: Mutex<Vec<WritePlan>>,
}

impl Recording {
    fn new(answer: Answer) -> Recording {
        Recording {
            answer,
            shown: Mutex::new(Vec::new()),
        }
    }

    fn plans(&self) -> Vec<WritePlan> {
        self.shown.lock().unwrap().clone()
    }
}

impl Approver for Recording {
    fn approve(&self, plan: &WritePlan) -> Answer {
        self.shown.lock().unwrap().push(plan.clone());
        self.answer.clone()
    }
}

/// Scales frontend to 5 behind the gate's back the first time it is asked, then says yes.
struct Interfering {
    cluster: Cluster,
    asked: AtomicUsize,
    plans: Mutex<Vec<String>>,
}

impl Approver for Interfering {
    fn approve(&self, _plan: &WritePlan) -> Answer {
        Answer::No("unused".into())
    }

    fn ask(self: Arc<Self>, plan: WritePlan) -> AnswerFuture {
        Box::pin(async move {
            self.plans.lock().unwrap().push(plan.summary.clone());
            if self.asked.fetch_add(1, Ordering::SeqCst) == 0 {
                let api: kube::Api<Deployment> =
                    kube::Api::namespaced(self.cluster.client.clone(), "shop");
                let patch = json!({"spec": {"replicas": 5}});
                api.patch(
                    "frontend",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(&patch),
                )
                .await
                .unwrap();
            }
            Answer::Yes
        })
    }
}

/// A prompt nobody answers.
struct Never;

impl Approver for Never {
    fn approve(&self, _plan: &WritePlan) -> Answer {
        Answer::No("unused".into())
    }

    fn ask(self: Arc<Self>, _plan: WritePlan) -> AnswerFuture {
        Box::pin(std::future::pending())
    }
}

/// `kai watch --remediate --dry-run` reports what the gate would refuse as refused: the same
/// reason the real write gets, and nothing where the gate would go on to plan.
#[tokio::test]
async fn a_watch_dry_run_hears_the_refusal_the_real_write_would_get() {
    let d = demo().await;
    let sys = json!({"kind": "deployment", "name": "backend", "namespace": "kube-system", "to_revision": 1});
    let shop =
        json!({"kind": "deployment", "name": "backend", "namespace": "shop", "to_revision": 1});
    for mode in [Mode::Auto, Mode::ReadOnly] {
        let (g, _) = gate(&d, mode, Answer::Yes);
        let why = g.would_refuse(&d.cluster, "rollout_undo", &sys);
        let real = g.execute(&d.cluster, "rollout_undo", &sys).await;
        assert_eq!(real.decision, Decision::Denied);
        let real_why = match real.output {
            Err(GateError::Denied(w)) => w,
            other => panic!("{other:?}"),
        };
        assert_eq!(why.as_deref(), Some(real_why.as_str()), "{mode:?}");
    }
    let (g, _) = gate(&d, Mode::Auto, Answer::Yes);
    assert!(g.would_refuse(&d.cluster, "rollout_undo", &shop).is_none());
    let (g, _) = gate(&d, Mode::ReadOnly, Answer::Yes);
    assert!(
        g.would_refuse(&d.cluster, "rollout_undo", &shop)
            .is_some_and(|w| w.contains("read-only"))
    );
}
