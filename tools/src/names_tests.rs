//! The decoration family: every way a protected namespace or a name can be dressed up is refused.

use serde_json::json;

use super::*;

/// Decorations of a valid base name, each of which must be refused.
fn decorations(base: &str) -> Vec<String> {
    let upper_first = {
        let mut c = base.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    vec![
        format!("{base}/"),
        format!("/{base}"),
        format!("/{base}/"),
        format!("{base}//"),
        format!("./{base}"),
        format!("{base}/."),
        format!("{base}/.."),
        format!("../{base}"),
        format!("{base}%2F"),
        format!("%2F{base}"),
        base.replace('-', "%2D"),
        format!("%6B{}", &base[1..]),
        format!(" {base}"),
        format!("{base} "),
        format!("{base}\t"),
        format!("{base}\n"),
        format!("\u{a0}{base}"),
        format!("{base}\u{200b}"),
        base.to_ascii_uppercase(),
        upper_first,
        // Cyrillic and full-width look-alikes.
        base.replacen('e', "\u{435}", 1),
        base.replacen('s', "\u{455}", 1),
        base.replacen('-', "\u{2010}", 1),
        base.replacen('-', "\u{ff0d}", 1),
        format!("{base}\u{301}"),
        format!("{base}?x=1"),
        format!("{base}#"),
        format!("{base};"),
        format!("{base}\\"),
        format!("{base}."),
        format!(".{base}"),
        format!("-{base}"),
        format!("{base}-"),
        String::new(),
        "a".repeat(300),
    ]
}

#[test]
fn protected_namespace_decorations_are_refused() {
    for base in ["kube-system", "kube-public", "prod", "kube-node-lease"] {
        assert!(Namespace::parse(base).is_ok(), "{base}");
        for d in decorations(base) {
            if d == base {
                continue;
            }
            let err = Namespace::parse(&d).err();
            assert!(err.is_some(), "namespace {d:?} was accepted");
            let err = err.unwrap_or_default();
            assert!(!err.contains('\n'), "one line: {err}");
            assert!(err.contains("namespace"), "{err}");
        }
    }
    // The dotted and over-long forms of a namespace are refused too (labels have no dots).
    assert!(Namespace::parse("kube.system").is_err());
    assert!(Namespace::parse(&"a".repeat(64)).is_err());
    assert!(Namespace::parse(&"a".repeat(63)).is_ok());
}

#[test]
fn name_decorations_are_refused() {
    for base in ["backend", "payments-api", "web-1"] {
        assert!(ObjectName::parse(base).is_ok(), "{base}");
        for d in decorations(base) {
            if d == base {
                continue;
            }
            assert!(ObjectName::parse(&d).is_err(), "name {d:?} was accepted");
        }
    }
    for ok in ["backend-7c476d6695-8b9wx", "a.b.c", "x", "db-0", "1abc"] {
        assert!(ObjectName::parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn a_namespace_in_the_name_field_is_refused_with_advice() {
    let err = ObjectName::parse("kube-system/coredns")
        .err()
        .unwrap_or_default();
    assert!(err.contains("give the namespace in \"namespace\""), "{err}");
    let err = check_reference("name", "kube-system/coredns")
        .err()
        .unwrap_or_default();
    assert!(err.contains("\"kube-system\" is not a kind"), "{err}");
    // kubectl's kind/name form stays accepted where a reference is.
    assert!(check_reference("workload", "deployment/backend").is_ok());
    assert!(check_reference("pod", "pod/web-1").is_ok());
    assert!(check_reference("name", "deploy/Backend").is_err());
    assert!(check_reference("name", "deployment/kube-system/x").is_err());
}

#[test]
fn errors_suggest_the_clean_name() {
    let err = Namespace::parse(" Kube-System/").err().unwrap_or_default();
    assert!(err.contains("did you mean \"kube-system\"?"), "{err}");
    let err = Namespace::parse("kube\u{2010}system")
        .err()
        .unwrap_or_default();
    assert!(err.contains("\\u{2010}"), "{err}");
}

#[test]
fn arguments_are_checked_field_by_field() {
    assert!(check_arguments(&json!({"namespace": "shop", "name": "backend"})).is_ok());
    assert!(check_arguments(&json!({"namespace": ""})).is_ok());
    assert!(check_arguments(&json!({"kind": "Deployment", "replicas": 3})).is_ok());
    assert!(check_arguments(&json!(null)).is_ok());
    for bad in [
        json!({"namespace": "kube-system/"}),
        json!({"namespace": "/kube-system"}),
        json!({"namespace": "prod/"}),
        json!({"namespace": " "}),
        json!({"name": "shop/backend"}),
        json!({"pod": "web-1/"}),
        json!({"workload": "shop/backend"}),
        json!({"container": "app/x"}),
    ] {
        assert!(check_arguments(&bad).is_err(), "{bad}");
    }
}

#[test]
fn validated_types_deserialize_only_valid_values() {
    let ns: Result<Namespace, _> = serde_json::from_value(json!("shop"));
    assert_eq!(ns.map(|n| n.to_string()).ok().as_deref(), Some("shop"));
    let ns: Result<Namespace, _> = serde_json::from_value(json!("kube-system/"));
    assert!(ns.is_err());
    let n: Result<ObjectName, _> = serde_json::from_value(json!("a/b"));
    assert!(n.is_err());
}
