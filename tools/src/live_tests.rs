//! The feed against a sandbox: it syncs, reports changes by namespace, and re-lists after
//! `410 Gone`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use kai_sandbox::{Sandbox, SandboxOptions, Scenario};

use super::*;

async fn sandbox() -> (Sandbox, Cluster, tempfile::TempDir) {
    let sb = Sandbox::start(Scenario::load("demo").unwrap(), SandboxOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    sb.write_kubeconfig(&kc).unwrap();
    let cluster = Cluster::connect(Some(&kc), None, None).await.unwrap();
    (sb, cluster, dir)
}

/// The next event matching `want`, within a bound (a failure, not a hang, if it never comes).
async fn until(
    rx: &mut mpsc::Receiver<FeedEvent>,
    want: impl Fn(&FeedEvent) -> bool,
) -> Vec<FeedEvent> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = rx.recv().await {
            let hit = want(&ev);
            seen.push(ev);
            if hit {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "the event never came; saw {seen:?}");
    seen
}

#[tokio::test]
async fn syncs_then_reports_changes_by_namespace() {
    let (_sb, cluster, _dir) = sandbox().await;
    let opts = FeedOptions {
        namespace: Some("shop".into()),
        renew: Duration::from_secs(60),
        ..FeedOptions::default()
    };
    let (feed, mut rx) = start(&cluster, &opts);
    assert_eq!(feed.watches(), 17);
    until(&mut rx, |e| *e == FeedEvent::Synced).await;
    let pods = feed
        .objects()
        .into_iter()
        .find(|(k, _)| *k == "pods")
        .unwrap();
    assert!(pods.1 >= 3, "{pods:?}");
    // Scaling frontend changes objects in shop only.
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), "shop");
    let patch = serde_json::json!({"spec": {"replicas": 3}});
    api.patch(
        "frontend",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .unwrap();
    let seen = until(&mut rx, |e| {
        matches!(
            e,
            FeedEvent::Changed {
                kind: "deployments",
                ..
            }
        )
    })
    .await;
    for e in seen {
        if let FeedEvent::Changed { namespace, .. } = e {
            assert_eq!(namespace, "shop");
        }
    }
}

#[tokio::test]
async fn relists_after_410_gone_and_says_so() {
    let (sb, cluster, _dir) = sandbox().await;
    // Watches renewed every second resume from their last version, which the trimmed history
    // below no longer holds: the sandbox answers 410 and the watcher must list again.
    let opts = FeedOptions {
        renew: Duration::from_secs(1),
        ..FeedOptions::default()
    };
    let (_feed, mut rx) = start(&cluster, &opts);
    until(&mut rx, |e| *e == FeedEvent::Synced).await;
    // A change, then the history cut after it: watches of other kinds (nodes) hold a version
    // from before the change, which the history no longer reaches.
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "shop");
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "cut"}, "data": {"k": "v"}
    }))
    .unwrap();
    api.create(&kube::api::PostParams::default(), &cm)
        .await
        .unwrap();
    sb.world().lock().unwrap().store.forget_history();
    let seen = until(&mut rx, |e| {
        matches!(e, FeedEvent::Recovered { relisted: true, .. })
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, FeedEvent::Lost { message, .. } if message.contains("410") || message.to_lowercase().contains("too old"))),
        "{seen:?}"
    );
}
