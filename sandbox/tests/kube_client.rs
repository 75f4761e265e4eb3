//! kube-rs against the sandbox over real HTTP: paging, watch, patches, scale, logs, cascade,

// Test helpers fail loudly: a panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! dry runs, events.k8s.io and fault injection.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::{Scale, ScaleSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kai_sandbox::faults::ForbiddenRule;
use kai_sandbox::resources::by_plural;
use kai_sandbox::{Faults, Sandbox, SandboxOptions, Scenario};
use kube::api::{
    DeleteParams, ListParams, LogParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::{Api, Client};
use serde_json::json;

/// `n` frozen pods `web-0..n` in namespace `shop`, plus a frozen deployment `web`.
fn frozen_shop(n: usize) -> String {
    let mut y = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nstatus: {phase: Active}\n",
    );
    for i in 0..n {
        let phase = if i % 2 == 0 { "Running" } else { "Pending" };
        y.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i:03}, namespace: shop, labels: {{app: web, idx: \"{i}\"}}}}\nspec: {{nodeName: node-1, containers: [{{name: app, image: web:1}}]}}\nstatus: {{phase: {phase}, containerStatuses: [{{name: app, ready: true, restartCount: 1, image: web:1, imageID: \"\", state: {{running: {{startedAt: \"2026-01-01T00:00:00Z\"}}}}, lastState: {{terminated: {{exitCode: 1, startedAt: \"2025-12-31T23:59:00Z\", finishedAt: \"2025-12-31T23:59:50Z\"}}}}}}]}}\n"
        ));
    }
    y.push_str(
        "---\napiVersion: sandbox.kai.dev/v1\nkind: Behavior\nmetadata: {name: web-logs}\nspec:\n  selector: {matchLabels: {app: web}}\n  logs: [\"listening on :8080\", \"GET /healthz 200\", \"GET /api/orders 200\"]\n  previousLogs: [\"panic: out of cheese\"]\n",
    );
    y.push_str(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: app, image: web:1}]}\nstatus: {replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2}\n",
    );
    y
}

async fn start(yaml: &str, faults: Option<Faults>) -> (Sandbox, Client) {
    let scenario = Scenario::from_yaml("kube-client-test", yaml).expect("scenario");
    let sandbox = Sandbox::start(
        scenario,
        SandboxOptions {
            faults,
            ..SandboxOptions::default()
        },
    )
    .await
    .expect("sandbox starts");
    let config = kube::Config::new(sandbox.url().parse().expect("url"));
    let client = Client::try_from(config).expect("client");
    (sandbox, client)
}

#[tokio::test]
async fn a_garbage_continue_token_is_a_400_and_the_server_lives_on() {
    let (_sb, client) = start(&frozen_shop(3), None).await;
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    for token in ["é", "aé", "日本語", "zz", "abc", "%ff", "\u{1F600}"] {
        let err = pods
            .list(&ListParams::default().limit(1).continue_token(token))
            .await
            .expect_err(token);
        match err {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 400, "{token}");
                assert!(
                    s.message.starts_with("invalid continue token"),
                    "{}",
                    s.message
                );
            }
            other => panic!("{token}: {other}"),
        }
    }
    assert_eq!(
        pods.list(&ListParams::default())
            .await
            .expect("alive")
            .items
            .len(),
        3
    );
}

#[tokio::test]
async fn list_pages_with_limit_and_continue() {
    let (_sb, client) = start(&frozen_shop(25), None).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(10);
    let mut pages = 0;
    loop {
        let page = pods.list(&lp).await.expect("list");
        pages += 1;
        assert!(page.items.len() <= 10);
        assert!(page.metadata.resource_version.is_some());
        names.extend(page.items.iter().filter_map(|p| p.metadata.name.clone()));
        // As the API server: what is left after a page that has a next one, so clients can
        // size their buffers once.
        let has_next = page
            .metadata
            .continue_
            .as_ref()
            .is_some_and(|c| !c.is_empty());
        assert_eq!(
            page.metadata.remaining_item_count,
            has_next.then(|| 25 - names.len() as i64),
            "page {pages}"
        );
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // A token continues the list it came from: another namespace's list refuses it.
    let first = pods
        .list(&ListParams::default().limit(10))
        .await
        .expect("list");
    let token = first.metadata.continue_.expect("a next page");
    let other: Api<Pod> = Api::namespaced(client, "default");
    match other
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
    {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 400);
            assert!(
                s.message.contains("continue key is not valid"),
                "{}",
                s.message
            );
        }
        other => panic!("a token of namespace shop listed default: {other:?}"),
    }
    assert_eq!(names.len(), 25);
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 25);
    // Selectors compose with paging.
    let running = pods
        .list(
            &ListParams::default()
                .fields("status.phase=Running")
                .labels("app=web"),
        )
        .await
        .expect("list");
    assert_eq!(running.items.len(), 13);
    // With a selector the count would be a guess: not given.
    let selected = pods
        .list(&ListParams::default().labels("app=web").limit(2))
        .await
        .expect("list");
    assert_eq!(selected.items.len(), 2);
    assert_eq!(selected.metadata.remaining_item_count, None);
    let set = pods
        .list(&ListParams::default().labels("idx in (1,2,3),idx notin (3)"))
        .await
        .expect("list");
    assert_eq!(set.items.len(), 2);
    // A list after a change shows the new version (lists reuse encodings of unchanged ones).
    pods.patch(
        "web-004",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"seen": "yes"}}})),
    )
    .await
    .expect("patch");
    let again = pods.list(&ListParams::default()).await.expect("list");
    let p = again
        .items
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("web-004"))
        .expect("web-004");
    assert_eq!(p.metadata.labels.as_ref().expect("labels")["seen"], "yes");
}

#[tokio::test]
async fn watch_sees_a_change_after_the_listed_version() {
    let (_sb, client) = start(&frozen_shop(3), None).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "shop");
    let list = cms.list(&ListParams::default()).await.expect("list");
    let rv = list.metadata.resource_version.expect("rv");
    let stream = cms
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch");
    let mut stream = stream.boxed();
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            ..ObjectMeta::default()
        },
        data: Some([("mode".to_string(), "fast".to_string())].into()),
        ..ConfigMap::default()
    };
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let ev = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("an event within 5s")
        .expect("no stream error")
        .expect("an event");
    match ev {
        WatchEvent::Added(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("settings")),
        other => panic!("expected ADDED, got {other:?}"),
    }
}

#[tokio::test]
async fn merge_and_strategic_patches_and_conflicts() {
    let (_sb, client) = start(&frozen_shop(1), None).await;
    let deploys: Api<Deployment> = Api::namespaced(client, "shop");
    let pp = PatchParams::default();
    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(d.metadata.labels.unwrap()["team"], "a");
    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "web:2"}, {"name": "sidecar", "image": "proxy:1"}]}}}})),
        )
        .await
        .expect("strategic patch");
    let cs = d.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0].image.as_deref(), Some("web:2"));
    let d = deploys
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": 4}, "status": {"readyReplicas": 0}})),
        )
        .await
        .expect("merge patch of replicas");
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(4));
    // The main resource cannot change status.
    assert_eq!(d.status.as_ref().unwrap().ready_replicas, Some(2));
    // A stale resourceVersion is a Conflict.
    let mut stale = d.clone();
    stale.metadata.resource_version = Some("1".into());
    let err = deploys
        .replace("web", &PostParams::default(), &stale)
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("{other:?}"),
    }
    // Server-side apply: the patches above made their client ("unknown": kube-rs sends no
    // User-Agent) the owner of the replicas, so another value from an applier conflicts.
    let apply_replicas = |n: i64| {
        Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"}, "spec": {"replicas": n}}))
    };
    let err = deploys
        .patch("web", &PatchParams::apply("test"), &apply_replicas(6))
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(
                s.message.starts_with(
                    "Apply failed with 1 conflict: conflict with \"unknown\" using apps/v1 at "
                ) && s.message.ends_with(": .spec.replicas"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let forced = deploys
        .patch(
            "web",
            &PatchParams::apply("test").force(),
            &apply_replicas(6),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.spec.unwrap().replicas, Some(6));
    let managers: Vec<(String, String)> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("test".into(), "Apply".into())),
        "{managers:?}"
    );
    // Apply creates what does not exist.
    let created = deploys
        .patch(
            "made-by-apply",
            &PatchParams::apply("test"),
            &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "made-by-apply"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "m"}},
                    "template": {"metadata": {"labels": {"app": "m"}},
                        "spec": {"containers": [{"name": "c", "image": "m:1"}]}}}})),
        )
        .await
        .expect("create on apply");
    assert_eq!(created.metadata.name.as_deref(), Some("made-by-apply"));
}

#[tokio::test]
async fn scale_subresource_get_patch_replace() {
    let (_sb, client) = start(&frozen_shop(1), None).await;
    let deploys: Api<Deployment> = Api::namespaced(client, "shop");
    let s = deploys.get_scale("web").await.expect("get scale");
    assert_eq!(s.spec.as_ref().unwrap().replicas, Some(2));
    assert_eq!(
        s.status.as_ref().unwrap().selector.as_deref(),
        Some("app=web")
    );
    let s = deploys
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("patch scale");
    assert_eq!(s.spec.unwrap().replicas, Some(5));
    let current = deploys.get_scale("web").await.expect("get scale");
    let wanted = Scale {
        metadata: current.metadata.clone(),
        spec: Some(ScaleSpec { replicas: Some(1) }),
        status: None,
    };
    let s = deploys
        .replace_scale("web", &PostParams::default(), &wanted)
        .await
        .expect("replace scale");
    assert_eq!(s.spec.unwrap().replicas, Some(1));
    let d = deploys.get("web").await.expect("get");
    assert_eq!(d.spec.unwrap().replicas, Some(1));
    // The old version is stale now.
    let err = deploys
        .replace_scale("web", &PostParams::default(), &wanted)
        .await
        .expect_err("conflict");
    assert!(matches!(err, kube::Error::Api(s) if s.code == 409));
}

#[tokio::test]
async fn pod_logs_honour_tail_lines_and_previous() {
    let (sb, client) = start(&frozen_shop(1), None).await;
    // The logs come from the simulation; compare against it rather than fixed text.
    let (all, previous) = {
        let world = sb.world();
        let w = world.lock().expect("lock");
        let all = w
            .sim
            .logs(&w.store, "shop", "web-000", Some("app"), false)
            .expect("logs");
        let prev = w
            .sim
            .logs(&w.store, "shop", "web-000", Some("app"), true)
            .ok();
        (all, prev)
    };
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    assert!(all.len() >= 3, "{all:?}");
    let text = pods
        .logs("web-000", &LogParams::default())
        .await
        .expect("logs");
    assert!(text.contains("GET /api/orders 200"), "{text}");
    let expected: String = all.iter().map(|l| format!("{}\n", l.text)).collect();
    assert_eq!(text, expected);
    let tail = pods
        .logs(
            "web-000",
            &LogParams {
                tail_lines: Some(1),
                timestamps: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("tail");
    assert_eq!(tail.lines().count(), all.len().min(1));
    if let Some(last) = all.last() {
        assert!(tail.ends_with(&format!(" {}\n", last.text)), "{tail}");
    }
    let limited = pods
        .logs(
            "web-000",
            &LogParams {
                limit_bytes: Some(3),
                ..LogParams::default()
            },
        )
        .await
        .expect("limit");
    assert!(limited.len() <= 3);
    let prev = previous.expect("a previous container");
    let text = pods
        .logs(
            "web-000",
            &LogParams {
                previous: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("previous");
    assert!(text.contains("panic: out of cheese"), "{text}");
    assert_eq!(text.lines().count(), prev.len());
    let err = pods
        .logs("nope", &LogParams::default())
        .await
        .expect_err("404");
    assert!(
        matches!(err, kube::Error::Api(s) if s.code == 404 && s.message == "pods \"nope\" not found")
    );
    let err = pods
        .logs(
            "web-000",
            &LogParams {
                container: Some("x".into()),
                ..LogParams::default()
            },
        )
        .await
        .expect_err("400");
    assert!(matches!(err, kube::Error::Api(s) if s.code == 400));
}

#[tokio::test]
async fn delete_cascades_to_owned_objects_unless_orphaned() {
    let (_sb, client) = start(&frozen_shop(0), None).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "shop");
    let mk = |name: &str, owner: Option<&ConfigMap>| ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: owner.map(|o| {
                vec![
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                        api_version: "v1".into(),
                        kind: "ConfigMap".into(),
                        name: o.metadata.name.clone().unwrap_or_default(),
                        uid: o.metadata.uid.clone().unwrap_or_default(),
                        ..Default::default()
                    },
                ]
            }),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let pp = PostParams::default();
    let root = cms.create(&pp, &mk("root", None)).await.expect("root");
    let child = cms
        .create(&pp, &mk("child", Some(&root)))
        .await
        .expect("child");
    cms.create(&pp, &mk("grandchild", Some(&child)))
        .await
        .expect("grandchild");
    let keep = cms.create(&pp, &mk("keep", None)).await.expect("keep");
    cms.create(&pp, &mk("orphan", Some(&keep)))
        .await
        .expect("orphan");
    // A dry run deletes nothing.
    cms.delete(
        "root",
        &DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        },
    )
    .await
    .expect("dry run");
    assert!(cms.get_opt("root").await.expect("get").is_some());
    cms.delete("root", &DeleteParams::default())
        .await
        .expect("delete");
    for gone in ["root", "child", "grandchild"] {
        assert!(
            cms.get_opt(gone).await.expect("get").is_none(),
            "{gone} should be gone"
        );
    }
    cms.delete("keep", &DeleteParams::orphan())
        .await
        .expect("orphan delete");
    let orphan = cms.get("orphan").await.expect("orphan stays");
    assert!(
        orphan
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn create_dry_run_and_errors() {
    let (_sb, client) = start(&frozen_shop(0), None).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("a".into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let dry = cms
        .create(
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &cm,
        )
        .await
        .expect("dry run");
    assert_eq!(dry.metadata.namespace.as_deref(), Some("shop"));
    assert!(cms.get_opt("a").await.expect("get").is_none());
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let err = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect_err("exists");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{err:?}"
    );
    let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let err = missing
        .create(&PostParams::default(), &cm)
        .await
        .expect_err("no namespace");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 404 && s.message == "namespaces \"nowhere\" not found"),
        "{err:?}"
    );
    let bad = ConfigMap {
        metadata: ObjectMeta {
            name: Some("Bad_Name".into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let err = cms
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("invalid");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 422 && s.reason == "Invalid"),
        "{err:?}"
    );
}

#[tokio::test]
async fn events_are_served_by_both_event_apis() {
    let (sb, client) = start(&frozen_shop(1), None).await;
    {
        let world = sb.world();
        let mut w = world.lock().expect("lock");
        let events = by_plural("", "events").expect("events");
        w.store
            .create(
                events,
                json!({"metadata": {"name": "web-000.1", "namespace": "shop"},
                    "involvedObject": {"kind": "Pod", "name": "web-000", "namespace": "shop"},
                    "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container",
                    "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z", "count": 3}),
            )
            .expect("event");
    }
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "shop");
    let list = core
        .list(&ListParams::default().fields("involvedObject.name=web-000,type=Warning"))
        .await
        .expect("core events");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].reason.as_deref(), Some("BackOff"));
    let v1: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "shop");
    let list = v1
        .list(&ListParams::default().fields("regarding.name=web-000"))
        .await
        .expect("events.k8s.io");
    assert_eq!(list.items.len(), 1);
    assert_eq!(
        list.items[0].note.as_deref(),
        Some("Back-off restarting failed container")
    );
}

#[tokio::test]
async fn forbidden_rules_refuse_like_rbac() {
    let faults = Faults {
        forbidden: vec![ForbiddenRule {
            verbs: vec!["list".into()],
            resources: vec!["secrets".into()],
            namespaces: vec![],
        }],
        ..Faults::default()
    };
    let (_sb, client) = start(&frozen_shop(1), Some(faults)).await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), "shop");
    let err = secrets.list(&ListParams::default()).await.expect_err("403");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert_eq!(s.reason, "Forbidden");
            assert_eq!(
                s.message,
                "secrets is forbidden: User \"kai-sandbox\" cannot list resource \"secrets\" in API group \"\" in the namespace \"shop\""
            );
        }
        other => panic!("{other:?}"),
    }
    // Other verbs and resources pass.
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    assert_eq!(
        pods.list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .len(),
        1
    );
}

/// One raw HTTP/1.1 GET; returns the status line and headers, and the body.
async fn raw_get(url: &str, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.to_string(), body.to_string())
}

#[tokio::test]
async fn throttling_and_errors_are_injected_but_not_on_discovery() {
    let faults = Faults {
        throttle_rate: 1.0,
        retry_after_seconds: 7,
        ..Faults::default()
    };
    let (sb, _client) = start(&frozen_shop(1), Some(faults)).await;
    let (head, body) = raw_get(&sb.url(), "/api/v1/namespaces/shop/pods").await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 7"),
        "{head}"
    );
    let status: serde_json::Value = serde_json::from_str(&body).expect("a Status body");
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(status["details"]["retryAfterSeconds"], 7);
    for path in ["/version", "/api", "/apis", "/api/v1", "/apis/apps/v1"] {
        let (head, _) = raw_get(&sb.url(), path).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    }
    let (sb, _client) = start(
        &frozen_shop(1),
        Some(Faults {
            error_rate: 1.0,
            ..Faults::default()
        }),
    )
    .await;
    let (head, body) = raw_get(&sb.url(), "/api/v1/namespaces/shop/pods/web-000").await;
    assert!(head.starts_with("HTTP/1.1 500"), "{head}");
    assert!(body.contains("InternalError"), "{body}");
    let (head, body) = raw_get(&sb.url(), "/nothing/here").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert!(body.contains("\"kind\":\"Status\""), "{body}");
}

#[tokio::test]
async fn advance_endpoint_moves_the_clock() {
    let (sb, _client) = start(&frozen_shop(0), None).await;
    let before = sb.clock().now();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = sb.url().trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    s.write_all(
        format!("POST /sandbox/v1/advance?seconds=90 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let moved = sb.clock().now().duration_since(before).as_secs();
    assert!((90..100).contains(&moved), "moved {moved}s");
    let (head, _) = raw_get(&sb.url(), "/sandbox/v1/advance?seconds=5").await;
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
}

#[tokio::test]
async fn following_a_running_container_streams_its_log() {
    use futures::AsyncBufReadExt;
    let (_sb, client) = start(&frozen_shop(1), None).await;
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    let stream = pods
        .log_stream(
            "web-000",
            &LogParams {
                follow: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("log stream");
    let mut lines = stream.lines();
    let first = tokio::time::timeout(Duration::from_secs(5), lines.next())
        .await
        .expect("a line within 5s")
        .expect("a line")
        .expect("no error");
    assert_eq!(first, "listening on :8080");
    // The container keeps running, so the stream stays open: no end within a moment.
    let rest = async {
        let mut n = 0;
        while let Some(Ok(_)) = lines.next().await {
            n += 1;
        }
        n
    };
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), rest)
            .await
            .is_err(),
        "a followed running container's log does not end by itself"
    );
}

#[tokio::test]
async fn a_watch_that_falls_behind_catches_up_from_history() {
    let (sb, client) = start(&frozen_shop(0), None).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "shop");
    let rv = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut stream = cms
        .watch(&WatchParams::default().timeout(30), &rv)
        .await
        .expect("watch")
        .boxed();
    // More changes at once than the broadcast holds: on this single-threaded runtime the
    // watch cannot drain them meanwhile, so it lags and must recover from the history.
    let n = 6000;
    {
        let world = sb.world();
        let mut w = world.lock().expect("lock");
        let rt = by_plural("", "configmaps").expect("configmaps");
        for i in 0..n {
            w.store
                .create(
                    rt,
                    json!({"metadata": {"name": format!("cm-{i:05}"), "namespace": "shop"}}),
                )
                .expect("create");
        }
    }
    let mut seen = 0;
    while seen < n {
        let ev = tokio::time::timeout(Duration::from_secs(20), stream.try_next())
            .await
            .expect("events keep coming")
            .expect("no error")
            .expect("an event");
        match ev {
            WatchEvent::Added(cm) => {
                assert_eq!(cm.metadata.name, Some(format!("cm-{seen:05}")));
                seen += 1;
            }
            other => panic!("expected ADDED, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn streaming_list_watch_sends_initial_events_then_a_bookmark() {
    let (_sb, client) = start(&frozen_shop(3), None).await;
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    let wp = WatchParams::default().initial_events().timeout(5);
    let mut stream = pods.watch(&wp, "").await.expect("watch").boxed();
    let mut added = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .expect("an event")
            .expect("no error")
            .expect("an event");
        match ev {
            WatchEvent::Added(p) => added.push(p.metadata.name.unwrap_or_default()),
            WatchEvent::Bookmark(b) => {
                assert_eq!(
                    b.metadata
                        .annotations
                        .get("k8s.io/initial-events-end")
                        .map(String::as_str),
                    Some("true")
                );
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(added, ["web-000", "web-001", "web-002"]);
}
