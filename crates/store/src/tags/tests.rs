//! The index against graphite-web's TagDB semantics (cases checked on Debian's
//! graphite-web 1.1.8 with its sqlite tag database), and the log's recovery rules.

use super::*;

fn name(s: &str) -> MetricName {
    MetricName::parse(s).unwrap()
}

fn index(names: &[&str]) -> TagIndex {
    let idx = TagIndex::new();
    for n in names {
        idx.add(name(n).as_name_ref()).unwrap();
    }
    idx
}

const SERIES: &[&str] = &[
    "disk.used;host=a;dc=x",
    "disk.used;dc=y;host=b",
    "cpu;host=a;dc=x;rack=r1",
    "cpu;host=b",
    "mem;zone=eu;host=c",
];

fn find(idx: &TagIndex, exprs: &[&str]) -> Result<Vec<String>, TagQueryError> {
    idx.find_series(exprs)
}

#[test]
fn add_is_idempotent_and_remove_forgets_tags() {
    let idx = index(SERIES);
    assert_eq!(idx.len(), 5);
    assert!(
        !idx.add(name("disk.used;dc=x;host=a").as_name_ref())
            .unwrap()
    );
    assert!(idx.contains("disk.used;dc=x;host=a"));
    assert_eq!(
        idx.tags(None, None).unwrap(),
        ["dc", "host", "name", "rack", "zone"]
    );
    assert!(idx.remove(&name("cpu;rack=r1;host=a;dc=x")).unwrap());
    assert!(!idx.remove(&name("cpu;rack=r1;host=a;dc=x")).unwrap());
    assert_eq!(
        idx.tags(None, None).unwrap(),
        ["dc", "host", "name", "zone"]
    );
    assert_eq!(
        idx.values("host", None, None).unwrap().unwrap(),
        [("a".into(), 1), ("b".into(), 2), ("c".into(), 1)]
    );
    assert_eq!(idx.values("rack", None, None).unwrap(), None);
}

#[test]
fn find_series_operators() {
    let idx = index(SERIES);
    assert_eq!(
        find(&idx, &["host=a"]).unwrap(),
        ["cpu;dc=x;host=a;rack=r1", "disk.used;dc=x;host=a"]
    );
    // `!=` with a value matches series without the tag, so it cannot stand alone.
    assert_eq!(find(&idx, &["host!=a"]), Err(TagQueryError::AllMatchEmpty));
    assert_eq!(
        find(&idx, &["name=cpu", "host!=a"]).unwrap(),
        ["cpu;host=b"]
    );
    // `dc=` matches only series without dc.
    assert_eq!(find(&idx, &["host=~a|b", "dc="]).unwrap(), ["cpu;host=b"]);
    // Anchored at the start, not at the end.
    assert_eq!(find(&idx, &["name=~dis"]).unwrap().len(), 2);
    assert!(find(&idx, &["name=~used"]).unwrap().is_empty());
    // `!=~` of a pattern that does not match "" keeps series without the tag.
    assert_eq!(
        find(&idx, &["host=~.", "dc!=~x"]).unwrap(),
        ["cpu;host=b", "disk.used;dc=y;host=b", "mem;host=c;zone=eu"]
    );
    // `tag!=` means "has the tag".
    assert_eq!(
        find(&idx, &["rack!="]).unwrap(),
        ["cpu;dc=x;host=a;rack=r1"]
    );
    // A pattern matching "" with `!=~` requires the tag: `^$` never matches a value.
    assert_eq!(find(&idx, &["zone!=~^$"]).unwrap(), ["mem;host=c;zone=eu"]);
    // `=~` of a pattern matching "" also accepts series without the tag.
    assert_eq!(find(&idx, &["name=cpu", "rack=~.*"]).unwrap().len(), 2);
    assert!(find(&idx, &["nosuch=x"]).unwrap().is_empty());
}

#[test]
fn required_patterns_search_like_sqlite_and_filters_match_like_python() {
    let idx = index(&["m;t=xb", "m;t=ab"]);
    // sqlite's REGEXP is re.search: `^a|b` finds the `b` of "xb".
    assert_eq!(find(&idx, &["t=~^a|b"]).unwrap(), ["m;t=ab", "m;t=xb"]);
    // A pattern matching "" is applied with re.match: `b` must be at the start.
    assert_eq!(find(&idx, &["name=m", "t=~^a|b|^$"]).unwrap(), ["m;t=ab"]);
}

#[test]
fn tagspec_errors_use_graphite_web_messages() {
    let idx = index(SERIES);
    for bad in ["foo", "", "=x", "a!x", "a=b;c", "a;b=c"] {
        assert_eq!(
            find(&idx, &[bad]).unwrap_err().to_string(),
            format!("Invalid tagspec {bad}")
        );
    }
    assert_eq!(
        find(&idx, &["dc="]).unwrap_err().to_string(),
        "At least one tagspec must not match the empty string"
    );
    assert!(matches!(
        find(&idx, &["host=~(a"]),
        Err(TagQueryError::Regex { .. })
    ));
    // Back-references would need backtracking; refused, not run.
    assert!(matches!(
        find(&idx, &["host=~(a)\\1"]),
        Err(TagQueryError::Regex { .. })
    ));
    assert!(matches!(
        find(&idx, &["host=~a{1000}{1000}"]),
        Err(TagQueryError::TooComplex(_))
    ));
    // Parsed like graphite-web's regular expression: the tag ends at the first `!` or `=`.
    assert_eq!(find(&idx, &["host==a"]).unwrap(), Vec::<String>::new());
    assert_eq!(parse_tagspec("a=b=c").unwrap(), ("a", Op::Eq, "b=c"));
    assert_eq!(parse_tagspec("a!=~b").unwrap(), ("a", Op::NotMatch, "b"));
    assert_eq!(parse_tagspec("a~=b").unwrap(), ("a~", Op::Eq, "b"));
}

#[test]
fn tags_and_values_filter_and_limit() {
    let idx = index(SERIES);
    assert_eq!(idx.tags(Some("h"), None).unwrap(), ["host"]);
    assert_eq!(idx.tags(Some("a|z"), None).unwrap(), ["zone"]);
    assert_eq!(idx.tags(Some("^.*e$"), None).unwrap(), ["name", "zone"]);
    assert_eq!(idx.tags(None, Some(2)).unwrap(), ["dc", "host"]);
    assert_eq!(idx.tags(Some(""), Some(0)).unwrap(), Vec::<String>::new());
    assert_eq!(
        idx.values("name", Some("c|m"), Some(1)).unwrap().unwrap(),
        [("cpu".into(), 2)]
    );
    assert!(idx.tags(Some("("), None).is_err());
    // An unknown tag is None before its filter is even compiled, as in graphite-web.
    assert_eq!(idx.values("nosuch", Some("("), None).unwrap(), None);
}

#[test]
fn auto_complete_tags_and_values() {
    let idx = index(SERIES);
    let none: &[&str] = &[];
    assert_eq!(
        idx.auto_complete_tags(none, Some("h"), None).unwrap(),
        ["host"]
    );
    assert_eq!(
        idx.auto_complete_tags(none, None, Some(2)).unwrap(),
        ["dc", "host"]
    );
    assert_eq!(
        idx.auto_complete_tags(&["host=a"], None, None).unwrap(),
        ["dc", "name", "rack"]
    );
    assert_eq!(
        idx.auto_complete_tags(&["host=a"], Some("r"), None)
            .unwrap(),
        ["rack"]
    );
    assert_eq!(
        idx.auto_complete_tags(&["host=~."], None, Some(2)).unwrap(),
        ["dc", "name"]
    );
    assert_eq!(
        idx.auto_complete_values(none, "host", Some("b"), None)
            .unwrap(),
        ["b"]
    );
    assert_eq!(
        idx.auto_complete_values(none, "nosuch", None, None)
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        idx.auto_complete_values(&["name=cpu"], "dc", None, None)
            .unwrap(),
        ["x"]
    );
    assert_eq!(
        idx.auto_complete_values(&["host=~."], "name", Some("d"), None)
            .unwrap(),
        ["disk.used"]
    );
    assert_eq!(
        idx.auto_complete_values(&["host=~."], "name", None, Some(2))
            .unwrap(),
        ["cpu", "disk.used"]
    );
    assert!(idx.auto_complete_tags(&["bad"], None, None).is_err());
}

#[test]
fn log_survives_reopen_torn_lines_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tags.log");
    {
        let (idx, report) = TagIndex::open(&path).unwrap();
        assert_eq!(report, LoadReport::default());
        for n in SERIES {
            idx.add(name(n).as_name_ref()).unwrap();
        }
        idx.remove(&name("cpu;host=b")).unwrap();
        idx.sync().unwrap();
    }
    // A crash in the middle of an append leaves a line without its newline.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"half.writ").unwrap();
    drop(f);
    {
        let (idx, report) = TagIndex::open(&path).unwrap();
        assert!(report.torn);
        assert_eq!((report.series, report.lines), (4, 6));
        assert!(!idx.contains("cpu;host=b"));
        assert!(!idx.contains("half.writ"));
        idx.add(name("new;a=1").as_name_ref()).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("-\tcpu;host=b\nnew;a=1\n"), "{text:?}");
    let (idx, report) = TagIndex::open(&path).unwrap();
    assert!(!report.torn && !report.compacted);
    assert_eq!(idx.len(), 5);
    for i in 0..COMPACT_MIN_DEAD_LINES {
        let n = name(&format!("churn;i={i}"));
        idx.add(n.as_name_ref()).unwrap();
        idx.remove(&n).unwrap();
    }
    drop(idx);
    let (idx, report) = TagIndex::open(&path).unwrap();
    assert!(report.compacted);
    assert_eq!(idx.len(), 5);
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(lines, 5);
    assert_eq!(find(&idx, &["name=new"]).unwrap(), ["new;a=1"]);
}

#[test]
fn unparsable_log_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tags.log");
    std::fs::write(&path, "ok;a=1\nbad;=x\n\n-\tnothere;b=2\n").unwrap();
    let (idx, report) = TagIndex::open(&path).unwrap();
    assert_eq!(report.skipped, 2);
    assert_eq!(idx.len(), 1);
}
