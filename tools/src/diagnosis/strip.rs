//! What the collector keeps of each listed object: only the fields the rules read, so that
//! memory stays bounded on clusters of many thousand pods and no secret value is kept.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec};

/// Keeps of a pod only what the rules read. A settled pod (running, every container ready,
/// never restarted, owned by a controller) keeps its identity, labels, owner, node and Ready
/// condition only: its containers are those of its owner's template. This bounds memory on
/// clusters of many thousand pods.
pub(super) fn strip_pod(p: &mut Pod) {
    p.metadata.annotations = None;
    if let Some(st) = p.status.as_mut()
        && let Some(c) = st.conditions.as_mut()
    {
        c.retain(|c| c.type_ == "Ready" || c.type_ == "PodScheduled");
        c.shrink_to_fit();
    }
    let settled = p.metadata.deletion_timestamp.is_none()
        && p.metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| o.iter().any(|r| r.controller == Some(true)))
        && p.status.as_ref().is_some_and(|st| {
            st.phase.as_deref() == Some("Running")
                && st.container_statuses.as_ref().is_some_and(|cs| {
                    !cs.is_empty()
                        && cs.iter().all(|c| {
                            c.ready
                                && c.restart_count == 0
                                && c.state.as_ref().is_some_and(|s| s.running.is_some())
                        })
                })
        });
    if !settled {
        return;
    }
    // The containers' specs (and named ports) are in the owner's template; readiness is in
    // the Ready condition.
    if let Some(spec) = p.spec.as_mut() {
        *spec = PodSpec {
            node_name: spec.node_name.take(),
            ..Default::default()
        };
    }
    if let Some(st) = p.status.as_mut() {
        st.container_statuses = None;
        st.init_container_statuses = None;
        st.pod_ips = None;
        st.host_ips = None;
    }
}

/// Keeps of a pod template what the rules read: containers' names, images, commands, env
/// (names and references), ports, resources, volume mounts and probes; the pod's volumes,
/// service account, init containers and scheduling constraints; the template's labels.
pub(super) fn strip_template(t: &mut PodTemplateSpec) {
    if let Some(m) = t.metadata.as_mut() {
        m.annotations = None;
    }
    if let Some(spec) = t.spec.as_mut() {
        let keep = |c: Container| Container {
            name: c.name,
            image: c.image,
            command: c.command,
            args: c.args,
            env: c.env,
            env_from: c.env_from,
            ports: c.ports,
            resources: c.resources,
            volume_mounts: c.volume_mounts,
            liveness_probe: c.liveness_probe,
            readiness_probe: c.readiness_probe,
            startup_probe: c.startup_probe,
            ..Default::default()
        };
        let containers = std::mem::take(&mut spec.containers)
            .into_iter()
            .map(keep)
            .collect();
        let init_containers = spec
            .init_containers
            .take()
            .map(|v| v.into_iter().map(keep).collect());
        *spec = PodSpec {
            containers,
            init_containers,
            volumes: spec.volumes.take(),
            service_account_name: spec.service_account_name.take(),
            affinity: spec.affinity.take(),
            topology_spread_constraints: spec.topology_spread_constraints.take(),
            node_selector: spec.node_selector.take(),
            ..Default::default()
        };
    }
}

/// Annotations of workloads: only the deployment revision is read.
pub(super) fn keep_revision(m: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    if let Some(a) = m.annotations.as_mut() {
        a.retain(|k, _| k == "deployment.kubernetes.io/revision");
        if a.is_empty() {
            m.annotations = None;
        }
    }
}

pub(super) fn strip_replica_set(r: &mut k8s_openapi::api::apps::v1::ReplicaSet) {
    keep_revision(&mut r.metadata);
    if let Some(t) = r.spec.as_mut().and_then(|s| s.template.as_mut()) {
        strip_template(t);
    }
}

pub(super) fn strip_deployment(d: &mut k8s_openapi::api::apps::v1::Deployment) {
    keep_revision(&mut d.metadata);
    if let Some(s) = d.spec.as_mut() {
        strip_template(&mut s.template);
    }
}

pub(super) fn strip_secret(s: &mut k8s_openapi::api::core::v1::Secret) {
    // Keys only: values never stay in memory longer than one page.
    if let Some(d) = s.data.as_mut() {
        for v in d.values_mut() {
            *v = ByteString(Vec::new());
        }
    }
    if let Some(d) = s.string_data.as_mut() {
        for v in d.values_mut() {
            v.clear();
        }
    }
    s.metadata.annotations = None;
}

pub(super) fn strip_config_map(c: &mut k8s_openapi::api::core::v1::ConfigMap) {
    if let Some(d) = c.data.as_mut() {
        for v in d.values_mut() {
            v.clear();
        }
    }
    if let Some(d) = c.binary_data.as_mut() {
        for v in d.values_mut() {
            *v = ByteString(Vec::new());
        }
    }
    c.metadata.annotations = None;
}
