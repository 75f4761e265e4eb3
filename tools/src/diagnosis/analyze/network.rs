//! Network rules: services without endpoints (folded into the workload finding that explains
//! them), ingresses, network policies and admission webhooks.

use std::collections::BTreeMap;

use crate::diagnosis::snapshot::{ServicePortSummary, ServiceSummary};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use kube::core::SelectorExt;

use super::{Ctx, Out, PodRef, finding, labels_text, map_selects, name_of, ns_of, selector_of};
use crate::diagnosis::Severity;

/// Ready and not-ready addresses of a Service's Endpoints (None when endpoints could not be
/// listed or the object is missing).
pub(crate) fn ready_endpoints(ctx: &Ctx<'_>, ns: &str, name: &str) -> Option<(usize, usize)> {
    if !ctx.snap.listed("endpoints") {
        return None;
    }
    if let Some(c) = ctx.endpoint_count(ns, name) {
        return Some((c.ready as usize, c.not_ready as usize));
    }
    let ep = ctx.endpoints_of(ns, name)?;
    let mut ready = 0;
    let mut not_ready = 0;
    for s in ep.subsets.iter().flatten() {
        ready += s.addresses.as_ref().map_or(0, Vec::len);
        not_ready += s.not_ready_addresses.as_ref().map_or(0, Vec::len);
    }
    Some((ready, not_ready))
}

pub(crate) fn services(ctx: &Ctx<'_>, out: &mut Out) {
    for svc in &ctx.snap.services {
        check_service(ctx, svc, out);
    }
}

fn check_service(ctx: &Ctx<'_>, svc: &ServiceSummary, out: &mut Out) {
    let (ns, name) = (&*svc.namespace, &*svc.name);
    if svc.is_external_name() || svc.selector.is_empty() {
        return;
    }
    let selector = &*svc.selector;
    let sel_text = labels_text(selector);
    let pods: Vec<PodRef<'_>> = ctx
        .pods_selected(ns, selector)
        .filter(|p| p.live())
        .collect();
    if pods.is_empty() {
        selects_nothing(ctx, ns, name, selector, out);
        return;
    }
    let ready = pods.iter().filter(|p| p.is_ready()).count();
    if ready == 0 {
        // The pods' own finding explains it: fold the service in rather than repeat the cause.
        for p in &pods {
            let key = (ns.to_string(), p.name().to_string());
            if let Some(&idx) = out.pod_owner.get(&key) {
                fold(out, idx, name);
                return;
            }
        }
        let mut evidence = vec![format!(
            "service {name}: selector {sel_text} matches {} pods, none ready",
            pods.len()
        )];
        if let Some((r, nr)) = ready_endpoints(ctx, ns, name) {
            evidence.push(format!(
                "endpoints {name}: {r} ready addresses, {nr} not ready"
            ));
        }
        out.push(finding(
            Severity::Critical,
            "service",
            ns,
            name,
            "NoEndpoints",
            format!("Service {name} has no ready endpoints: none of its {} pods is ready", pods.len()),
            evidence,
            format!("find out why the pods behind service {name} are not ready (kai \"why is {name} not ready\")"),
            pods.iter().take(10).map(|p| format!("pod/{}", p.name())).collect(),
        ));
        return;
    }
    named_target_ports(ctx, ns, name, &svc.ports, &pods, out);
}

/// A service whose selector matches no live pod: a workload scaled to zero or not creating
/// pods, or labels that match nothing (say which labels the pods do have).
fn selects_nothing(
    ctx: &Ctx<'_>,
    ns: &str,
    name: &str,
    selector: &BTreeMap<String, String>,
    out: &mut Out,
) {
    let sel_text = labels_text(selector);
    if !ctx.pods_complete() {
        // The pods may exist outside the selected labels, or could not be read.
        return;
    }
    // A workload whose template matches: scaled to zero, or not creating pods.
    if let Some((kind, wname, replicas)) = ctx
        .workloads
        .in_namespace(ns)
        .filter(|w| matches!(w.kind(), "deployment" | "statefulset" | "daemonset"))
        .find(|w| map_selects(selector, w.template_labels()))
        .map(|w| {
            (
                w.kind().to_string(),
                w.name().to_string(),
                w.spec_replicas(),
            )
        })
    {
        let key = (kind.clone(), wname.clone());
        if let Some(idx) = out
            .findings
            .iter()
            .position(|f| f.namespace == ns && (f.kind.clone(), f.name.clone()) == key)
        {
            fold(out, idx, name);
            return;
        }
        if replicas == Some(0) {
            out.push(finding(
                Severity::Warning,
                &kind,
                ns,
                &wname,
                "ScaledToZero",
                format!(
                    "{kind} {wname} is scaled to 0 replicas, so service {name} has no endpoints"
                ),
                vec![
                    format!("{kind} {wname}: spec.replicas 0"),
                    format!("service {name}: selector {sel_text} matches no running pod"),
                ],
                format!("scale it up (kai \"scale {wname} to 1\") if the service should answer"),
                vec![format!("service/{name}")],
            ));
            return;
        }
    }
    // Nothing matches: say which labels the pods do have.
    let mut near: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in ctx.pods_in(ns) {
        let Some(labels) = p.labels() else {
            continue;
        };
        let shared: BTreeMap<String, String> = labels
            .iter()
            .filter(|(k, _)| selector.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if shared.is_empty() {
            continue;
        }
        let w = ctx.workload_of(p);
        let entry = near.entry(labels_text(&shared)).or_default();
        let t = format!("{} {}", w.kind, w.name);
        if !entry.contains(&t) {
            entry.push(t);
        }
    }
    let (have, suggestion) = match near.iter().next() {
        Some((labels, owners)) => (
            format!(
                "; pods in the namespace have {}",
                near.iter()
                    .take(3)
                    .map(|(l, o)| format!("{l} ({})", o.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!(
                "change the selector of service {name} to {labels} (the labels of {}), or fix the pod labels",
                owners.join(", ")
            ),
        ),
        None => (
            String::new(),
            format!(
                "deploy the pods service {name} should route to, or fix its selector {sel_text}"
            ),
        ),
    };
    let mut related: Vec<String> = near
        .values()
        .flatten()
        .map(|o| o.replace(' ', "/"))
        .collect();
    related.dedup();
    out.push(finding(
        Severity::Critical,
        "service",
        ns,
        name,
        "SelectorMismatch",
        format!("Service {name} has no endpoints: its selector {sel_text} matches no pod{have}"),
        vec![format!(
            "service {name}: spec.selector {sel_text}; 0 matching pods"
        )],
        suggestion,
        related,
    ));
}

/// A named targetPort that no matching container declares leaves the endpoints portless.
fn named_target_ports(
    ctx: &Ctx<'_>,
    ns: &str,
    name: &str,
    ports: &[ServicePortSummary],
    pods: &[PodRef<'_>],
    out: &mut Out,
) {
    for port in ports {
        let Some(IntOrString::String(target)) = &port.target_port else {
            continue;
        };
        let declared = pods.iter().any(|p| ctx.declares_port(*p, target));
        if !declared {
            out.push(finding(
                Severity::Critical,
                "service",
                ns,
                name,
                "TargetPortMismatch",
                format!(
                    "Service {name} port {} targets container port \"{target}\", which its pods do not declare, so traffic goes nowhere",
                    port.port
                ),
                vec![format!("service {name}: port {} targetPort {target}", port.port)],
                format!("set targetPort of service {name} to a port name or number the container exposes"),
                pods.iter().take(3).map(|p| format!("pod/{}", p.name())).collect(),
            ));
        }
    }
}

/// Appends "so service X has no ready endpoints" to the finding that explains it.
fn fold(out: &mut Out, idx: usize, service: &str) {
    let f = &mut out.findings[idx];
    let r = format!("service/{service}");
    if f.related.contains(&r) {
        return;
    }
    f.message
        .push_str(&format!("; so service {service} has no ready endpoints"));
    f.related.push(r);
}

pub(crate) fn ingresses(ctx: &Ctx<'_>, out: &mut Out) {
    let classes_known = ctx.snap.listed("ingressclasses");
    let has_default = ctx.snap.ingress_classes.iter().any(|c| {
        c.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("ingressclass.kubernetes.io/is-default-class"))
            .is_some_and(|v| v == "true")
    });
    for ing in &ctx.snap.ingresses {
        let ns = ns_of(&ing.metadata);
        let name = name_of(&ing.metadata);
        let Some(spec) = ing.spec.as_ref() else {
            continue;
        };
        let mut problems: Vec<(String, String, String)> = Vec::new();
        let legacy = ing
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("kubernetes.io/ingress.class"));
        match spec.ingress_class_name.as_deref() {
            Some(c)
                if classes_known
                    && !ctx
                        .snap
                        .ingress_classes
                        .iter()
                        .any(|x| name_of(&x.metadata) == c) =>
            {
                problems.push((
                    "IngressClassNotFound".into(),
                    format!("its ingress class {c} does not exist"),
                    format!("ingress {name}: spec.ingressClassName {c}"),
                ));
            }
            None if classes_known && !legacy && !has_default => problems.push((
                "NoIngressClass".into(),
                "it names no ingress class and the cluster has no default one".into(),
                format!("ingress {name}: no spec.ingressClassName"),
            )),
            _ => {}
        }
        let mut backends: Vec<(String, Option<IntOrString>)> = Vec::new();
        let svc_of = |b: &k8s_openapi::api::networking::v1::IngressBackend| {
            b.service.as_ref().map(|s| {
                let port = s.port.as_ref().and_then(|p| {
                    p.number
                        .map(IntOrString::Int)
                        .or_else(|| p.name.clone().map(IntOrString::String))
                });
                (s.name.clone(), port)
            })
        };
        if let Some(b) = spec.default_backend.as_ref().and_then(svc_of) {
            backends.push(b);
        }
        for r in spec.rules.iter().flatten() {
            for p in r.http.iter().flat_map(|h| h.paths.iter()) {
                if let Some(b) = svc_of(&p.backend) {
                    backends.push(b);
                }
            }
        }
        if ctx.snap.listed("services") {
            backend_problems(ctx, ns, name, &backends, &mut problems);
        }
        if ctx.snap.listed("secrets") {
            for t in spec.tls.iter().flatten() {
                if let Some(sn) = &t.secret_name
                    && !ctx
                        .snap
                        .secrets
                        .iter()
                        .any(|s| ns_of(&s.metadata) == ns && name_of(&s.metadata) == sn.as_str())
                {
                    problems.push((
                        "TLSSecretNotFound".into(),
                        format!("its TLS secret {sn} does not exist"),
                        format!("ingress {name}: tls secretName {sn}"),
                    ));
                }
            }
        }
        if let Some((reason, _, _)) = problems.first() {
            let reason = reason.clone();
            let text: Vec<String> = problems.iter().map(|p| p.1.clone()).collect();
            out.push(finding(
                Severity::Warning,
                "ingress",
                ns,
                name,
                &reason,
                format!(
                    "Ingress {name} cannot route traffic: {}",
                    text.join(", and ")
                ),
                problems.iter().map(|p| p.2.clone()).collect(),
                "fix the ingress class, backend services/ports and TLS secrets the ingress names"
                    .into(),
                backends
                    .iter()
                    .map(|(s, _)| format!("service/{s}"))
                    .collect(),
            ));
        }
    }
}

pub(crate) fn network_policies(ctx: &Ctx<'_>, out: &mut Out) {
    for np in &ctx.snap.network_policies {
        let ns = ns_of(&np.metadata);
        let name = name_of(&np.metadata);
        let Some(spec) = np.spec.as_ref() else {
            continue;
        };
        let Some(sel) = spec.pod_selector.as_ref() else {
            continue;
        };
        let empty = sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
            && sel.match_expressions.as_ref().is_none_or(Vec::is_empty);
        if !empty && ctx.pods_complete() {
            let no_labels = BTreeMap::new();
            let selects_any = selector_of(sel).is_some_and(|s| {
                ctx.pods_in(ns)
                    .iter()
                    .any(|p| s.matches(p.labels().unwrap_or(&no_labels)))
            });
            if !selects_any {
                out.push(finding(
                    Severity::Info,
                    "networkpolicy",
                    ns,
                    name,
                    "SelectsNoPods",
                    format!("NetworkPolicy {name} selects no pod, so it has no effect"),
                    vec![format!("networkpolicy {name}: podSelector matches 0 pods")],
                    "fix its podSelector or delete it".into(),
                    Vec::new(),
                ));
            }
        }
    }
}

pub(crate) fn webhooks(ctx: &Ctx<'_>, out: &mut Out) {
    let mut hooks: Vec<(String, String, Option<String>, String, String)> = Vec::new();
    for w in &ctx.snap.validating_webhooks {
        for h in w.webhooks.iter().flatten() {
            if let Some(s) = &h.client_config.service {
                hooks.push((
                    name_of(&w.metadata).to_string(),
                    h.name.clone(),
                    h.failure_policy.clone(),
                    s.namespace.clone(),
                    s.name.clone(),
                ));
            }
        }
    }
    for w in &ctx.snap.mutating_webhooks {
        for h in w.webhooks.iter().flatten() {
            if let Some(s) = &h.client_config.service {
                hooks.push((
                    name_of(&w.metadata).to_string(),
                    h.name.clone(),
                    h.failure_policy.clone(),
                    s.namespace.clone(),
                    s.name.clone(),
                ));
            }
        }
    }
    for (config, hook, policy, sns, sname) in hooks {
        // Only when the service's namespace was listed: otherwise absence proves nothing.
        let in_scope = ctx.snap.namespace.as_deref().is_none_or(|n| n == sns);
        if !in_scope || ctx.snap.label_selected || !ctx.snap.listed("services") {
            continue;
        }
        let fail = policy.as_deref().unwrap_or("Fail") == "Fail";
        let sev = if fail {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let svc = ctx
            .snap
            .services
            .iter()
            .find(|s| *s.namespace == sns && *s.name == sname);
        let problem = match svc {
            None => Some(format!("its service {sns}/{sname} does not exist")),
            Some(s) => {
                let selector = &*s.selector;
                let ready = ctx.pods_selected(&sns, selector).any(PodRef::is_ready);
                let eps = ready_endpoints(ctx, &sns, &sname).map(|(r, _)| r > 0);
                // Without the pods, only the endpoints can prove there is no ready one.
                let unknown = !ctx.snap.listed("pods") && eps.is_none();
                if selector.is_empty() || ready || eps == Some(true) || unknown {
                    None
                } else {
                    Some(format!("its service {sns}/{sname} has no ready endpoints"))
                }
            }
        };
        if let Some(p) = problem {
            let effect = if fail {
                "with failurePolicy Fail every matching API request is rejected"
            } else {
                "with failurePolicy Ignore requests pass unchecked"
            };
            out.push(finding(
                sev,
                "webhookconfiguration",
                "",
                &config,
                "WebhookUnavailable",
                format!("Admission webhook {hook} ({config}) cannot be called: {p}; {effect}"),
                vec![format!("webhook {hook}: clientConfig.service {sns}/{sname}, failurePolicy {}", policy.as_deref().unwrap_or("Fail"))],
                format!("restore service {sns}/{sname} and its pods, or delete the webhook configuration {config} if it is no longer used"),
                vec![format!("service/{sname}")],
            ));
        }
    }
}

/// Backend services of an ingress that do not exist or lack the port named.
fn backend_problems(
    ctx: &Ctx<'_>,
    ns: &str,
    name: &str,
    backends: &[(String, Option<IntOrString>)],
    problems: &mut Vec<(String, String, String)>,
) {
    for (svc, port) in backends {
        let found = ctx
            .snap
            .services
            .iter()
            .find(|s| &*s.namespace == ns && *s.name == *svc);
        match found {
            None => problems.push((
                "ServiceNotFound".into(),
                format!("its backend service {svc} does not exist"),
                format!("ingress {name}: backend service {svc}"),
            )),
            Some(s) => {
                let ports = &s.ports;
                let ok = match port {
                    Some(IntOrString::Int(n)) => ports.iter().any(|p| p.port == *n),
                    Some(IntOrString::String(n)) => {
                        ports.iter().any(|p| p.name.as_deref() == Some(n.as_str()))
                    }
                    None => true,
                };
                if !ok {
                    let want = match port {
                        Some(IntOrString::Int(n)) => n.to_string(),
                        Some(IntOrString::String(n)) => n.clone(),
                        None => String::new(),
                    };
                    problems.push((
                        "ServicePortNotFound".into(),
                        format!("its backend service {svc} has no port {want}"),
                        format!(
                            "ingress {name}: backend {svc}:{want}; service ports {}",
                            ports
                                .iter()
                                .map(|p| p.port.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
        }
    }
}
