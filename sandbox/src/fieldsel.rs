//! Which fields each kind can be selected by (`fieldSelector`), as the API server registers
//! them; a selector on any other field is a `400` in the API server's words.

use crate::error::ApiError;
use crate::resources::ResourceType;

/// Fields every kind supports.
const COMMON: &[&str] = &["metadata.name", "metadata.namespace"];

/// The kind-specific selectable fields; `None` for kinds with only the common ones.
fn extra_fields(rt: &ResourceType) -> Option<&'static [&'static str]> {
    Some(match (rt.group, rt.plural) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "events") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "secrets") => &["type"],
        ("", "services") => &["spec.clusterIP", "spec.type"],
        ("", "replicationcontrollers") | ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        _ => return None,
    })
}

/// Refuses a field selector naming a field `rt` cannot be selected by.
pub fn check(
    rt: &ResourceType,
    label_selector: Option<&str>,
    field_selector: Option<&str>,
) -> Result<(), ApiError> {
    let Some(fs) = field_selector.filter(|f| !f.trim().is_empty()) else {
        return Ok(());
    };
    let extra = extra_fields(rt);
    for part in fs.split(',') {
        let field = part.split(['=', '!']).next().unwrap_or("").trim();
        if field.is_empty() || COMMON.contains(&field) || extra.is_some_and(|e| e.contains(&field))
        {
            continue;
        }
        let why = match extra {
            Some(_) => format!("field label not supported: {field}"),
            None => format!(
                "\"{field}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            ),
        };
        return Err(ApiError::bad_request(format!(
            "Unable to find \"{}\" that match label selector \"{}\", field selector \"{fs}\": {why}",
            rt.plural,
            label_selector.unwrap_or("")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::by_plural;

    #[test]
    fn unsupported_fields_are_refused_in_the_api_server_words() {
        let pods = by_plural("", "pods").unwrap();
        assert!(check(pods, None, Some("spec.nodeName=n1,status.phase!=Running")).is_ok());
        let e = check(pods, Some("app=web"), Some("spec.foo=bar")).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "Unable to find \"pods\" that match label selector \"app=web\", field selector \"spec.foo=bar\": field label not supported: spec.foo"
        );
        let ing = by_plural("networking.k8s.io", "ingresses").unwrap();
        let e = check(ing, None, Some("foo.bar=baz")).unwrap_err();
        assert_eq!(
            e.message,
            "Unable to find \"ingresses\" that match label selector \"\", field selector \"foo.bar=baz\": \"foo.bar\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        assert!(check(ing, None, Some("metadata.name=x")).is_ok());
    }
}
