//! Discovery documents: `/version`, `/api`, `/apis` (legacy lists and aggregated v2 / v2beta1),
//! `/api/v1` and `/apis/GROUP/VERSION` resource lists.

use serde_json::{Value, json};

use crate::resources::{RESOURCES, ResourceType, verbs_of};

/// `GET /version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-kai-sandbox",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// The served types: the built-ins, then the custom types of this sandbox's definitions.
fn all<'a>(
    custom: &'a [&'static ResourceType],
) -> impl Iterator<Item = &'static ResourceType> + 'a {
    RESOURCES.iter().chain(custom.iter().copied())
}

/// Groups in discovery order, each with its one served version.
fn groups(custom: &[&'static ResourceType]) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in all(custom) {
        if !r.group.is_empty() && !out.iter().any(|(g, _)| *g == r.group) {
            out.push((r.group, r.version));
        }
    }
    out.push((super::metrics::GROUP, super::metrics::VERSION));
    out
}

/// `GET /api` (legacy `APIVersions`).
pub fn api_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]
    })
}

fn group_doc(g: &str, v: &str) -> Value {
    let gv = format!("{g}/{v}");
    json!({
        "name": g,
        "versions": [{"groupVersion": gv, "version": v}],
        "preferredVersion": {"groupVersion": gv, "version": v}
    })
}

/// `GET /apis` (legacy `APIGroupList`).
pub fn api_group_list(custom: &[&'static ResourceType]) -> Value {
    let groups: Vec<Value> = groups(custom)
        .iter()
        .map(|(g, v)| group_doc(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/GROUP` (`APIGroup`), if the group is served.
pub fn api_group(group: &str, custom: &[&'static ResourceType]) -> Option<Value> {
    groups(custom)
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(g, v)| {
            let mut d = group_doc(g, v);
            d["kind"] = json!("APIGroup");
            d["apiVersion"] = json!("v1");
            d
        })
}

fn sub_kind(r: &ResourceType, sub: &str) -> (&'static str, &'static str, &'static str) {
    match sub {
        "scale" => ("autoscaling", "v1", "Scale"),
        "eviction" => ("policy", "v1", "Eviction"),
        _ => (r.group, r.version, r.kind),
    }
}

fn sub_verbs(sub: &str) -> &'static [&'static str] {
    match sub {
        "log" => &["get"],
        "eviction" => &["create"],
        _ => &["get", "patch", "update"],
    }
}

/// `GET /api/v1` or `/apis/GROUP/VERSION` (`APIResourceList`), if served.
pub fn resource_list(
    group: &str,
    version: &str,
    custom: &[&'static ResourceType],
) -> Option<Value> {
    if group == super::metrics::GROUP {
        return super::metrics::resource_list(version);
    }
    let served: Vec<&ResourceType> = all(custom)
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for r in served {
        let mut doc = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": verbs_of(r),
        });
        if !r.short_names.is_empty() {
            doc["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            doc["categories"] = json!(r.categories);
        }
        resources.push(doc);
        for sub in r.subresources {
            let (g, v, k) = sub_kind(r, sub);
            let mut s = json!({
                "name": format!("{}/{sub}", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": k,
                "verbs": sub_verbs(sub),
            });
            if *sub == "scale" || *sub == "eviction" {
                s["group"] = json!(g);
                s["version"] = json!(v);
            }
            resources.push(s);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources
    }))
}

fn aggregated_resource(r: &ResourceType) -> Value {
    let mut doc = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": verbs_of(r),
    });
    if !r.short_names.is_empty() {
        doc["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        doc["categories"] = json!(r.categories);
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|sub| {
                let (g, v, k) = sub_kind(r, sub);
                json!({
                    "subresource": sub,
                    "responseKind": {"group": g, "version": v, "kind": k},
                    "verbs": sub_verbs(sub),
                })
            })
            .collect();
        doc["subresources"] = json!(subs);
    }
    doc
}

/// Aggregated discovery (`APIGroupDiscoveryList`) for `/api` (`core`) or `/apis`.
pub fn aggregated(core: bool, api_version: &str, custom: &[&'static ResourceType]) -> Value {
    let mut items = Vec::new();
    let mut add = |g: &str, v: &str| {
        let resources: Vec<Value> = if g == super::metrics::GROUP {
            super::metrics::aggregated_resources()
        } else {
            all(custom)
                .filter(|r| r.group == g && r.version == v)
                .map(aggregated_resource)
                .collect()
        };
        let mut meta = json!({"creationTimestamp": null});
        if !g.is_empty() {
            meta["name"] = json!(g);
        }
        items.push(json!({
            "metadata": meta,
            "versions": [{"version": v, "resources": resources, "freshness": "Current"}]
        }));
    };
    if core {
        add("", "v1");
    } else {
        for (g, v) in groups(custom) {
            add(g, v);
        }
    }
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{api_version}"),
        "metadata": {},
        "items": items
    })
}

/// The aggregated discovery version the `Accept` header asks for (`v2` or `v2beta1`), if any.
pub fn wants_aggregated(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        if part.contains("as=APIGroupDiscoveryList") && part.contains("g=apidiscovery.k8s.io") {
            if part.contains("v=v2beta1") {
                return Some("v2beta1");
            }
            if part.contains("v=v2") {
                return Some("v2");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_lists_subresources() {
        let core = resource_list("", "v1", &[]).unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"pods/log"));
        let apps = resource_list("apps", "v1", &[]).unwrap();
        let scale = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(scale["kind"], "Scale");
        assert!(resource_list("apps", "v2", &[]).is_none());
        assert_eq!(
            wants_aggregated(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
            ),
            Some("v2")
        );
        let agg = aggregated(false, "v2", &[]);
        assert!(
            agg["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["metadata"]["name"] == "apps")
        );
    }
}
