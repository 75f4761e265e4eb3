//! Kubernetes Events that kai writes about what it did (`kai watch --record-events`): a
//! core/v1 Event on the object, so `kubectl describe` and every event pipeline show a
//! remediation next to the kubelet's and controllers' own events.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::kinds::Kind;
use crate::mask::mask_text;

/// What to record, about which object.
#[derive(Debug, Clone)]
pub struct Note {
    /// The object's kind.
    pub kind: Kind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// A CamelCase reason, e.g. `RolledBack`.
    pub reason: String,
    /// What happened, in one line (masked before it is written).
    pub message: String,
    /// A Warning (something failed or was refused) rather than Normal.
    pub warning: bool,
    /// Who writes it: `kai-watch`.
    pub component: String,
    /// Which replica: its identity or host.
    pub instance: String,
}

/// Writes `note` as an Event on its object (its uid read first, so the Event is tied to this
/// object and not to a later one of the same name).
pub async fn record(cluster: &Cluster, note: &Note) -> Result<(), ToolError> {
    let ns = note.namespace.as_str();
    let object = crate::k8s::get(cluster, note.kind, ns, &note.name).await?;
    let uid = object["metadata"]["uid"].as_str().map(str::to_string);
    let now = Timestamp::now();
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", note.name)),
            namespace: Some(ns.to_string()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(api_version(note.kind)),
            kind: Some(note.kind.api_kind().to_string()),
            name: Some(note.name.clone()),
            namespace: Some(ns.to_string()),
            uid,
            ..ObjectReference::default()
        },
        reason: Some(note.reason.clone()),
        message: Some(mask_text(&note.message)),
        type_: Some(if note.warning { "Warning" } else { "Normal" }.to_string()),
        source: Some(EventSource {
            component: Some(note.component.clone()),
            host: None,
        }),
        reporting_component: Some(note.component.clone()),
        reporting_instance: Some(note.instance.clone()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        action: Some(note.reason.clone()),
        count: Some(1),
        ..Event::default()
    };
    Api::<Event>::namespaced(cluster.client.clone(), ns)
        .create(&PostParams::default(), &event)
        .await
        .map(|_| ())
        .map_err(|e| ToolError::from_kube(e, cluster, "create", "events", Some(ns)))
}

fn api_version(kind: Kind) -> String {
    match kind.group() {
        "" => kind.version().to_string(),
        g => format!("{g}/{}", kind.version()),
    }
}
