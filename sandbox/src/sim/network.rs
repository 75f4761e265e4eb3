//! What a container reaches, decided by the simulated cluster: name resolution through the
//! Services, endpoints and listening ports, NetworkPolicies (egress and ingress, DNS),
//! RBAC of the pod's ServiceAccount for API calls, and the volumes files are written to.
//!
//! The outcome of each `connects` entry of a `Behavior` is a pure function of the store,
//! so fixing the cause (creating the Service, adding the RoleBinding, deleting the policy,
//! growing the claim) changes it at the next pass.

use std::sync::Arc;

use serde_json::Value;

use super::kinds::Kinds;
use super::labels::{map_selects, selects};
use super::object::{arr, namespace, s};
use super::quantity::mem_bytes;
use crate::rbac::{Subject, allowed};
use crate::scenario::{ApiCall, Connect};
use crate::store::Store;

/// The cluster DNS Service's address, as clients report it.
pub const DNS_IP: &str = "10.96.0.10";
/// The `kubernetes` Service's address, where in-cluster clients reach the API server.
pub const API_IP: &str = "10.96.0.1";
/// The annotation declaring how much a claim already holds (`sandbox.kai.dev/used: 9Gi`).
pub const USED_ANNOTATION: &str = "sandbox.kai.dev/used";

/// What happened when the container tried.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It worked.
    Worked,
    /// The name does not resolve (no such Service, or a headless one without endpoints).
    NoSuchHost,
    /// The DNS server cannot be reached: a NetworkPolicy blocks port 53.
    DnsTimeout,
    /// Nothing accepts the connection at this address.
    Refused(String),
    /// Packets are dropped (a NetworkPolicy, or a port the Service does not expose).
    Timeout(String),
    /// The API server refused the call, with its message.
    Forbidden(String),
    /// The volume the file is on is full.
    NoSpace,
    /// The file system is read-only.
    ReadOnly,
}

impl Outcome {
    /// Whether the attempt failed.
    pub fn failed(&self) -> bool {
        *self != Outcome::Worked
    }

    /// The outcome in a few plain words.
    pub fn words(&self) -> String {
        match self {
            Outcome::Worked => "ok".into(),
            Outcome::NoSuchHost => "no such host".into(),
            Outcome::DnsTimeout => "name resolution timed out".into(),
            Outcome::Refused(a) => format!("connection to {a} refused"),
            Outcome::Timeout(a) => format!("connection to {a} timed out"),
            Outcome::Forbidden(m) => m.clone(),
            Outcome::NoSpace => "no space left on device".into(),
            Outcome::ReadOnly => "read-only file system".into(),
        }
    }
}

/// The outcome of `conn` for container `c` of `pod` now.
pub fn outcome(store: &Store, pod: &Value, c: &Value, conn: &Connect) -> Outcome {
    if let Some(to) = &conn.to {
        let (host, port) = to.rsplit_once(':').unwrap_or((to.as_str(), "80"));
        return connect(store, pod, host, port.parse().unwrap_or(80));
    }
    if let Some(api) = &conn.api {
        return api_call(store, pod, api);
    }
    if let Some(path) = &conn.write {
        return write(store, pod, c, path, conn.mib.unwrap_or(0));
    }
    Outcome::Worked
}

/// Where a host name leads.
enum Resolved {
    /// A Service of the cluster.
    Service(Arc<Value>),
    /// A host outside the cluster.
    Outside,
    /// Nothing.
    Nothing,
}

/// Resolves `host` the way the pod's resolver (search path `NS.svc.cluster.local`) does.
fn resolve(store: &Store, pod_ns: &str, host: &str) -> Resolved {
    let trimmed = host
        .trim_end_matches('.')
        .trim_end_matches(".cluster.local")
        .trim_end_matches(".svc");
    let labels: Vec<&str> = trimmed.split('.').collect();
    let (svc, ns) = match labels.as_slice() {
        [svc] => (*svc, pod_ns),
        [svc, ns] if store.get(Kinds::namespaces(), "", ns).is_some() => (*svc, *ns),
        _ if host.contains('.') => return Resolved::Outside,
        _ => return Resolved::Nothing,
    };
    match store.get(Kinds::services(), ns, svc) {
        None => Resolved::Nothing,
        Some(svc) => {
            let headless = s(&svc, "/spec/clusterIP") == "None";
            if headless && ready_backends(store, &svc).is_empty() {
                Resolved::Nothing
            } else {
                Resolved::Service(svc)
            }
        }
    }
}

/// The ready pods behind a selector Service.
fn ready_backends(store: &Store, svc: &Value) -> Vec<Arc<Value>> {
    let sel = &svc["spec"]["selector"];
    if sel.as_object().is_none_or(|m| m.is_empty()) {
        return Vec::new();
    }
    store
        .list(Kinds::pods(), Some(namespace(svc)))
        .into_iter()
        .filter(|p| map_selects(sel, &p["metadata"]["labels"]) && pod_ready(p))
        .collect()
}

fn pod_ready(p: &Value) -> bool {
    arr(p, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// A TCP connection from `pod` to `host:port`.
fn connect(store: &Store, pod: &Value, host: &str, port: u16) -> Outcome {
    if dns_blocked(store, pod) {
        return Outcome::DnsTimeout;
    }
    let svc = match resolve(store, namespace(pod), host) {
        Resolved::Nothing => return Outcome::NoSuchHost,
        Resolved::Outside => {
            let dest = Dest::Outside(port);
            return if egress_allows(store, pod, &dest) {
                Outcome::Worked
            } else {
                Outcome::Timeout(format!("{}:{port}", outside_ip(host)))
            };
        }
        Resolved::Service(svc) => svc,
    };
    let ip = match s(&svc, "/spec/clusterIP") {
        "" | "None" => "10.96.0.100".to_string(),
        ip => ip.to_string(),
    };
    let addr = format!("{ip}:{port}");
    let Some(svc_port) = arr(&svc, "/spec/ports")
        .iter()
        .find(|p| p["port"].as_i64() == Some(i64::from(port)))
    else {
        return Outcome::Timeout(addr);
    };
    let backends = ready_backends(store, &svc);
    let labels = &svc["spec"]["selector"];
    let dest = Dest::Pods {
        ns: namespace(&svc).to_string(),
        labels: backends
            .first()
            .map_or_else(|| labels.clone(), |p| p["metadata"]["labels"].clone()),
        port: target_number(svc_port, backends.first().map(|p| &**p)),
    };
    if !egress_allows(store, pod, &dest) {
        return Outcome::Timeout(addr);
    }
    let Some(backend) = backends.first() else {
        return Outcome::Refused(addr);
    };
    if !ingress_allows(store, pod, backend, dest.port()) {
        return Outcome::Timeout(addr);
    }
    if !listens(backend, dest.port()) {
        return Outcome::Refused(addr);
    }
    Outcome::Worked
}

/// A stable made-up address for an outside host.
fn outside_ip(host: &str) -> String {
    let h = host
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("203.0.113.{}", 1 + h % 250)
}

/// The container port a Service port sends to, as a number when it can be known.
fn target_number(svc_port: &Value, backend: Option<&Value>) -> Option<i64> {
    match &svc_port["targetPort"] {
        Value::Number(n) => n.as_i64(),
        Value::String(name) => backend.and_then(|b| {
            arr(b, "/spec/containers")
                .iter()
                .flat_map(|c| arr(c, "/ports"))
                .find(|p| p["name"] == name.as_str())
                .and_then(|p| p["containerPort"].as_i64())
        }),
        _ => svc_port["port"].as_i64(),
    }
}

/// Whether a container of `pod` listens on `port`: containers that declare ports listen on
/// those; one that declares none is taken to listen where it is asked.
fn listens(pod: &Value, port: Option<i64>) -> bool {
    let Some(port) = port else {
        return false;
    };
    let declared: Vec<i64> = arr(pod, "/spec/containers")
        .iter()
        .flat_map(|c| arr(c, "/ports"))
        .filter_map(|p| p["containerPort"].as_i64())
        .collect();
    declared.is_empty() || declared.contains(&port)
}

/// Where a packet goes.
enum Dest {
    /// Pods of a namespace with these labels, on a port.
    Pods {
        ns: String,
        labels: Value,
        port: Option<i64>,
    },
    /// Outside the cluster (or the API server), on a port.
    Outside(u16),
}

impl Dest {
    fn port(&self) -> Option<i64> {
        match self {
            Dest::Pods { port, .. } => *port,
            Dest::Outside(p) => Some(i64::from(*p)),
        }
    }
}

/// The NetworkPolicies of `ns` that select `pod` for `direction` (`Ingress` or `Egress`).
fn policies_for(store: &Store, pod: &Value, direction: &str) -> Vec<Arc<Value>> {
    store
        .list(Kinds::networkpolicies(), Some(namespace(pod)))
        .into_iter()
        .filter(|np| {
            let types = arr(np, "/spec/policyTypes");
            let applies = if types.is_empty() {
                direction == "Ingress" || np["spec"]["egress"].is_array()
            } else {
                types.iter().any(|t| t == direction)
            };
            applies && selects(&np["spec"]["podSelector"], &pod["metadata"]["labels"])
        })
        .collect()
}

/// Whether a policy peer (`podSelector`, `namespaceSelector`, `ipBlock`) in a policy of
/// namespace `policy_ns` matches pods of `ns` labelled `labels`, or an outside address.
fn peer_matches(store: &Store, peer: &Value, policy_ns: &str, dest: &Dest) -> bool {
    match dest {
        Dest::Outside(_) => peer["ipBlock"].is_object(),
        Dest::Pods { ns, labels, .. } => {
            if peer["ipBlock"].is_object() {
                return s(peer, "/ipBlock/cidr") == "0.0.0.0/0";
            }
            let ns_ok = if peer["namespaceSelector"].is_object() {
                let ns_labels = store
                    .get(Kinds::namespaces(), "", ns)
                    .map_or(Value::Null, |n| n["metadata"]["labels"].clone());
                selects(&peer["namespaceSelector"], &ns_labels)
            } else {
                ns == policy_ns
            };
            let pod_ok = !peer["podSelector"].is_object() || selects(&peer["podSelector"], labels);
            ns_ok && pod_ok
        }
    }
}

/// Whether a rule's `ports` let `port` (and `protocol`) through; no ports: every port.
fn ports_allow(rule: &Value, port: Option<i64>, protocol: &str) -> bool {
    let ports = arr(rule, "/ports");
    ports.is_empty()
        || ports.iter().any(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            let number = p["port"].as_i64();
            proto == protocol && (p["port"].is_null() || (number.is_some() && number == port))
        })
}

/// Whether `pod`'s egress policies (if any) let it reach `dest`.
fn egress_allows(store: &Store, pod: &Value, dest: &Dest) -> bool {
    let policies = policies_for(store, pod, "Egress");
    policies.is_empty()
        || policies.iter().any(|np| {
            arr(np, "/spec/egress").iter().any(|rule| {
                let to = arr(rule, "/to");
                ports_allow(rule, dest.port(), "TCP")
                    && (to.is_empty()
                        || to
                            .iter()
                            .any(|peer| peer_matches(store, peer, namespace(np), dest)))
            })
        })
}

/// Whether `pod`'s egress policies block DNS (port 53 to the cluster DNS in kube-system).
fn dns_blocked(store: &Store, pod: &Value) -> bool {
    let policies = policies_for(store, pod, "Egress");
    if policies.is_empty() {
        return false;
    }
    let dns = Dest::Pods {
        ns: "kube-system".into(),
        labels: serde_json::json!({"k8s-app": "kube-dns"}),
        port: Some(53),
    };
    !policies.iter().any(|np| {
        arr(np, "/spec/egress").iter().any(|rule| {
            let to = arr(rule, "/to");
            (ports_allow(rule, Some(53), "UDP") || ports_allow(rule, Some(53), "TCP"))
                && (to.is_empty()
                    || to
                        .iter()
                        .any(|peer| peer_matches(store, peer, namespace(np), &dns)))
        })
    })
}

/// Whether the ingress policies of `dst` let `src` in on `port`.
fn ingress_allows(store: &Store, src: &Value, dst: &Value, port: Option<i64>) -> bool {
    let policies = policies_for(store, dst, "Ingress");
    let from = Dest::Pods {
        ns: namespace(src).to_string(),
        labels: src["metadata"]["labels"].clone(),
        port,
    };
    policies.is_empty()
        || policies.iter().any(|np| {
            arr(np, "/spec/ingress").iter().any(|rule| {
                let peers = arr(rule, "/from");
                ports_allow(rule, port, "TCP")
                    && (peers.is_empty()
                        || peers
                            .iter()
                            .any(|peer| peer_matches(store, peer, namespace(np), &from)))
            })
        })
}

/// The pod's ServiceAccount, as the API server authenticates its token.
fn service_account(pod: &Value) -> &str {
    match s(pod, "/spec/serviceAccountName") {
        "" => "default",
        sa => sa,
    }
}

/// A Kubernetes API call with the pod's ServiceAccount token.
fn api_call(store: &Store, pod: &Value, api: &ApiCall) -> Outcome {
    if !egress_allows(store, pod, &Dest::Outside(443)) {
        return Outcome::Timeout(format!("{API_IP}:443"));
    }
    let (ns, sa) = (namespace(pod), service_account(pod));
    let target_ns = if api.cluster_scope {
        None
    } else {
        Some(api.namespace.as_deref().unwrap_or(ns))
    };
    let subject = Subject::service_account(ns, sa);
    let decision = allowed(
        store,
        &subject,
        &api.verb,
        &api.group,
        &api.resource,
        target_ns,
    );
    if decision.allowed {
        return Outcome::Worked;
    }
    Outcome::Forbidden(forbidden_message(&subject.user, api, target_ns))
}

/// The API server's 403 message.
pub fn forbidden_message(user: &str, api: &ApiCall, ns: Option<&str>) -> String {
    let base = api.resource.split('/').next().unwrap_or(&api.resource);
    let what = if api.group.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{}", api.group)
    };
    let what = match &api.name {
        Some(n) => format!("{what} \"{n}\""),
        None => what,
    };
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    format!(
        "{what} is forbidden: User \"{user}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
        api.verb, api.resource, api.group
    )
}

/// Writing `mib` MiB to `path` in container `c`.
fn write(store: &Store, pod: &Value, c: &Value, path: &str, mib: u64) -> Outcome {
    let mount = arr(c, "/volumeMounts")
        .iter()
        .filter(|m| {
            let at = s(m, "/mountPath").trim_end_matches('/');
            path == at || path.starts_with(&format!("{at}/"))
        })
        .max_by_key(|m| s(m, "/mountPath").len());
    let Some(mount) = mount else {
        let read_only = c["securityContext"]["readOnlyRootFilesystem"].as_bool() == Some(true);
        return if read_only {
            Outcome::ReadOnly
        } else {
            Outcome::Worked
        };
    };
    if mount["readOnly"].as_bool() == Some(true) {
        return Outcome::ReadOnly;
    }
    let Some(volume) = arr(pod, "/spec/volumes")
        .iter()
        .find(|v| v["name"] == mount["name"])
    else {
        return Outcome::Worked;
    };
    let wanted = i64::try_from(mib).unwrap_or(i64::MAX / 2) * 1024 * 1024;
    if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
        let Some(pvc) = store.get(Kinds::pvcs(), namespace(pod), claim) else {
            return Outcome::Worked;
        };
        let capacity = [
            pvc.pointer("/status/capacity/storage"),
            pvc.pointer("/spec/resources/requests/storage"),
        ]
        .into_iter()
        .flatten()
        .map(mem_bytes)
        .max()
        .unwrap_or(0);
        let held = pvc["metadata"]["annotations"][USED_ANNOTATION]
            .as_str()
            .map_or(0, |u| mem_bytes(&Value::String(u.into())));
        if capacity > 0 && held + wanted > capacity {
            return Outcome::NoSpace;
        }
    } else if let Some(limit) = volume.pointer("/emptyDir/sizeLimit").map(mem_bytes)
        && limit > 0
        && wanted > limit
    {
        return Outcome::NoSpace;
    }
    Outcome::Worked
}

/// A short description of what `conn` reaches, for log lines.
pub fn target(conn: &Connect) -> String {
    if let Some(to) = &conn.to {
        return to.clone();
    }
    if let Some(api) = &conn.api {
        return format!("{} {}", api.verb, api.resource);
    }
    conn.write.clone().unwrap_or_default()
}
