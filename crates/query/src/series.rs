//! The series model: graphite-web's `TimeSeries`, values and all.
//!
//! A [`Series`] is what every render function takes and returns: a name, the path
//! expression it came from, its tags, a time grid (`start`, `end`, `step`) and one value per
//! step. graphite-web keeps consolidation lazy (`valuesPerPoint` makes iteration yield
//! consolidated values); Charcoal does the same with [`Series::values_per_point`] so that
//! `maxDataPoints` and the output formats see exactly what graphite-web's see.
//!
//! # Nulls
//!
//! A missing value is `NaN`. graphite-web uses `None` for missing values and can also produce
//! a float `nan` from arithmetic (`inf - inf`); every output format prints both the same way
//! (`null` in JSON, `None` in `rawData` would print `nan` for the latter), so Charcoal keeps
//! one representation and treats a computed NaN as missing. That is the one place the model
//! differs from Python's.

use crate::aggfunc::Consolidation;

/// A missing value.
pub const NULL: f64 = f64::NAN;

/// Whether `v` is a value (not missing).
#[inline]
pub fn present(v: f64) -> bool {
    !v.is_nan()
}

/// A series' tags in insertion order, as graphite-web's `Tags` dict keeps them (Python dicts
/// are ordered, and JSON output follows that order). Values are text: graphite-web stores
/// `str(value)` whatever was assigned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    /// No tags.
    pub fn new() -> Tags {
        Tags(Vec::new())
    }

    /// `{"name": name}`.
    pub fn named(name: &str) -> Tags {
        Tags(vec![("name".to_owned(), name.to_owned())])
    }

    /// The value of `tag`.
    pub fn get(&self, tag: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == tag)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `tag` (a new tag goes last, an existing one keeps its place).
    pub fn set(&mut self, tag: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == tag) {
            Some(slot) => slot.1 = value,
            None => self.0.push((tag.to_owned(), value)),
        }
    }

    /// Removes `tag`.
    pub fn remove(&mut self, tag: &str) {
        self.0.retain(|(k, _)| k != tag);
    }

    /// Keeps only the tags `f` accepts.
    pub fn retain(&mut self, mut f: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(k, v)| f(k, v));
    }

    /// Tags in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tags graphite-web gives a series fetched under `name`: the parsed tags of a
    /// tagged name (`a.b;x=1` → `{x: 1, name: a.b}`), `{name: name}` for a plain name, a
    /// name that looks like a function call, or one that does not parse.
    pub fn parse(name: &str) -> Tags {
        if looks_like_call(name) {
            return Tags::named(name);
        }
        parse_carbon(name).unwrap_or_else(|| Tags::named(name))
    }
}

/// graphite-web's `^[a-z]+[(].+[)]$` (case-insensitive).
fn looks_like_call(name: &str) -> bool {
    let letters = name.bytes().take_while(u8::is_ascii_alphabetic).count();
    letters > 0
        && name.len() >= letters + 3
        && name.as_bytes()[letters] == b'('
        && name.ends_with(')')
}

/// `TaggedSeries.parse_carbon`: `metric;tag=value;...`, with the name tag last.
fn parse_carbon(path: &str) -> Option<Tags> {
    if path.ends_with("\"}") && path.contains('{') {
        // OpenMetrics-style names are not produced by carbon; keep the plain name.
        return None;
    }
    let mut segments = path.split(';');
    let metric = segments.next().unwrap_or("");
    if metric.is_empty() {
        return None;
    }
    let mut tags = Tags::new();
    for segment in segments {
        let (tag, value) = segment.split_once('=')?;
        if tag.is_empty()
            || value.is_empty()
            || tag.contains(['!', '^', '='])
            || value.starts_with('~')
        {
            return None;
        }
        tags.set(tag, value);
    }
    let sanitized = metric.trim_start_matches('~');
    if sanitized.is_empty() {
        return None;
    }
    tags.set("name", sanitized);
    Some(tags)
}

/// Drawing options set by the Graph functions (graphite-web's `series.options`). Data
/// formats ignore them; they are kept so that a graph renderer draws what graphite-web
/// draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphOptions {
    /// `dashed(...)`'s segment length (any number, as graphite-web keeps it).
    pub dashed: Option<f64>,
}

/// One series.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The display name (`target` in JSON).
    pub name: String,
    /// The path expression (or `seriesByTag(...)` call) the series was fetched by; aggregate
    /// functions name their result after it.
    pub path_expression: String,
    /// Tags (see [`Tags`]).
    pub tags: Tags,
    /// Timestamp of the first value.
    pub start: i64,
    /// End of the range (exclusive in spirit: the last value is at `end - step`, though
    /// graphite-web's own arithmetic often leaves `end` one step past it).
    pub end: i64,
    /// Seconds between values.
    pub step: i64,
    /// The values, [`NULL`] for missing.
    pub values: Vec<f64>,
    /// How `maxDataPoints` and normalization consolidate this series.
    pub consolidation: Consolidation,
    /// Raw values per output value (1 until consolidated).
    pub values_per_point: usize,
    /// The fraction of non-null values a consolidated bucket needs.
    pub x_files_factor: f64,
    /// Drawing options.
    pub options: GraphOptions,
}

impl Series {
    /// A series as fetched: tags parsed from the name, average consolidation.
    pub fn new(
        name: impl Into<String>,
        start: i64,
        end: i64,
        step: i64,
        values: Vec<f64>,
        x_files_factor: f64,
    ) -> Series {
        let name = name.into();
        Series::fetched(name.clone(), name, start, end, step, values, x_files_factor)
    }

    /// [`Series::new`] for a series fetched by `path_expression`.
    pub fn fetched(
        name: String,
        path_expression: String,
        start: i64,
        end: i64,
        step: i64,
        values: Vec<f64>,
        x_files_factor: f64,
    ) -> Series {
        Series {
            tags: Tags::parse(&name),
            path_expression,
            name,
            start,
            end,
            step,
            values,
            consolidation: Consolidation::Average,
            values_per_point: 1,
            x_files_factor,
            options: GraphOptions::default(),
        }
    }

    /// A copy with another name and values, keeping everything else (graphite-web's
    /// `series.copy(name=..., values=...)`, which also keeps the tags but resets the path
    /// expression to the name).
    pub fn derive(&self, name: impl Into<String>, values: Vec<f64>) -> Series {
        let name = name.into();
        Series {
            path_expression: name.clone(),
            name,
            tags: self.tags.clone(),
            start: self.start,
            end: self.end,
            step: self.step,
            values,
            consolidation: self.consolidation,
            values_per_point: 1,
            x_files_factor: self.x_files_factor,
            // graphite-web's copy() starts a new series with empty options.
            options: GraphOptions::default(),
        }
    }

    /// Renames the series, keeping the path expression (graphite-web's `series.name = ...`).
    pub fn rename(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Number of raw values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values as iteration yields them: consolidated by [`Series::values_per_point`]
    /// with the series' function and xFilesFactor, as graphite-web's
    /// `__consolidatingGenerator` does.
    pub fn consolidated(&self) -> Vec<f64> {
        if self.values_per_point <= 1 {
            return self.values.clone();
        }
        consolidate_values(
            &self.values,
            self.values_per_point,
            self.consolidation,
            self.x_files_factor,
        )
    }

    /// Step between output values (`step * valuesPerPoint`).
    pub fn output_step(&self) -> i64 {
        self.step * self.values_per_point.max(1) as i64
    }

    /// The output timestamps: `range(start, end + 1, step * valuesPerPoint)`, as many as
    /// there are output values (`zip` stops at the shorter).
    pub fn timestamps(&self, count: usize) -> impl Iterator<Item = i64> + '_ {
        let step = self.output_step().max(1);
        let n = if self.end < self.start {
            0
        } else {
            ((self.end - self.start) / step + 1) as usize
        };
        (0..n.min(count)).map(move |i| self.start + i as i64 * step)
    }
}

/// Consolidates `values` into buckets of `per_point` with `func`: a bucket with no values, or
/// with a share of values below `xff`, is null; a trailing partial bucket still divides its
/// count by `per_point` for the xFilesFactor test.
pub fn consolidate_values(
    values: &[f64],
    per_point: usize,
    func: Consolidation,
    xff: f64,
) -> Vec<f64> {
    let per_point = per_point.max(1);
    let mut out = Vec::with_capacity(values.len().div_ceil(per_point));
    let mut buf = Vec::with_capacity(per_point);
    for chunk in values.chunks(per_point) {
        buf.clear();
        let mut non_null = 0usize;
        for &v in chunk {
            if present(v) {
                buf.push(v);
                non_null += 1;
            } else if func == Consolidation::AvgZero {
                buf.push(0.0);
            }
        }
        if non_null > 0 && (non_null as f64 / per_point as f64) >= xff {
            out.push(func.apply(&buf));
        } else {
            out.push(NULL);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_plain_tagged_and_call_names() {
        let t = Tags::parse("a.b.c");
        assert_eq!(t.iter().collect::<Vec<_>>(), [("name", "a.b.c")]);
        let t = Tags::parse("cpu.load;host=a;dc=x");
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [("host", "a"), ("dc", "x"), ("name", "cpu.load")]
        );
        let t = Tags::parse("sumSeries(a;x=1)");
        assert_eq!(t.iter().collect::<Vec<_>>(), [("name", "sumSeries(a;x=1)")]);
        let t = Tags::parse("a;bad");
        assert_eq!(t.iter().collect::<Vec<_>>(), [("name", "a;bad")]);
        let t = Tags::parse("~a.b");
        assert_eq!(t.get("name"), Some("a.b"));
    }

    #[test]
    fn consolidation_keeps_partial_bucket_divisor() {
        let v = [1.0, NULL, 3.0, 4.0, NULL];
        let out = consolidate_values(&v, 2, Consolidation::Average, 0.5);
        assert_eq!(out[0], 1.0);
        assert_eq!(out[1], 3.5);
        assert!(out[2].is_nan());
        let out = consolidate_values(&[1.0, 2.0, 3.0], 2, Consolidation::Sum, 0.6);
        assert_eq!(out[0], 3.0);
        assert!(out[1].is_nan(), "1 of 2 is below 0.6");
    }

    #[test]
    fn timestamps_follow_output_step() {
        let mut s = Series::new("a", 100, 160, 10, vec![1.0; 6], 0.0);
        assert_eq!(
            s.timestamps(6).collect::<Vec<_>>(),
            [100, 110, 120, 130, 140, 150]
        );
        s.values_per_point = 4;
        assert_eq!(s.timestamps(2).collect::<Vec<_>>(), [100, 140]);
    }
}
