//! Service, Endpoints, EndpointSlice and Ingress rows.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::format::*;
use crate::sim::object::{arr, i, s};

/// The `kubectl get` cells computed by `svc`.
pub(super) fn service_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let ty = match s(o, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = match s(o, "/spec/clusterIP") {
        "" => "<none>".to_string(),
        ip => ip.to_string(),
    };
    let mut external: Vec<String> = arr(o, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let external_str = match ty {
        "ExternalName" => s(o, "/spec/externalName").to_string(),
        "LoadBalancer" => {
            for x in arr(o, "/status/loadBalancer/ingress") {
                let v = match s(x, "/ip") {
                    "" => s(x, "/hostname"),
                    ip => ip,
                };
                if !v.is_empty() {
                    external.push(v.to_string());
                }
            }
            if external.is_empty() {
                "<pending>".into()
            } else {
                external.join(",")
            }
        }
        _ => or_none(external.join(",")),
    };
    let ports: Vec<String> = arr(o, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = match s(p, "/protocol") {
                "" => "TCP",
                x => x,
            };
            let np = i(p, "/nodePort").unwrap_or(0);
            if np > 0 {
                format!("{}:{np}/{proto}", i(p, "/port").unwrap_or(0))
            } else {
                format!("{}/{proto}", i(p, "/port").unwrap_or(0))
            }
        })
        .collect();
    vec![
        json!(s(o, "/metadata/name")),
        json!(ty),
        json!(cluster_ip),
        json!(external_str),
        json!(or_none(ports.join(","))),
        json!(age(o, now)),
        json!(map_cell(o.pointer("/spec/selector"))),
    ]
}

/// The `kubectl get` cells of a Endpoints.
pub(super) fn endpoints_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let mut eps = Vec::new();
    for subset in arr(o, "/subsets") {
        for a in arr(subset, "/addresses") {
            let ports = arr(subset, "/ports");
            if ports.is_empty() {
                eps.push(s(a, "/ip").to_string());
            }
            for p in ports {
                eps.push(format!("{}:{}", s(a, "/ip"), i(p, "/port").unwrap_or(0)));
            }
        }
    }
    let shown = if eps.len() > 3 {
        format!("{} + {} more...", eps[..3].join(","), eps.len() - 3)
    } else {
        or_none(eps.join(","))
    };
    vec![name, json!(shown), json!(age(o, now))]
}

/// The `kubectl get` cells of a EndpointSlice.
pub(super) fn endpoint_slice_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let ports: Vec<String> = arr(o, "/ports")
        .iter()
        .map(|p| match p.get("port").and_then(Value::as_i64) {
            Some(n) => n.to_string(),
            None => "<unset>".into(),
        })
        .collect();
    let addrs: Vec<String> = arr(o, "/endpoints")
        .iter()
        .flat_map(|e| arr(e, "/addresses").iter())
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let brief = |v: Vec<String>| {
        if v.len() > 3 {
            format!("{} + {} more...", v[..3].join(","), v.len() - 3)
        } else if v.is_empty() {
            "<unset>".into()
        } else {
            v.join(",")
        }
    };
    vec![
        name,
        json!(s(o, "/addressType")),
        json!(brief(ports)),
        json!(brief(addrs)),
        json!(age(o, now)),
    ]
}

/// The `kubectl get` cells of a Ingress.
pub(super) fn ingress_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let hosts: Vec<&str> = arr(o, "/spec/rules")
        .iter()
        .map(|r| match s(r, "/host") {
            "" => "*",
            h => h,
        })
        .collect();
    let addrs: Vec<&str> = arr(o, "/status/loadBalancer/ingress")
        .iter()
        .map(|x| match s(x, "/ip") {
            "" => s(x, "/hostname"),
            ip => ip,
        })
        .collect();
    let ports = if arr(o, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name,
        json!(or_none(s(o, "/spec/ingressClassName").to_string())),
        json!(if hosts.is_empty() {
            "*".to_string()
        } else {
            hosts.join(",")
        }),
        json!(addrs.join(",")),
        json!(ports),
        json!(age(o, now)),
    ]
}
