//! Following the object a log line names to the object that explains it: a host to its
//! Service, endpoints and the workload behind them (or the NetworkPolicy that blocks the
//! way); a path to the volume and claim mounted there and its size; a forbidden API call to
//! the pod's ServiceAccount and the binding it lacks.

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::diagnosis::snapshot::ServiceSummary;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Ctx, label_selector_selects, name_of, ns_of};
use crate::diagnosis::signatures::{ApiCall, Class, Signature};
use crate::mask::mask_text;

/// What following a signature proved.
#[derive(Debug, Default)]
pub(crate) struct Followed {
    pub because: Vec<String>,
    pub evidence: Vec<String>,
    pub suggestion: Option<String>,
    pub related: Vec<String>,
    /// A Service of the cluster the container depends on and that has no ready endpoints:
    /// (namespace, name), to be linked to the finding of the workload behind it.
    pub depends_on: Option<(String, String)>,
    /// The host is a Service of the cluster with ready endpoints and nothing blocks the way:
    /// a running client's old error lines prove nothing current.
    pub target_ready: bool,
}

/// Follows a signature of `container` in `pod`.
pub(crate) fn follow(ctx: &Ctx<'_>, pod: &Pod, container: &str, sig: &Signature) -> Followed {
    let mut f = Followed::default();
    match sig.class {
        Class::NameResolution
        | Class::ConnectionRefused
        | Class::Timeout
        | Class::ConnectionReset
        | Class::Tls => follow_host(ctx, pod, container, sig, &mut f),
        Class::DiskFull | Class::ReadOnlyFs | Class::PermissionDenied => {
            follow_path(ctx, pod, container, sig, &mut f)
        }
        Class::Forbidden => {
            if let Some(api) = &sig.target.api {
                follow_api(ctx, pod, api, &mut f);
            }
        }
        _ => {}
    }
    f
}

/// The container of a pod (init or main), from the pod or its owner's template.
fn container_of<'a: 'p, 'p>(ctx: &Ctx<'a>, pod: &'p Pod, name: &str) -> Option<&'p Container> {
    let spec = ctx.pod_spec(pod)?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

/// The Service a host names, seen from namespace `ns`: `svc`, `svc.ns`, `svc.ns.svc...`, or
/// a cluster IP. None when the host is outside the cluster.
fn service_of<'a>(
    ctx: &Ctx<'a>,
    ns: &str,
    host: &str,
) -> (String, String, Option<&'a ServiceSummary>) {
    if host.parse::<std::net::IpAddr>().is_ok() {
        let s = ctx.service_by_ip(host);
        return match s {
            Some(s) => (s.namespace.to_string(), s.name.to_string(), Some(s)),
            None => (ns.to_string(), host.to_string(), None),
        };
    }
    let parts: Vec<&str> = host.split('.').collect();
    let name = parts[0].to_string();
    let svc_ns = match parts.get(1) {
        Some(n) if *n != "svc" => n.to_string(),
        _ => ns.to_string(),
    };
    let s = ctx.service(&svc_ns, &name);
    (svc_ns, name, s)
}

/// Whether a host looks like one inside the cluster (a bare name, `svc.ns`, `*.svc.*`, a
/// cluster IP) rather than an external domain.
fn in_cluster(ctx: &Ctx<'_>, host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return ctx.service_by_ip(host).is_some();
    }
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 1
        || host.contains(".svc")
        || (parts.len() == 2 && ctx.snap.services.iter().any(|s| *s.namespace == *parts[1]))
}

/// Env vars of the container whose value names the host (`CATALOG_URL=http://catalog:8080`).
fn env_naming(c: Option<&Container>, host: &str) -> Option<(String, String)> {
    c?.env.iter().flatten().find_map(|e| {
        let v = e.value.as_deref()?;
        let hit = v == host
            || v.contains(&format!("//{host}:"))
            || v.contains(&format!("//{host}/"))
            || v.ends_with(&format!("//{host}"))
            || v.contains(&format!("@{host}"))
            || v.starts_with(&format!("{host}:"));
        hit.then(|| (e.name.clone(), mask_text(v)))
    })
}

fn follow_host(ctx: &Ctx<'_>, pod: &Pod, container: &str, sig: &Signature, f: &mut Followed) {
    let Some(host) = sig.target.host.as_deref() else {
        if sig.class == Class::NameResolution || sig.class == Class::Timeout {
            dns_policy(ctx, pod, f);
        }
        return;
    };
    let ns = ns_of(&pod.metadata);
    let c = container_of(ctx, pod, container);
    if let Some((k, v)) = env_naming(c, host) {
        f.evidence
            .push(format!("container {container} env {k}={v}"));
    }
    if !in_cluster(ctx, host) {
        if matches!(sig.class, Class::NameResolution | Class::Timeout) {
            dns_policy(ctx, pod, f);
        }
        return;
    }
    let (svc_ns, svc_name, svc) = service_of(ctx, ns, host);
    let Some(svc) = svc else {
        missing_service(ctx, c, container, host, &svc_ns, &svc_name, f);
        return;
    };
    f.related.push(format!("service/{svc_name}"));
    if matches!(sig.class, Class::NameResolution | Class::Timeout) && dns_policy(ctx, pod, f) {
        return;
    }
    if matches!(sig.class, Class::Timeout | Class::ConnectionRefused)
        && egress_policy(ctx, pod, svc, sig.target.port, f)
    {
        return;
    }
    if matches!(
        sig.class,
        Class::ConnectionRefused | Class::Timeout | Class::ConnectionReset
    ) {
        let ready = super::network::ready_endpoints(ctx, &svc_ns, &svc_name).map(|(r, _)| r);
        f.target_ready = ready.is_some_and(|r| r > 0);
        if ready == Some(0) {
            f.because
                .push(format!("service {svc_name} has no ready endpoints"));
            f.evidence
                .push(format!("endpoints {svc_name}: 0 ready addresses"));
            f.depends_on = Some((svc_ns, svc_name));
        } else if let Some(port) = sig.target.port {
            let ports: Vec<i32> = svc.ports.iter().map(|p| p.port).collect();
            let via_ip = host.parse::<std::net::IpAddr>().is_ok();
            if via_ip && !ports.contains(&i32::from(port)) {
                f.because.push(format!(
                    "service {svc_name} does not serve port {port} (ports: {})",
                    ports
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
}

/// Network policies with egress that select the pod.
fn egress_policies<'a>(ctx: &Ctx<'a>, pod: &Pod) -> Vec<&'a NetworkPolicy> {
    let ns = ns_of(&pod.metadata);
    let labels = pod.metadata.labels.as_ref();
    ctx.snap
        .network_policies
        .iter()
        .filter(|np| ns_of(&np.metadata) == ns)
        .filter(|np| {
            let Some(spec) = np.spec.as_ref() else {
                return false;
            };
            let egress = spec
                .policy_types
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "Egress"))
                || spec.egress.is_some();
            egress
                && spec
                    .pod_selector
                    .as_ref()
                    .is_none_or(|s| label_selector_selects(s, labels))
        })
        .collect()
}

fn port_allows(ports: Option<&Vec<NetworkPolicyPort>>, port: u16, name: Option<&str>) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return true;
    };
    ports.iter().any(|p| match &p.port {
        None => true,
        Some(IntOrString::Int(n)) => {
            let end = p.end_port.unwrap_or(*n);
            (*n..=end).contains(&i32::from(port))
        }
        Some(IntOrString::String(s)) => Some(s.as_str()) == name,
    })
}

/// Whether the pod's egress policies allow some traffic to `port`.
fn egress_allows(policies: &[&NetworkPolicy], port: u16) -> bool {
    policies.iter().any(|np| {
        np.spec
            .as_ref()
            .and_then(|s| s.egress.as_ref())
            .is_some_and(|rules| {
                rules
                    .iter()
                    .any(|r| port_allows(r.ports.as_ref(), port, None))
            })
    })
}

fn policy_names(policies: &[&NetworkPolicy]) -> String {
    policies
        .iter()
        .map(|p| name_of(&p.metadata))
        .collect::<Vec<_>>()
        .join(", ")
}

/// DNS (port 53) blocked by the pod's egress policies: says so and returns true.
fn dns_policy(ctx: &Ctx<'_>, pod: &Pod, f: &mut Followed) -> bool {
    // Which pods the policies must allow is only known when the pods were read.
    if !ctx.snap.listed("networkpolicies") || !ctx.snap.listed("pods") {
        return false;
    }
    let policies = egress_policies(ctx, pod);
    if policies.is_empty() || egress_allows(&policies, 53) {
        return false;
    }
    let names = policy_names(&policies);
    f.because.push(format!(
        "NetworkPolicy {names} selects the pod and allows no egress to port 53, so DNS lookups time out"
    ));
    f.evidence.push(format!(
        "networkpolicy {names}: policyTypes Egress, no egress rule allows port 53 (DNS)"
    ));
    f.related.extend(
        policies
            .iter()
            .map(|p| format!("networkpolicy/{}", name_of(&p.metadata))),
    );
    f.suggestion = Some(format!(
        "allow DNS in NetworkPolicy {names}: an egress rule to namespace kube-system (k8s-app: kube-dns) on UDP and TCP port 53, plus egress to the services the pod calls"
    ));
    true
}

/// Egress to a Service's pods blocked by the client's policies: says so and returns true.
fn egress_policy(
    ctx: &Ctx<'_>,
    pod: &Pod,
    svc: &ServiceSummary,
    port: Option<u16>,
    f: &mut Followed,
) -> bool {
    if !ctx.snap.listed("networkpolicies") {
        return false;
    }
    let policies = egress_policies(ctx, pod);
    if policies.is_empty() {
        return false;
    }
    let target_labels = ctx
        .pods_selected(&svc.namespace, &svc.selector)
        .next()
        .and_then(|p| p.labels().cloned());
    let port = port.unwrap_or(0);
    let allowed = policies.iter().any(|np| {
        np.spec
            .as_ref()
            .and_then(|s| s.egress.as_ref())
            .is_some_and(|rules| {
                rules.iter().any(|r| {
                    let to_ok = r.to.as_ref().is_none_or(|peers| {
                        peers.is_empty()
                            || peers.iter().any(|peer| {
                                peer.ip_block.is_some()
                                    || peer.pod_selector.as_ref().is_some_and(|s| {
                                        label_selector_selects(s, target_labels.as_ref())
                                    })
                                    || (peer.pod_selector.is_none()
                                        && peer.namespace_selector.is_some())
                            })
                    });
                    to_ok && (port == 0 || port_allows(r.ports.as_ref(), port, None))
                })
            })
    });
    if allowed {
        return false;
    }
    let names = policy_names(&policies);
    let svc_name = &svc.name;
    f.because.push(format!(
        "NetworkPolicy {names} selects the pod and allows no egress to service {svc_name}'s pods"
    ));
    f.evidence.push(format!(
        "networkpolicy {names}: policyTypes Egress, no rule allows the pods of service {svc_name}"
    ));
    f.related.extend(
        policies
            .iter()
            .map(|p| format!("networkpolicy/{}", name_of(&p.metadata))),
    );
    f.suggestion = Some(format!(
        "add an egress rule to NetworkPolicy {names} allowing the pods of service {svc_name}{}",
        if port > 0 {
            format!(" on port {port}")
        } else {
            String::new()
        }
    ));
    true
}

/// A file-system error on a path: the mount it falls under, read-only, an emptyDir's size limit,
/// or the PersistentVolumeClaim behind it.
fn follow_path(ctx: &Ctx<'_>, pod: &Pod, container: &str, sig: &Signature, f: &mut Followed) {
    let Some(path) = sig.target.path.as_deref() else {
        return;
    };
    let Some(c) = container_of(ctx, pod, container) else {
        return;
    };
    // The deepest mount the path falls under.
    let Some(m) = c
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| {
            let mp = m.mount_path.trim_end_matches('/');
            path == mp || path.starts_with(&format!("{mp}/"))
        })
        .max_by_key(|m| m.mount_path.len())
    else {
        return;
    };
    let mount = m.mount_path.as_str();
    let volume = ctx
        .pod_spec(pod)
        .and_then(|s| s.volumes.as_ref())
        .and_then(|v| v.iter().find(|v| v.name == m.name));
    let claim = volume
        .and_then(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .or_else(|| {
            // StatefulSet claims: <template>-<pod>.
            pod_claim_from_template(ctx, pod, &m.name)
        });
    if sig.class == Class::ReadOnlyFs && m.read_only == Some(true) {
        f.because
            .push(format!("{mount} is mounted readOnly (volume {})", m.name));
        f.evidence.push(format!(
            "container {container} volumeMount {} at {mount}: readOnly true",
            m.name
        ));
        f.suggestion = Some(format!(
            "remove readOnly from the mount of volume {} at {mount} in container {container}, or write elsewhere",
            m.name
        ));
        return;
    }
    let Some(claim) = claim else {
        if sig.class == Class::DiskFull
            && let Some(limit) = volume
                .and_then(|v| v.empty_dir.as_ref())
                .and_then(|e| e.size_limit.as_ref())
        {
            f.because.push(format!(
                "{mount} is emptyDir volume {} limited to {}",
                m.name, limit.0
            ));
            f.suggestion = Some(format!(
                "raise sizeLimit of emptyDir volume {} ({}) or write less to {mount}",
                m.name, limit.0
            ));
        }
        return;
    };
    follow_claim(ctx, pod, container, sig, (&m.name, mount), &claim, f);
}

/// The PersistentVolumeClaim mounted where the error happened (`volume` is the mount's volume
/// name and path): full (expand it, if its class allows) or not writable by the container.
fn follow_claim(
    ctx: &Ctx<'_>,
    pod: &Pod,
    container: &str,
    sig: &Signature,
    (volume, mount): (&str, &str),
    claim: &str,
    f: &mut Followed,
) {
    let ns = ns_of(&pod.metadata);
    let pvc = ctx
        .snap
        .pvcs
        .iter()
        .find(|p| ns_of(&p.metadata) == ns && name_of(&p.metadata) == claim);
    // Its capacity once bound, else what it requests.
    let size = pvc.and_then(|p| {
        p.status
            .as_ref()
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
            .or_else(|| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
            })
            .map(|q| q.0.clone())
    });
    f.related.push(format!("persistentvolumeclaim/{claim}"));
    f.evidence.push(format!(
        "container {container} mounts volume {volume} at {mount}: persistentvolumeclaim {claim}{}",
        size.as_deref()
            .map_or(String::new(), |s| format!(", capacity {s}"))
    ));
    if sig.class != Class::DiskFull {
        f.because.push(format!(
            "{mount} is PersistentVolumeClaim {claim}, not writable by the container's user"
        ));
        f.suggestion = Some(format!(
            "let the container's user write {mount}: set securityContext.fsGroup (or runAsUser) to the owner of the volume of claim {claim}"
        ));
        return;
    }
    let size_text = size
        .as_deref()
        .map_or(String::new(), |s| format!(" of {s}"));
    f.because.push(format!(
        "{mount} is PersistentVolumeClaim {claim}{size_text}, which is full"
    ));
    let class = pvc
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.storage_class_name.as_deref());
    let expandable = class.and_then(|c| {
        ctx.snap
            .storage_classes
            .iter()
            .find(|s| name_of(&s.metadata) == c)
            .map(|s| s.allow_volume_expansion == Some(true))
    });
    let how = match (expandable, class) {
        (Some(true), Some(c)) => format!(" (StorageClass {c} allows expansion)"),
        (Some(false), Some(c)) => {
            format!(" (StorageClass {c} does not allow expansion: copy the data to a larger claim)")
        }
        _ => String::new(),
    };
    f.suggestion = Some(format!(
        "expand PersistentVolumeClaim {claim}{}{how}, or free space under {mount}",
        size.as_deref()
            .map_or(String::new(), |s| format!(" (now {s})"))
    ));
}

/// The claim of a StatefulSet pod's volume from a volumeClaimTemplate: `<template>-<pod>`.
fn pod_claim_from_template(ctx: &Ctx<'_>, pod: &Pod, volume: &str) -> Option<String> {
    let (kind, owner) = super::controller_of(&pod.metadata)?;
    if kind != "StatefulSet" {
        return None;
    }
    let ns = ns_of(&pod.metadata);
    let w = ctx.workloads.find("statefulset", ns, owner)?;
    let super::view::Source::StatefulSet(sts) = w.source else {
        return None;
    };
    sts.spec
        .as_ref()?
        .volume_claim_templates
        .iter()
        .flatten()
        .any(|t| name_of(&t.metadata) == volume)
        .then(|| format!("{volume}-{}", name_of(&pod.metadata)))
}

/// Whether a policy rule grants `verb` on `resource` in `group`.
fn rule_grants(r: &k8s_openapi::api::rbac::v1::PolicyRule, api: &ApiCall) -> bool {
    let any = |v: &[String], x: &str| v.iter().any(|s| s == "*" || s == x);
    any(&r.verbs, &api.verb)
        && r.resources
            .as_deref()
            .is_some_and(|res| any(res, &api.resource))
        && r.api_groups.as_deref().is_some_and(|g| any(g, &api.group))
}

fn follow_api(ctx: &Ctx<'_>, pod: &Pod, api: &ApiCall, f: &mut Followed) {
    let ns = ns_of(&pod.metadata);
    let sa = ctx
        .pod_spec(pod)
        .and_then(|s| s.service_account_name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into());
    let call = format!(
        "{} {}{}",
        api.verb,
        api.resource,
        api.namespace
            .as_deref()
            .map_or(" cluster-wide".to_string(), |n| format!(
                " in namespace {n}"
            ))
    );
    f.related.push(format!("serviceaccount/{sa}"));
    f.evidence.push(format!(
        "pod {} runs as serviceaccount {ns}/{sa} ({})",
        name_of(&pod.metadata),
        api.user
    ));
    let rbac_known = [
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
    ]
    .iter()
    .all(|k| ctx.snap.listed(k));
    if !rbac_known {
        f.because
            .push(format!("serviceaccount {sa} may not {call}"));
        f.suggestion = Some(format!(
            "bind a Role allowing {} on {} to the pod's service account {sa} (`kubectl create rolebinding {sa}-{} --role=ROLE --serviceaccount={ns}:{sa} -n {}`)",
            api.verb,
            api.resource,
            api.resource,
            api.namespace.as_deref().unwrap_or(ns)
        ));
        return;
    }
    let subject_is_sa = |subjects: Option<&Vec<k8s_openapi::api::rbac::v1::Subject>>| {
        subjects.into_iter().flatten().any(|s| {
            s.kind == "ServiceAccount" && s.name == sa && s.namespace.as_deref().unwrap_or(ns) == ns
        })
    };
    let call_ns = api.namespace.as_deref().unwrap_or(ns);
    let bindings: Vec<String> = ctx
        .snap
        .role_bindings
        .iter()
        .filter(|b| ns_of(&b.metadata) == call_ns && subject_is_sa(b.subjects.as_ref()))
        .map(|b| {
            format!(
                "rolebinding {} → {} {}",
                name_of(&b.metadata),
                b.role_ref.kind,
                b.role_ref.name
            )
        })
        .chain(
            ctx.snap
                .cluster_role_bindings
                .iter()
                .filter(|b| subject_is_sa(b.subjects.as_ref()))
                .map(|b| {
                    format!(
                        "clusterrolebinding {} → ClusterRole {}",
                        name_of(&b.metadata),
                        b.role_ref.name
                    )
                }),
        )
        .collect();
    // Roles that would grant the call, bound or not.
    let granting: Vec<String> = ctx
        .snap
        .roles
        .iter()
        .filter(|r| ns_of(&r.metadata) == call_ns)
        .filter(|r| r.rules.iter().flatten().any(|x| rule_grants(x, api)))
        .map(|r| format!("Role {}", name_of(&r.metadata)))
        .collect();
    f.because.push(format!(
        "no RoleBinding or ClusterRoleBinding grants serviceaccount {ns}/{sa} {call}"
    ));
    f.evidence.push(if bindings.is_empty() {
        format!("serviceaccount {ns}/{sa}: bound by no RoleBinding or ClusterRoleBinding")
    } else {
        format!("serviceaccount {ns}/{sa}: {}", bindings.join("; "))
    });
    f.suggestion = Some(match granting.first() {
        Some(role) => {
            let role_name = role.trim_start_matches("Role ");
            f.evidence.push(format!(
                "{role} in namespace {call_ns} grants {} on {} but is not bound to {sa}",
                api.verb, api.resource
            ));
            format!(
                "bind {role} to the pod's service account {sa}: `kubectl create rolebinding {sa}-{role_name} --role={role_name} --serviceaccount={ns}:{sa} -n {call_ns}`"
            )
        }
        None => format!(
            "create a Role in namespace {call_ns} allowing {} on {} and bind it to the pod's service account {sa} (`kubectl create role ... && kubectl create rolebinding ... --serviceaccount={ns}:{sa}`)",
            api.verb, api.resource
        ),
    });
}

/// A host naming a Service that does not exist: say so, with the similar services and the env
/// var that names the host.
fn missing_service(
    ctx: &Ctx<'_>,
    c: Option<&Container>,
    container: &str,
    host: &str,
    svc_ns: &str,
    svc_name: &str,
    f: &mut Followed,
) {
    if !ctx.snap.listed("services") || ctx.snap.namespace.as_deref().is_some_and(|n| n != svc_ns) {
        return;
    }
    let similar: Vec<&str> = ctx
        .snap
        .services
        .iter()
        .filter(|s| *s.namespace == *svc_ns)
        .map(|s| &*s.name)
        .filter(|n| n.contains(svc_name) || svc_name.contains(n))
        .collect();
    let hint = if similar.is_empty() {
        String::new()
    } else {
        format!(" (services there: {})", similar.join(", "))
    };
    f.because.push(format!(
        "service {svc_name} does not exist in namespace {svc_ns}{hint}"
    ));
    f.evidence.push(format!(
        "no service {svc_name} in namespace {svc_ns}; services there: {}",
        ctx.snap
            .services
            .iter()
            .filter(|s| *s.namespace == *svc_ns)
            .map(|s| &*s.name)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let what = match env_naming(c, host) {
        Some((k, _)) => format!("point {k} of container {container} at an existing service"),
        None => format!("point container {container} at an existing service"),
    };
    let target = similar
        .first()
        .map_or(String::new(), |s| format!(" ({s}?)"));
    f.suggestion = Some(format!(
        "{what}{target}, or create service {svc_name} in namespace {svc_ns}"
    ));
}
