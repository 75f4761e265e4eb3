//! Property tests of the offline question reader over generated questions: it never panics
//! (any text, any unicode, pasted alerts), answers the same way twice, and a target it names
//! always exists in the inventory.

use proptest::prelude::*;

use super::intent::Conversation;
use super::read;
use super::tests::shop;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Question-shaped text: the inventory's names, kinds, verbs, namespaces, numbers, flags,
/// typos and noise, in any order.
fn question() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        proptest::sample::select(
            &[
                "why",
                "is",
                "backend",
                "frontend",
                "database",
                "crashing",
                "restart",
                "scale",
                "to",
                "roll",
                "back",
                "logs",
                "of",
                "describe",
                "pods",
                "deploymnets",
                "svc",
                "in",
                "shop",
                "batch",
                "-n",
                "-A",
                "all",
                "namespaces",
                "revision",
                "previous",
                "errors",
                "events",
                "@kai",
                "kai,",
                "uploads",
                "node-1",
                "nightly-report",
                "it",
                "that",
                "0",
                "3",
                "99999999999999999999",
                "-1",
                "ß",
                "İ",
                "\u{200b}",
                "ｂａｃｋｅｎｄ",
                "shop/backend",
                "deployment/backend",
                "\"backend\"",
                "FIRING:",
                "[Alertmanager]",
                "namespace=shop",
            ][..]
        )
        .prop_map(str::to_string),
        "\\PC{1,8}",
        "[a-z]{1,10}",
    ];
    proptest::collection::vec(word, 0..14).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_read_without_panic(q in "\\PC{0,200}") {
        let _ = read(&q, &shop(), &Conversation::default(), "shop");
    }

    #[test]
    fn a_question_is_read_the_same_way_twice_and_names_only_real_objects(q in question()) {
        let inv = shop();
        let conv = Conversation::default();
        let a = read(&q, &inv, &conv, "shop");
        let b = read(&q, &inv, &conv, "shop");
        prop_assert_eq!(&a, &b);
        if let Some(t) = &a.target {
            prop_assert!(inv.objects.contains(t), "{:?} is not in the inventory ({:?})", t, q);
        }
        // A conversation about a previous object reads without panic too.
        let conv = Conversation { last: inv.objects.first().cloned(), ..Conversation::default() };
        let _ = read(&q, &inv, &conv, "shop");
    }
}
