//! Query parameters as the API server parses them.

/// A boolean query parameter as the API server converts it: absent is false; `0` and `false`
/// in any case are false; anything else (`true`, `True`, `1`, `t`, even empty) is true.
/// kubernetes-asyncio sends `watch=True`.
pub fn parse_bool(value: Option<&str>) -> bool {
    match value {
        None => false,
        Some(v) => !(v == "0" || v.eq_ignore_ascii_case("false")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bool;

    #[test]
    fn booleans_parse_like_the_api_server() {
        for v in ["true", "True", "TRUE", "1", "t", "yes"] {
            assert!(parse_bool(Some(v)), "{v}");
        }
        for v in ["false", "False", "FALSE", "0"] {
            assert!(!parse_bool(Some(v)), "{v}");
        }
        assert!(!parse_bool(None));
    }
}
