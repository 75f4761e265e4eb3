//! How `connects` outcomes are decided: namespaces in host names, ingress policies,
//! outside hosts, ports a Service does not expose, read-only file systems.

use super::*;

/// A client `app=client` in `apps` reaching what `connects` says, and a server `app=db` in
/// `data` behind Service `db` on 5432, with `extra` documents appended.
fn cluster(connects: &str, extra: &str) -> String {
    format!(
        r#"
apiVersion: sandbox.kai.dev/v1
kind: Settings
spec: {{age: 5m}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: apps}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: client}}}}
  template:
    metadata: {{labels: {{app: client}}}}
    spec:
      containers:
      - name: client
        image: example/client:1
        securityContext: {{readOnlyRootFilesystem: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: db, namespace: data}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers:
      - name: db
        image: postgres:16
        ports: [{{containerPort: 5432}}]
---
apiVersion: v1
kind: Service
metadata: {{name: db, namespace: data}}
spec:
  selector: {{app: db}}
  ports: [{{port: 5432}}]
---
apiVersion: sandbox.kai.dev/v1
kind: Behavior
spec:
  selector: {{matchLabels: {{app: client}}}}
  connects:
{connects}
{extra}"#
    )
}

/// The client's log after loading `yaml`.
fn client_log(yaml: &str) -> String {
    let (store, sim) = load_yaml(&Scenario::from_yaml("net.yaml", yaml).unwrap());
    let p = pods(&store, "apps", "client-")[0].clone();
    sim.logs(&store, "apps", name(&p), None, false)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn services_of_other_namespaces_resolve_by_namespace() {
    let log = client_log(&cluster(
        "  - to: db.data:5432\n  - to: db.data.svc.cluster.local:5432\n  - to: db:5432",
        "",
    ));
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.contains(&"INFO connected to db.data:5432"), "{log}");
    assert!(
        lines.contains(&"INFO connected to db.data.svc.cluster.local:5432"),
        "{log}"
    );
    assert!(log.contains("could not resolve host db:"), "{log}");
}

#[test]
fn an_ingress_policy_of_the_server_times_the_client_out() {
    let policy = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-from-api-only, namespace: data}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n";
    let log = client_log(&cluster("  - to: db.data:5432", policy));
    assert!(log.contains("failed: Connection timed out"), "{log}");
    let open = policy.replace(
        "- from: [{podSelector: {matchLabels: {app: api}}}]",
        "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: apps}}}]",
    );
    let log = client_log(&cluster("  - to: db.data:5432", &open));
    assert!(log.contains("INFO connected to db.data:5432"), "{log}");
}

#[test]
fn outside_hosts_follow_egress_ip_blocks_and_unexposed_ports_time_out() {
    let deny = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: egress, namespace: apps}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 53, protocol: UDP}]\n";
    let log = client_log(&cluster("  - to: api.example.com:443", deny));
    assert!(
        log.contains("connect to api.example.com:443 (203.0.113."),
        "{log}"
    );
    assert!(log.contains("Connection timed out"), "{log}");
    let allow = format!("{deny}  - to: [{{ipBlock: {{cidr: 0.0.0.0/0}}}}]\n");
    let log = client_log(&cluster("  - to: api.example.com:443", &allow));
    assert!(
        log.contains("INFO connected to api.example.com:443"),
        "{log}"
    );
    let log = client_log(&cluster("  - to: db.data:6543", ""));
    assert!(log.contains("Connection timed out"), "{log}");
}

#[test]
fn writes_outside_volumes_fail_on_a_read_only_root() {
    let log = client_log(&cluster("  - write: /tmp/cache.db", ""));
    let lines: Vec<&str> = log.lines().collect();
    // One line per retry, every 10 seconds of the five minutes it has run.
    assert_eq!(lines.len(), 30, "{log}");
    assert!(
        lines
            .iter()
            .all(|l| *l == "ERROR write /tmp/cache.db: Read-only file system")
    );
}
