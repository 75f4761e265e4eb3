//! The API server's validation rules for the common kinds, over decoded JSON objects.

use serde_json::{Map, Value, json};

use super::fields::FieldError;
use crate::error::ApiError;
use crate::resources::ResourceType;

type Errs = Vec<FieldError>;

const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const DNS_POLICIES: &[&str] = &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const QUANTITY_RE: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// The field errors of `obj` as `rt`; `Err` for what the API server refuses while decoding
/// (malformed quantities).
pub fn validate(rt: &ResourceType, obj: &Value) -> Result<Vec<FieldError>, ApiError> {
    let mut e = Errs::new();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    labels("metadata.labels", obj.pointer("/metadata/labels"), &mut e);
    let spec = obj.get("spec").cloned().unwrap_or_else(|| json!({}));
    match (rt.group, rt.kind) {
        ("", "Namespace") => dns_label("metadata.name", name, &mut e),
        ("", "Pod") => {
            let restart = &["Always", "OnFailure", "Never"];
            pod_spec("spec", &spec, restart, &mut e)?;
        }
        ("", "Service") => {
            dns1035("metadata.name", name, &mut e);
            service(&spec, &mut e);
        }
        ("", "ConfigMap") | ("", "Secret") => config_keys(obj, &mut e),
        ("", "PersistentVolumeClaim") => claim("spec", &spec, &mut e)?,
        ("", "ResourceQuota") => {
            if let Some(m) = spec.get("hard").and_then(Value::as_object) {
                for (k, v) in m {
                    quantity(&format!("spec.hard[{k}]"), v, &mut e)?;
                }
            }
        }
        ("apps", "Deployment") => {
            replicas(&spec, &mut e);
            selector_and_template(&spec, &mut e);
            pod_template(&spec, &["Always"], &mut e)?;
            if let Some(t) = spec.pointer("/strategy/type") {
                one_of(
                    "spec.strategy.type",
                    t,
                    &["Recreate", "RollingUpdate"],
                    &mut e,
                );
            }
        }
        ("apps", "ReplicaSet") => {
            replicas(&spec, &mut e);
            selector_and_template(&spec, &mut e);
            pod_template(&spec, &["Always"], &mut e)?;
        }
        ("apps", "StatefulSet") => {
            replicas(&spec, &mut e);
            selector_and_template(&spec, &mut e);
            pod_template(&spec, &["Always"], &mut e)?;
            if let Some(p) = spec.get("podManagementPolicy") {
                let ok = &["OrderedReady", "Parallel"];
                one_of("spec.podManagementPolicy", p, ok, &mut e);
            }
            if let Some(t) = spec.pointer("/updateStrategy/type") {
                let ok = &["OnDelete", "RollingUpdate"];
                one_of("spec.updateStrategy.type", t, ok, &mut e);
            }
            for (i, c) in array(&spec, "volumeClaimTemplates").iter().enumerate() {
                let cs = c.get("spec").cloned().unwrap_or_else(|| json!({}));
                claim(&format!("spec.volumeClaimTemplates[{i}].spec"), &cs, &mut e)?;
            }
        }
        ("apps", "DaemonSet") => {
            selector_and_template(&spec, &mut e);
            pod_template(&spec, &["Always"], &mut e)?;
        }
        ("batch", "Job") => job("spec", &spec, &mut e)?,
        ("batch", "CronJob") => {
            match spec.get("schedule").and_then(Value::as_str) {
                None | Some("") => e.push(FieldError::required("spec.schedule", "")),
                Some(s) if s.split_whitespace().count() != 5 && !s.starts_with('@') => {
                    e.push(FieldError::invalid(
                        "spec.schedule",
                        json!(s),
                        format!(
                            "invalid schedule: expected exactly 5 fields, found {}: {s}",
                            s.split_whitespace().count()
                        ),
                    ));
                }
                _ => {}
            }
            if let Some(p) = spec.get("concurrencyPolicy") {
                let ok = &["Allow", "Forbid", "Replace"];
                one_of("spec.concurrencyPolicy", p, ok, &mut e);
            }
            let js = spec
                .pointer("/jobTemplate/spec")
                .cloned()
                .unwrap_or_else(|| json!({}));
            job("spec.jobTemplate.spec", &js, &mut e)?;
        }
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(&spec, &mut e),
        ("policy", "PodDisruptionBudget")
            if spec.get("minAvailable").is_some() && spec.get("maxUnavailable").is_some() =>
        {
            e.push(FieldError::invalid(
                "spec",
                spec.clone(),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        _ => {}
    }
    Ok(e)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn one_of(field: &str, v: &Value, supported: &[&'static str], e: &mut Errs) {
    if !v.as_str().is_some_and(|s| supported.contains(&s)) {
        e.push(FieldError::not_supported(field, v.clone(), supported));
    }
}

fn non_negative(field: &str, v: Option<&Value>, e: &mut Errs) {
    if let Some(n) = v.and_then(Value::as_i64)
        && n < 0
    {
        e.push(FieldError::invalid(
            field,
            json!(n),
            "must be greater than or equal to 0",
        ));
    }
}

/// The most pods one workload may ask for in the sandbox. A real API server takes any int32,
/// but the sandbox simulates every pod in memory: a scenario or a `kubectl scale` asking for
/// millions would grow without bound, so it is refused with the API server's wording.
pub const MAX_SIMULATED_REPLICAS: i64 = 5000;

/// Whether a pod count is a number over [`MAX_SIMULATED_REPLICAS`] (or past i64).
pub fn too_many_pods(v: &Value) -> bool {
    matches!(v, Value::Number(n) if n.as_i64().is_none_or(|n| n > MAX_SIMULATED_REPLICAS))
}

/// At most [`MAX_SIMULATED_REPLICAS`].
fn simulated(field: &str, v: Option<&Value>, e: &mut Errs) {
    if let Some(v) = v.filter(|v| too_many_pods(v)) {
        e.push(FieldError::invalid(
            field,
            v.clone(),
            format!(
                "must be less than or equal to {MAX_SIMULATED_REPLICAS} in the kai sandbox (it simulates every pod)"
            ),
        ));
    }
}

fn replicas(spec: &Value, e: &mut Errs) {
    non_negative("spec.replicas", spec.get("replicas"), e);
    simulated("spec.replicas", spec.get("replicas"), e);
}

/// A workload's selector: required, not empty, and matching its template's labels.
fn selector_and_template(spec: &Value, e: &mut Errs) {
    let template_labels = spec
        .pointer("/template/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    labels("spec.template.metadata.labels", Some(&template_labels), e);
    let mismatch = |e: &mut Errs| {
        e.push(FieldError::invalid(
            "spec.template.metadata.labels",
            template_labels.clone(),
            "`selector` does not match template `labels`",
        ));
    };
    let Some(sel) = spec.get("selector").filter(|s| s.is_object()) else {
        e.push(FieldError::required("spec.selector", ""));
        mismatch(e);
        return;
    };
    let match_labels = sel.get("matchLabels").and_then(Value::as_object);
    let exprs = array(sel, "matchExpressions");
    if match_labels.is_none_or(Map::is_empty) && exprs.is_empty() {
        e.push(FieldError::invalid(
            "spec.selector",
            sel.clone(),
            "empty selector is invalid for deployment",
        ));
        return;
    }
    labels("spec.selector.matchLabels", sel.get("matchLabels"), e);
    if !crate::sim::labels::selects(sel, &template_labels) {
        mismatch(e);
    }
}

fn pod_template(spec: &Value, restart: &[&'static str], e: &mut Errs) -> Result<(), ApiError> {
    let ps = spec
        .pointer("/template/spec")
        .cloned()
        .unwrap_or_else(|| json!({}));
    pod_spec("spec.template.spec", &ps, restart, e)
}

fn job(path: &str, spec: &Value, e: &mut Errs) -> Result<(), ApiError> {
    for k in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
    ] {
        non_negative(&format!("{path}.{k}"), spec.get(k), e);
    }
    for k in ["parallelism", "completions"] {
        simulated(&format!("{path}.{k}"), spec.get(k), e);
    }
    let ps = spec
        .pointer("/template/spec")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let field = format!("{path}.template.spec.restartPolicy");
    match ps.get("restartPolicy") {
        None => e.push(FieldError::required(
            field,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        Some(v) => one_of(&field, v, &["OnFailure", "Never"], e),
    }
    let mut ps = ps;
    if let Some(m) = ps.as_object_mut() {
        // Checked above with a Job's own wording.
        m.remove("restartPolicy");
    }
    pod_spec(&format!("{path}.template.spec"), &ps, &[], e)
}

fn pod_spec(
    path: &str,
    spec: &Value,
    restart: &[&'static str],
    e: &mut Errs,
) -> Result<(), ApiError> {
    let containers = array(spec, "containers");
    if containers.is_empty() {
        e.push(FieldError::required(format!("{path}.containers"), ""));
    }
    let mut names: Vec<&str> = Vec::new();
    for key in ["initContainers", "containers"] {
        for (i, c) in array(spec, key).iter().enumerate() {
            let at = format!("{path}.{key}[{i}]");
            container(&at, c, e)?;
            if let Some(n) = c["name"].as_str().filter(|n| !n.is_empty()) {
                if names.contains(&n) {
                    e.push(FieldError::duplicate(format!("{at}.name"), json!(n)));
                }
                names.push(n);
            }
        }
    }
    if !restart.is_empty()
        && let Some(r) = spec.get("restartPolicy")
    {
        one_of(&format!("{path}.restartPolicy"), r, restart, e);
    }
    if let Some(d) = spec.get("dnsPolicy") {
        one_of(&format!("{path}.dnsPolicy"), d, DNS_POLICIES, e);
    }
    non_negative(
        &format!("{path}.terminationGracePeriodSeconds"),
        spec.get("terminationGracePeriodSeconds"),
        e,
    );
    let mut volumes: Vec<&str> = Vec::new();
    for (i, v) in array(spec, "volumes").iter().enumerate() {
        let at = format!("{path}.volumes[{i}].name");
        match v["name"].as_str() {
            None | Some("") => e.push(FieldError::required(at, "")),
            Some(n) if volumes.contains(&n) => e.push(FieldError::duplicate(at, json!(n))),
            Some(n) => {
                dns_label(&at, n, e);
                volumes.push(n);
            }
        }
    }
    Ok(())
}

fn container(at: &str, c: &Value, e: &mut Errs) -> Result<(), ApiError> {
    match c["name"].as_str() {
        None | Some("") => e.push(FieldError::required(format!("{at}.name"), "")),
        Some(n) => dns_label(&format!("{at}.name"), n, e),
    }
    if c["image"].as_str().is_none_or(|i| i.trim().is_empty()) {
        e.push(FieldError::required(format!("{at}.image"), ""));
    }
    if let Some(p) = c.get("imagePullPolicy") {
        one_of(&format!("{at}.imagePullPolicy"), p, PULL_POLICIES, e);
    }
    for (i, p) in array(c, "ports").iter().enumerate() {
        let pat = format!("{at}.ports[{i}]");
        match p.get("containerPort") {
            None => e.push(FieldError::required(format!("{pat}.containerPort"), "")),
            Some(v) => port_range(&format!("{pat}.containerPort"), v, e),
        }
        if let Some(proto) = p.get("protocol") {
            one_of(&format!("{pat}.protocol"), proto, PROTOCOLS, e);
        }
        if let Some(n) = p["name"].as_str() {
            port_name(&format!("{pat}.name"), n, e);
        }
    }
    resources(&format!("{at}.resources"), c.get("resources"), e)?;
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get(probe) {
            for k in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds"] {
                non_negative(&format!("{at}.{probe}.{k}"), p.get(k), e);
            }
        }
    }
    Ok(())
}

fn resources(at: &str, r: Option<&Value>, e: &mut Errs) -> Result<(), ApiError> {
    let Some(r) = r else {
        return Ok(());
    };
    let mut parsed: [Vec<(String, f64, String)>; 2] = [Vec::new(), Vec::new()];
    for (slot, which) in ["limits", "requests"].iter().enumerate() {
        if let Some(m) = r.get(*which).and_then(Value::as_object) {
            for (k, v) in m {
                if let Some(n) = quantity(&format!("{at}.{which}[{k}]"), v, e)? {
                    parsed[slot].push((k.clone(), n, quantity_text(v)));
                }
            }
        }
    }
    let [limits, requests] = parsed;
    for (k, req, text) in &requests {
        if let Some((_, lim, lim_text)) = limits.iter().find(|(lk, _, _)| lk == k)
            && req > lim
        {
            e.push(FieldError::invalid(
                format!("{at}.requests"),
                json!(text),
                format!("must be less than or equal to {k} limit of {lim_text}"),
            ));
        }
    }
    Ok(())
}

fn quantity_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses a quantity (`500m`, `1Gi`, `2`, `1e3`); a malformed one is refused as the API
/// server's decoder refuses it, a negative one is a field error.
fn quantity(field: &str, v: &Value, e: &mut Errs) -> Result<Option<f64>, ApiError> {
    let text = quantity_text(v);
    let Some(n) = parse_quantity(&text) else {
        return Err(ApiError::bad_request(format!(
            "quantities must match the regular expression '{QUANTITY_RE}'"
        )));
    };
    if n < 0.0 {
        e.push(FieldError::invalid(
            field,
            json!(text),
            "must be greater than or equal to 0",
        ));
        return Ok(None);
    }
    Ok(Some(n))
}

/// The value of a Kubernetes quantity, if it is one.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    if num.is_empty() || num.chars().skip(1).any(|c| c == '+' || c == '-') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => {
            let digits = exp.strip_prefix(['e', 'E'])?;
            let p: i32 = digits.parse().ok()?;
            10f64.powi(p)
        }
    };
    Some(n * factor)
}

fn port_range(field: &str, v: &Value, e: &mut Errs) {
    if !v.as_i64().is_some_and(|p| (1..=65535).contains(&p)) {
        e.push(FieldError::invalid(
            field,
            v.clone(),
            "must be between 1 and 65535, inclusive",
        ));
    }
}

fn port_name(field: &str, n: &str, e: &mut Errs) {
    let ok = !n.is_empty()
        && n.len() <= 15
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && n.chars().any(|c| c.is_ascii_lowercase())
        && !n.starts_with('-')
        && !n.ends_with('-')
        && !n.contains("--");
    if !ok {
        e.push(FieldError::invalid(
            field,
            json!(n),
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ));
    }
}

fn service(spec: &Value, e: &mut Errs) {
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    if let Some(t) = spec.get("type") {
        let ok = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
        one_of("spec.type", t, ok, e);
    }
    if let Some(a) = spec.get("sessionAffinity") {
        one_of("spec.sessionAffinity", a, &["ClientIP", "None"], e);
    }
    let ports = array(spec, "ports");
    let headless = spec["clusterIP"].as_str() == Some("None");
    if kind == "ExternalName" {
        if spec["externalName"].as_str().is_none_or(str::is_empty) {
            e.push(FieldError::required("spec.externalName", ""));
        }
    } else if ports.is_empty() && !headless {
        e.push(FieldError::required("spec.ports", ""));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        match p["name"].as_str().filter(|n| !n.is_empty()) {
            None if ports.len() > 1 => e.push(FieldError::required(format!("{at}.name"), "")),
            None => {}
            Some(n) if names.contains(&n) => {
                e.push(FieldError::duplicate(format!("{at}.name"), json!(n)));
            }
            Some(n) => {
                dns_label(&format!("{at}.name"), n, e);
                names.push(n);
            }
        }
        match p.get("port") {
            None => e.push(FieldError::required(format!("{at}.port"), "")),
            Some(v) => port_range(&format!("{at}.port"), v, e),
        }
        if let Some(proto) = p.get("protocol") {
            one_of(&format!("{at}.protocol"), proto, PROTOCOLS, e);
        }
        if let Some(t) = p.get("targetPort").filter(|t| t.is_number()) {
            port_range(&format!("{at}.targetPort"), t, e);
        }
    }
}

fn claim(path: &str, spec: &Value, e: &mut Errs) -> Result<(), ApiError> {
    let modes = array(spec, "accessModes");
    if modes.is_empty() {
        e.push(FieldError::required(
            format!("{path}.accessModes"),
            "at least 1 access mode is required",
        ));
    }
    for (i, m) in modes.iter().enumerate() {
        let ok = &[
            "ReadOnlyMany",
            "ReadWriteMany",
            "ReadWriteOnce",
            "ReadWriteOncePod",
        ];
        one_of(&format!("{path}.accessModes[{i}]"), m, ok, e);
    }
    match spec.pointer("/resources/requests/storage") {
        None => e.push(FieldError::required(
            format!("{path}.resources[storage]"),
            "",
        )),
        Some(v) => {
            quantity(&format!("{path}.resources[storage]"), v, e)?;
        }
    }
    if let Some(m) = spec.get("volumeMode") {
        one_of(
            &format!("{path}.volumeMode"),
            m,
            &["Block", "Filesystem"],
            e,
        );
    }
    Ok(())
}

fn hpa(spec: &Value, e: &mut Errs) {
    let min = spec.get("minReplicas").and_then(Value::as_i64).unwrap_or(1);
    if min < 1 {
        e.push(FieldError::invalid(
            "spec.minReplicas",
            json!(min),
            "must be greater than or equal to 1",
        ));
    }
    match spec.get("maxReplicas").and_then(Value::as_i64) {
        None => e.push(FieldError::required("spec.maxReplicas", "")),
        Some(max) if max < min => e.push(FieldError::invalid(
            "spec.maxReplicas",
            json!(max),
            "must be greater than or equal to `minReplicas`",
        )),
        Some(_) => {}
    }
    if spec
        .pointer("/scaleTargetRef/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        e.push(FieldError::required("spec.scaleTargetRef.name", ""));
    }
}

fn config_keys(obj: &Value, e: &mut Errs) {
    for field in ["data", "binaryData", "stringData"] {
        if let Some(m) = obj.get(field).and_then(Value::as_object) {
            for k in m.keys() {
                let ok = !k.is_empty()
                    && k.len() <= 253
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                    && k != "."
                    && k != ".."
                    && !k.starts_with("..");
                if !ok {
                    e.push(FieldError::invalid(
                        format!("{field}[{k}]"),
                        json!(k),
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                    ));
                }
            }
        }
    }
}

fn dns_label(field: &str, s: &str, e: &mut Errs) {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        e.push(FieldError::invalid(
            field,
            json!(s),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ));
    }
}

fn dns1035(field: &str, s: &str, e: &mut Errs) {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        e.push(FieldError::invalid(
            field,
            json!(s),
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ));
    }
}

/// A label name or value part: at most 63 letters, digits, `-`, `_` and `.`, starting and
/// ending with a letter or digit.
pub(crate) fn label_part_ok(s: &str) -> bool {
    s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Label keys (`prefix/name`) and values, as `metav1validation.ValidateLabels` checks them.
fn labels(field: &str, labels: Option<&Value>, e: &mut Errs) {
    let Some(m) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in m {
        let name = k.rsplit_once('/').map_or(k.as_str(), |(_, n)| n);
        let prefix_ok = k.rsplit_once('/').is_none_or(|(p, _)| {
            !p.is_empty()
                && p.len() <= 253
                && p.split('.').all(|l| {
                    !l.is_empty()
                        && l.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                })
        });
        if !prefix_ok || !label_part_ok(name) {
            e.push(FieldError::invalid(
                field,
                json!(k),
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            ));
        }
        let value = v.as_str().unwrap_or("");
        if !value.is_empty() && !label_part_ok(value) {
            e.push(FieldError::invalid(
                field,
                json!(value),
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ));
        }
    }
}
