//! A pod as the rules that look across objects see it (selectors, nodes, owners): a whole pod
//! or a settled pod's summary, with the few facts both answer.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::objects::{controller_of, name_of, ns_of};
use crate::diagnosis::snapshot::SettledPod;

/// A whole pod or a settled pod's summary.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PodRef<'a> {
    /// A pod with everything the collector keeps of it.
    Full(&'a Pod),
    /// A settled pod: running, ready, never restarted.
    Settled(&'a SettledPod),
}

impl<'a> From<&'a Pod> for PodRef<'a> {
    fn from(p: &'a Pod) -> Self {
        PodRef::Full(p)
    }
}

impl<'a> From<&PodRef<'a>> for PodRef<'a> {
    fn from(p: &PodRef<'a>) -> Self {
        *p
    }
}

impl<'a> From<&'a SettledPod> for PodRef<'a> {
    fn from(p: &'a SettledPod) -> Self {
        PodRef::Settled(p)
    }
}

impl<'a> PodRef<'a> {
    /// Namespace.
    pub fn namespace(self) -> &'a str {
        match self {
            PodRef::Full(p) => ns_of(&p.metadata),
            PodRef::Settled(s) => &s.namespace,
        }
    }

    /// Name.
    pub fn name(self) -> &'a str {
        match self {
            PodRef::Full(p) => name_of(&p.metadata),
            PodRef::Settled(s) => &s.name,
        }
    }

    /// Labels.
    pub fn labels(self) -> Option<&'a BTreeMap<String, String>> {
        match self {
            PodRef::Full(p) => p.metadata.labels.as_ref(),
            PodRef::Settled(s) => Some(&s.labels),
        }
    }

    /// The node it is scheduled to.
    pub fn node(self) -> Option<&'a str> {
        match self {
            PodRef::Full(p) => p.spec.as_ref()?.node_name.as_deref(),
            PodRef::Settled(s) => s.node.as_deref(),
        }
    }

    /// Kind and name of its controller.
    pub fn controller(self) -> Option<(&'a str, &'a str)> {
        match self {
            PodRef::Full(p) => controller_of(&p.metadata),
            PodRef::Settled(s) => Some((&s.owner_kind, &s.owner)),
        }
    }

    /// Whether its Ready condition is true.
    pub fn is_ready(self) -> bool {
        match self {
            PodRef::Full(p) => crate::pods::is_ready(p),
            PodRef::Settled(_) => true,
        }
    }

    /// Whether it is neither being deleted nor finished.
    pub fn live(self) -> bool {
        match self {
            PodRef::Full(p) => {
                p.metadata.deletion_timestamp.is_none()
                    && !matches!(
                        p.status.as_ref().and_then(|s| s.phase.as_deref()),
                        Some("Succeeded" | "Failed")
                    )
            }
            PodRef::Settled(_) => true,
        }
    }

    /// The whole pod, when the snapshot holds it.
    pub fn full(self) -> Option<&'a Pod> {
        match self {
            PodRef::Full(p) => Some(p),
            PodRef::Settled(_) => None,
        }
    }
}
