//! Unit tests of the offline path: the intent parser, the conversation and alert reading,
//! on a hand-made inventory (no server).

use kai_tools::Kind;
use kai_tools::inventory::{Inventory, Object};

use super::alerts;
use super::intent::{Conversation, Intent, parse};

fn obj(kind: Kind, ns: &str, name: &str, owner: Option<(Kind, &str)>) -> Object {
    Object {
        kind,
        namespace: ns.into(),
        name: name.into(),
        owner: owner.map(|(k, n)| (k, n.to_string())),
    }
}

pub(super) fn shop() -> Inventory {
    Inventory {
        unreadable: Vec::new(),
        objects: vec![
            obj(Kind::Deployment, "shop", "frontend", None),
            obj(Kind::Deployment, "shop", "backend", None),
            obj(Kind::StatefulSet, "shop", "database", None),
            obj(Kind::Job, "batch", "nightly-report", None),
            obj(Kind::Service, "shop", "backend", None),
            obj(Kind::PersistentVolumeClaim, "shop", "uploads", None),
            obj(Kind::Node, "", "node-1", None),
            obj(
                Kind::Pod,
                "shop",
                "backend-7c476d6695-8b9wx",
                Some((Kind::Deployment, "backend")),
            ),
        ],
        namespaces: vec!["shop".into(), "batch".into(), "default".into()],
    }
}

fn ask(q: &str) -> super::Query {
    parse(q, &shop(), &Conversation::default(), "shop")
}

fn target(q: &str) -> Option<String> {
    ask(q).target.map(|t| t.display())
}

#[test]
fn names_are_matched_against_what_exists_of_any_kind() {
    assert_eq!(
        target("why is backend crashing").as_deref(),
        Some("deployment shop/backend")
    );
    assert_eq!(
        target("why is backnd crashing").as_deref(),
        Some("deployment shop/backend")
    );
    assert_eq!(
        target("what happened to node-1").as_deref(),
        Some("node node-1")
    );
    assert_eq!(
        target("why did nightly-report fail").as_deref(),
        Some("job batch/nightly-report")
    );
    assert_eq!(
        target("why is the uploads pvc pending").as_deref(),
        Some("persistentvolumeclaim shop/uploads")
    );
    assert_eq!(
        target("describe svc backend").as_deref(),
        Some("service shop/backend")
    );
    assert_eq!(
        target("is \"database\" ok").as_deref(),
        Some("statefulset shop/database")
    );
    assert_eq!(
        target("logs of pod backend-7c476d6695-8b9wx").as_deref(),
        Some("pod shop/backend-7c476d6695-8b9wx")
    );
}

#[test]
fn words_that_are_not_names_are_never_missing_objects() {
    for q in [
        "why isn't anything working",
        "why won't my app start",
        "why can't it reach the volume",
        "hi",
        "what type of pods are there",
        "why is cpu so high",
        "isnt it fine",
        "what is going on across the cluster",
        "why is my volume not mounting",
        "which pods restart the most",
    ] {
        let q = ask(q);
        assert_eq!(q.missing, None, "{q:?}");
    }
    // A name the user clearly gave, that matches nothing, is reported.
    assert_eq!(
        ask("why is zookeeper pending").missing.as_deref(),
        Some("zookeeper")
    );
    assert_eq!(
        ask("describe deployment payments-api").missing.as_deref(),
        Some("payments-api")
    );
    assert_eq!(
        ask("logs of 'cartservice'").missing.as_deref(),
        Some("cartservice")
    );
}

#[test]
fn namespaces_as_people_say_them() {
    let q = ask("what's wrong in batch");
    assert_eq!(
        (q.intent, q.namespace.as_deref(), q.all),
        (Intent::Health, Some("batch"), false)
    );
    let q = ask("kubectl get pods -n batch");
    assert_eq!(
        (q.intent, q.namespace.as_deref()),
        (Intent::List, Some("batch"))
    );
    for everything in [
        "is anything broken",
        "what's wrong across all namespaces",
        "health of the whole cluster",
        "list pods -A",
        "is everything fine",
    ] {
        assert!(ask(everything).all, "{everything}");
    }
}

#[test]
fn intents_from_everyday_wording() {
    let cases = [
        ("what changed recently", Intent::Changes),
        ("rollout history of backend", Intent::History),
        ("show events of backend", Intent::Events),
        ("how many replicas does frontend have", Intent::Replicas),
        ("which image is backend running", Intent::Images),
        ("how much memory is database allowed", Intent::Resources),
        ("which pods restart the most", Intent::Restarts),
        ("how do i fix backend", Intent::Fix),
        ("are the nodes ok", Intent::Nodes),
        ("what can you do", Intent::Help),
        ("show the previous logs of backend", Intent::Logs),
        ("restart backend", Intent::Restart),
        ("scale backend to 3", Intent::Scale),
        ("roll back backend", Intent::Rollback),
        ("why is backend restarting", Intent::Why),
        ("is backend running out of memory", Intent::Why),
        ("write me a poem about autumn", Intent::Unknown),
    ];
    for (q, want) in cases {
        assert_eq!(ask(q).intent, want, "{q}");
    }
    assert_eq!(ask("scale backend to 3").number, Some(3));
    assert_eq!(ask("rollback backend to revision 1").revision, Some(1));
    assert!(ask("show the previous logs of backend").previous);
}

#[test]
fn pronouns_and_ellipsis_follow_the_conversation() {
    let inv = shop();
    let mut conv = Conversation::default();
    let first = parse("describe frontend", &inv, &conv, "shop");
    conv.last = first.target.clone();
    conv.last_intent = Some(first.intent);
    for (q, intent) in [
        ("restart it", Intent::Restart),
        ("show its logs", Intent::Logs),
        ("why is it failing", Intent::Why),
        ("scale it to 4", Intent::Scale),
    ] {
        let got = parse(q, &inv, &conv, "shop");
        assert_eq!(got.intent, intent, "{q}");
        assert_eq!(
            got.target.as_ref().map(|t| t.name.as_str()),
            Some("frontend"),
            "{q}"
        );
    }
    // "and the database?" asks the last question again about a new object.
    conv.last_intent = Some(Intent::Logs);
    let got = parse("and the database?", &inv, &conv, "shop");
    assert_eq!(got.intent, Intent::Logs);
    assert_eq!(got.target.map(|t| t.name), Some("database".into()));
    // A question naming its own object ignores the conversation.
    let got = parse("restart backend", &inv, &conv, "shop");
    assert_eq!(got.target.map(|t| t.name), Some("backend".into()));
}

#[test]
fn alerts_are_read_as_questions_about_their_target() {
    let inv = shop();
    let am = r#"{"alerts":[{"labels":{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"backend-7c476d6695-gone1"}}]}"#;
    let a = alerts::read(am).expect("alertmanager JSON");
    assert_eq!(
        a.target(&inv).map(|t| t.display()),
        Some("deployment shop/backend".into())
    );
    let text = "[FIRING:1] KubeJobFailed\nLabels:\n - alertname = KubeJobFailed\n - namespace = batch\n - job_name = nightly-report";
    let a = alerts::read(text).expect("text alert");
    assert_eq!(
        a.target(&inv).map(|t| t.display()),
        Some("job batch/nightly-report".into())
    );
    let prom = r#"KubeNodeNotReady{node="node-1", severity="critical"}"#;
    let a = alerts::read(prom).expect("prometheus selector");
    assert_eq!(
        a.target(&inv).map(|t| t.display()),
        Some("node node-1".into())
    );
    assert!(alerts::read("why is backend crashing").is_none());
    let q = super::read(
        "@kai investigate alertname=X namespace=shop deployment=frontend",
        &inv,
        &Conversation::default(),
        "shop",
    );
    assert_eq!(
        (q.intent, q.target.map(|t| t.name)),
        (Intent::Why, Some("frontend".into()))
    );
}

#[test]
fn misspelt_kinds_are_read_as_kinds_and_said() {
    let cases = [
        ("list deploymnets", Kind::Deployment, "deploymnets"),
        ("show me the statefulsts", Kind::StatefulSet, "statefulsts"),
        ("get pdos in shop", Kind::Pod, "pdos"),
        ("list ingresess", Kind::Ingress, "ingresess"),
        ("show the cronjbos", Kind::CronJob, "cronjbos"),
    ];
    for (question, kind, word) in cases {
        let q = ask(question);
        assert_eq!(q.kind, Some(kind), "{question}");
        assert_eq!(q.intent, Intent::List, "{question}");
        assert_eq!(q.corrected.len(), 1, "{question}");
        assert_eq!(q.corrected[0].0, word);
        assert!(q.missing.is_none(), "{question}: {:?}", q.missing);
    }
    // Names of what exists, namespaces and words of the vocabulary are never "corrected".
    for question in [
        "how many replicas does backend have",
        "why is backend crashing",
        "logs of database",
        "what's wrong in batch",
    ] {
        assert!(ask(question).corrected.is_empty(), "{question}");
    }
    let mut inv = shop();
    inv.objects
        .push(obj(Kind::Deployment, "shop", "pdos", None));
    let q = parse("restart pdos", &inv, &Conversation::default(), "shop");
    assert!(q.corrected.is_empty());
    assert_eq!(
        q.target.map(|t| t.display()).as_deref(),
        Some("deployment shop/pdos")
    );
}
