//! The self-review APIs: `SelfSubjectAccessReview` (`kubectl auth can-i`),
//! `SelfSubjectRulesReview` (`auth can-i --list`) and `SelfSubjectReview` (`auth whoami`),
//! answered from the RBAC objects in the store. Nothing is stored.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::rbac::{self, Attributes, Subject};
use crate::store::Store;

/// Whether a resource type is one of the review kinds, which accept only `create`.
pub fn is_review(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("authorization.k8s.io", "selfsubjectaccessreviews")
            | ("authorization.k8s.io", "selfsubjectrulesreviews")
            | ("authentication.k8s.io", "selfsubjectreviews")
    )
}

/// Answers a review `body` POSTed to `plural` by `subject`: the body with its `status`.
pub fn answer(
    store: &Store,
    subject: &Subject,
    plural: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let mut out = body.clone();
    if !out.get("metadata").is_some_and(Value::is_object) {
        out["metadata"] = json!({});
    }
    out["metadata"]["creationTimestamp"] = Value::Null;
    match plural {
        "selfsubjectaccessreviews" => out["status"] = access(store, subject, body)?,
        "selfsubjectrulesreviews" => {
            let ns = body
                .pointer("/spec/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let (resource_rules, non_resource_rules) = rbac::rules_for(store, subject, ns);
            out["status"] = json!({"resourceRules": resource_rules,
                "nonResourceRules": non_resource_rules, "incomplete": false});
        }
        "selfsubjectreviews" => {
            out["status"] =
                json!({"userInfo": {"username": subject.user, "groups": subject.groups}});
        }
        other => {
            return Err(ApiError::bad_request(format!("{other} is not a review")));
        }
    }
    Ok(out)
}

fn access(store: &Store, subject: &Subject, body: &Value) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let decision = if let Some(ra) = spec.get("resourceAttributes") {
        let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("");
        let namespace = Some(s("namespace")).filter(|n| !n.is_empty());
        let name = Some(s("name")).filter(|n| !n.is_empty());
        rbac::authorize(
            store,
            subject,
            &Attributes {
                verb: s("verb"),
                group: s("group"),
                resource: s("resource"),
                subresource: s("subresource"),
                name,
                namespace,
            },
        )
    } else if let Some(na) = spec.get("nonResourceAttributes") {
        let s = |k: &str| na.get(k).and_then(Value::as_str).unwrap_or("");
        rbac::allowed_path(store, subject, s("verb"), s("path"))
    } else {
        return Err(ApiError {
            code: 422,
            reason: "Invalid",
            message: "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
            details: None,
        });
    };
    let mut status = json!({"allowed": decision.allowed});
    if !decision.reason.is_empty() {
        status["reason"] = json!(decision.reason);
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn reviews_answer_for_the_subject() {
        let mut s = Store::new(Clock::manual("2026-01-01T00:00:00Z".parse().unwrap()));
        rbac::bootstrap(&mut s);
        let sa = Subject::service_account("shop", "ci");
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "shop", "verb": "list", "resource": "pods"}}});
        let r = answer(&s, &sa, "selfsubjectaccessreviews", &body).unwrap();
        assert_eq!(r["status"]["allowed"], false);
        let r = answer(&s, &Subject::admin(), "selfsubjectaccessreviews", &body).unwrap();
        assert_eq!(r["status"]["allowed"], true);
        let who = answer(&s, &sa, "selfsubjectreviews", &json!({})).unwrap();
        assert_eq!(
            who["status"]["userInfo"]["username"],
            "system:serviceaccount:shop:ci"
        );
        let rules = answer(
            &s,
            &sa,
            "selfsubjectrulesreviews",
            &json!({"spec": {"namespace": "shop"}}),
        )
        .unwrap();
        let rr = rules["status"]["resourceRules"].as_array().unwrap();
        assert!(
            rr.iter()
                .any(|r| r["resources"][0] == "selfsubjectaccessreviews")
        );
        assert!(is_review("authentication.k8s.io", "selfsubjectreviews"));
    }
}
