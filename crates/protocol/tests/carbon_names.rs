//! `MetricName` against carbon's own `TaggedSeries` and whisper path code, from the
//! installed graphite-carbon package (the reference, run by `/usr/bin/python3`).

mod common;

use std::path::{Component, Path, PathBuf};

use charcoal_protocol::metric_name::TagError;
use charcoal_protocol::{MetricName, NameError};
use common::run_python;
use serde_json::json;

/// Names that exercise every rule, plus seeded random mixes of the characters that matter.
fn names() -> Vec<String> {
    let mut v: Vec<String> = [
        "a.b.c",
        "a",
        "a..b",
        ".a.b",
        "a.b.",
        "~a.b",
        "~~~x",
        "a b.c",
        "ünï.cödé",
        "a*b.{c,d}",
        "a;b=c",
        "disk.used;host=a;dc=x",
        "a;a=1;a-b=2",
        "a;k=1;k=2",
        "a;name=x",
        "a;name=x;k=v",
        "~~x;k=v",
        "a..b;k=v",
        ".a;k=v",
        "a;k=v=w",
        "a;k=/etc/passwd",
        "a;k=..",
        "a{b=\"c\"}",
        "a{d=\"e\",b=\"c\"}",
        "a{b=\"c\",d=\"e\\\"f\"}",
        "a{b=\"c\":,d=\"e\"}",
        "a{k=\"v\\\\x\"}",
        "~a{k=\"v\"}",
        "a.b{name=\"x\",k=\"v\"}",
        "a{name=\"x\"}",
        "a=b{c=\"d\"}",
        "~~~",
        "a/b",
        "/etc/passwd",
        "..\\x",
        "_tagged.abc.def.x",
        ";k=v",
        "a;",
        "a;k",
        "a;=v",
        "a;k=",
        "a;k!=v",
        "a;k^=v",
        "a;k=~v",
        "a;name=~v",
        "a/b;k=v",
        "{k=\"v\"}",
        "a{k=\"v\"}{\"}",
        "a{k=\"{\"}",
        "a{k=\"\"}",
        "a{k=v\"}",
        "a{k=\"a\\x\"}",
        "a{k=\"v\";\"}",
        "a{k=\"~v\"}",
        "a{k=\"v;w\"}",
        "a;x=1{k=\"v\"}",
        "a;z=x\"};b={",
        ".~a",
        "{k=\"v\"}.",
        "a{}",
        "a{k=\"v\",}",
        "x;a=1;a-b=1",
        "carbon.agents.host.cpuUsage",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let pieces = [
        ".",
        "..",
        "/",
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
        " ",
        "a",
        "b",
        "name",
        "_tagged",
        "é",
        "k=v",
        ";k=v",
        "{k=\"v\"}",
        "\"}",
        "*",
    ];
    let mut x: u64 = 0x853c_49e6_748f_ea9b;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x % 7) as usize + 1;
        v.push(
            (0..n)
                .map(|i| pieces[((x >> (i * 5 + 3)) % pieces.len() as u64) as usize])
                .collect(),
        );
    }
    v
}

/// Collapses empty components the way the OS resolves carbon's `a//b`.
fn os_normalised(file: &str) -> PathBuf {
    PathBuf::from(file)
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

#[test]
fn names_match_carbon() {
    let names = names();
    let out = run_python("names.py", &json!(names));
    let mut mismatches = Vec::new();
    let (mut same, mut refused) = (0, 0);
    for (raw, carbon) in names.iter().zip(out.as_array().unwrap()) {
        let ours = MetricName::parse(raw);
        let carbon_path = carbon["path"].as_str();
        let carbon_file = carbon["file"].as_str().unwrap();
        match (ours, carbon_path) {
            (Ok(m), Some(path)) if m.is_tagged() => {
                same += 1;
                if m.as_str() != path || m.relative_path() != Path::new(carbon_file) {
                    mismatches.push(format!(
                        "{raw:?}: carbon {path:?} {carbon_file:?}, charcoal {m:?} {:?}",
                        m.relative_path()
                    ));
                }
            }
            (Ok(m), Some(path)) => {
                same += 1;
                // Untagged: the same name with empty components dropped, and the same file
                // as the OS resolves carbon's path, except for a trailing dot (documented).
                let collapsed: Vec<&str> = path.split('.').filter(|c| !c.is_empty()).collect();
                let file_differs_by_design = path.ends_with('.');
                if m.as_str() != collapsed.join(".")
                    || (!file_differs_by_design && m.relative_path() != os_normalised(carbon_file))
                {
                    mismatches.push(format!(
                        "{raw:?}: carbon {path:?} {carbon_file:?}, charcoal {m:?} {:?}",
                        m.relative_path()
                    ));
                }
            }
            (Ok(m), None) => {
                mismatches.push(format!(
                    "{raw:?}: carbon refuses ({}), charcoal accepts {m:?}",
                    carbon["error"]
                ));
            }
            (Err(e), _) => {
                refused += 1;
                // Every refusal is carbon's, or one of the documented safety rules.
                let documented = carbon_path.is_none()
                    || matches!(
                        e,
                        NameError::Empty
                            | NameError::ControlChar { .. }
                            | NameError::PathSeparator { .. }
                            | NameError::TooLong { .. }
                            | NameError::ComponentTooLong { .. }
                            | NameError::Reserved
                            | NameError::NotCanonical
                            | NameError::Tag(TagError::SemicolonInName)
                    );
                if !documented {
                    mismatches.push(format!(
                        "{raw:?}: carbon accepts {carbon_path:?}, charcoal refuses: {e}"
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} names differ from carbon:\n{}",
        mismatches.len(),
        names.len(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        same > 300 && refused > 300,
        "{same} accepted, {refused} refused"
    );
}
