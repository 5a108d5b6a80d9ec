//! Transforms that regroup values into time buckets: `summarize`, `smartSummarize`,
//! `hitcount`, `integralByInterval` and graphite-web 1.1.10's `compressPeriodicGaps`.

use jiff::Timestamp;
use jiff::tz::Offset;

use crate::aggfunc::AggFunc;
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::Args;
use crate::series::{NULL, Series, present};
use crate::value::Value;

use super::pyops::{interval_seconds, positive_interval, refetch};

/// graphite-web's `getAggFunc`: the exact names only (the deprecated `<name>Series`
/// spellings pass the parameter check but fail here, as in graphite-web).
pub(crate) fn strict_agg(func: &str, name: &str) -> Result<AggFunc, EvalError> {
    AggFunc::from_name(name).ok_or_else(|| {
        EvalError::function(func, format!("Unsupported aggregation function: {name}"))
    })
}

/// graphite-web's `xff(nonNull, total, xFilesFactor)`.
pub(crate) fn xff(non_null: usize, total: f64, x_files_factor: f64) -> bool {
    non_null > 0 && total != 0.0 && non_null as f64 / total >= x_files_factor
}

/// graphite-web's `_summarizeValues`: buckets of `interval` seconds from `new_start` while
/// below `new_end`. A bucket aggregates the values from the last one at or before its
/// start to its end, but only values at or after its start count towards xFilesFactor.
/// Returns the values and the end reached.
fn summarize_values(
    s: &Series,
    func: AggFunc,
    interval: i64,
    new_start: i64,
    new_end: i64,
) -> (Vec<f64>, i64) {
    let step = s.step.max(1);
    let n_timestamps = if s.end > s.start {
        ((s.end - s.start + step - 1) / step) as usize
    } else {
        0
    };
    let num_points = n_timestamps.min(s.values.len());
    let ts = |i: usize| s.start + i as i64 * step;
    let interval_points = interval as f64 / step as f64;
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut t = new_start;
    while t < new_end {
        let mut first = i;
        let mut non_null = 0usize;
        while i < num_points && ts(i) < t + interval {
            if ts(i) <= t {
                first = i;
            }
            if ts(i) >= t && present(s.values[i]) {
                non_null += 1;
            }
            i += 1;
        }
        out.push(if xff(non_null, interval_points, s.x_files_factor) {
            func.apply(&s.values[first..i])
        } else {
            NULL
        });
        t += interval;
    }
    (out, t)
}

/// How many buckets of `interval` seconds cover `start..end`, counted against the
/// request's limits before they are made.
fn reserve_buckets(
    ctx: &Ctx<'_>,
    func: &str,
    start: i64,
    end: i64,
    interval: i64,
) -> Result<(), EvalError> {
    let buckets = (end.saturating_sub(start).max(0) as u64).div_ceil(interval.max(1) as u64);
    ctx.produce(func, usize::try_from(buckets).unwrap_or(usize::MAX))
}

pub(super) fn summarize(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let text = a.str(1);
    let func_name = a.str(2);
    let align_to_from = a.bool(3);
    let interval = positive_interval("summarize", &text)?;
    let mut out = Vec::new();
    for mut s in a.series(0) {
        let func = strict_agg("summarize", &func_name)?;
        let (start, end) = if align_to_from {
            (s.start, s.end)
        } else {
            (
                s.start - s.start.rem_euclid(interval),
                s.end - s.end.rem_euclid(interval) + interval,
            )
        };
        reserve_buckets(ctx, "summarize", start, end, interval)?;
        let (values, aligned_end) = summarize_values(&s, func, interval, start, end);
        let end = if align_to_from { aligned_end } else { end };
        s.tags.set("summarize", text.clone());
        s.tags.set("summarizeFunction", func_name.clone());
        let suffix = if align_to_from { ", true" } else { "" };
        let name = format!("summarize({}, \"{text}\", \"{func_name}\"{suffix})", s.name);
        let mut r = s.derive(name, values);
        r.start = start;
        r.end = end;
        r.step = interval;
        out.push(r);
    }
    Ok(out)
}

/// The calendar units `smartSummarize`'s `alignTo` accepts.
const ALIGN_UNITS: &[&str] = &[
    "years", "months", "weeks", "days", "hours", "minutes", "seconds",
];

pub(super) fn smart_summarize(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let text = a.str(1);
    let func_name = a.str(2);
    let mut list = a.series(0);
    match a.get(3) {
        // The old boolean alignToFrom: accepted and ignored.
        None | Some(Value::Bool(_)) => {}
        Some(Value::Str(unit)) if ALIGN_UNITS.contains(&unit.as_str()) => {
            let from = align_start(ctx, ctx.from, &unit)?;
            list = refetch(ctx, a, from, ctx.until)?;
        }
        Some(other) => {
            return Err(EvalError::InvalidOption {
                function: "smartSummarize".into(),
                param: "alignTo".into(),
                value: other.py_repr(),
            });
        }
    }
    let interval = positive_interval("smartSummarize", &text)?;
    let mut out = Vec::new();
    for mut s in list {
        let func = strict_agg("smartSummarize", &func_name)?;
        reserve_buckets(ctx, "smartSummarize", s.start, s.end, interval)?;
        let (values, aligned_end) = summarize_values(&s, func, interval, s.start, s.end);
        s.tags.set("smartSummarize", text.clone());
        s.tags.set("smartSummarizeFunction", func_name.clone());
        let name = format!("smartSummarize({}, \"{text}\", \"{func_name}\")", s.name);
        let mut r = s.derive(name, values);
        r.end = aligned_end;
        r.step = interval;
        out.push(r);
    }
    Ok(out)
}

/// The wall-clock reading of `ts` in the request's zone, and the zone's offset then.
fn wall_clock(ctx: &Ctx<'_>, ts: i64) -> Result<(jiff::civil::DateTime, Offset), EvalError> {
    let t = Timestamp::from_second(ts)
        .map_err(|e| EvalError::function("smartSummarize", e.to_string()))?;
    let offset = ctx.tz().to_offset(t);
    Ok((offset.to_datetime(t), offset))
}

/// `datetime(y, m, d, ..., tzinfo=s.tzinfo)`: a wall-clock time read with the offset the
/// start had (pytz zones carry a fixed offset), as epoch seconds.
fn with_offset(dt: jiff::civil::DateTime, offset: Offset) -> Result<i64, EvalError> {
    offset
        .to_timestamp(dt)
        .map(|t| t.as_second())
        .map_err(|e| EvalError::function("smartSummarize", e.to_string()))
}

/// `smartSummarize`'s start alignment: the range start rounded down to the calendar
/// `unit` (weeks to Monday).
fn align_start(ctx: &Ctx<'_>, from: i64, unit: &str) -> Result<i64, EvalError> {
    let (dt, offset) = wall_clock(ctx, from)?;
    let date = dt.date();
    let civil = |y: i16, m: i8, d: i8, h: i8, mi: i8, s: i8| {
        jiff::civil::DateTime::new(y, m, d, h, mi, s, 0)
            .map_err(|e| EvalError::function("smartSummarize", e.to_string()))
    };
    let (y, m, d) = (dt.year(), dt.month(), dt.day());
    let aligned = match unit {
        "years" => civil(y, 1, 1, 0, 0, 0)?,
        "months" => civil(y, m, 1, 0, 0, 0)?,
        "weeks" => {
            let back = i64::from(date.weekday().to_monday_one_offset()) - 1;
            let day = date
                .checked_sub(jiff::Span::new().days(back))
                .map_err(|e| EvalError::function("smartSummarize", e.to_string()))?;
            day.to_datetime(jiff::civil::Time::midnight())
        }
        "days" => civil(y, m, d, 0, 0, 0)?,
        "hours" => civil(y, m, d, dt.hour(), 0, 0)?,
        "minutes" => civil(y, m, d, dt.hour(), dt.minute(), 0)?,
        _ => civil(y, m, d, dt.hour(), dt.minute(), dt.second())?,
    };
    with_offset(aligned, offset)
}

pub(super) fn hitcount(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let text = a.str(1);
    let align = a.bool(2);
    let interval = positive_interval("hitcount", &text)?;
    let mut list = a.series(0);
    if align {
        let (dt, offset) = wall_clock(ctx, ctx.from)?;
        let civil = |h: i8, mi: i8| {
            jiff::civil::DateTime::new(dt.year(), dt.month(), dt.day(), h, mi, 0, 0)
                .map_err(|e| EvalError::function("hitcount", e.to_string()))
        };
        let from = if interval >= 86400 {
            with_offset(civil(0, 0)?, offset)?
        } else if interval >= 3600 {
            with_offset(civil(dt.hour(), 0)?, offset)?
        } else if interval >= 60 {
            with_offset(civil(dt.hour(), dt.minute())?, offset)?
        } else {
            ctx.from
        };
        list = refetch(ctx, a, from, ctx.until)?;
        for s in &mut list {
            let count = (s.end - s.start).div_euclid(interval);
            s.end = s.start + count * interval + interval;
        }
    }
    let mut out = Vec::new();
    for mut s in list {
        reserve_buckets(ctx, "hitcount", s.start, s.end, interval)?;
        let (start, values) = hit_buckets(&s, interval)?;
        s.tags.set("hitcount", text.clone());
        let suffix = if align { ", true" } else { "" };
        let name = format!("hitcount({}, \"{text}\"{suffix})", s.name);
        let mut r = s.derive(name, values);
        r.start = start;
        r.step = interval;
        out.push(r);
    }
    Ok(out)
}

/// hitcount's buckets, ending at the series' end: each value (a rate) times the seconds of
/// its step that fall in a bucket. Returns the first bucket's start and the totals.
fn hit_buckets(s: &Series, interval: i64) -> Result<(i64, Vec<f64>), EvalError> {
    let count = ((s.end - s.start) as f64 / interval as f64).ceil() as i64;
    let new_start = s.end - count * interval;
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); count.max(0) as usize];
    // Python list indexing: negative positions count from the end.
    let mut push = |j: i64, v: f64| -> Result<(), EvalError> {
        let idx = if j < 0 { j + count } else { j };
        match buckets.get_mut(usize::try_from(idx).unwrap_or(usize::MAX)) {
            Some(b) => {
                b.push(v);
                Ok(())
            }
            None => Err(EvalError::function("hitcount", "list index out of range")),
        }
    };
    for (i, &value) in s.values.iter().enumerate() {
        if !present(value) {
            continue;
        }
        let start_time = s.start + i as i64 * s.step;
        let (start_bucket, start_mod) = (
            (start_time - new_start).div_euclid(interval),
            (start_time - new_start).rem_euclid(interval),
        );
        let end_time = start_time + s.step;
        let (mut end_bucket, mut end_mod) = (
            (end_time - new_start).div_euclid(interval),
            (end_time - new_start).rem_euclid(interval),
        );
        if end_bucket >= count {
            end_bucket = count - 1;
            end_mod = interval;
        }
        if start_bucket == end_bucket {
            if start_bucket >= 0 {
                push(start_bucket, value * (end_mod - start_mod) as f64)?;
            }
        } else {
            if start_bucket >= 0 {
                push(start_bucket, value * (interval - start_mod) as f64)?;
            }
            let hits = value * interval as f64;
            for j in start_bucket + 1..end_bucket {
                push(j, hits)?;
            }
            if end_mod > 0 {
                push(end_bucket, value * end_mod as f64)?;
            }
        }
    }
    let values = buckets
        .iter()
        .map(|b| {
            if b.is_empty() {
                NULL
            } else {
                b.iter().fold(0.0, |acc, v| acc + v)
            }
        })
        .collect();
    Ok((new_start, values))
}

pub(super) fn integral_by_interval(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let unit = a.str(1);
    let duration = interval_seconds("integralByInterval", &unit)?.saturating_abs();
    let start_time = ctx.from;
    let mut out = Vec::new();
    for mut s in a.series(0) {
        if duration == 0 && !s.values.is_empty() {
            return Err(EvalError::function(
                "integralByInterval",
                "integer division or modulo by zero",
            ));
        }
        let mut current_time = s.start;
        let mut current = 0.0;
        let mut values = Vec::with_capacity(s.values.len());
        for &v in &s.values {
            let here = (current_time - start_time).div_euclid(duration);
            let before = (current_time - start_time - s.step).div_euclid(duration);
            if here != before {
                current = 0.0;
            }
            // A null keeps the running total (it may just have been reset).
            if present(v) {
                current += v;
            }
            values.push(current);
            current_time += s.step;
        }
        s.tags.set("integralByInterval", unit.clone());
        out.push(s.derive(format!("integralByInterval({},'{unit}')", s.name), values));
    }
    Ok(out)
}

/// graphite-web 1.1.10's `compressPeriodicGaps`: renames every series
/// `compressPeriodicGaps(<name>)` (its path expression too) and, when it can guess the
/// period a series really reports at, re-buckets it to that step with `last`.
pub(super) fn compress_periodic_gaps(
    _ctx: &Ctx<'_>,
    a: &mut Args,
) -> Result<Vec<Series>, EvalError> {
    let mut list = a.series(0);
    for s in &mut list {
        s.rename(format!("compressPeriodicGaps({})", s.name));
        s.path_expression = s.name.clone();
        if let Some(compressed) = compress_gaps(s) {
            *s = compressed;
        }
    }
    Ok(list)
}

/// The guess of `_compressPeriodicGaps`, quirks kept: values are tested by Python
/// truthiness (a 0 counts as a gap), and a value at index 0 never counts as the first one
/// seen (its `firstSeen > 0` test cannot tell index 0 from "none yet"). The period is the
/// distance between the first two values seen, confirmed by a value one period later with
/// gaps on both sides. `None` when there is no such guess: the series stays as it is.
fn compress_gaps(s: &Series) -> Option<Series> {
    let truthy = |v: f64| present(v) && v != 0.0;
    let values = &s.values;
    let (mut first, mut second) = (0usize, 0usize);
    for (i, &v) in values.iter().enumerate() {
        if truthy(v) {
            if first > 0 {
                second = i;
                break;
            }
            first = i;
        }
    }
    let guess = second as i64 - first as i64;
    let third = second as i64 + guess;
    let confirmed = guess > 1
        && third <= values.len() as i64 - 2
        && truthy(values[third as usize])
        && !present(values[third as usize - 1])
        && !present(values[third as usize + 1]);
    if !confirmed {
        return None;
    }
    let interval = guess * s.step;
    let new_start = s.start + first as i64 * s.step;
    let (new_values, _) = summarize_values(s, AggFunc::Last, interval, new_start, s.end);
    let new_end = new_start + interval * (new_values.len() as i64 - 1);
    let mut out = s.derive(s.name.clone(), new_values);
    out.path_expression = s.path_expression.clone();
    out.start = new_start;
    out.end = new_end;
    out.step = interval;
    Some(out)
}
