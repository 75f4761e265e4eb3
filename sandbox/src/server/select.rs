//! Label and field selectors, parsed as the API server parses them and applied to objects.

use serde_json::Value;

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, PartialEq)]
struct FieldReq {
    path: String,
    value: String,
    equal: bool,
}

/// A parsed `labelSelector` and `fieldSelector`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    labels: Vec<LabelReq>,
    fields: Vec<FieldReq>,
}

impl Selector {
    /// Parses the two query parameters (either may be absent).
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Self, ApiError> {
        let mut s = Selector::default();
        if let Some(l) = labels {
            for part in split_top(l) {
                let part = part.trim();
                if !part.is_empty() {
                    s.labels.push(parse_label(part)?);
                }
            }
        }
        if let Some(f) = fields {
            for part in f.split(',') {
                let part = part.trim();
                if !part.is_empty() {
                    s.fields.push(parse_field(part)?);
                }
            }
        }
        Ok(s)
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether `obj` is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|r| match r {
            LabelReq::Eq(k, v) => label(k) == Some(v.as_str()),
            LabelReq::Ne(k, v) => label(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => label(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => label(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            LabelReq::Exists(k) => label(k).is_some(),
            LabelReq::NotExists(k) => label(k).is_none(),
        });
        labels_ok
            && self.fields.iter().all(|f| {
                let actual = field_value(obj, &f.path);
                (actual == f.value) == f.equal
            })
    }
}

/// A `LabelSelector` (`matchLabels`, `matchExpressions`) in the query syntax, as the SELECTOR
/// column and a Scale's `status.selector` show it; "" when it selects everything.
pub(crate) fn label_selector_text(sel: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        parts.push(map_text(&Value::Object(m.clone())));
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        parts.push(
            match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.to_string(),
                "DoesNotExist" => format!("!{key}"),
                op => format!("{key} {op} ({})", values.join(",")),
            },
        );
    }
    parts.retain(|p| !p.is_empty());
    parts.join(",")
}

/// A plain label map (`{app: web}`) in the query syntax: `app=web`.
pub(crate) fn map_text(m: &Value) -> String {
    m.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// The value of a dotted field path as a field selector compares it: strings as they are,
/// numbers and booleans printed, a missing field as "".
fn field_value(obj: &Value, path: &str) -> String {
    let mut cur = obj;
    for seg in path.split('.') {
        match cur.get(seg) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Splits on commas outside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`].
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn bad_label(s: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("unable to parse requirement: found '{s}', {why}"))
}

fn check_key(key: &str, whole: &str) -> Result<String, ApiError> {
    let ok = !key.is_empty()
        && key.len() <= 316
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(key.to_string())
    } else {
        Err(bad_label(whole, "invalid label key"))
    }
}

/// A label value as the API server accepts it: empty, or at most 63 letters, digits, `-`, `_`
/// and `.`, starting and ending with a letter or digit.
fn check_value(value: &str, whole: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() || crate::validate::label_part_ok(v) {
        Ok(v.to_string())
    } else {
        Err(bad_label(whole, "invalid label value"))
    }
}

fn parse_label(part: &str) -> Result<LabelReq, ApiError> {
    if let Some(k) = part.strip_prefix('!') {
        return Ok(LabelReq::NotExists(check_key(k.trim(), part)?));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(LabelReq::Ne(
            check_key(k.trim(), part)?,
            check_value(v, part)?,
        ));
    }
    if let Some((k, v)) = part.split_once("==") {
        return Ok(LabelReq::Eq(
            check_key(k.trim(), part)?,
            check_value(v, part)?,
        ));
    }
    if let Some((k, v)) = part.split_once('=') {
        return Ok(LabelReq::Eq(
            check_key(k.trim(), part)?,
            check_value(v, part)?,
        ));
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let key = words[0].trim();
        let rest = words[1].trim();
        let (op, set) = if let Some(r) = rest.strip_prefix("notin") {
            ("notin", r.trim())
        } else if let Some(r) = rest.strip_prefix("in") {
            ("in", r.trim())
        } else {
            return Err(bad_label(part, "expected one of: in, notin, =, ==, !="));
        };
        let inner = set
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| bad_label(part, "expected a set of values in parentheses"))?;
        let values: Vec<String> = inner
            .split(',')
            .map(|v| check_value(v, part))
            .filter(|v| v.as_ref().map_or(true, |v| !v.is_empty()))
            .collect::<Result<_, _>>()?;
        let key = check_key(key, part)?;
        return Ok(if op == "in" {
            LabelReq::In(key, values)
        } else {
            LabelReq::NotIn(key, values)
        });
    }
    Ok(LabelReq::Exists(check_key(part, part)?))
}

fn parse_field(part: &str) -> Result<FieldReq, ApiError> {
    let (path, value, equal) = if let Some((k, v)) = part.split_once("!=") {
        (k, v, false)
    } else if let Some((k, v)) = part.split_once("==") {
        (k, v, true)
    } else if let Some((k, v)) = part.split_once('=') {
        (k, v, true)
    } else {
        return Err(ApiError::bad_request(format!(
            "invalid selector: '{part}'; can't understand '{part}'"
        )));
    };
    Ok(FieldReq {
        path: path.trim().to_string(),
        value: value.trim().to_string(),
        equal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_forms() {
        let o = json!({"metadata": {"name": "a", "labels": {"app": "web", "tier": "front"}}, "status": {"phase": "Running"}});
        let m = |l: &str| Selector::parse(Some(l), None).unwrap().matches(&o);
        assert!(m("app=web"));
        assert!(m("app==web,tier"));
        assert!(!m("app!=web"));
        assert!(m("app in (web, api)"));
        assert!(!m("app notin (web,api)"));
        assert!(m("env notin (prod)"));
        assert!(m("!env"));
        assert!(!m("!app"));
        assert!(m("app in (web),tier=front"));
        assert!(Selector::parse(Some("app in web"), None).is_err());
        let f = |s: &str| Selector::parse(None, Some(s)).unwrap().matches(&o);
        assert!(f("metadata.name=a,status.phase==Running"));
        assert!(f("status.phase!=Pending"));
        assert!(!f("spec.nodeName=n1"));
        assert!(f("spec.nodeName="));
        assert!(Selector::parse(Some("app=a b"), None).is_err());
        assert!(Selector::parse(Some("app==web="), None).is_err());
        assert!(Selector::parse(Some("app in (a,-b)"), None).is_err());
    }

    /// The label part of a selector in the query syntax, canonically.
    fn render(s: &Selector) -> String {
        s.labels
            .iter()
            .map(|r| match r {
                LabelReq::Eq(k, v) => format!("{k}={v}"),
                LabelReq::Ne(k, v) => format!("{k}!={v}"),
                LabelReq::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                LabelReq::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                LabelReq::Exists(k) => k.clone(),
                LabelReq::NotExists(k) => format!("!{k}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Selector-shaped text: keys, operators, values, sets, separators and noise.
    fn selectorish() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            "[a-z][a-z0-9./-]{0,8}",
            "[A-Za-z0-9_.-]{0,6}",
            Just("=".to_string()),
            Just("==".to_string()),
            Just("!=".to_string()),
            Just("!".to_string()),
            Just(" in (".to_string()),
            Just(" notin (".to_string()),
            Just(")".to_string()),
            Just(",".to_string()),
            Just(" ".to_string()),
            "\\PC{0,3}",
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn parsing_never_panics(labels in "\\PC{0,80}", fields in "\\PC{0,40}") {
            let _ = Selector::parse(Some(&labels), Some(&fields));
        }

        #[test]
        fn what_parses_round_trips(text in selectorish()) {
            if let Ok(sel) = Selector::parse(Some(&text), None) {
                let again = Selector::parse(Some(&render(&sel)), None);
                proptest::prop_assert_eq!(again.ok(), Some(sel), "{:?}", text);
            }
        }
    }
}
