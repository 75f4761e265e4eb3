//! The decision as a table, and invariants over every combination of facts.

use super::*;

const MODES: [Mode; 3] = [Mode::ReadOnly, Mode::Confirm, Mode::Auto];

fn all_facts() -> Vec<Facts> {
    let mut out = Vec::new();
    for mode in MODES {
        for effect in [Effect::Read, Effect::Write] {
            for bits in 0..16u8 {
                out.push(Facts {
                    mode,
                    effect,
                    protected: bits & 1 != 0,
                    outside_namespace: bits & 2 != 0,
                    remembered: bits & 4 != 0,
                    terminal: bits & 8 != 0,
                });
            }
        }
    }
    out
}

#[test]
fn decision_table() {
    use Mode::*;
    // (mode, effect, protected, outside, remembered, terminal) → verdict
    let w = Effect::Write;
    let deny = |r: Refusal| Verdict::Deny(r);
    type Row = ((Mode, Effect, bool, bool, bool, bool), Verdict);
    let rows: Vec<Row> = vec![
        (
            (ReadOnly, Effect::Read, true, true, false, false),
            Verdict::Run,
        ),
        (
            (Confirm, Effect::Read, true, false, false, false),
            Verdict::Run,
        ),
        (
            (ReadOnly, w, false, false, false, true),
            deny(Refusal::ReadOnly),
        ),
        (
            (ReadOnly, w, true, false, true, true),
            deny(Refusal::ReadOnly),
        ),
        ((Auto, w, false, false, false, false), Verdict::Run),
        (
            (Auto, w, true, false, false, true),
            deny(Refusal::Protected(String::new())),
        ),
        (
            (Auto, w, true, false, true, true),
            deny(Refusal::Protected(String::new())),
        ),
        (
            (Auto, w, false, true, false, true),
            deny(Refusal::OutsideNamespace(String::new(), String::new())),
        ),
        (
            (Auto, w, false, true, true, true),
            deny(Refusal::OutsideNamespace(String::new(), String::new())),
        ),
        ((Confirm, w, false, false, false, true), Verdict::Ask),
        ((Confirm, w, false, true, false, true), Verdict::Ask),
        ((Confirm, w, false, false, true, true), Verdict::Run),
        ((Confirm, w, false, false, true, false), Verdict::Run),
        (
            (Confirm, w, false, false, false, false),
            deny(Refusal::NoTerminal),
        ),
        (
            (Confirm, w, false, true, false, false),
            deny(Refusal::NoTerminal),
        ),
        (
            (Confirm, w, true, false, true, true),
            deny(Refusal::Protected(String::new())),
        ),
        (
            (Confirm, w, true, false, false, false),
            deny(Refusal::Protected(String::new())),
        ),
    ];
    for ((mode, effect, protected, outside_namespace, remembered, terminal), want) in rows {
        let f = Facts {
            mode,
            effect,
            protected,
            outside_namespace,
            remembered,
            terminal,
        };
        assert_eq!(decide(&f), want, "{f:?}");
    }
}

#[test]
fn invariants_over_every_combination() {
    let all = all_facts();
    assert_eq!(all.len(), 96);
    for f in all {
        let v = decide(&f);
        if f.effect == Effect::Read {
            assert_eq!(v, Verdict::Run, "{f:?}");
            continue;
        }
        if f.mode == Mode::ReadOnly || f.protected {
            assert!(matches!(v, Verdict::Deny(_)), "{f:?}: {v:?}");
        }
        if f.mode == Mode::Auto && f.outside_namespace {
            assert!(matches!(v, Verdict::Deny(_)), "{f:?}: {v:?}");
        }
        if v == Verdict::Ask {
            assert!(
                f.mode == Mode::Confirm && f.terminal && !f.remembered,
                "{f:?}"
            );
        }
        if v == Verdict::Run {
            assert!(!f.protected && f.mode != Mode::ReadOnly, "{f:?}");
        }
    }
}

#[test]
fn advice_matches_the_reason() {
    let protected = Refusal::Protected("kube-system".into()).advice();
    assert!(!protected.contains("--yes"), "{protected}");
    assert!(protected.contains("protected"), "{protected}");
    assert!(!Refusal::ReadOnly.advice().contains("--yes"));
    assert!(
        !Refusal::OutsideNamespace("prod".into(), "staging".into())
            .advice()
            .contains("--yes")
    );
    assert!(Refusal::NoTerminal.advice().contains("--yes"));
    assert_eq!(Refusal::Cancelled.decision_word(), "cancelled");
    assert_eq!(Refusal::NoTerminal.decision_word(), "denied");
}

#[test]
fn modes_parse() {
    assert_eq!("read_only".parse::<Mode>(), Ok(Mode::ReadOnly));
    assert_eq!(" Auto ".parse::<Mode>(), Ok(Mode::Auto));
    assert!("x".parse::<Mode>().is_err());
}
