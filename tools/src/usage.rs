//! Resources of containers: requested, limited and (when the metrics API `metrics.k8s.io` is
//! served) used, in human units, so "how much memory is it allowed" has an answer offline.

use kube::api::{ApiResource, DynamicObject, ListParams};
use serde::Serialize;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::k8s::{self, arr, s};
use crate::kinds::Kind;

/// Requests, limits and use of one container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerResources {
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// CPU requested, in cores.
    pub cpu_request: Option<f64>,
    /// CPU limit, in cores.
    pub cpu_limit: Option<f64>,
    /// CPU in use, in cores (metrics API).
    pub cpu_used: Option<f64>,
    /// Memory requested, in bytes.
    pub memory_request: Option<f64>,
    /// Memory limit, in bytes.
    pub memory_limit: Option<f64>,
    /// Memory in use, in bytes (metrics API).
    pub memory_used: Option<f64>,
}

/// Resources of every container of `namespace` (None: every namespace), and whether the
/// metrics API answered (without it, use is unknown and says so).
pub async fn resources(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<(Vec<ContainerResources>, bool), ToolError> {
    let (pods, metrics) = futures::join!(
        k8s::list(cluster, Kind::Pod, namespace, None, None),
        pod_metrics(cluster, namespace)
    );
    let metrics = metrics.ok();
    let mut out = Vec::new();
    for p in pods? {
        let (ns, pod) = (k8s::namespace(&p), k8s::name(&p));
        let used = metrics.as_ref().and_then(|m| {
            m.iter()
                .find(|o| o.metadata.name.as_deref() == Some(pod))
                .map(|o| o.data.clone())
        });
        for c in arr(&p, &["spec", "containers"]) {
            let name = s(c, &["name"]);
            let res = c.get("resources").cloned().unwrap_or(Value::Null);
            let q = |path: &[&str]| k8s::at(&res, path).and_then(quantity);
            let use_of = |what: &str| {
                used.as_ref().and_then(|u| {
                    arr(u, &["containers"])
                        .iter()
                        .find(|m| s(m, &["name"]) == name)
                        .and_then(|m| k8s::at(m, &["usage", what]))
                        .and_then(quantity)
                })
            };
            out.push(ContainerResources {
                namespace: ns.to_string(),
                pod: pod.to_string(),
                container: name.to_string(),
                cpu_request: q(&["requests", "cpu"]),
                cpu_limit: q(&["limits", "cpu"]),
                cpu_used: use_of("cpu"),
                memory_request: q(&["requests", "memory"]),
                memory_limit: q(&["limits", "memory"]),
                memory_used: use_of("memory"),
            });
        }
    }
    Ok((out, metrics.is_some()))
}

async fn pod_metrics(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<Vec<DynamicObject>, kube::Error> {
    let ar = ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    };
    let api: kube::Api<DynamicObject> = match namespace {
        Some(ns) => kube::Api::namespaced_with(cluster.client.clone(), ns, &ar),
        None => kube::Api::all_with(cluster.client.clone(), &ar),
    };
    api.list(&ListParams::default()).await.map(|l| l.items)
}

/// A Kubernetes quantity (`250m`, `128Mi`, `1.5`, `1G`) in base units.
pub fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let text = v.as_str()?.trim();
    let at = text
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(at);
    let factor = match unit {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1_048_576.0,
        "Gi" => 1_073_741_824.0,
        "Ti" => 1_099_511_627_776.0,
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// Bytes as people read them: `512Mi`, `1.5Gi`, `900Ki`.
pub fn human_bytes(b: f64) -> String {
    const UNITS: [(&str, f64); 3] = [("Gi", 1_073_741_824.0), ("Mi", 1_048_576.0), ("Ki", 1024.0)];
    for (unit, size) in UNITS {
        if b >= size {
            let v = b / size;
            return if (v - v.round()).abs() < 0.05 {
                format!("{}{unit}", v.round())
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    format!("{}B", b.round())
}

/// Cores as people read them: `250m`, `2 cores`.
pub fn human_cpu(cores: f64) -> String {
    if cores >= 1.0 && (cores - cores.round()).abs() < 1e-9 {
        format!(
            "{} core{}",
            cores.round(),
            if cores == 1.0 { "" } else { "s" }
        )
    } else {
        format!("{}m", (cores * 1000.0).round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_and_human_units() {
        assert_eq!(quantity(&json!("250m")), Some(0.25));
        assert_eq!(quantity(&json!("128Mi")), Some(134_217_728.0));
        assert_eq!(quantity(&json!(2)), Some(2.0));
        assert_eq!(quantity(&json!("lots")), None);
        assert_eq!(human_bytes(134_217_728.0), "128Mi");
        assert_eq!(human_bytes(1.5 * 1_073_741_824.0), "1.5Gi");
        assert_eq!(human_cpu(0.25), "250m");
        assert_eq!(human_cpu(2.0), "2 cores");
        assert_eq!(human_cpu(1.0), "1 core");
    }
}
