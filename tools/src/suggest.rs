//! "Did you mean" for wrong names: the closest candidate by exact match, prefix, substring or
//! edit distance.

/// Levenshtein distance between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Length in characters of the common prefix of two strings.
fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// The candidate closest to `wanted`, if any is close enough to be a likely typo: a
/// case-insensitive match first, then a prefix, then a substring (either way), then a shared
/// beginning of at least half the name (`backend-xyz` → `backend-7d9f8-abcde`), then the
/// smallest edit distance within a third of the name's length (at least 2).
pub fn closest<'a, I>(wanted: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let w = wanted.to_lowercase();
    if w.is_empty() {
        return None;
    }
    let limit = (w.chars().count() / 3).max(2);
    let mut best: Option<((u8, usize, usize), &str)> = None;
    for c in candidates {
        let l = c.to_lowercase();
        let d = edit_distance(&w, &l);
        let tier = if l == w {
            0
        } else if l.starts_with(&w) || w.starts_with(&l) {
            1
        } else if l.contains(&w) || (l.len() >= 3 && w.contains(&l)) {
            2
        } else if common_prefix(&w, &l) >= (w.chars().count() / 2).max(4) {
            3
        } else if d <= limit {
            4
        } else {
            continue;
        };
        let key = (tier, d, c.len());
        if best.is_none_or(|(k, _)| key < k) {
            best = Some((key, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("backnd", "backend"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn ranks_typos_prefixes_and_substrings() {
        let names = ["backend", "frontend", "database", "backend-worker"];
        assert_eq!(closest("backnd", names).as_deref(), Some("backend"));
        assert_eq!(closest("Backend", names).as_deref(), Some("backend"));
        assert_eq!(closest("front", names).as_deref(), Some("frontend"));
        assert_eq!(closest("data", names).as_deref(), Some("database"));
        assert_eq!(closest("worker", names).as_deref(), Some("backend-worker"));
        assert_eq!(closest("fronted", names).as_deref(), Some("frontend"));
        // A prefix match beats a longer one: `backend` over `backend-worker`.
        assert_eq!(closest("back", names).as_deref(), Some("backend"));
        let pods = ["backend-7d9f8-abcde", "database-0", "frontend-66b-x1"];
        assert_eq!(
            closest("backend-xyz", pods).as_deref(),
            Some("backend-7d9f8-abcde")
        );
        assert_eq!(
            closest("frontend-66b-zzz", pods).as_deref(),
            Some("frontend-66b-x1")
        );
    }

    #[test]
    fn nothing_when_far() {
        let names = ["backend", "frontend"];
        assert_eq!(closest("redis", names), None);
        assert_eq!(closest("", names), None);
        assert_eq!(closest("x", std::iter::empty()), None);
    }
}
