//! Tests of the resource verbs' helpers.

use serde_json::json;

use super::events::{from_events_v1, to_events_v1};
use super::read::{continue_token, parse_continue};

#[test]
fn continue_tokens_round_trip() {
    let t = continue_token("shop", "web-1");
    assert_eq!(parse_continue(&t).unwrap(), ("shop".into(), "web-1".into()));
    assert!(parse_continue("zz").is_err());
}

#[test]
fn any_continue_token_is_a_bad_request_not_a_panic() {
    let garbage = [
        "é",
        "aé",
        "éa",
        "ü1",
        "日本",
        "0é0",
        "+/==",
        "\u{0}",
        "a",
        "7z",
        "ff",
        "c3",
        "\u{1F600}\u{1F600}",
        "%41",
        " 61",
        "6 1",
    ];
    for t in garbage {
        let e = parse_continue(t).expect_err(t);
        assert_eq!(e.code, 400, "{t}");
        assert!(
            e.status()["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid continue token: continue key is not valid:"),
            "{t}"
        );
    }
}

#[test]
fn events_convert_both_ways() {
    let core = json!({"kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "name": "p"}, "message": "m", "reason": "R", "type": "Warning",
        "firstTimestamp": "2026-01-01T00:00:00Z"});
    let v1 = to_events_v1(&core);
    assert_eq!(v1["regarding"]["name"], "p");
    assert_eq!(v1["note"], "m");
    assert_eq!(v1["eventTime"], "2026-01-01T00:00:00Z");
    let back = from_events_v1(&v1);
    assert_eq!(back["involvedObject"], core["involvedObject"]);
    assert_eq!(back["message"], "m");
}
