//! Property tests of the masker over generated text: it never panics, masking twice changes
//! nothing, it never changes a line without leaving a mask marker there, and a planted secret
//! of any class never survives whatever text surrounds it.

use kai_tools::mask::MASK;
use kai_tools::mask_text;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text shaped like logs and arguments: words, separators, quotes, URLs, key-like words.
fn loggy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9_./-]{0,12}",
        Just("password".to_string()),
        Just("token".to_string()),
        Just("secret".to_string()),
        Just("Pwd".to_string()),
        Just("--db-password".to_string()),
        Just("-p".to_string()),
        Just("Bearer".to_string()),
        Just("postgres://".to_string()),
        Just("-----BEGIN PRIVATE KEY-----".to_string()),
        Just("-----END PRIVATE KEY-----".to_string()),
        Just("eyJ".to_string()),
        Just("sk_live_".to_string()),
        "[ =:@/,;\"'{}\\[\\]\\n\\t]{1,3}",
        "\\PC{0,4}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// A secret value no placeholder rule skips: letters and digits, mixed case.
fn secret() -> impl Strategy<Value = String> {
    "[A-Z][a-z][0-9][A-Za-z0-9]{13,25}"
}

/// The classes of the canary corpus, each with `{}` where the value goes.
const CLASSES: &[&str] = &[
    "password={}",
    "ERROR: password={}",
    "DB_PASSWORD: {}",
    "Server=db;Database=x;User Id=sa;Pwd={};",
    "postgres://app:{}@db.shop:5432/orders",
    "--db-password {}",
    "--db-password={}",
    "mysql -uroot -p{} orders",
    "Authorization: Bearer {}",
    "sk_live_{}",
    "https://hooks.slack.com/services/T000/B000/{}",
    "{\"name\": \"API_TOKEN\", \"value\": \"{}\"}",
    "client_secret: \"{}\"",
    "api-key={}",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics_on_any_text(s in "\\PC{0,200}") {
        let _ = mask_text(&s);
    }

    #[test]
    fn masking_twice_changes_nothing(s in loggy()) {
        let once = mask_text(&s);
        prop_assert_eq!(mask_text(&once), once.clone(), "input {:?}", s);
    }

    #[test]
    fn a_changed_line_carries_a_mask_marker(s in loggy()) {
        prop_assume!(!s.contains(MASK));
        let out = mask_text(&s);
        if !out.contains(MASK) {
            prop_assert_eq!(&out, &s);
        }
        let (a, b): (Vec<&str>, Vec<&str>) = (s.lines().collect(), out.lines().collect());
        if a.len() == b.len() {
            for (before, after) in a.iter().zip(&b) {
                // A line without a marker is unchanged: never lengthened, never cut.
                if !after.contains(MASK) {
                    prop_assert_eq!(before, after);
                }
            }
        }
    }

    #[test]
    fn a_planted_secret_never_survives(
        class in proptest::sample::select(CLASSES),
        value in secret(),
        before in "[a-z ]{0,16}",
        after in "[a-z ]{0,16}",
        newline_before in any::<bool>(),
    ) {
        let planted = class.replace("{}", &value);
        let sep = if newline_before { "\n" } else { " " };
        let text = format!("{before}{sep}{planted}\n{after}");
        let out = mask_text(&text);
        prop_assert!(!out.contains(&value), "{:?} survived in {:?}", value, out);
    }
}
