use std::path::{Component, Path};

use proptest::prelude::*;

use super::*;

#[test]
fn normal_forms() {
    let f = |raw: &str, want: &str| {
        let got = MetricName::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(got.as_str(), want, "{raw:?}");
    };
    f("a.b.c", "a.b.c");
    f("a", "a");
    f("a..b", "a.b");
    f(".a.b", "a.b");
    f("a.b.", "a.b");
    f("...a...b...", "a.b");
    f("~a.b", "a.b");
    f("~~~x", "x");
    f("a b.c", "a b.c");
    f("ünï.cödé", "ünï.cödé");
    f("a*b.{c,d}.[e]", "a*b.{c,d}.[e]");
    f("a;b=c", "a;b=c");
    f("disk.used;host=a;dc=x", "disk.used;dc=x;host=a");
    // Sorted by the ";tag=value" string, as carbon's sorted() does: '-' < '='.
    f("a;a=1;a-b=2", "a;a-b=2;a=1");
    f("a;k=1;k=2", "a;k=2");
    f("a;name=x", "a");
    f("a;name=x;k=v", "a;k=v");
    f("~~x;k=v", "x;k=v");
    f("a..b;k=v", "a..b;k=v");
    f(".a;k=v", ".a;k=v");
    f("a;k=v=w", "a;k=v=w");
    f("a;k=/etc/passwd", "a;k=/etc/passwd");
    f("a;k=..", "a;k=..");
}

#[test]
fn openmetrics_forms() {
    let f = |raw: &str, want: &str| {
        let got = MetricName::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(got.as_str(), want, "{raw:?}");
    };
    f("a{b=\"c\"}", "a;b=c");
    f("a{d=\"e\",b=\"c\"}", "a;b=c;d=e");
    f("a{b=\"c\",d=\"e\\\"f\"}", "a;b=c;d=e\"f");
    f("a{b=\"c\":,d=\"e\"}", "a;b=c;d=e");
    f("a{k=\"v\\\\x\"}", "a;k=v\\x");
    f("~a{k=\"v\"}", "a;k=v");
    f("a.b{name=\"x\",k=\"v\"}", "a.b;k=v");
    f("a{name=\"x\"}", "a");
    f("a=b{c=\"d\"}", "a=b;c=d");
}

#[test]
fn rejected() {
    let f = |raw: &str, want: NameError| {
        assert_eq!(MetricName::parse(raw), Err(want), "{raw:?}");
    };
    f("", NameError::Empty);
    f(".", NameError::Empty);
    f("...", NameError::Empty);
    f("~~~", TagError::OnlyTildes.into());
    f("a/b", NameError::PathSeparator { ch: '/' });
    f("/etc/passwd", NameError::PathSeparator { ch: '/' });
    f("..\\x", NameError::PathSeparator { ch: '\\' });
    f(
        "a.b\0",
        NameError::ControlChar {
            ch: '\0',
            offset: 3,
        },
    );
    f(
        "a\nb",
        NameError::ControlChar {
            ch: '\n',
            offset: 1,
        },
    );
    f(
        "a\tb",
        NameError::ControlChar {
            ch: '\t',
            offset: 1,
        },
    );
    f(
        "a\u{7f}",
        NameError::ControlChar {
            ch: '\u{7f}',
            offset: 1,
        },
    );
    f(
        "a\u{85}",
        NameError::ControlChar {
            ch: '\u{85}',
            offset: 1,
        },
    );
    f("_tagged.abc.def.x", NameError::Reserved);
    f("..._tagged.x", NameError::Reserved);
    f(";k=v", TagError::NoName.into());
    f("a;", TagError::InvalidSegment(String::new()).into());
    f("a;k", TagError::InvalidSegment("k".into()).into());
    f("a;=v", TagError::InvalidSegment("=v".into()).into());
    f("a;k=", TagError::EmptyValue("k".into()).into());
    f(
        "a;k!=v",
        TagError::ForbiddenChar {
            ch: '!',
            tag: "k!".into(),
        }
        .into(),
    );
    f(
        "a;k^=v",
        TagError::ForbiddenChar {
            ch: '^',
            tag: "k^".into(),
        }
        .into(),
    );
    f("a;k=~v", TagError::TildeValue("k".into()).into());
    f("a;name=~v", TagError::TildeValue("name".into()).into());
    f("a/b;k=v", NameError::PathSeparator { ch: '/' });
    f("{k=\"v\"}", TagError::NoName.into());
    f("a{k=\"v\"}{\"}", TagError::ManyBraces.into());
    f("a{k=\"{\"}", TagError::ManyBraces.into());
    f(
        "a{k=\"\"}",
        TagError::InvalidOpenMetrics("k=\"\"".into()).into(),
    );
    f(
        "a{k=v\"}",
        TagError::InvalidOpenMetrics("k=v\"".into()).into(),
    );
    f(
        "a{k=\"a\\x\"}",
        TagError::InvalidOpenMetrics("k=\"a\\x\"".into()).into(),
    );
    f(
        "a{k=\"v\";\"}",
        TagError::InvalidOpenMetrics("k=\"v\";\"".into()).into(),
    );
    f("a{k=\"~v\"}", TagError::TildeValue("k".into()).into());
    f(
        "a{k=\"v;w\"}",
        TagError::SemicolonInValue("k".into()).into(),
    );
    f("a;x=1{k=\"v\"}", TagError::SemicolonInName.into());
    // Sorts to "a;b={;z=x\"}", which carbon would read back as OpenMetrics.
    f("a;z=x\"};b={", NameError::NotCanonical);
    f(".~a", NameError::NotCanonical);
    f("{k=\"v\"}.", NameError::NotCanonical);
}

#[test]
fn length_limits() {
    let at_limit = "a".repeat(MAX_NAME_LEN);
    assert!(matches!(
        MetricName::parse(&at_limit),
        Err(NameError::ComponentTooLong { .. })
    ));
    let long_tagged = format!("a;k={}", "v".repeat(MAX_NAME_LEN - 4));
    assert_eq!(long_tagged.len(), MAX_NAME_LEN);
    assert!(MetricName::parse(&long_tagged).is_ok());
    let too_long = format!("a;k={}", "v".repeat(MAX_NAME_LEN - 3));
    assert_eq!(
        MetricName::parse(&too_long),
        Err(NameError::TooLong {
            len: MAX_NAME_LEN + 1,
            max: MAX_NAME_LEN
        })
    );
    let dir = "d".repeat(MAX_COMPONENT_LEN);
    let leaf = "l".repeat(MAX_COMPONENT_LEN - 4);
    assert!(MetricName::parse(&format!("{dir}.{leaf}")).is_ok());
    assert_eq!(
        MetricName::parse(&format!("{dir}.{leaf}l")),
        Err(NameError::ComponentTooLong {
            len: MAX_COMPONENT_LEN - 3,
            max: MAX_COMPONENT_LEN - 4
        })
    );
    assert_eq!(
        MetricName::parse(&format!("{dir}d.{leaf}")),
        Err(NameError::ComponentTooLong {
            len: MAX_COMPONENT_LEN + 1,
            max: MAX_COMPONENT_LEN
        })
    );
}

#[test]
fn paths() {
    let f = |raw: &str, want: &str| {
        let m = MetricName::parse(raw).unwrap();
        assert_eq!(m.relative_path(), Path::new(want), "{raw:?}");
    };
    f("a.b.c", "a/b/c.wsp");
    f("a..b", "a/b.wsp");
    f("a", "a.wsp");
    // sha256("a;b=c"), as hashlib.sha256(b"a;b=c").hexdigest()
    f(
        "a;b=c",
        "_tagged/81e/2f5/81e2f530462430f177b8713d2a3507d3b0cd2df5ec039aef399b7c3242a56dc3.wsp",
    );
    f(
        "disk.used;host=a;dc=x",
        "_tagged/f91/0bf/f910bf03defc89594eec6f4dbea9d0c93aa254890df840f081ea8a760d78ece7.wsp",
    );
    f(
        "x;a=1;a-b=1",
        "_tagged/b68/1bd/b681bd33e3c1ca51740f565ca76a351c23a5fe7dc501e8ccf51806b1bea527c1.wsp",
    );
}

#[test]
fn accessors() {
    let m = MetricName::parse("disk.used;host=a;dc=x=y").unwrap();
    assert!(m.is_tagged());
    assert_eq!(m.series(), "disk.used");
    assert_eq!(
        m.tags().collect::<Vec<_>>(),
        vec![("dc", "x=y"), ("host", "a")]
    );
    let u = MetricName::parse("a.b").unwrap();
    assert!(!u.is_tagged());
    assert_eq!(u.series(), "a.b");
    assert_eq!(u.tags().count(), 0);
    assert_eq!(u.to_string(), "a.b");
    assert_eq!(format!("{u:?}"), "MetricName(\"a.b\")");
    let map: std::collections::HashMap<MetricName, u8> = [(u.clone(), 1)].into();
    assert_eq!(map.get("a.b"), Some(&1));
    assert_eq!("a..b".parse::<MetricName>(), Ok(u.clone()));
    assert_eq!(String::from(u), "a.b");
}

/// Whether a relative path is safe to join to the whisper directory.
fn assert_safe(path: &Path, name: &str) {
    let s = path.to_str().expect("paths are UTF-8");
    assert!(!s.contains('\0'), "{name:?} -> {s:?}: NUL");
    assert!(!path.is_absolute(), "{name:?} -> {s:?}: absolute");
    assert!(!s.starts_with('/'), "{name:?} -> {s:?}: leading /");
    for component in s.split('/') {
        assert!(
            !component.is_empty() && component != "." && component != "..",
            "{name:?} -> {s:?}: component {component:?}"
        );
    }
    for c in path.components() {
        assert!(
            matches!(c, Component::Normal(_)),
            "{name:?} -> {s:?}: {c:?}"
        );
    }
    assert!(s.ends_with(".wsp"), "{name:?} -> {s:?}");
}

/// Characters that matter to the rules, mixed with ordinary ones.
fn tricky_name() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        ".",
        "..",
        "/",
        "\\",
        "~",
        ";",
        "=",
        "{",
        "}",
        "\"",
        "\\\"",
        ",",
        ":,",
        "!",
        "^",
        "\0",
        "\n",
        "\r",
        " ",
        "a",
        "b",
        "name",
        "_tagged",
        "é",
        "\u{85}",
        "\u{2028}",
        "k=v",
        ";k=v",
        "{k=\"v\"}",
        "\"}",
        "*",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn no_accepted_name_escapes(raw in tricky_name()) {
        if let Ok(m) = MetricName::parse(&raw) {
            assert_safe(&m.relative_path(), &raw);
            // Normalising is idempotent: the normal form parses to itself.
            prop_assert_eq!(MetricName::parse(m.as_str()), Ok(m.clone()));
        }
    }

    #[test]
    fn no_accepted_arbitrary_string_escapes(raw in any::<String>()) {
        if let Ok(m) = MetricName::parse(&raw) {
            assert_safe(&m.relative_path(), &raw);
            prop_assert_eq!(MetricName::parse(m.as_str()), Ok(m.clone()));
        }
    }

    #[test]
    fn dotted_ascii_names_map_to_paths(parts in prop::collection::vec("[a-zA-Z0-9_-]{1,8}", 1..6)) {
        let raw = parts.join(".");
        let m = MetricName::parse(&raw).unwrap();
        prop_assert_eq!(m.as_str(), raw.as_str());
        prop_assert_eq!(m.relative_path(), PathBuf::from(format!("{}.wsp", parts.join("/"))));
    }

    /// The one-pass check for names already in normal form accepts only names the general
    /// parse returns unchanged.
    #[test]
    fn the_plain_name_shortcut_agrees_with_the_general_parse(
        raw in prop_oneof![
            tricky_name(),
            "[a-z~._;{/\\\\\u{7f}\u{85} -]{0,12}",
            prop::collection::vec("[a-z]{0,3}", 1..5).prop_map(|p| p.join(".")),
            (250usize..260, 250usize..260).prop_map(|(a, b)| format!("{}.{}", "a".repeat(a), "b".repeat(b))),
            Just(format!("{TAGGED_DIR}.x")),
            Just(format!("{TAGGED_DIR}x.y")),
        ]
    ) {
        if is_plain_normal(&raw) {
            prop_assert_eq!(normalise(&raw), Ok(raw.clone()));
        }
    }
}
