//! `get_events`: events sorted by time (eventTime or lastTimestamp), with counts, filtered by
//! object and type; messages masked.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::contract::{Effect, ToolOutput};
use crate::error::ToolError;
use crate::format::{DEFAULT_BUDGET, Keep, age, fit, table};
use crate::k8s::{self, at, i, s};
use crate::kinds::{Kind, resolve_kind};
use crate::mask::mask_text;
use crate::tools::{Tool, now, scope};

/// Arguments of `get_events`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetEventsArgs {
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Events in every namespace (do not combine with namespace).
    #[serde(default)]
    pub all_namespaces: bool,
    /// Only events about objects of this kind (pod, deployment, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// Only events about this object; a workload's name also matches its replica sets and pods
    /// (`backend` matches `backend-7d9f8-abcde`).
    #[serde(default)]
    pub name: Option<String>,
    /// Only Warning events.
    #[serde(default)]
    pub warnings_only: bool,
}

/// The `get_events` tool.
pub struct GetEvents;

impl Tool for GetEvents {
    const NAME: &'static str = "get_events";
    const EFFECT: Effect = Effect::Read;
    type Args = GetEventsArgs;

    fn description() -> &'static str {
        "Recent events (oldest first, newest last) with type, reason, object, count and message; filter by kind, name and warnings_only."
    }

    async fn run(cluster: &Cluster, args: GetEventsArgs) -> Result<ToolOutput, ToolError> {
        let ns = scope(
            Self::NAME,
            cluster,
            args.namespace.as_deref(),
            args.all_namespaces,
        )?;
        let kind = match args.kind.as_deref().filter(|k| !k.trim().is_empty()) {
            Some(k) => Some(resolve_kind(k).map_err(|e| match e {
                ToolError::InvalidArguments { message, .. } => ToolError::InvalidArguments {
                    tool: Self::NAME.into(),
                    message,
                },
                other => other,
            })?),
            None => None,
        };
        let fields = if args.warnings_only {
            Some("type=Warning")
        } else {
            None
        };
        let items = k8s::list(cluster, Kind::Event, ns, None, fields).await?;
        if items.is_empty()
            && let Some(n) = ns
        {
            k8s::check_namespace(cluster, n).await?;
        }
        let name = args.name.as_deref().filter(|n| !n.trim().is_empty());
        let filtered: Vec<Value> = items
            .into_iter()
            .filter(|e| matches(e, kind, name))
            .collect();
        Ok(render(&filtered, ns, args.warnings_only, DEFAULT_BUDGET))
    }
}

/// Whether an event is about `kind`/`name`; a workload name also matches the objects named after
/// it (`backend-7d9f8`, `backend-7d9f8-abcde`).
pub fn matches(e: &Value, kind: Option<Kind>, name: Option<&str>) -> bool {
    let obj_kind = s(e, &["involvedObject", "kind"]);
    let obj_name = s(e, &["involvedObject", "name"]);
    match (kind, name) {
        (None, None) => true,
        (Some(k), None) => obj_kind == k.api_kind(),
        (None, Some(n)) => obj_name == n || obj_name.starts_with(&format!("{n}-")),
        (Some(k), Some(n)) => {
            (obj_kind == k.api_kind() && obj_name == n)
                || (k.is_workload()
                    && matches!(obj_kind, "ReplicaSet" | "Pod")
                    && obj_name.starts_with(&format!("{n}-")))
        }
    }
}

/// When an event last happened: `eventTime`, `series.lastObservedTime`, `lastTimestamp`,
/// `firstTimestamp`, creation, whichever is set.
pub fn last_seen(e: &Value) -> &str {
    for path in [
        &["series", "lastObservedTime"][..],
        &["lastTimestamp"],
        &["eventTime"],
        &["firstTimestamp"],
        &["metadata", "creationTimestamp"],
    ] {
        let v = s(e, path);
        if !v.is_empty() {
            return v;
        }
    }
    ""
}

/// How many times an event happened.
pub fn count(e: &Value) -> i64 {
    let series = i(e, &["series", "count"]);
    let c = i(e, &["count"]);
    series.max(c).max(1)
}

fn type_of(e: &Value) -> &str {
    match s(e, &["type"]) {
        "" => "Normal",
        t => t,
    }
}

/// Sorts events oldest first by [`last_seen`] (timestamps compared as instants).
pub fn sort(events: &mut [&Value]) {
    events.sort_by_key(|e| {
        crate::format::parse_time(last_seen(e)).map_or(i64::MIN, |t| t.as_second())
    });
}

/// Event rows for a table: LAST SEEN, TYPE, REASON, OBJECT, COUNT, MESSAGE (masked).
pub fn rows(events: &[&Value], with_ns: bool, now: jiff::Timestamp) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let mut row = Vec::new();
            if with_ns {
                row.push(s(e, &["involvedObject", "namespace"]).to_string());
            }
            row.push(age(Some(last_seen(e)).filter(|t| !t.is_empty()), now));
            row.push(type_of(e).to_string());
            row.push(s(e, &["reason"]).to_string());
            row.push(format!(
                "{}/{}",
                s(e, &["involvedObject", "kind"]).to_ascii_lowercase(),
                s(e, &["involvedObject", "name"])
            ));
            row.push(count(e).to_string());
            row.push(mask_text(s(e, &["message"]).trim()));
            row
        })
        .collect()
}

/// One event as JSON (message masked).
pub fn summary(e: &Value) -> Value {
    json!({
        "namespace": s(e, &["involvedObject", "namespace"]),
        "type": type_of(e),
        "reason": s(e, &["reason"]),
        "object": {
            "kind": s(e, &["involvedObject", "kind"]),
            "name": s(e, &["involvedObject", "name"]),
        },
        "count": count(e),
        "last_seen": last_seen(e),
        "message": mask_text(s(e, &["message"]).trim()),
        "source": at(e, &["source", "component"]).and_then(Value::as_str)
            .or_else(|| at(e, &["reportingComponent"]).and_then(Value::as_str))
            .unwrap_or_default(),
    })
}

/// Renders events oldest first within `budget` bytes, cutting the oldest.
pub fn render(items: &[Value], ns: Option<&str>, warnings_only: bool, budget: usize) -> ToolOutput {
    let now = now();
    let mut sorted: Vec<&Value> = items
        .iter()
        .filter(|e| !warnings_only || type_of(e) == "Warning")
        .collect();
    sort(&mut sorted);
    let with_ns = ns.is_none();
    let place = match ns {
        Some(n) => format!("namespace \"{n}\""),
        None => "all namespaces".into(),
    };
    let warnings = sorted.iter().filter(|e| type_of(e) == "Warning").count();
    let headline = format!(
        "{} events in {place} ({warnings} warnings), oldest first",
        sorted.len()
    );
    let text = if sorted.is_empty() {
        format!("{headline}\n")
    } else {
        let mut headers = Vec::new();
        if with_ns {
            headers.push("NAMESPACE");
        }
        headers.extend(["LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"]);
        let lines = table(&headers, &rows(&sorted, with_ns, now));
        let fixed = vec![headline, lines[0].clone()];
        fit(&fixed, &lines[1..], budget, Keep::Tail, "older events").0
    };
    ToolOutput {
        text,
        json: json!({
            "namespace": ns,
            "total": sorted.len(),
            "warnings": warnings,
            "events": sorted.iter().map(|e| summary(e)).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, name: &str, ty: &str, reason: &str, last: &str, count: i64) -> Value {
        json!({"involvedObject": {"kind": kind, "name": name, "namespace": "shop"},
            "type": ty, "reason": reason, "lastTimestamp": last, "count": count,
            "message": format!("{reason} happened with token=abc123")})
    }

    #[test]
    fn sorts_filters_and_masks() {
        let items = vec![
            ev(
                "Pod",
                "backend-7d9-abc",
                "Warning",
                "BackOff",
                "2026-01-01T00:10:00Z",
                12,
            ),
            ev(
                "Deployment",
                "backend",
                "Normal",
                "ScalingReplicaSet",
                "2026-01-01T00:00:00Z",
                1,
            ),
            json!({"involvedObject": {"kind": "Pod", "name": "db-0"}, "type": "Normal",
                "reason": "Pulled", "eventTime": "2026-01-01T00:05:00.000000Z",
                "series": {"count": 3, "lastObservedTime": "2026-01-01T00:06:00.000000Z"}}),
        ];
        let out = render(&items, Some("shop"), false, 4096);
        let lines: Vec<&str> = out.text.lines().collect();
        assert!(lines[2].contains("ScalingReplicaSet"), "{}", out.text);
        assert!(
            lines[3].contains("Pulled") && lines[3].contains(" 3 "),
            "{}",
            out.text
        );
        assert!(
            lines[4].contains("BackOff") && lines[4].contains("12"),
            "{}",
            out.text
        );
        assert!(!out.text.contains("abc123") && !out.json.to_string().contains("abc123"));
        let warn = render(&items, Some("shop"), true, 4096);
        assert_eq!(warn.json["total"], 1);
        assert!(matches(&items[0], Some(Kind::Deployment), Some("backend")));
        assert!(matches(&items[0], None, Some("backend")));
        assert!(!matches(&items[0], Some(Kind::Service), Some("backend")));
        assert!(!matches(&items[2], None, Some("backend")));
    }

    #[test]
    fn cuts_oldest_first() {
        let items: Vec<Value> = (0..400)
            .map(|n| {
                ev(
                    "Pod",
                    &format!("p{n}"),
                    "Warning",
                    "BackOff",
                    &format!("2026-01-01T{:02}:{:02}:00Z", n / 60, n % 60),
                    1,
                )
            })
            .collect();
        let out = render(&items, Some("shop"), false, 2048);
        assert!(
            out.text.contains("more older events cut (showing the last"),
            "{}",
            out.text
        );
        assert!(out.text.contains("pod/p399"));
        assert!(!out.text.contains("pod/p0 "));
    }
}
