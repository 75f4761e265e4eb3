//! The API server's semantics through the real kubectl (the pinned 1.33 client and the
//! version dispatcher): RBAC and the self-reviews as a ServiceAccount and as the admin, drain
//! with a PodDisruptionBudget, namespace termination, validation wording, custom resources,
//! defaults, and query booleans as kubernetes-asyncio sends them.

// Test helpers fail loudly: a panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use kai_sandbox::{Clock, SandboxOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SHOP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: shop}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer-reads-pods, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: ServiceAccount, name: deployer, namespace: shop}]
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
        image: shop/web:1.4
        ports: [{containerPort: 8000}]
        readinessProbe: {httpGet: {path: /healthz, port: 8000}}
        resources: {requests: {cpu: 10m, memory: 16Mi}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: postgres:16
        ports: [{containerPort: 5432}]
        resources: {requests: {cpu: 10m, memory: 16Mi}}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  endpoints: [{port: http, interval: 30s}]
"#;

mod common;

use common::{Env, dispatcher, ok, pinned, text};

/// The pinned kubectl 1.33 client.
fn kubectl_133() -> PathBuf {
    pinned("1.33")
}

/// What these tests do with a sandbox: kubectl 1.33 as the admin or as the ServiceAccount
/// `shop/deployer`, on a manual clock that the tests move.
impl Env {
    /// A sandbox on a manual clock, with an admin kubeconfig and one for `shop/deployer`.
    async fn start_semantics(yaml: &str) -> Env {
        let clock = Clock::manual("2026-03-01T10:00:00Z".parse().unwrap());
        let options = SandboxOptions {
            clock: Some(clock),
            ..SandboxOptions::default()
        };
        let env = Env::start_yaml(yaml, options).await;
        env.add_user("deployer", "serviceaccount:shop:deployer");
        env
    }

    /// Runs kubectl `bin` as `user` (`admin` or `deployer`).
    async fn run(&self, bin: PathBuf, user: &str, args: &[&str]) -> Output {
        let user = if user == "admin" { "kubeconfig" } else { user };
        self.run_as(&bin, user, args, &[]).await
    }

    async fn admin(&self, args: &[&str]) -> Output {
        self.run(kubectl_133(), "admin", args).await
    }

    async fn deployer(&self, args: &[&str]) -> Output {
        self.run(kubectl_133(), "deployer", args).await
    }

    /// `kubectl auth ...` as `user`.
    async fn auth(&self, user: &str, args: &[&str]) -> Output {
        let mut all = vec!["auth"];
        all.extend_from_slice(args);
        self.run(kubectl_133(), user, &all).await
    }

    /// Moves the simulation on until `check` holds on the admin's kubectl output.
    async fn advance_until(&self, args: &[&str], check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let out = text(&self.admin(args).await);
            if check(&out) {
                return out;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "gave up waiting on kubectl {args:?}; last output:\n{out}"
            );
            self.sandbox.advance(jiff::SignedDuration::from_secs(5));
        }
    }
}

fn failed(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "kubectl should have failed:\n{}",
        text(o)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_reviews_and_forbidden_as_a_service_account_and_as_admin() {
    let env = Env::start_semantics(SHOP).await;
    let who = ok(&env.auth("deployer", &["whoami"]).await);
    assert!(who.contains("system:serviceaccount:shop:deployer"), "{who}");
    assert!(who.contains("system:serviceaccounts:shop"), "{who}");
    let admin = ok(&env.auth("admin", &["whoami"]).await);
    assert!(
        admin.contains("kubernetes-admin") && admin.contains("system:masters"),
        "{admin}"
    );
    // `auth can-i` answers yes (exit 0) or no (exit 1).
    let yes = env
        .auth("deployer", &["can-i", "list", "pods", "-n", "shop"])
        .await;
    assert_eq!(ok(&yes).trim(), "yes");
    let no = env
        .auth("deployer", &["can-i", "delete", "pods", "-n", "shop"])
        .await;
    assert_eq!(
        String::from_utf8_lossy(&no.stdout).trim(),
        "no",
        "{}",
        text(&no)
    );
    assert!(!no.status.success());
    let elsewhere = env
        .auth("deployer", &["can-i", "list", "pods", "-n", "default"])
        .await;
    assert_eq!(String::from_utf8_lossy(&elsewhere.stdout).trim(), "no");
    let admin_can = env.auth("admin", &["can-i", "delete", "nodes"]).await;
    assert_eq!(ok(&admin_can).trim(), "yes");
    let list = ok(&env
        .auth("deployer", &["can-i", "--list", "-n", "shop"])
        .await);
    let pods_line = list
        .lines()
        .find(|l| l.starts_with("pods "))
        .unwrap_or_else(|| panic!("no pods rule in:\n{list}"));
    assert!(pods_line.contains("[get list watch]"), "{list}");
    assert!(
        list.contains("selfsubjectaccessreviews.authorization.k8s.io"),
        "{list}"
    );
    // What the binding grants works; the rest is Forbidden in RBAC's words.
    let pods = ok(&env.deployer(&["get", "pods", "-n", "shop"]).await);
    assert!(pods.contains("web-"), "{pods}");
    let err = failed(&env.deployer(&["get", "secrets", "-n", "shop"]).await);
    assert!(
        err.contains("Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:shop:deployer\" cannot list resource \"secrets\" in API group \"\" in the namespace \"shop\""),
        "{err}"
    );
    let err = failed(
        &env.deployer(&["delete", "deployment", "web", "-n", "shop"])
            .await,
    );
    assert!(
        err.contains("deployments.apps \"web\" is forbidden: User \"system:serviceaccount:shop:deployer\" cannot delete resource \"deployments\" in API group \"apps\" in the namespace \"shop\""),
        "{err}"
    );
    // The four RBAC kinds are served, with the default ClusterRoles.
    let roles = ok(&env.admin(&["get", "clusterroles"]).await);
    for r in ["cluster-admin", "admin", "edit", "view"] {
        assert!(
            roles.lines().any(|l| l.starts_with(&format!("{r} "))),
            "{r} in {roles}"
        );
    }
    let rb = ok(&env
        .admin(&["get", "rolebindings,roles", "-n", "shop"])
        .await);
    assert!(
        rb.contains("deployer-reads-pods") && rb.contains("pod-reader"),
        "{rb}"
    );
    // Granting more, through the API, takes effect at once.
    let grant = env.file(
        "grant.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: deployer-edit, namespace: shop}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\nsubjects: [{kind: ServiceAccount, name: deployer, namespace: shop}]\n",
    );
    ok(&env.admin(&["apply", "-f", &grant]).await);
    let now = env
        .auth("deployer", &["can-i", "delete", "pods", "-n", "shop"])
        .await;
    assert_eq!(ok(&now).trim(), "yes");
    // The dispatcher picks a client by the server's version and behaves the same.
    let d = env.run(dispatcher(), "deployer", &["get", "nodes"]).await;
    let err = failed(&d);
    assert!(
        err.contains("nodes is forbidden: User \"system:serviceaccount:shop:deployer\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_honours_the_disruption_budget() {
    let env = Env::start_semantics(SHOP).await;
    env.advance_until(&["get", "pods", "-n", "shop", "-l", "app=web"], |o| {
        o.matches("1/1").count() == 2
    })
    .await;
    let status =
        "jsonpath={.status.currentHealthy}/{.status.desiredHealthy}/{.status.disruptionsAllowed}";
    let pdb = ok(&env
        .admin(&["get", "pdb", "web", "-n", "shop", "-o", status])
        .await);
    assert_eq!(pdb, "2/2/0");
    let node = ok(&env
        .admin(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[0].spec.nodeName}",
        ])
        .await);
    // The budget needs both pods: eviction is refused with 429, and drain gives up.
    let out = env
        .admin(&[
            "drain",
            &node,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=2s",
            "--pod-selector=app=web",
        ])
        .await;
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{all}"
    );
    // With room in the budget, drain evicts through the Eviction API.
    ok(&env
        .admin(&[
            "patch",
            "pdb",
            "web",
            "-n",
            "shop",
            "--type=merge",
            "-p",
            r#"{"spec":{"minAvailable":1}}"#,
        ])
        .await);
    env.sandbox.advance(jiff::SignedDuration::from_secs(1));
    let out = env
        .admin(&[
            "drain",
            &node,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=3s",
            "--pod-selector=app=web",
        ])
        .await;
    let all = text(&out);
    assert!(all.contains("evicting pod shop/web-"), "{all}");
    assert!(all.contains("evicted"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_terminate_and_system_ones_stay() {
    let env = Env::start_semantics(SHOP).await;
    let file = env.file(
        "app.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: temp}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: temp}\ndata: {a: b}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: temp}\nspec:\n  selector: {app: api}\n  ports: [{port: 80}]\n",
    );
    ok(&env.admin(&["apply", "-f", &file]).await);
    // The namespace is first in the file; its contents are still there to delete after it.
    let out = ok(&env.admin(&["delete", "-f", &file, "--wait=false"]).await);
    assert!(out.contains("namespace \"temp\" deleted"), "{out}");
    assert!(out.contains("configmap \"settings\" deleted"), "{out}");
    assert!(out.contains("service \"api\" deleted"), "{out}");
    let ns = ok(&env.admin(&["get", "ns", "temp"]).await);
    assert!(ns.contains("Terminating"), "{ns}");
    let late = env.file(
        "late.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late, namespace: temp}\n",
    );
    let err = failed(&env.admin(&["apply", "-f", &late]).await);
    assert!(
        err.contains(
            "unable to create new content in namespace temp because it is being terminated"
        ),
        "{err}"
    );
    env.advance_until(&["get", "ns"], |o| !o.contains("temp"))
        .await;
    let err = failed(&env.admin(&["delete", "ns", "kube-system"]).await);
    assert!(
        err.contains("Error from server (Forbidden): namespaces \"kube-system\" is forbidden: this namespace may not be deleted"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_objects_are_refused_in_the_api_server_words() {
    let env = Env::start_semantics(SHOP).await;
    let bad = env.file(
        "bad.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  replicas: -1\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: api, image: shop/api:1}]}\n",
    );
    let err = failed(&env.admin(&["apply", "-f", &bad]).await);
    assert!(
        err.contains("The Deployment \"api\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
        "{err}"
    );
    let mismatch = env.file(
        "mismatch.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: other}}\n    spec: {containers: [{name: api, image: shop/api:1}]}\n",
    );
    let err = failed(&env.admin(&["create", "-f", &mismatch]).await);
    assert!(
        err.contains("`selector` does not match template `labels`"),
        "{err}"
    );
    let nopod = env.file(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: empty, namespace: shop}\nspec: {containers: []}\n",
    );
    let err = failed(&env.admin(&["create", "-f", &nopod]).await);
    assert!(
        err.contains("The Pod \"empty\" is invalid: spec.containers: Required value"),
        "{err}"
    );
    let err = failed(
        &env.admin(&[
            "patch",
            "deployment",
            "web",
            "-n",
            "shop",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":"three"}}"#,
        ])
        .await,
    );
    assert!(
        err.contains("cannot unmarshal string into Go struct field"),
        "{err}"
    );
    let err = failed(
        &env.admin(&[
            "get",
            "pods",
            "-n",
            "shop",
            "--field-selector",
            "spec.foo=bar",
        ])
        .await,
    );
    assert!(err.contains("field label not supported: spec.foo"), "{err}");
    // The stored object is untouched and still decodes.
    let replicas = ok(&env
        .admin(&[
            "get",
            "deployment",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .await);
    assert_eq!(replicas, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_with_and_without_their_definition() {
    let env = Env::start_semantics(SHOP).await;
    assert!(
        env.sandbox
            .notices()
            .iter()
            .any(|n| n.starts_with("ServiceMonitor (monitoring.coreos.com/v1)")),
        "{:?}",
        env.sandbox.notices()
    );
    let sm = ok(&env.admin(&["get", "servicemonitors", "-n", "shop"]).await);
    assert!(sm.contains("web"), "{sm}");
    let crd = env.file(
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: backups.ops.example.org}\nspec:\n  group: ops.example.org\n  scope: Namespaced\n  names: {kind: Backup, plural: backups, singular: backup, shortNames: [bk]}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            required: [schedule]\n            properties:\n              schedule: {type: string}\n              keep: {type: integer, minimum: 1}\n",
    );
    ok(&env.admin(&["apply", "-f", &crd]).await);
    let good = env.file(
        "bk.yaml",
        "apiVersion: ops.example.org/v1\nkind: Backup\nmetadata: {name: nightly, namespace: shop}\nspec: {schedule: '0 3 * * *', keep: 7}\n",
    );
    ok(&env.admin(&["apply", "-f", &good]).await);
    let got = ok(&env.admin(&["get", "bk", "-n", "shop"]).await);
    assert!(got.contains("nightly"), "{got}");
    let bad = env.file(
        "bad-bk.yaml",
        "apiVersion: ops.example.org/v1\nkind: Backup\nmetadata: {name: broken, namespace: shop}\nspec: {keep: 0}\n",
    );
    let err = failed(&env.admin(&["apply", "-f", &bad]).await);
    assert!(err.contains("The Backup \"broken\" is invalid"), "{err}");
    assert!(err.contains("spec.schedule: Required value"), "{err}");
    assert!(
        err.contains("spec.keep in body should be greater than or equal to 1"),
        "{err}"
    );
    let est = ok(&env
        .admin(&[
            "get",
            "crd",
            "backups.ops.example.org",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
        ])
        .await);
    assert_eq!(est, "True");
    ok(&env
        .admin(&["delete", "crd", "backups.ops.example.org"])
        .await);
    let err = failed(
        &env.admin(&["get", "backups.ops.example.org", "-n", "shop"])
            .await,
    );
    assert!(
        err.contains("the server doesn't have a resource type"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_show_in_describe_and_statefulset_rollouts_complete() {
    let env = Env::start_semantics(SHOP).await;
    let d = ok(&env
        .admin(&["describe", "deployment", "web", "-n", "shop"])
        .await);
    assert!(d.contains("8000/TCP"), "{d}");
    assert!(
        d.contains("RollingUpdateStrategy:  25% max unavailable, 25% max surge"),
        "{d}"
    );
    env.advance_until(&["get", "sts", "db", "-n", "shop"], |o| o.contains("1/1"))
        .await;
    let out = ok(&env
        .admin(&[
            "rollout",
            "status",
            "statefulset/db",
            "-n",
            "shop",
            "--timeout=5s",
        ])
        .await);
    assert!(
        out.contains("partitioned roll out complete") || out.contains("roll out complete"),
        "{out}"
    );
}

/// One HTTP/1.1 request to the sandbox as the admin; the whole answer, headers and body.
async fn http(env: &Env, method: &str, path: &str, body: &str) -> String {
    let port = env.sandbox.port();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the answer ends")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// kubernetes-asyncio sends `watch=True`: a watch, not a list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capitalised_booleans_are_booleans() {
    let env = Env::start_semantics(SHOP).await;
    let body = http(
        &env,
        "GET",
        "/api/v1/namespaces/shop/pods?watch=True&timeoutSeconds=1",
        "",
    )
    .await;
    assert!(body.contains("\"type\":\"ADDED\""), "{body}");
    assert!(!body.contains("\"kind\":\"PodList\""), "{body}");
}

/// `fieldValidation`: Strict refuses unknown fields, Warn (the default) answers `Warning`
/// headers and drops them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_follow_field_validation() {
    let env = Env::start_semantics(SHOP).await;
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"shop"},"data":{"a":"b"},"extra":1}"#;
    let strict = http(
        &env,
        "POST",
        "/api/v1/namespaces/shop/configmaps?fieldValidation=Strict",
        cm,
    )
    .await;
    assert!(strict.starts_with("HTTP/1.1 400"), "{strict}");
    assert!(
        strict.contains("ConfigMap in version \\\"v1\\\" cannot be handled as a ConfigMap: strict decoding error: unknown field \\\"extra\\\""),
        "{strict}"
    );
    let warn = http(&env, "POST", "/api/v1/namespaces/shop/configmaps", cm).await;
    assert!(warn.starts_with("HTTP/1.1 201"), "{warn}");
    assert!(
        warn.to_lowercase()
            .contains(r#"warning: 299 - "unknown field \"extra\"""#),
        "{warn}"
    );
    let stored = ok(&env
        .admin(&["get", "configmap", "c", "-n", "shop", "-o", "json"])
        .await);
    assert!(!stored.contains("extra"), "{stored}");
    let bad = http(
        &env,
        "POST",
        "/api/v1/namespaces/shop/configmaps?fieldValidation=Loud",
        cm,
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
}
