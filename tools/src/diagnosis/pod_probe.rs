//! Pods read from a list page without building a typed Pod for each settled one: each item of
//! the page is first read for the few fields that say whether it is settled (and, if so, all
//! its summary needs); only the others are decoded whole. On a large cluster most pods are
//! settled, and a typed Pod costs far more to build and drop than the summary.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use kube::Resource;
use kube::api::ListParams;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::strip::{Interner, Kept, keep_pod, settled_by};
use super::summaries::SettledPod;

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(borrow, default)]
    items: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Owner<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    controller: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    namespace: Option<Cow<'a, str>>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(borrow)]
    owner_references: Option<Vec<Owner<'a>>>,
    deletion_timestamp: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    #[serde(borrow)]
    node_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Condition<'a> {
    #[serde(borrow, rename = "type")]
    type_: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
}

#[derive(Deserialize)]
struct State {
    running: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerStatus {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    restart_count: i32,
    state: Option<State>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    #[serde(borrow)]
    phase: Option<Cow<'a, str>>,
    #[serde(borrow)]
    conditions: Option<Vec<Condition<'a>>>,
    container_statuses: Option<Vec<ContainerStatus>>,
}

/// What a pod's settledness and summary need of it.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    metadata: Meta<'a>,
    #[serde(borrow)]
    spec: Option<Spec<'a>>,
    #[serde(borrow)]
    status: Option<Status<'a>>,
}

impl Probe<'_> {
    /// The typed pod's test (`strip::settled_by`) over the probed fields.
    fn settled(&self) -> bool {
        let Some(st) = self.status.as_ref() else {
            return false;
        };
        let ready = st
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let containers = st.container_statuses.iter().flatten().map(|c| {
            let running = c.state.as_ref().is_some_and(|s| s.running.is_some());
            (c.ready, c.restart_count, running)
        });
        settled_by(
            self.metadata.deletion_timestamp.is_some(),
            ready,
            st.phase.as_deref(),
            containers,
        )
    }

    fn summary(self, interner: &mut Interner) -> Option<SettledPod> {
        if !self.settled() {
            return None;
        }
        let owner = self
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))?;
        Some(SettledPod {
            namespace: interner.str(self.metadata.namespace.as_deref().unwrap_or_default()),
            name: self.metadata.name.as_deref().unwrap_or_default().into(),
            labels: interner.labels(self.metadata.labels.unwrap_or_default()),
            owner_kind: interner.str(&owner.kind),
            owner: interner.str(&owner.name),
            node: self
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .map(|n| interner.str(n)),
        })
    }
}

/// Keeps one pod of a page from its JSON: the summary when settled, else the typed pod
/// stripped as `keep_pod` strips it.
pub(super) fn keep_pod_json(
    json: &str,
    interner: &mut Interner,
) -> serde_json::Result<Kept<Pod, SettledPod>> {
    let probe: Probe<'_> = serde_json::from_str(json)?;
    if let Some(s) = probe.summary(interner) {
        return Ok(Kept::Settled(s));
    }
    let pod: Pod = serde_json::from_str(json)?;
    Ok(keep_pod(pod, interner))
}

/// Lists one page of pods (all namespaces when `ns` is None), kept as [`keep_pod_json`] does.
pub(super) async fn pod_page(
    client: &kube::Client,
    ns: Option<&str>,
    lp: &ListParams,
    interner: &mut Interner,
) -> Result<(ListMeta, Vec<Kept<Pod, SettledPod>>), kube::Error> {
    let url = Pod::url_path(&(), ns);
    let req = kube::core::Request::new(url)
        .list(lp)
        .map_err(kube::Error::BuildRequest)?;
    let text = client.request_text(req).await?;
    let page: Page<'_> = serde_json::from_str(&text).map_err(kube::Error::SerdeError)?;
    let mut items = Vec::with_capacity(page.items.len());
    for raw in page.items {
        items.push(keep_pod_json(raw.get(), interner).map_err(kube::Error::SerdeError)?);
    }
    Ok((page.metadata, items))
}
