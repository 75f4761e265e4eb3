//! Property tests of scenario loading over generated and mutated files: parsing, loading into
//! a store and a round of the simulation never panic, errors are one line, and pod counts the
//! sandbox cannot simulate are refused by the loader.

use jiff::Timestamp;
use kai_sandbox::sim::Simulator;
use kai_sandbox::store::Store;
use kai_sandbox::{Clock, Scenario};
use proptest::prelude::*;

const DEMO: &str = include_str!("../scenarios/demo.yaml");

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Parses `text`, loads it into a store on a manual clock and runs the simulation once:
/// either succeeds or fails with a one-line error, never a panic.
fn load(text: &str) {
    match Scenario::from_yaml("fuzz.yaml", text) {
        Ok(scenario) => {
            let clock = Clock::manual(
                Timestamp::from_second(1_750_000_000).unwrap_or(Timestamp::UNIX_EPOCH),
            );
            let mut store = Store::new(clock);
            let mut sim = Simulator::new(&scenario);
            match sim.load(&mut store, &scenario) {
                Ok(()) => sim.reconcile(&mut store),
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
        Err(e) => {
            let m = e.to_string();
            assert!(!m.is_empty() && !m.contains('\n'), "not one line: {m:?}");
        }
    }
}

/// The byte offset of the char boundary at or before `i`.
fn boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Snippets that stress a loader: odd YAML, huge and negative numbers, wrong types.
fn snippet() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,16}",
        Just("\n---\n".to_string()),
        Just(": ".to_string()),
        Just("\n  - ".to_string()),
        Just("{".to_string()),
        Just("[[[[".to_string()),
        Just("&a [*a]".to_string()),
        Just("!!binary x".to_string()),
        Just("99999999999999999999".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("null".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("kind: List\nitems: [".to_string()),
        Just("\nreplicas: 2147483648\n".to_string()),
    ]
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn any_text_loads_or_fails_in_one_line(text in "\\PC{0,300}") {
        load(&text);
    }

    #[test]
    fn a_mutated_demo_loads_or_fails_in_one_line(
        cut_at in 0usize..DEMO.len(),
        cut_len in 0usize..200,
        insert_at in 0usize..DEMO.len(),
        insert in snippet(),
    ) {
        let a = boundary(DEMO, cut_at);
        let b = boundary(DEMO, a + cut_len);
        let mut text = format!("{}{}", &DEMO[..a], &DEMO[b..]);
        let at = boundary(&text, insert_at);
        text.insert_str(at, &insert);
        load(&text);
    }

    #[test]
    fn pod_counts_beyond_the_simulation_are_refused(
        field in proptest::sample::select(&["replicas", "parallelism", "completions"][..]),
        n in 5001u64..u64::MAX,
    ) {
        let kind = if field == "replicas" { "apps/v1\nkind: Deployment" } else { "batch/v1\nkind: Job" };
        let text = format!(
            "apiVersion: {kind}\nmetadata: {{name: big, namespace: default}}\nspec:\n  {field}: {n}\n  template: {{spec: {{containers: [{{name: c, image: x}}]}}}}\n"
        );
        let e = Scenario::from_yaml("big.yaml", &text).err();
        prop_assert!(
            e.as_ref().is_some_and(|e| e.to_string().contains("at most 5000")),
            "{:?}", e.map(|e| e.to_string())
        );
    }
}
