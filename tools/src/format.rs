//! Compact text for a model: aligned tables, kubectl-style ages, human units, object names,
//! and the byte budget with a note of what was cut.

use jiff::Timestamp;

/// Default byte budget of one tool output's text.
pub const DEFAULT_BUDGET: usize = 8 * 1024;

/// `deployment shop/backend`, or `node node-1` for a cluster-scoped kind (or no namespace).
pub fn object_name(kind: &str, namespace: &str, name: &str) -> String {
    let cluster_scoped = crate::kinds::resolve_kind(kind).is_ok_and(|k| !k.namespaced());
    if namespace.is_empty() || cluster_scoped {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

/// A Kubernetes quantity in human units: bytes as `Mi`/`Gi`/`Ti` (`15241216Ki` → `14.5Gi`),
/// CPU as cores (`3800m` → `3.8 cores`); anything else unchanged. `resource` names what it
/// measures (`cpu`, `memory`, `ephemeral-storage`, `storage`, `hugepages-2Mi`, `pods`).
pub fn quantity(resource: &str, value: &str) -> String {
    let v = value.trim();
    if resource == "cpu" {
        let cores = match v.strip_suffix('m') {
            Some(m) => m.parse::<f64>().ok().map(|m| m / 1000.0),
            None => v.parse::<f64>().ok(),
        };
        return match cores {
            Some(c) => {
                let n = format!("{c:.2}");
                let n = match n.trim_end_matches('0').trim_end_matches('.') {
                    "" => "0",
                    n => n,
                };
                format!("{n} {}", if n == "1" { "core" } else { "cores" })
            }
            None => v.to_string(),
        };
    }
    if !(resource == "memory" || resource.contains("storage") || resource.starts_with("hugepages"))
    {
        return v.to_string();
    }
    const UNITS: [(&str, f64); 10] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    let (digits, factor) = UNITS
        .iter()
        .find_map(|(u, f)| v.strip_suffix(u).map(|d| (d, *f)))
        .unwrap_or((v, 1.0));
    let Ok(n) = digits.parse::<f64>() else {
        return v.to_string();
    };
    bytes(n * factor)
}

/// Bytes in binary units: `512`, `300Ki`, `14.5Gi`, one decimal at most.
pub fn bytes(n: f64) -> String {
    const STEPS: [&str; 5] = ["Ki", "Mi", "Gi", "Ti", "Pi"];
    if n < 1024.0 {
        return trim_float(n);
    }
    let mut value = n;
    let mut unit = "";
    for u in STEPS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{}{unit}", trim_float(value))
}

/// A number with at most one decimal, without a trailing `.0`.
fn trim_float(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// `cpu=4,memory=16393216Ki` (a resource map as `k=v,...`) in human units.
pub fn quantities(map: &str) -> String {
    if map.is_empty() {
        return String::new();
    }
    map.split(',')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => format!("{k}={}", quantity(k, v)),
            None => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Age as kubectl prints it: `45s`, `5m`, `2h`, `3d`, `2y`.
pub fn age_secs(secs: i64) -> String {
    let s = secs.max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 48 * 3600 {
        format!("{}h", s / 3600)
    } else if s < 2 * 365 * 86400 {
        format!("{}d", s / 86400)
    } else {
        format!("{}y", s / (365 * 86400))
    }
}

/// Parses an RFC 3339 API timestamp.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok()
}

/// Age of an RFC 3339 timestamp relative to `now`; `<unknown>` when absent or unreadable.
pub fn age(ts: Option<&str>, now: Timestamp) -> String {
    match ts.and_then(parse_time) {
        Some(t) => age_secs(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

/// Seconds since an RFC 3339 timestamp, if it is readable.
pub fn age_seconds(ts: Option<&str>, now: Timestamp) -> Option<i64> {
    ts.and_then(parse_time)
        .map(|t| (now.as_second() - t.as_second()).max(0))
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Renders rows under headers with columns aligned by two spaces; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    let clean: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            (0..cols)
                .map(|i| {
                    let cell = r.get(i).map(String::as_str).unwrap_or("");
                    let cell = if cell.is_empty() { "<none>" } else { cell };
                    cell.replace(['\n', '\r', '\t'], " ")
                })
                .collect()
        })
        .collect();
    for r in &clean {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cols {
                s.push_str(c);
            } else {
                s.push_str(c);
                let pad = widths[i] - c.chars().count() + 2;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = Vec::with_capacity(clean.len() + 1);
    out.push(line(headers.to_vec()));
    for r in &clean {
        out.push(line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// Which end of a text to keep when it does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Keep the first lines (tables: the header and first rows).
    Head,
    /// Keep the last lines (logs, events: the newest).
    Tail,
}

/// Cuts a string to at most `max` bytes at a character boundary, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Fits `lines` into `budget` bytes, keeping whole lines from one end; `fixed` lines (a table
/// header) are always kept at the top. Returns the text and how many lines were cut; when lines
/// were cut, a note says how many and what is shown, e.g.
/// `… 1,234 more lines cut (showing the last 100)`.
pub fn fit(
    fixed: &[String],
    lines: &[String],
    budget: usize,
    keep: Keep,
    unit: &str,
) -> (String, usize) {
    let mut used: usize = fixed.iter().map(|l| l.len() + 1).sum();
    // Room for the note, so the whole text stays near the budget.
    let reserve = 96;
    let total = lines.len();
    let all: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut kept: Vec<&str> = Vec::new();
    if used + all <= budget {
        kept = lines.iter().map(String::as_str).collect();
    } else {
        let order: Box<dyn Iterator<Item = &String>> = match keep {
            Keep::Head => Box::new(lines.iter()),
            Keep::Tail => Box::new(lines.iter().rev()),
        };
        for l in order {
            let cost = l.len().min(1024) + 1;
            if used + cost + reserve > budget {
                break;
            }
            used += cost;
            kept.push(l);
        }
        if keep == Keep::Tail {
            kept.reverse();
        }
    }
    let cut = total - kept.len();
    let mut out = String::new();
    for l in fixed {
        out.push_str(l);
        out.push('\n');
    }
    let note = if cut > 0 {
        let which = match keep {
            Keep::Head => "first",
            Keep::Tail => "last",
        };
        Some(format!(
            "… {} more {unit} cut (showing the {which} {})",
            thousands(cut),
            thousands(kept.len())
        ))
    } else {
        None
    };
    if keep == Keep::Tail
        && let Some(n) = &note
    {
        out.push_str(n);
        out.push('\n');
    }
    for l in kept {
        out.push_str(&truncate(l, 1024));
        out.push('\n');
    }
    if keep == Keep::Head
        && let Some(n) = &note
    {
        out.push_str(n);
        out.push('\n');
    }
    (out, cut)
}

/// Final guard on any text: at most `budget` bytes plus a note of how much was cut.
pub fn cap(text: String, budget: usize) -> String {
    if text.len() <= budget {
        return text;
    }
    let mut end = budget;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    format!(
        "{}\n… {} more bytes cut (output budget {} bytes)\n",
        text[..end].trim_end(),
        thousands(cut),
        thousands(budget)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_human_units() {
        assert_eq!(quantity("memory", "15241216Ki"), "14.5Gi");
        assert_eq!(quantity("memory", "512Mi"), "512Mi");
        assert_eq!(quantity("memory", "1G"), "953.7Mi");
        assert_eq!(quantity("ephemeral-storage", "102687672Ki"), "97.9Gi");
        assert_eq!(quantity("cpu", "3800m"), "3.8 cores");
        assert_eq!(quantity("cpu", "1"), "1 core");
        assert_eq!(quantity("cpu", "0"), "0 cores");
        assert_eq!(quantity("cpu", "250m"), "0.25 cores");
        assert_eq!(quantity("pods", "110"), "110");
        assert_eq!(quantity("memory", "lots"), "lots");
        assert_eq!(
            quantities("cpu=4,memory=16393216Ki,pods=110"),
            "cpu=4 cores, memory=15.6Gi, pods=110"
        );
    }

    #[test]
    fn cluster_scoped_names_have_no_namespace() {
        assert_eq!(object_name("node", "shop", "node-1"), "node node-1");
        assert_eq!(
            object_name("persistentvolume", "shop", "pv-1"),
            "persistentvolume pv-1"
        );
        assert_eq!(
            object_name("deployment", "shop", "backend"),
            "deployment shop/backend"
        );
        assert_eq!(object_name("pod", "", "x"), "pod x");
    }

    #[test]
    fn ages() {
        assert_eq!(age_secs(0), "0s");
        assert_eq!(age_secs(45), "45s");
        assert_eq!(age_secs(119), "119s");
        assert_eq!(age_secs(300), "5m");
        assert_eq!(age_secs(2 * 3600), "2h");
        assert_eq!(age_secs(47 * 3600), "47h");
        assert_eq!(age_secs(3 * 86400), "3d");
        assert_eq!(age_secs(800 * 86400), "2y");
        assert_eq!(age_secs(-5), "0s");
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        assert_eq!(age(Some("2026-01-01T11:55:00Z"), now), "5m");
        assert_eq!(age(None, now), "<unknown>");
        assert_eq!(age(Some("garbage"), now), "<unknown>");
        assert_eq!(age_seconds(Some("2026-01-01T11:59:00Z"), now), Some(60));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["NAME", "READY", "STATUS"],
            &[
                vec!["backend-1".into(), "0/1".into(), "CrashLoopBackOff".into()],
                vec!["db".into(), "1/1".into(), String::new()],
            ],
        );
        assert_eq!(t[0], "NAME       READY  STATUS");
        assert_eq!(t[1], "backend-1  0/1    CrashLoopBackOff");
        assert_eq!(t[2], "db         1/1    <none>");
    }

    #[test]
    fn fit_keeps_everything_within_budget() {
        let lines: Vec<String> = (0..5).map(|i| format!("line {i}")).collect();
        let (text, cut) = fit(&[], &lines, 1000, Keep::Tail, "lines");
        assert_eq!(cut, 0);
        assert_eq!(text.lines().count(), 5);
        assert!(!text.contains("cut"));
    }

    #[test]
    fn fit_cuts_tail_with_note() {
        let lines: Vec<String> = (0..2000).map(|i| format!("log line number {i}")).collect();
        let (text, cut) = fit(&[], &lines, 1024, Keep::Tail, "lines");
        assert!(cut > 0);
        assert!(text.len() <= 1024 + 100, "{}", text.len());
        assert!(text.contains("log line number 1999"));
        assert!(!text.contains("log line number 0\n"));
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!(
                "… {} more lines cut (showing the last",
                thousands(cut)
            )),
            "{first}"
        );
    }

    #[test]
    fn fit_cuts_head_keeping_header() {
        let header = vec!["NAME  STATUS".to_string()];
        let rows: Vec<String> = (0..500).map(|i| format!("pod-{i}  Running")).collect();
        let (text, cut) = fit(&header, &rows, 600, Keep::Head, "rows");
        assert!(cut > 0);
        assert!(text.starts_with("NAME  STATUS\npod-0  Running\n"));
        assert!(
            text.trim_end()
                .ends_with(&format!("(showing the first {})", 500 - cut))
        );
    }

    #[test]
    fn truncate_and_cap_respect_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        let t = truncate("ééééééééé", 7);
        assert!(t.len() <= 7 && t.ends_with('…'), "{t}");
        let long = "→".repeat(5000);
        let c = cap(long, 100);
        assert!(c.contains("more bytes cut"));
        assert!(c.len() < 200);
    }
}
