//! Cell formatting shared by the row printers: ages, `<none>`, selectors. Field access is the
//! sandbox's one accessor style, `crate::sim::object` (JSON pointers).

use jiff::Timestamp;
use serde_json::Value;

use crate::server::select::{label_selector_text, map_text};
use crate::sim::object::{arr, s};

/// `<none>` for an empty cell.
pub(super) fn or_none(x: String) -> String {
    if x.is_empty() { "<none>".into() } else { x }
}

/// The AGE column.
pub(super) fn age(obj: &Value, now: Timestamp) -> String {
    since(s(obj, "/metadata/creationTimestamp"), now)
}

/// `translateTimestampSince`: the human duration from an RFC 3339 time to now.
pub(super) fn since(ts: &str, now: Timestamp) -> String {
    match ts.parse::<Timestamp>() {
        Ok(t) => human_duration(now.as_second() - t.as_second()),
        Err(_) => "<unknown>".into(),
    }
}

/// `duration.HumanDuration` of apimachinery, from seconds.
pub(super) fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The CONTAINERS and IMAGES columns.
pub(super) fn containers_images(obj: &Value, ptr: &str) -> (String, String) {
    let cs = arr(obj, ptr);
    let names: Vec<&str> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// A `LabelSelector` as the SELECTOR column shows it.
pub(super) fn selector_cell(sel: Option<&Value>) -> String {
    or_none(sel.map(label_selector_text).unwrap_or_default())
}

/// A plain label map (a Service selector, a node selector) as a cell.
pub(super) fn map_cell(m: Option<&Value>) -> String {
    or_none(m.map(map_text).unwrap_or_default())
}

/// `spec.replicas`, 1 when unset (the API server's default).
pub(super) fn desired(o: &Value) -> i64 {
    o.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}
