//! The built-in scenarios loaded and checked: each shows the failure it is named for.

use serde_json::json;

use super::*;
#[test]
fn demo_backend_crash_loops_since_its_latest_rollout() {
    let (store, sim) = load("demo");
    let backend = pods(&store, "shop", "backend-");
    assert_eq!(backend.len(), 2, "{backend:?}");
    for p in &backend {
        assert_eq!(waiting(p), "CrashLoopBackOff", "{p}");
        let cs = &p["status"]["containerStatuses"][0];
        assert!(cs["restartCount"].as_i64().unwrap() >= 5, "{cs}");
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(cs["image"], "shop/backend:1.4.0");
        assert_eq!(p["status"]["phase"], "Running");
        let prev = sim.logs(&store, "shop", name(p), None, true).unwrap();
        assert_eq!(prev.last().unwrap().text, "KeyError: 'DATABASE_URL'");
        let cur = sim
            .logs(&store, "shop", name(p), Some("backend"), false)
            .unwrap();
        assert!(cur.iter().any(|l| l.text.contains("DATABASE_URL")));
        let evs = events_for(&store, "shop", name(p));
        let backoff = evs
            .iter()
            .find(|e| e["reason"] == "BackOff")
            .expect("BackOff event");
        assert!(backoff["count"].as_i64().unwrap() > 1);
        assert_eq!(backoff["type"], "Warning");
        assert!(
            backoff["message"]
                .as_str()
                .unwrap()
                .starts_with("Back-off restarting failed container backend in pod backend-")
        );
        assert!(evs.iter().any(|e| {
            e["reason"] == "Scheduled"
                && e["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Successfully assigned shop/backend-")
        }));
    }
    // Revision history: the old ReplicaSet is kept at 0 replicas.
    let mut rss: Vec<(String, i64)> = store
        .list(Kinds::replicasets(), Some("shop"))
        .iter()
        .filter(|r| name(r).starts_with("backend-"))
        .map(|r| {
            (
                s(
                    r,
                    "/metadata/annotations/deployment.kubernetes.io~1revision",
                )
                .to_string(),
                r["spec"]["replicas"].as_i64().unwrap(),
            )
        })
        .collect();
    rss.sort();
    assert_eq!(rss, vec![("1".to_string(), 0), ("2".to_string(), 2)]);
    let d = store.get(Kinds::deployments(), "shop", "backend").unwrap();
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "ProgressDeadlineExceeded"
    );
    assert_eq!(condition(&d, "Available")["status"], "False");
    assert_eq!(d["status"]["unavailableReplicas"], 2);
    // The Service has no ready endpoints; frontend says so in its logs.
    assert_eq!(ready_addresses(&store, "shop", "backend"), 0);
    let ep = store.get(Kinds::endpoints(), "shop", "backend").unwrap();
    assert_eq!(arr(&ep, "/subsets/0/notReadyAddresses").len(), 2);
    let front = pods(&store, "shop", "frontend-");
    assert_eq!(front.len(), 2);
    assert!(front.iter().all(|p| ready(p)));
    let logs = sim
        .logs(&store, "shop", name(&front[0]), None, false)
        .unwrap();
    let text: Vec<&str> = logs.iter().map(|l| l.text.as_str()).collect();
    assert!(text.iter().any(|l| l.contains(" 502 ")), "{text:?}");
    assert!(
        text.iter()
            .any(|l| l.contains("eyJhbGciOiJIUzI1NiJ9.CANARY.sig"))
    );
    assert!(
        text.iter()
            .any(|l| l.contains("postgres://app:pw-CANARY-55d1@db:5432/shop"))
    );
    assert_eq!(ready_addresses(&store, "shop", "frontend"), 2);
    // The database is a StatefulSet with a bound claim.
    let db = store.get(Kinds::pods(), "shop", "database-0").unwrap();
    assert!(ready(&db), "{db}");
    let pvc = store.get(Kinds::pvcs(), "shop", "data-database-0").unwrap();
    assert_eq!(pvc["status"]["phase"], "Bound");
    assert_eq!(ready_addresses(&store, "shop", "database"), 1);
    // Canaries for the secret-masking tests.
    let secret = store
        .get(Kinds::secrets(), "shop", "backend-secrets")
        .unwrap();
    assert_eq!(secret["data"]["api-key"], "UzNDUjNULUNBTkFSWS03ZjNhOWM=");
    let fd = store.get(Kinds::deployments(), "shop", "frontend").unwrap();
    assert_eq!(
        fd["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "tok-CANARY-91b2e4"
    );
}

#[test]
fn demo_rollback_makes_backend_healthy() {
    let (mut store, mut sim) = load("demo");
    // What `kubectl rollout undo` does: copy revision 1's template into the deployment.
    let old = store
        .list(Kinds::replicasets(), Some("shop"))
        .into_iter()
        .find(|r| {
            s(
                r,
                "/metadata/annotations/deployment.kubernetes.io~1revision",
            ) == "1"
        })
        .unwrap();
    let mut template = old["spec"]["template"].clone();
    template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    let mut d = (*store.get(Kinds::deployments(), "shop", "backend").unwrap()).clone();
    d["spec"]["template"] = template;
    store.update(Kinds::deployments(), d).unwrap();
    sim.reconcile(&mut store);
    for _ in 0..6 {
        advance(&mut store, &mut sim, 2);
    }
    let backend = pods(&store, "shop", "backend-");
    assert_eq!(backend.len(), 2, "{backend:?}");
    for p in &backend {
        assert!(ready(p), "{p}");
        assert_eq!(p["spec"]["containers"][0]["image"], "shop/backend:1.3.2");
        let logs = sim.logs(&store, "shop", name(p), None, false).unwrap();
        assert!(
            logs.iter()
                .any(|l| l.text.contains("connection pool ready"))
        );
    }
    assert_eq!(ready_addresses(&store, "shop", "backend"), 2);
    let d = store.get(Kinds::deployments(), "shop", "backend").unwrap();
    assert_eq!(
        s(
            &d,
            "/metadata/annotations/deployment.kubernetes.io~1revision"
        ),
        "3"
    );
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
    assert_eq!(condition(&d, "Available")["status"], "True");
    assert_eq!(d["status"]["updatedReplicas"], 2);
    assert_eq!(d["status"]["availableReplicas"], 2);
    assert!(d["status"].get("unavailableReplicas").is_none());
    // frontend's log tells the story: 200s, 502s since the rollout, 200s again.
    advance(&mut store, &mut sim, 60);
    let front = pods(&store, "shop", "frontend-");
    let logs = sim
        .logs(&store, "shop", name(&front[0]), None, false)
        .unwrap();
    let first_502 = logs.iter().position(|l| l.text.contains(" 502 ")).unwrap();
    let last_502 = logs.iter().rposition(|l| l.text.contains(" 502 ")).unwrap();
    assert!(logs[..first_502].iter().any(|l| l.text.contains(" 200 ")));
    assert!(logs[last_502..].iter().any(|l| l.text.contains(" 200 ")));
    assert!(logs.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(
        events_for(&store, "shop", "backend")
            .iter()
            .any(|e| e["reason"] == "DeploymentRollback")
    );
}

#[test]
fn loading_is_deterministic() {
    let restarts = |store: &Store| -> Vec<(String, i64)> {
        pods(store, "shop", "backend-")
            .iter()
            .map(|p| {
                (
                    name(p).to_string(),
                    p["status"]["containerStatuses"][0]["restartCount"]
                        .as_i64()
                        .unwrap(),
                )
            })
            .collect()
    };
    let (a, _) = load("demo");
    let (b, _) = load("demo");
    assert_eq!(restarts(&a), restarts(&b));
}

#[test]
fn healthy_has_nothing_to_flag() {
    let (store, _) = load("healthy");
    let all = store.list(Kinds::pods(), None);
    assert_eq!(all.len(), 11);
    for p in &all {
        let ok = ready(p) || s(p, "/status/phase") == "Succeeded";
        assert!(ok, "{}: {}", name(p), p["status"]);
        assert_eq!(
            p["status"]["containerStatuses"][0]["restartCount"],
            0,
            "{}",
            name(p)
        );
    }
    for d in store.list(Kinds::deployments(), None) {
        assert_eq!(condition(&d, "Available")["status"], "True", "{}", name(&d));
        assert_eq!(
            condition(&d, "Progressing")["reason"],
            "NewReplicaSetAvailable"
        );
    }
    for c in store.list(Kinds::pvcs(), None) {
        assert_eq!(c["status"]["phase"], "Bound", "{}", name(&c));
    }
    let ds = store
        .get(Kinds::daemonsets(), "ops", "node-exporter")
        .unwrap();
    assert_eq!(ds["status"]["numberReady"], 3);
    assert_eq!(ds["status"]["desiredNumberScheduled"], 3);
    let sts = store.get(Kinds::statefulsets(), "data", "redis").unwrap();
    assert_eq!(sts["status"]["readyReplicas"], 2);
    let job = store.get(Kinds::jobs(), "ops", "db-migrate").unwrap();
    assert_eq!(condition(&job, "Complete")["status"], "True");
    assert_eq!(job["status"]["succeeded"], 1);
    for svc in ["api", "web"] {
        assert!(ready_addresses(&store, "web", svc) >= 2, "{svc}");
    }
    let warnings: Vec<_> = store
        .list(Kinds::events(), None)
        .into_iter()
        .filter(|e| e["type"] == "Warning")
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn crashloop_and_oom() {
    let (store, sim) = load("crashloop");
    let p = &pods(&store, "apps", "worker-")[0];
    assert_eq!(waiting(p), "CrashLoopBackOff");
    let msg = s(p, "/status/containerStatuses/0/state/waiting/message");
    assert!(
        msg.starts_with("back-off 5m0s restarting failed container=worker pod=worker-"),
        "{msg}"
    );
    let prev = sim.logs(&store, "apps", name(p), None, true).unwrap();
    assert!(prev.last().unwrap().text.contains("no such host"));

    let (store, _) = load("oom");
    let p = &pods(&store, "apps", "cache-")[0];
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["lastState"]["terminated"]["reason"], "OOMKilled");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 137);
    assert!(cs["restartCount"].as_i64().unwrap() > 0);
}

#[test]
fn image_pull_failures() {
    let (mut store, mut sim) = load("image-pull");
    let p = pods(&store, "apps", "web-")[0].clone();
    assert!(
        matches!(waiting(&p), "ImagePullBackOff" | "ErrImagePull"),
        "{}",
        p["status"]
    );
    let evs = events_for(&store, "apps", name(&p));
    let failed = evs
        .iter()
        .find(|e| {
            e["reason"] == "Failed"
                && e["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Failed to pull image")
        })
        .unwrap();
    assert!(failed["message"].as_str().unwrap().contains(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:1.27.99\""
    ));
    assert!(
        evs.iter().any(|e| e["reason"] == "BackOff"
            && e["message"] == "Back-off pulling image \"nginx:1.27.99\"")
    );
    let err = sim.logs(&store, "apps", name(&p), None, false).unwrap_err();
    assert_eq!(err.code, 400);
    assert!(
        err.message
            .ends_with("is waiting to start: trying and failing to pull image"),
        "{}",
        err.message
    );
    // Right after a pull attempt the kubelet reports ErrImagePull.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..60 {
        advance(&mut store, &mut sim, 5);
        let p = pods(&store, "apps", "web-")[0].clone();
        seen.insert(waiting(&p).to_string());
    }
    assert!(
        seen.contains("ErrImagePull") && seen.contains("ImagePullBackOff"),
        "{seen:?}"
    );
}

#[test]
fn missing_config_and_its_fix() {
    let (mut store, mut sim) = load("missing-config");
    let api = pods(&store, "apps", "api-")[0].clone();
    assert_eq!(waiting(&api), "CreateContainerConfigError");
    assert_eq!(
        s(&api, "/status/containerStatuses/0/state/waiting/message"),
        "couldn't find key db-url in Secret apps/api-db"
    );
    assert_eq!(api["status"]["phase"], "Pending");
    let worker = pods(&store, "apps", "worker-")[0].clone();
    assert_eq!(
        s(&worker, "/status/containerStatuses/0/state/waiting/message"),
        "configmap \"worker-config\" not found"
    );
    assert!(
        events_for(&store, "apps", name(&worker))
            .iter()
            .any(|e| e["message"] == "Error: configmap \"worker-config\" not found")
    );
    let reporter = pods(&store, "apps", "reporter-")[0].clone();
    assert_eq!(waiting(&reporter), "ContainerCreating");
    let mount = events_for(&store, "apps", name(&reporter))
        .into_iter()
        .find(|e| e["reason"] == "FailedMount")
        .unwrap();
    assert_eq!(
        mount["message"],
        "MountVolume.SetUp failed for volume \"templates\" : configmap \"reporter-templates\" not found"
    );
    assert!(mount["count"].as_i64().unwrap() > 1);
    // Fix: add the key; the container starts.
    let mut secret = (*store.get(Kinds::secrets(), "apps", "api-db").unwrap()).clone();
    secret["stringData"]["db-url"] = json!("postgres://api@db:5432/api");
    store.update(Kinds::secrets(), secret).unwrap();
    sim.reconcile(&mut store);
    advance(&mut store, &mut sim, 2);
    let api = pods(&store, "apps", "api-")[0].clone();
    assert!(ready(&api), "{}", api["status"]);
    assert_eq!(api["status"]["phase"], "Running");
}

#[test]
fn unschedulable_by_resources_and_selector() {
    let (store, _) = load("unschedulable-resources");
    let p = &pods(&store, "ml", "trainer-")[0];
    let c = condition(p, "PodScheduled");
    assert_eq!(c["status"], "False");
    assert_eq!(c["reason"], "Unschedulable");
    assert_eq!(
        c["message"],
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    let ev = events_for(&store, "ml", name(p))
        .into_iter()
        .find(|e| e["reason"] == "FailedScheduling")
        .unwrap();
    assert_eq!(ev["message"], c["message"]);
    assert_eq!(ev["reportingComponent"], "default-scheduler");
    assert!(ev["eventTime"].is_string());
    assert!(ev["series"]["count"].as_i64().unwrap() >= 2);

    let (store, _) = load("unschedulable-selector");
    let p = &pods(&store, "ml", "inference-")[0];
    assert_eq!(
        condition(p, "PodScheduled")["message"],
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
}

#[test]
fn failing_readiness_and_service_selector() {
    let (store, _) = load("readiness");
    let ps = pods(&store, "apps", "checkout-");
    assert_eq!(ps.len(), 2);
    for p in &ps {
        assert_eq!(p["status"]["phase"], "Running");
        assert!(!ready(p));
        assert!(p["status"]["containerStatuses"][0]["state"]["running"].is_object());
        let ev = events_for(&store, "apps", name(p))
            .into_iter()
            .find(|e| e["reason"] == "Unhealthy")
            .unwrap();
        assert_eq!(
            ev["message"],
            "Readiness probe failed: HTTP probe failed with statuscode: 503"
        );
        assert!(ev["count"].as_i64().unwrap() > 10);
    }
    assert_eq!(ready_addresses(&store, "apps", "checkout"), 0);
    let ep = store.get(Kinds::endpoints(), "apps", "checkout").unwrap();
    assert_eq!(arr(&ep, "/subsets/0/notReadyAddresses").len(), 2);

    let (store, _) = load("service-selector");
    assert!(pods(&store, "apps", "payments-").iter().all(|p| ready(p)));
    let ep = store.get(Kinds::endpoints(), "apps", "payments").unwrap();
    assert!(ep.get("subsets").is_none(), "{ep}");
    let slice = store
        .list(Kinds::slices(), Some("apps"))
        .into_iter()
        .find(|e| e["metadata"]["labels"]["kubernetes.io/service-name"] == "payments")
        .unwrap();
    assert_eq!(arr(&slice, "/endpoints").len(), 0);
}

#[test]
fn pvc_without_storage_class_and_node_not_ready() {
    let (store, _) = load("pvc-no-storageclass");
    let pvc = store.get(Kinds::pvcs(), "apps", "uploads").unwrap();
    assert_eq!(pvc["status"]["phase"], "Pending");
    let ev = events_for(&store, "apps", "uploads")
        .into_iter()
        .find(|e| e["reason"] == "ProvisioningFailed")
        .unwrap();
    assert_eq!(
        ev["message"],
        "storageclass.storage.k8s.io \"fast-ssd\" not found"
    );
    let p = &pods(&store, "apps", "uploader-")[0];
    assert!(
        condition(p, "PodScheduled")["message"]
            .as_str()
            .unwrap()
            .contains("pod has unbound immediate PersistentVolumeClaims")
    );

    let (store, sim) = load("node-not-ready");
    let n3 = store.get(Kinds::nodes(), "", "node-3").unwrap();
    assert_eq!(condition(&n3, "Ready")["status"], "Unknown");
    assert_eq!(
        condition(&n3, "Ready")["message"],
        "Kubelet stopped posting node status."
    );
    assert_eq!(arr(&n3, "/spec/taints").len(), 2);
    let n1 = store.get(Kinds::nodes(), "", "node-1").unwrap();
    assert_eq!(condition(&n1, "Ready")["status"], "True");
    let web = pods(&store, "apps", "web-");
    assert_eq!(web.len(), 3, "{web:?}");
    let lost: Vec<_> = web
        .iter()
        .filter(|p| s(p, "/spec/nodeName") == "node-3")
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(condition(lost[0], "Ready")["status"], "False");
    let lost_name = name(lost[0]).to_string();
    let d = store.get(Kinds::deployments(), "apps", "web").unwrap();
    assert_eq!(d["status"]["availableReplicas"], 2);
    // Five minutes after the taint, the pod is evicted and replaced elsewhere.
    let (mut store, mut sim) = (store, sim);
    advance(&mut store, &mut sim, 120);
    advance(&mut store, &mut sim, 2);
    let web = pods(&store, "apps", "web-");
    assert_eq!(web.len(), 3);
    assert!(
        web.iter()
            .all(|p| ready(p) && s(p, "/spec/nodeName") != "node-3")
    );
    assert!(
        events_for(&store, "apps", &lost_name)
            .iter()
            .any(|e| e["reason"] == "TaintManagerEviction")
    );
}

#[test]
fn failing_job_exceeds_its_backoff_limit() {
    let (store, sim) = load("failing-job");
    let job = store.get(Kinds::jobs(), "batch", "nightly-report").unwrap();
    let failed = condition(&job, "Failed");
    assert_eq!(failed["status"], "True", "{}", job["status"]);
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(job["status"]["failed"], 3);
    let ps = pods(&store, "batch", "nightly-report-");
    assert_eq!(ps.len(), 3);
    for p in &ps {
        assert_eq!(p["status"]["phase"], "Failed");
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
        let logs = sim.logs(&store, "batch", name(p), None, false).unwrap();
        assert!(logs.last().unwrap().text.contains("timed out"));
    }
}
