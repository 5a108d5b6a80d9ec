//! Every tool against Debian's python3-whisper 1.1.4 scripts: same
//! arguments, same fixed clock, same input files; stdout, exit status and
//! the resulting files must be identical.

mod common;

use common::{Case, NOW, ago, check_all, fixtures, run_ours, run_python_process};

const FILES: [&str; 4] = ["a.wsp", "b.wsp", "c.wsp", "empty.wsp"];
const METHODS: [&str; 8] = [
    "average", "sum", "last", "max", "min", "avg_zero", "absmax", "absmin",
];
const TOOLS: [&str; 11] = [
    "whisper-create",
    "whisper-update",
    "whisper-info",
    "whisper-dump",
    "whisper-fetch",
    "whisper-resize",
    "whisper-merge",
    "whisper-fill",
    "whisper-diff",
    "whisper-set-aggregation-method",
    "whisper-set-xfilesfactor",
];

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn help_and_usage_errors() {
    let mut cases = Vec::new();
    for tool in TOOLS {
        cases.push(Case::new(tool, &["--help"]));
        cases.push(Case::new(tool, &["-h"]));
        cases.push(Case::new(tool, &["--hel"]));
        cases.push(Case::new(tool, &[]));
        cases.push(Case::new(tool, &["--no-such-option", "x"]));
    }
    cases.push(Case::new("whisper-fetch", &["--from"]));
    cases.push(Case::new("whisper-fetch", &["--json=1", "x"]));
    check_all("help", &cases);
}

#[test]
fn info() {
    let mut cases = Vec::new();
    for f in FILES.iter().chain(&["c2.wsp", "m_absmin.wsp"]) {
        cases.push(Case::new("whisper-info", &[f]).with(&[f]));
        cases.push(Case::new("whisper-info", &["--json", f]).with(&[f]));
    }
    for field in [
        "aggregationMethod",
        "maxRetention",
        "xFilesFactor",
        "archives",
        "fileSize",
        "bogus",
        "",
    ] {
        cases.push(Case::new("whisper-info", &["b.wsp", field]).with(&["b.wsp"]));
    }
    cases.push(Case::new("whisper-info", &["b.wsp", "--js", "archives", "x"]).with(&["b.wsp"]));
    cases.push(Case::new("whisper-info", &["missing.wsp"]));
    cases.push(Case::new("whisper-info", &["bad.wsp"]).file("bad.wsp", &[0, 0, 0, 9]));
    check_all("info", &cases);
}

#[test]
fn dump() {
    let mut cases = vec![
        Case::new("whisper-dump", &["a.wsp"]).with(&["a.wsp"]),
        Case::new("whisper-dump", &["c2.wsp"]).with(&["c2.wsp"]),
        Case::new("whisper-dump", &["--pretty", "c.wsp"]).with(&["c.wsp"]),
        Case::new(
            "whisper-dump",
            &["c.wsp", "--pretty", "-t", "%Y-%m-%d %H:%M:%S %a %j"],
        )
        .with(&["c.wsp"]),
        Case::new("whisper-dump", &["-t%s|%e", "--pretty", "c.wsp"]).with(&["c.wsp"]),
        Case::new("whisper-dump", &["-t", "%H", "c.wsp"]).with(&["c.wsp"]),
        Case::new("whisper-dump", &["--pretty", "-t=%H", "c.wsp"]).with(&["c.wsp"]),
        Case::new("whisper-dump", &["--pretty", "--time-format=", "empty.wsp"])
            .with(&["empty.wsp"]),
        Case::new("whisper-dump", &["a.wsp", "b.wsp"]),
        Case::new("whisper-dump", &["missing.wsp"]),
    ];
    // The big one (275,000 points) once.
    cases.push(Case::new("whisper-dump", &["b.wsp"]).with(&["b.wsp"]));
    check_all("dump", &cases);
}

#[test]
fn fetch() {
    let mut cases = Vec::new();
    let ranges: Vec<Vec<String>> = vec![
        vec![],
        vec![format!("--from={}", ago(3600))],
        vec![
            "--from".into(),
            ago(3 * 86400),
            "--until".into(),
            ago(2 * 86400),
        ],
        vec![
            "--from".into(),
            ago(400 * 86400),
            "--until".into(),
            ago(300 * 86400),
        ],
        vec!["--from=0".into()],
        vec!["--from".into(), ago(600), "--until".into(), ago(600)],
        vec!["--until".into(), ago(10)],
    ];
    for f in FILES.iter().chain(&["c2.wsp"]) {
        for range in &ranges {
            let variants: &[&[&str]] = if matches!(*f, "b.wsp" | "c2.wsp") {
                &[&[], &["--json"], &["--drop=nulls"]]
            } else {
                &[&[], &["--json"]]
            };
            for &extra in variants {
                let mut case = Case::new("whisper-fetch", extra).with(&[f]);
                case.args.extend(range.iter().cloned());
                case.args.push((*f).to_owned());
                cases.push(case);
            }
        }
    }
    let from = format!("--from={}", ago(7200));
    for args in [
        &["--drop", "zeroes"][..],
        &["--drop", "empty"],
        &["--drop", "empty", "--json"],
        &["--drop", "zeroes", "--json"],
        &["--pretty"],
        &["--pretty", "-t", "%H:%M:%S %Z"],
        &["-t", "%H"],
        &["--pretty", "--json"],
    ] {
        let mut case = Case::new("whisper-fetch", args).with(&["c2.wsp", "a.wsp"]);
        case.args.extend(owned(&[&from, "a.wsp"]));
        cases.push(case.clone());
        case.args.pop();
        case.args.push("c2.wsp".into());
        cases.push(case);
    }
    let hex = format!("{:#x}", NOW - 600);
    let octal = format!("0{:o}", NOW - 600);
    for args in [
        vec!["--from".to_owned(), hex],
        vec!["--from".to_owned(), octal],
        vec!["--fr".to_owned(), ago(100), "--unt".to_owned(), ago(50)],
        // In the future, past retention, backwards, not a number.
        vec!["--from".to_owned(), (NOW + 100).to_string()],
        vec!["--until".to_owned(), ago(86400 * 2)],
        vec!["--from".to_owned(), ago(5), "--until".to_owned(), ago(10)],
        vec!["--from".to_owned(), "yesterday".to_owned()],
        vec!["--from".to_owned(), "08".to_owned()],
        vec!["--drop".to_owned(), "none".to_owned()],
    ] {
        let mut case = Case::new("whisper-fetch", &[]).with(&["a.wsp"]);
        case.args = args;
        case.args.push("a.wsp".into());
        cases.push(case);
    }
    cases.push(Case::new("whisper-fetch", &["missing.wsp"]));
    cases.push(Case::new("whisper-fetch", &["a.wsp", "b.wsp"]).with(&["a.wsp", "b.wsp"]));
    // Another clock: the same file seen a day later.
    cases.push(
        Case::new("whisper-fetch", &["a.wsp"])
            .with(&["a.wsp"])
            .at(NOW + 43210),
    );
    check_all("fetch", &cases);
}

#[test]
fn create() {
    let mut cases = Vec::new();
    for retentions in [
        &["60:1440"][..],
        &["10s:6h", "1m:7d", "10m:5y"],
        &["1s:10m", "1m:1d"],
    ] {
        for method in METHODS {
            let mut case = Case::new("whisper-create", &["new.wsp"]);
            case.args.extend(owned(retentions));
            case.args.push(format!("--aggregationMethod={method}"));
            cases.push(case);
        }
        for flags in [
            &[][..],
            &["--xFilesFactor", "0.1"],
            &["--xFilesFactor=1"],
            &["--xFilesFactor", "0"],
            &["--sparse"],
            &["--fallocate"],
            &["--sparse", "--fallocate"],
        ] {
            let mut case = Case::new("whisper-create", flags);
            case.args.push("new.wsp".into());
            case.args.extend(owned(retentions));
            cases.push(case);
        }
        let mut estimate = Case::new("whisper-create", &["--estimate"]);
        estimate.args.extend(owned(retentions));
        cases.push(estimate);
        let mut joined = Case::new("whisper-create", &["--estimate"]);
        joined.args.push(retentions.join(","));
        cases.push(joined);
    }
    for args in [
        &["--estimate", "1s:100y", "1h:5y"][..],
        &["--estimate", "60:1440,1h:7d"],
        &["--estimate", ",60:1440"],
        &["--estimate", "60:bad"],
        &["--estimate", "new.wsp", "60:1440"],
        &["--estimate"],
        &["new.wsp"],
        &["new.wsp", "60:bad"],
        &["new.wsp", "1x:10"],
        &["new.wsp", "60:1440", "60:100"],
        &["new.wsp", "60:100", "90:100"],
        &["new.wsp", "60:100", "120:50"],
        &["new.wsp", "60:3", "300:100"],
        &["new.wsp", "60:1440", "--xFilesFactor", "x"],
        &["new.wsp", "15m:8", "1h:7d", "12h:2y"],
    ] {
        cases.push(Case::new("whisper-create", args));
    }
    // whisper leaves the empty file it opened when the method or the
    // xFilesFactor is refused; we do not.
    for args in [
        &["new.wsp", "60:1440", "--aggregationMethod", "median"][..],
        &["new.wsp", "60:1440", "--xFilesFactor", "1.5"],
        &["new.wsp", "60:1440", "--xFilesFactor=-0.1"],
        &["new.wsp", "60:1440", "--xFilesFactor=1.00000001"],
    ] {
        cases.push(Case::new("whisper-create", args).python_leaves_empty("new.wsp"));
    }
    cases.push(Case::new("whisper-create", &["a.wsp", "60:10"]).with(&["a.wsp"]));
    cases.push(Case::new("whisper-create", &["a.wsp", "60:10", "--overwrite"]).with(&["a.wsp"]));
    cases.push(Case::new(
        "whisper-create",
        &["--overwrite", "new.wsp", "60:10"],
    ));
    check_all("create", &cases);
}

#[test]
fn update() {
    let mut cases = Vec::new();
    let batch = [
        format!("{}:1", ago(0)),
        format!("{}:2.5", ago(1)),
        format!("{}:-3", ago(59)),
        format!("{}:nan", ago(61)),
        format!("{}:inf", ago(3000)),
        format!("{}: 1e3 ", ago(3001)),
        format!("{}:-inf", ago(80000)),
        format!("{}:7", ago(80000)),
        format!("{}:1_000", ago(40000)),
        format!("{}:9", ago(100 * 86400)),
        format!("{}:8", NOW + 50),
        "N:4".to_owned(),
    ];
    for f in ["a.wsp", "b.wsp", "c.wsp", "empty.wsp"]
        .into_iter()
        .chain(METHODS.map(|m| leak(format!("m_{m}.wsp"))))
    {
        let mut many = Case::new("whisper-update", &[f]).with(&[f]);
        many.args.extend(batch.iter().cloned());
        cases.push(many);
        cases.push(Case::new("whisper-update", &[f, "N:42.5"]).with(&[f]));
        let past = format!("{}:-17", ago(7000));
        cases.push(Case::new("whisper-update", &[f, &past]).with(&[f]));
    }
    for point in [
        format!("{}:1", ago(86400)),
        format!("{}:1", ago(86399)),
        format!("{}:1", NOW + 1),
        "x:1".to_owned(),
        "N:x".to_owned(),
        "N:".to_owned(),
        "1:2:3".to_owned(),
        "N".to_owned(),
        format!(" {} :nan", ago(5)),
        format!("{}:-0.0", ago(5)),
        format!("{}.5:1", ago(5)),
    ] {
        cases.push(Case::new("whisper-update", &["a.wsp", &point]).with(&["a.wsp"]));
    }
    cases.push(Case::new("whisper-update", &["a.wsp", "N:1", "x:2"]).with(&["a.wsp"]));
    cases.push(Case::new("whisper-update", &["a.wsp", "N:1", "N:2"]).with(&["a.wsp"]));
    cases.push(Case::new("whisper-update", &["missing.wsp", "N:1"]));
    cases.push(Case::new("whisper-update", &["missing.wsp", "N:1", "N:2"]));
    check_all("update", &cases);
}

/// A `'static` copy of a generated file name, for [`Case::with`].
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn set_aggregation_method_and_xff() {
    let mut cases = Vec::new();
    for method in METHODS {
        cases
            .push(Case::new("whisper-set-aggregation-method", &["a.wsp", method]).with(&["a.wsp"]));
    }
    for args in [
        &["c.wsp", "sum", "0.25"][..],
        &["c.wsp", "sum", " 1e-1 "],
        &["c.wsp", "sum", "0"],
        &["c.wsp", "last", "1"],
        &["c.wsp", "sum", "0.3", "extra"],
        &["c.wsp", "median"],
        &["c.wsp", "sum", "x"],
        &["c.wsp", "sum", "1.5"],
        &["c.wsp", "median", "x"],
        &["c.wsp"],
        &["missing.wsp", "sum"],
        &["missing.wsp", "median"],
    ] {
        cases.push(Case::new("whisper-set-aggregation-method", args).with(&["c.wsp"]));
    }
    for args in [
        &["c2.wsp", "0.1"][..],
        &["c2.wsp", "0"],
        &["c2.wsp", "1"],
        &["c2.wsp", "0.333"],
        &["c2.wsp", "1e-5"],
        &["c2.wsp", "2"],
        &["c2.wsp", "-0.5"],
        &["c2.wsp", "inf"],
        &["c2.wsp", "x"],
        &["c2.wsp"],
        &["c2.wsp", "0.5", "extra"],
        &["missing.wsp", "0.5"],
    ] {
        cases.push(Case::new("whisper-set-xfilesfactor", args).with(&["c2.wsp"]));
    }
    check_all("set", &cases);
}

/// A whisper file (average, xFilesFactor 0.5) with every slot of every archive
/// written by hand: slot values from `value(archive, k)` for the interval `k` steps
/// before the newest, each ring anchored `rotate` slots past its oldest interval.
/// `stale(k)` slots hold the interval one lap older instead, as a ring holds what it
/// has not overwritten. Python's update_many is too slow for this at any size, and a
/// file written by hand can hold any ring position.
fn full_file(
    archives: &[(u32, u32)],
    rotate: u32,
    value: impl Fn(usize, u32) -> f64,
    stale: impl Fn(u32) -> bool,
) -> Vec<u8> {
    let max_retention = archives.iter().map(|&(s, n)| s * n).max().unwrap_or(0);
    let mut out = Vec::new();
    for word in [1, max_retention, 0.5f32.to_bits(), archives.len() as u32] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    let mut offset = (16 + 12 * archives.len()) as u32;
    for &(step, points) in archives {
        for word in [offset, step, points] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        offset += points * 12;
    }
    for (a, &(step, points)) in archives.iter().enumerate() {
        let newest = common::NOW - common::NOW % i64::from(step);
        let oldest = newest - i64::from(points - 1) * i64::from(step);
        let base = oldest + i64::from(rotate % points) * i64::from(step);
        let mut data = vec![0u8; points as usize * 12];
        for k in 0..points {
            let t = newest - i64::from(k) * i64::from(step);
            let slot = (t - base)
                .div_euclid(i64::from(step))
                .rem_euclid(i64::from(points));
            let stored = if stale(k) {
                t - i64::from(points) * i64::from(step)
            } else {
                t
            };
            let at = slot as usize * 12;
            data[at..at + 4].copy_from_slice(&(stored as u32).to_be_bytes());
            data[at + 4..at + 12].copy_from_slice(&value(a, k).to_be_bytes());
        }
        out.extend_from_slice(&data);
    }
    out
}

/// Two files with every slot known (issue 12's year-long merge, scaled down: the
/// script's merge is quadratic in the length of a run), with rings anchored at
/// different slots, and a source where every other slot is stale.
#[test]
fn merge_full_files() {
    let single = [(60, 1440)];
    let multi = [(60, 1440), (3600, 48)];
    let special = [f64::NAN, -0.0, 1e300, f64::INFINITY];
    let src_value = |a: usize, k: u32| match k % 97 {
        0 => special[(k / 97) as usize % special.len()],
        _ => f64::from(k) * 1.5 + a as f64,
    };
    let dst_value = |a: usize, k: u32| -f64::from(k) / 7.0 - a as f64;
    let mut cases = Vec::new();
    for archives in [&single[..], &multi[..]] {
        let from = full_file(archives, 0, src_value, |_| false);
        let to = full_file(archives, 700, dst_value, |_| false);
        let sparse = full_file(archives, 333, src_value, |k| k % 2 == 1);
        let runs = full_file(archives, 1439, src_value, |k| k % 50 < 20);
        for (name, bytes) in [
            ("from.wsp", from),
            ("sparse.wsp", sparse),
            ("runs.wsp", runs),
        ] {
            cases.push(
                Case::new("whisper-merge", &[name, "to.wsp"])
                    .file(name, &bytes)
                    .file("to.wsp", &to),
            );
        }
        cases.push(
            Case::new("whisper-merge", &["to.wsp", "from.wsp"])
                .file("from.wsp", &full_file(archives, 0, src_value, |_| false))
                .file("to.wsp", &to),
        );
    }
    check_all("merge-full", &cases);
}

#[test]
fn merge() {
    let mut cases = Vec::new();
    for (from, to) in [
        ("a2.wsp", "a.wsp"),
        ("a.wsp", "a2.wsp"),
        ("b2.wsp", "b.wsp"),
        ("c2.wsp", "c.wsp"),
        ("c.wsp", "empty.wsp"),
        ("a.wsp", "empty.wsp"),
    ] {
        cases.push(Case::new("whisper-merge", &[from, to]).with(&[from, to]));
        let from_opt = format!("--from={}", ago(20000));
        let until_opt = format!("--until={}", ago(5000));
        cases
            .push(Case::new("whisper-merge", &[&from_opt, from, to, &until_opt]).with(&[from, to]));
    }
    for args in [
        vec![
            "--from".to_owned(),
            ago(3 * 86400),
            "b2.wsp".into(),
            "b.wsp".into(),
        ],
        vec![
            "--until".to_owned(),
            ago(86400 * 2),
            "b2.wsp".into(),
            "b.wsp".into(),
        ],
        vec!["--until=0".to_owned(), "b2.wsp".into(), "b.wsp".into()],
        vec![
            "--from".to_owned(),
            ago(10),
            "--until".into(),
            ago(20),
            "b2.wsp".into(),
            "b.wsp".into(),
        ],
        vec!["a.wsp".to_owned(), "b.wsp".into()],
        vec!["missing.wsp".to_owned(), "b.wsp".into()],
        vec!["b.wsp".to_owned(), "missing.wsp".into()],
        vec!["b.wsp".to_owned()],
        vec!["b2.wsp".to_owned(), "b.wsp".into(), "extra".into()],
    ] {
        let mut case = Case::new("whisper-merge", &[]).with(&["a.wsp", "b.wsp", "b2.wsp"]);
        case.args = args;
        cases.push(case);
    }
    check_all("merge", &cases);
}

#[test]
fn fill() {
    let mut cases = Vec::new();
    for (src, dst) in [
        ("a2.wsp", "a.wsp"),
        ("a.wsp", "a2.wsp"),
        ("b2.wsp", "b.wsp"),
        ("b.wsp", "b2.wsp"),
        ("c2.wsp", "c.wsp"),
        ("c.wsp", "c2.wsp"),
        ("a.wsp", "empty.wsp"),
        ("c.wsp", "m_sum.wsp"),
    ] {
        cases.push(Case::new("whisper-fill", &[src, dst]).with(&[src, dst]));
    }
    cases
        .push(Case::new("whisper-fill", &["--lock", "a2.wsp", "a.wsp"]).with(&["a.wsp", "a2.wsp"]));
    cases.push(
        Case::new("whisper-fill", &["b2.wsp", "b.wsp"])
            .with(&["b.wsp", "b2.wsp"])
            .at(NOW + 7200),
    );
    cases.push(Case::new("whisper-fill", &["missing.wsp", "a.wsp"]).with(&["a.wsp"]));
    cases.push(Case::new("whisper-fill", &["a.wsp", "missing.wsp"]).with(&["a.wsp"]));
    cases.push(Case::new("whisper-fill", &["a.wsp"]).with(&["a.wsp"]));
    check_all("fill", &cases);
}

#[test]
fn diff() {
    let mut cases = Vec::new();
    let flag_sets: [&[&str]; 11] = [
        &[],
        &["--json"],
        &["--summary"],
        &["--columns"],
        &["--no-headers"],
        &["--columns", "--no-headers"],
        &["--summary", "--columns"],
        &["--summary", "--no-headers"],
        &["--summary", "--json"],
        &["--ignore-empty"],
        &["--ignore-empty", "--columns", "--summary"],
    ];
    for (a, b) in [
        ("a.wsp", "a2.wsp"),
        ("c.wsp", "c2.wsp"),
        ("b.wsp", "b2.wsp"),
    ] {
        // The big pair (five years of ten-minute points) with fewer flags.
        let flag_sets = if a == "b.wsp" {
            &flag_sets[..2]
        } else {
            &flag_sets[..]
        };
        for flags in flag_sets {
            let mut case = Case::new("whisper-diff", flags).with(&[a, b]);
            case.args.extend(owned(&[a, b]));
            cases.push(case);
        }
    }
    for args in [
        vec![
            "--until".to_owned(),
            ago(3600),
            "c.wsp".into(),
            "c2.wsp".into(),
        ],
        vec!["--until=0".to_owned(), "c.wsp".into(), "c2.wsp".into()],
        vec![
            "--until".to_owned(),
            ago(86400 * 4),
            "b.wsp".into(),
            "b2.wsp".into(),
        ],
        vec!["a.wsp".to_owned(), "a.wsp".into()],
        vec!["--json".to_owned(), "a.wsp".into(), "empty.wsp".into()],
        vec!["a.wsp".to_owned(), "b.wsp".into()],
        vec!["a.wsp".to_owned(), "missing.wsp".into()],
        vec!["a.wsp".to_owned()],
    ] {
        let mut case = Case::new("whisper-diff", &[]).with(&[
            "a.wsp",
            "b.wsp",
            "b2.wsp",
            "c.wsp",
            "c2.wsp",
            "empty.wsp",
        ]);
        case.args = args;
        cases.push(case);
    }
    check_all("diff", &cases);
}

#[test]
fn resize() {
    let mut cases = Vec::new();
    for (file, retentions) in [
        ("a.wsp", &["60:2880"][..]),
        ("a.wsp", &["10s:1h", "60:1d"]),
        ("a.wsp", &["5m:1d"]),
        ("b.wsp", &["1m:7d", "1h:1y"]),
        ("b.wsp", &["10s:6h", "1m:7d", "10m:5y"]),
        ("c.wsp", &["1s:5m", "10s:1h", "5m:2d"]),
        ("empty.wsp", &["60:10"]),
    ] {
        let mut case = Case::new("whisper-resize", &[file]).with(&[file]);
        case.args.extend(owned(retentions));
        cases.push(case);
    }
    for method in METHODS {
        let file = leak(format!("m_{method}.wsp"));
        cases.push(Case::new("whisper-resize", &[file, "1s:5m", "30s:1h", "5m:1d"]).with(&[file]));
    }
    for args in [
        &[
            "a.wsp",
            "60:100",
            "--xFilesFactor=0.9",
            "--aggregationMethod",
            "max",
        ][..],
        &["a.wsp", "60:100", "--xFilesFactor", "0"],
        &["a.wsp", "60:100", "--force"],
        &["a.wsp", "60:100", "--nobackup"],
        &["a.wsp", "60:100", "--newfile", "other.wsp"],
        &["--newfile=other.wsp", "--nobackup", "a.wsp", "60:100"],
        &["a.wsp", "60:100", "--newfile", "c.wsp"],
        &["a.wsp", "bad"],
        &["a.wsp", "60:100", "60:50"],
        &["a.wsp"],
        &["missing.wsp", "60:10"],
    ] {
        cases.push(Case::new("whisper-resize", args).with(&["a.wsp", "c.wsp"]));
    }
    // A leftover temporary file from an earlier run is removed first.
    cases.push(
        Case::new("whisper-resize", &["a.wsp", "60:100"])
            .with(&["a.wsp"])
            .file("a.wsp.tmp", b"junk"),
    );
    // whisper leaves the empty new file it opened when the method or the
    // xFilesFactor is refused; we do not.
    cases.push(
        Case::new(
            "whisper-resize",
            &["a.wsp", "60:100", "--aggregationMethod=median"],
        )
        .with(&["a.wsp"])
        .python_leaves_empty("a.wsp.tmp"),
    );
    cases.push(
        Case::new("whisper-resize", &["a.wsp", "60:100", "--xFilesFactor=3"])
            .with(&["a.wsp"])
            .python_leaves_empty("a.wsp.tmp"),
    );
    check_all("resize", &cases);
}

/// The in-process driver that runs the scripts above gives what separate
/// interpreter processes give: same stdout and status for successes,
/// `SystemExit` messages, optparse errors and Python tracebacks.
#[test]
fn driver_matches_one_process_per_run() {
    let mut python = common::Python::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    for f in ["a.wsp", "c.wsp"] {
        std::fs::copy(fixtures().join(f), dir.path().join(f)).expect("copy fixture");
    }
    let cases: [(&str, &[&str]); 8] = [
        ("whisper-info", &["a.wsp"]),
        ("whisper-fetch", &["--json", "c.wsp"]),
        ("whisper-fetch", &["--from=x", "c.wsp"]),
        ("whisper-fetch", &["missing.wsp"]),
        ("whisper-dump", &[]),
        ("whisper-info", &["missing.wsp"]),
        ("whisper-set-xfilesfactor", &["--help"]),
        ("whisper-diff", &["a.wsp", "c.wsp"]),
    ];
    for (tool, args) in cases {
        let args = owned(args);
        let in_process = python.run(tool, &args, dir.path(), NOW);
        let separate = run_python_process(tool, &args, dir.path(), NOW);
        assert_eq!(in_process.stdout, separate.stdout, "{tool} {args:?}");
        assert_eq!(in_process.code, separate.code, "{tool} {args:?}");
        // Our tool agrees on the status too.
        let ours = run_ours(tool, &args, dir.path(), NOW);
        assert_eq!(ours.code, separate.code, "{tool} {args:?}: {}", ours.stderr);
    }
}
