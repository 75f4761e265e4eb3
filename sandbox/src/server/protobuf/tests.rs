//! Protobuf bodies checked against k8s-pb's typed messages (what a Go client sends).

use prost::Message;
use serde_json::json;

use super::*;
use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;

fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let u = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = b"k8s\0".to_vec();
    out.extend(u.encode_to_vec());
    out
}

fn open(body: &[u8]) -> (TypeMeta, Vec<u8>) {
    let u = Unknown::decode(body.strip_prefix(b"k8s\0").unwrap()).unwrap();
    (u.type_meta.unwrap(), u.raw.unwrap())
}

#[test]
fn a_secret_from_a_go_client_decodes_to_the_json_the_store_keeps() {
    let secret = core::Secret {
        metadata: Some(meta::ObjectMeta {
            name: Some("sh.helm.release.v1.shop.v1".into()),
            namespace: Some("shop".into()),
            // Go writes empty strings and zero times; JSON leaves them out.
            generate_name: Some(String::new()),
            creation_timestamp: Some(meta::Time {
                seconds: Some(0),
                nanos: Some(0),
            }),
            labels: [("owner".to_string(), "helm".to_string())].into(),
            ..Default::default()
        }),
        data: [("release".to_string(), b"H4sI\x00\xff".to_vec())].into(),
        r#type: Some("helm.sh/release.v1".into()),
        ..Default::default()
    };
    let v = decode(&envelope("v1", "Secret", secret.encode_to_vec())).unwrap();
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "sh.helm.release.v1.shop.v1", "namespace": "shop",
                "labels": {"owner": "helm"}},
            "data": {"release": "SDRzSQD/"}, "type": "helm.sh/release.v1"})
    );
}

fn deployment_json() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": "2026-01-02T03:04:05Z",
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
                "time": "2026-01-02T03:04:05Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "web:1",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5}}]}}},
        "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True",
            "lastUpdateTime": "2026-01-02T03:04:05Z", "lastTransitionTime": "2026-01-02T03:04:05Z"}]}})
}

#[test]
fn a_deployment_encodes_as_go_reads_it_and_round_trips() {
    let v = deployment_json();
    let body = encode("apps/v1", "Deployment", &v).unwrap();
    let (tm, raw) = open(&body);
    assert_eq!(
        (tm.api_version.as_deref(), tm.kind.as_deref()),
        (Some("apps/v1"), Some("Deployment"))
    );
    let d = apps::Deployment::decode(raw.as_slice()).unwrap();
    let spec = d.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(0));
    let ru = spec
        .strategy
        .as_ref()
        .unwrap()
        .rolling_update
        .as_ref()
        .unwrap();
    assert_eq!(
        ru.max_surge,
        Some(IntOrString {
            r#type: Some(1),
            int_val: None,
            str_val: Some("25%".into())
        })
    );
    assert_eq!(ru.max_unavailable.as_ref().unwrap().int_val, Some(1));
    let c = &spec
        .template
        .as_ref()
        .unwrap()
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    assert_eq!(
        c.resources.as_ref().unwrap().limits.get("memory"),
        Some(&Quantity {
            string: Some("128Mi".into())
        })
    );
    let m = d.metadata.as_ref().unwrap();
    assert_eq!(
        m.creation_timestamp.as_ref().unwrap().seconds,
        Some(1_767_323_045)
    );
    let fields = m.managed_fields[0].fields_v1.as_ref().unwrap();
    let fields: Value = serde_json::from_slice(fields.raw.as_ref().unwrap()).unwrap();
    assert_eq!(fields, json!({"f:spec": {"f:replicas": {}}}));
    assert_eq!(decode(&body).unwrap(), v);
}

#[test]
fn kinds_without_a_message_are_refused_with_415() {
    let e = decode(&envelope("example.com/v1", "Widget", vec![])).unwrap_err();
    assert_eq!(e.code, 415);
    assert_eq!(decode(b"{}").unwrap_err().code, 400);
    assert_eq!(decode(b"k8s\0\xff\xff").unwrap_err().code, 400);
    assert!(encode("example.com/v1", "Widget", &json!({})).is_none());
}

#[test]
fn accept_headers_negotiate_as_the_api_server_does() {
    let n = |a: &str| negotiate(a);
    assert_eq!(n(""), Some(Encoding::Json));
    assert_eq!(n("application/json"), Some(Encoding::Json));
    assert_eq!(n("*/*"), Some(Encoding::Json));
    assert_eq!(
        n("application/vnd.kubernetes.protobuf, */*"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(
        n("application/vnd.kubernetes.protobuf;q=0.5, application/json"),
        Some(Encoding::Json)
    );
    assert_eq!(
        n("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
        Some(Encoding::Json)
    );
    assert_eq!(n("text/html"), None);
}
