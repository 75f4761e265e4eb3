//! Loose name resolution: "backend" finds deployment `backend-api`, a pod finds its workload.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::suggest::edit_distance;

/// An object whose name matches a user's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// Lower-case kind: deployment, statefulset, daemonset, job, cronjob, service, pod.
    pub kind: &'static str,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// How well it matches, higher is better.
    pub score: u32,
}

impl Candidate {
    /// `deployment shop/backend`.
    pub fn display(&self) -> String {
        crate::format::object_name(self.kind, &self.namespace, &self.name)
    }
}

/// How well `name` matches the user's `hint` (0 = not at all).
pub fn match_score(hint: &str, name: &str) -> u32 {
    let hint = hint.trim().to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    if hint.is_empty() {
        return 0;
    }
    if name == hint {
        return 100;
    }
    let tokens: Vec<&str> = name.split(['-', '.', '_']).collect();
    if name.starts_with(&format!("{hint}-")) {
        return 85;
    }
    if tokens.contains(&hint.as_str()) {
        return 75;
    }
    if name.starts_with(&hint) {
        return 70;
    }
    if name.contains(&hint) {
        return 60;
    }
    // Plurals and small typos: "backends", "backnd".
    let singular = hint.strip_suffix('s').unwrap_or(&hint);
    if singular.len() >= 3 && (name == singular || tokens.contains(&singular)) {
        return 65;
    }
    let best_token = tokens
        .iter()
        .map(|t| edit_distance(&hint, t))
        .chain(std::iter::once(edit_distance(&hint, &name)))
        .min()
        .unwrap_or(usize::MAX);
    if hint.len() >= 4 && best_token <= 2 {
        return 40 - 10 * best_token as u32;
    }
    0
}

fn kind_rank(kind: &str) -> u32 {
    match kind {
        "deployment" => 6,
        "statefulset" => 5,
        "daemonset" => 4,
        "cronjob" => 3,
        "job" => 2,
        "service" => 1,
        _ => 0,
    }
}

/// Finds the objects matching `hint`, best first: workloads before services before pods,
/// and a matching pod stands for its owning workload. Looks in `namespace` (default: the
/// cluster's), then in every namespace when nothing matches there.
pub async fn find(
    cluster: &Cluster,
    hint: &str,
    namespace: Option<&str>,
) -> Result<Vec<Candidate>, ToolError> {
    let ns = cluster.ns(namespace).to_string();
    let mut found = find_in(cluster, hint, Some(&ns)).await?;
    if found.is_empty() {
        found = find_in(cluster, hint, None).await?;
    }
    Ok(found)
}

async fn find_in(
    cluster: &Cluster,
    hint: &str,
    ns: Option<&str>,
) -> Result<Vec<Candidate>, ToolError> {
    let c = cluster.client.clone();
    let lp = ListParams::default();
    macro_rules! api {
        ($t:ty) => {
            match ns {
                Some(n) => Api::<$t>::namespaced(c.clone(), n),
                None => Api::<$t>::all(c.clone()),
            }
        };
    }
    let (a1, a2, a3, a4, a5, a6, a7) = (
        api!(Deployment),
        api!(StatefulSet),
        api!(DaemonSet),
        api!(Job),
        api!(CronJob),
        api!(Service),
        api!(Pod),
    );
    let (deploys, stss, dss, jobs, cjs, svcs, pods) = futures::join!(
        a1.list_metadata(&lp),
        a2.list_metadata(&lp),
        a3.list_metadata(&lp),
        a4.list_metadata(&lp),
        a5.list_metadata(&lp),
        a6.list_metadata(&lp),
        a7.list_metadata(&lp),
    );
    let mut out: Vec<Candidate> = Vec::new();
    let mut push =
        |kind: &'static str, list: Result<Vec<ObjectMeta>, kube::Error>| -> Result<(), ToolError> {
            let list = match list {
                Ok(l) => l,
                // A kind we may not list is simply not searched.
                Err(kube::Error::Api(s)) if s.code == 403 || s.code == 404 => return Ok(()),
                Err(e) => {
                    let plural = format!("{kind}s");
                    return Err(ToolError::from_kube(e, cluster, "list", &plural, ns));
                }
            };
            for meta in list {
                let name = meta.name.unwrap_or_default();
                let namespace = meta.namespace.unwrap_or_default();
                let mut score = match_score(hint, &name);
                if kind == "pod" {
                    // A pod stands for its workload; keep it only if no workload matches better.
                    score = score.saturating_sub(20);
                }
                if score > 0 {
                    out.push(Candidate {
                        kind,
                        namespace,
                        name,
                        score,
                    });
                }
            }
            Ok(())
        };
    push("deployment", metas(deploys))?;
    push("statefulset", metas(stss))?;
    push("daemonset", metas(dss))?;
    push("job", metas(jobs))?;
    push("cronjob", metas(cjs))?;
    push("service", metas(svcs))?;
    push("pod", metas(pods))?;
    out.sort_by(|a, b| {
        (b.score, kind_rank(b.kind))
            .cmp(&(a.score, kind_rank(a.kind)))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}

type MetaList<K> = Result<kube::core::ObjectList<kube::core::PartialObjectMeta<K>>, kube::Error>;

fn metas<K: Clone>(list: MetaList<K>) -> Result<Vec<ObjectMeta>, kube::Error> {
    list.map(|l| l.items.into_iter().map(|i| i.metadata).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_rank_exact_prefix_token_typo() {
        assert_eq!(match_score("backend", "backend"), 100);
        assert!(match_score("backend", "backend-api") > match_score("backend", "shop-backend-v2"));
        assert!(match_score("backend", "shop-backend") > 0);
        assert!(match_score("backnd", "backend") > 0);
        assert!(match_score("backends", "backend") > 0);
        assert_eq!(match_score("frontend", "database"), 0);
        assert_eq!(match_score("db", "redis"), 0);
    }
}
