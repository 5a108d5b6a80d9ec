//! graphite-web 1.1.10's three functions that Debian's 1.1.8 lacks (`upper`, `lower`,
//! `compressPeriodicGaps`), so the differential test cannot run them: expected values here
//! are worked out by hand from 1.1.10's `toUpperCase`, `toLowerCase` and
//! `_compressPeriodicGaps`.

use charcoal_query::{Limits, MemorySource, Request, Series, evaluate_targets};

fn render(source: &MemorySource, target: &str) -> Vec<Series> {
    let req = Request {
        source,
        from: 1000,
        until: 1100,
        now: 1100,
        tz: jiff::tz::TimeZone::UTC,
        x_files_factor: 0.0,
        templates: Vec::new(),
        limits: Limits::default(),
    };
    evaluate_targets(&req, &[target.to_owned()]).unwrap_or_else(|e| panic!("{target}: {e}"))
}

fn names(source: &MemorySource, target: &str) -> Vec<String> {
    render(source, target).into_iter().map(|s| s.name).collect()
}

fn values(s: &Series) -> Vec<Option<f64>> {
    s.values
        .iter()
        .map(|v| (!v.is_nan()).then_some(*v))
        .collect()
}

#[test]
fn upper_and_lower_change_the_whole_name_or_positions() {
    let mut source = MemorySource::new();
    source.insert("Web.Host1.cpu", 10, [(1010, 1.0)]);
    assert_eq!(names(&source, "upper(Web.Host1.cpu)"), ["WEB.HOST1.CPU"]);
    assert_eq!(names(&source, "lower(Web.Host1.cpu)"), ["web.host1.cpu"]);
    // Position 0, the last character, and one past the end (ignored).
    assert_eq!(
        names(&source, "upper(Web.Host1.cpu, 5, -1, 99, -99)"),
        ["Web.HOst1.cpU"]
    );
    assert_eq!(
        names(&source, "lower(Web.Host1.cpu, 0, 4)"),
        ["web.host1.cpu"]
    );
    // Python's str.upper maps ß to SS; the later position still counts characters of the
    // original name. (Paths are ASCII; alias makes the name.)
    assert_eq!(
        names(&source, "upper(alias(Web.Host1.cpu, 'straße.x'))"),
        ["STRASSE.X"]
    );
    assert_eq!(
        names(&source, "upper(alias(Web.Host1.cpu, 'straße.x'), 4, 5)"),
        ["straSSE.x"]
    );
    // Tags and the path expression are kept.
    let s = &render(&source, "Web.Host1.cpu|upper()")[0];
    assert_eq!(s.tags.get("name"), Some("Web.Host1.cpu"));
    assert_eq!(s.path_expression, "Web.Host1.cpu");
}

#[test]
fn compress_periodic_gaps_guesses_the_period() {
    let mut source = MemorySource::new();
    // Step 10, fetched over (1000, 1100]: slots 1010..=1100, ten values. A value every
    // third slot from index 1 (1020, 1050, 1080): the value at index 0 would not count as
    // the first one seen in graphite-web, so the walk starts at index 1.
    source.insert(
        "every3",
        10,
        [(1010, 9.0), (1020, 1.0), (1050, 2.0), (1080, 3.0)],
    );
    let s = &render(&source, "compressPeriodicGaps(every3)")[0];
    assert_eq!(s.name, "compressPeriodicGaps(every3)");
    assert_eq!(s.path_expression, "compressPeriodicGaps(every3)");
    // firstSeen 1 (index 0 is skipped as "first"), secondSeen 4, guess 3, third 7 has a
    // value with nulls around it: period 30 s from 1020.
    assert_eq!((s.start, s.step), (1020, 30));
    // Buckets from 1020 while below the end (1110): 1020, 1050, 1080 (last of each).
    assert_eq!(values(s), [Some(1.0), Some(2.0), Some(3.0)]);
    assert_eq!(s.end, 1020 + 30 * 2);

    // A zero is a gap to graphite-web's truthiness test, so no period can be confirmed
    // here: the series is only renamed.
    source.insert("zeros", 10, [(1020, 1.0), (1050, 2.0), (1080, 0.0)]);
    let s = &render(&source, "compressPeriodicGaps(zeros)")[0];
    assert_eq!(s.name, "compressPeriodicGaps(zeros)");
    assert_eq!((s.start, s.step, s.len()), (1010, 10, 10));

    // Values next to each other: no gap to remove.
    source.insert("dense", 10, (1..=10).map(|i| (1000 + i * 10, i as f64)));
    let s = &render(&source, "compressPeriodicGaps(dense)")[0];
    assert_eq!((s.start, s.step, s.len()), (1010, 10, 10));
}
