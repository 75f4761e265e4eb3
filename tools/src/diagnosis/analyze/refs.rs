//! References a pod makes to Secrets, ConfigMaps and their keys, checked against what exists.

use k8s_openapi::api::core::v1::Pod;

use super::issue::MissingRef;
use super::{Ctx, name_of, ns_of};

fn secret_keys(ctx: &Ctx<'_>, ns: &str, name: &str) -> Option<Vec<String>> {
    let s = ctx
        .snap
        .secrets
        .iter()
        .find(|s| ns_of(&s.metadata) == ns && name_of(&s.metadata) == name)?;
    Some(
        s.data
            .iter()
            .flat_map(|d| d.keys().cloned())
            .chain(s.string_data.iter().flat_map(|d| d.keys().cloned()))
            .collect(),
    )
}

fn config_map_keys(ctx: &Ctx<'_>, ns: &str, name: &str) -> Option<Vec<String>> {
    let c = ctx
        .snap
        .config_maps
        .iter()
        .find(|s| ns_of(&s.metadata) == ns && name_of(&s.metadata) == name)?;
    Some(
        c.data
            .iter()
            .flat_map(|d| d.keys().cloned())
            .chain(c.binary_data.iter().flat_map(|d| d.keys().cloned()))
            .collect(),
    )
}

/// References of a pod to Secrets, ConfigMaps or keys that do not exist (only for kinds that
/// could be listed: otherwise absence is unknown).
pub(crate) fn missing_refs(ctx: &Ctx<'_>, pod: &Pod) -> Vec<MissingRef> {
    let ns = ns_of(&pod.metadata);
    let mut out: Vec<MissingRef> = Vec::new();
    let check =
        |kind: &str, name: &str, key: Option<&str>, optional: bool, out: &mut Vec<MissingRef>| {
            if !optional {
                check_ref(ctx, ns, kind, name, key, out);
            }
        };
    let Some(spec) = pod.spec.as_ref() else {
        return out;
    };
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        for e in c.env.iter().flatten() {
            let Some(from) = &e.value_from else { continue };
            if let Some(s) = &from.secret_key_ref {
                check(
                    "secret",
                    &s.name,
                    Some(&s.key),
                    s.optional == Some(true),
                    &mut out,
                );
            }
            if let Some(s) = &from.config_map_key_ref {
                check(
                    "configmap",
                    &s.name,
                    Some(&s.key),
                    s.optional == Some(true),
                    &mut out,
                );
            }
        }
        for f in c.env_from.iter().flatten() {
            if let Some(s) = &f.secret_ref {
                check("secret", &s.name, None, s.optional == Some(true), &mut out);
            }
            if let Some(s) = &f.config_map_ref {
                check(
                    "configmap",
                    &s.name,
                    None,
                    s.optional == Some(true),
                    &mut out,
                );
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(s) = &v.secret {
            if let Some(n) = &s.secret_name {
                check("secret", n, None, s.optional == Some(true), &mut out);
            }
            for item in s.items.iter().flatten() {
                if let Some(n) = &s.secret_name {
                    check(
                        "secret",
                        n,
                        Some(&item.key),
                        s.optional == Some(true),
                        &mut out,
                    );
                }
            }
        }
        if let Some(s) = &v.config_map {
            check(
                "configmap",
                &s.name,
                None,
                s.optional == Some(true),
                &mut out,
            );
            for item in s.items.iter().flatten() {
                check(
                    "configmap",
                    &s.name,
                    Some(&item.key),
                    s.optional == Some(true),
                    &mut out,
                );
            }
        }
    }
    out
}

/// Adds the reference (object, or key of it) to `out` when it does not exist; silent for kinds
/// that could not be listed (absence is then unknown).
fn check_ref(
    ctx: &Ctx<'_>,
    ns: &str,
    kind: &str,
    name: &str,
    key: Option<&str>,
    out: &mut Vec<MissingRef>,
) {
    let secrets_ok = ctx.snap.listed("secrets");
    let cms_ok = ctx.snap.listed("configmaps");
    let keys = match kind {
        "secret" if secrets_ok => secret_keys(ctx, ns, name),
        "configmap" if cms_ok => config_map_keys(ctx, ns, name),
        _ => return,
    };
    let related = format!("{kind}/{name}");
    let m = match (keys, key) {
        (None, _) => MissingRef {
            text: format!("{kind} {name} does not exist"),
            related: related.clone(),
            fix: format!(
                "create {kind} {name} in namespace {ns} (or fix the reference in the pod template)"
            ),
        },
        (Some(keys), Some(k)) if !keys.iter().any(|x| x == k) => MissingRef {
            text: format!(
                "{kind} {name} has no key {k} (keys: {})",
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ),
            related: related.clone(),
            fix: format!("add key {k} to {kind} {name}, or reference one of its existing keys"),
        },
        _ => return,
    };
    if !out.iter().any(|o| o.text == m.text) {
        out.push(m);
    }
}
