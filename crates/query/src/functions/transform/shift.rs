//! Transforms that move series in time (`timeShift`, `timeStack`, `delay`), cut them
//! (`timeSlice`), and the two clock-driven generators graphite-web files under Transform
//! (`time`, `sin`).

use jiff::Timestamp;

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::Args;
use crate::series::{NULL, Series, present};

use super::pyops::{date_arg, interval_seconds, py_slice, refetch, rename_in_place};

/// graphite-web's shift sign rule: an offset without a sign goes back in time. An empty
/// offset makes Python index past the end of the string.
fn backwards_by_default(func: &str, text: &str) -> Result<String, EvalError> {
    match text.chars().next() {
        None => Err(EvalError::function(func, "string index out of range")),
        Some(c) if c.is_ascii_digit() => Ok(format!("-{text}")),
        Some(_) => Ok(text.to_owned()),
    }
}

/// Whether the request's zone is on daylight-saving time at `ts`.
fn is_dst(ctx: &Ctx<'_>, ts: i64) -> bool {
    Timestamp::from_second(ts).is_ok_and(|t| ctx.tz().to_offset_info(t).dst().is_dst())
}

pub(super) fn time_shift(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    // graphite-web declares the parameter `alignDst` but its function argument is
    // `alignDST`: given by keyword, Python refuses it (unexpected keyword argument).
    if a.given(3) && a.raw(3).is_none() {
        return Err(EvalError::function(
            "timeShift",
            "timeShift() got an unexpected keyword argument 'alignDst'",
        ));
    }
    let shift = backwards_by_default("timeShift", &a.str(1))?;
    let reset_end = a.bool(2);
    let align_dst = a.bool(3);
    let delta = interval_seconds("timeShift", &shift)?;
    let (mut from, mut until) = (
        ctx.from.saturating_add(delta),
        ctx.until.saturating_add(delta),
    );
    if align_dst {
        let request_dst = (is_dst(ctx, ctx.from), is_dst(ctx, ctx.until));
        let shifted_dst = (is_dst(ctx, from), is_dst(ctx, until));
        // Only when both ranges are entirely on one side of a DST change.
        let correction = match (request_dst, shifted_dst) {
            ((true, true), (false, false)) => 3600,
            ((false, false), (true, true)) => -3600,
            _ => 0,
        };
        from += correction;
        until += correction;
    }
    let list = a.series(0);
    let Some(first) = list.first() else {
        return Ok(Vec::new());
    };
    let (first_start, first_end) = (first.start, first.end);
    let mut out = refetch(ctx, a, from, until)?;
    for s in &mut out {
        s.tags.set("timeShift", shift.clone());
        // The path expression stays the fetched one.
        s.rename(format!("timeShift({}, \"{shift}\")", s.name));
        s.end = if reset_end {
            first_end
        } else {
            s.end - s.start + first_start
        };
        s.start = first_start;
    }
    Ok(out)
}

pub(super) fn time_stack(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let unit = backwards_by_default("timeStack", &a.str(1))?;
    let delta = interval_seconds("timeStack", &unit)?;
    let (first_shift, last_shift) = (a.int(2), a.int(3));
    let list = a.series(0);
    let Some(first) = list.first() else {
        return Ok(Vec::new());
    };
    let (first_start, first_end) = (first.start, first.end);
    let mut out = Vec::new();
    for shift in first_shift..last_shift {
        let inner = delta.saturating_mul(shift);
        let (from, until) = (
            ctx.from.saturating_add(inner),
            ctx.until.saturating_add(inner),
        );
        for mut s in refetch(ctx, a, from, until)? {
            s.tags.set("timeShiftUnit", unit.clone());
            s.tags.set("timeShift", shift.to_string());
            let name = format!("timeShift({}, {unit}, {shift})", s.name);
            rename_in_place(&mut s, name);
            s.start = first_start;
            s.end = first_end;
            out.push(s);
        }
    }
    Ok(out)
}

pub(super) fn time_slice(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let start = date_arg(
        ctx,
        "timeSlice",
        &a.get(1).unwrap_or(crate::value::Value::None),
    )?;
    let end = date_arg(
        ctx,
        "timeSlice",
        &a.get(2).unwrap_or(crate::value::Value::None),
    )?;
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("timeSliceStart", start.to_string());
        s.tags.set("timeSliceEnd", end.to_string());
        s.rename(format!("timeSlice({}, {start}, {end})", s.name));
        // graphite-web walks from the request's start, not the series' own.
        let mut current = ctx.from;
        for v in &mut s.values {
            if !present(*v) || current < start || current > end {
                *v = NULL;
            }
            current += s.step;
        }
    }
    Ok(list)
}

pub(super) fn delay(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let steps = a.int(1);
    let mut out = Vec::new();
    for mut s in a.series(0) {
        let len = s.values.len() as i64;
        let values = if steps < 0 {
            let back = steps.saturating_neg();
            let mut v = py_slice(&s.values, Some(back), None);
            v.extend(std::iter::repeat_n(NULL, back.min(len) as usize));
            v
        } else {
            // `series[:-0]` is empty: delay(x, 0) yields no values, as in graphite-web.
            let mut v = vec![NULL; steps.min(len) as usize];
            v.extend(py_slice(&s.values, None, Some(steps.saturating_neg())));
            v
        };
        s.tags.set("delay", steps.to_string());
        out.push(s.derive(format!("delay({},{steps})", s.name), values));
    }
    Ok(out)
}

/// The timestamps a generator produces: from the range start while before its end.
fn generator_times(func: &str, ctx: &Ctx<'_>, step: i64) -> Result<Vec<i64>, EvalError> {
    if step <= 0 {
        // graphite-web loops forever.
        return Err(EvalError::function(func, "the step must be positive"));
    }
    let count = (ctx.until.saturating_sub(ctx.from).max(0) as u64).div_ceil(step as u64);
    ctx.produce(func, usize::try_from(count).unwrap_or(usize::MAX))?;
    Ok((ctx.from..ctx.until).step_by(step as usize).collect())
}

fn generated(ctx: &Ctx<'_>, name: String, step: i64, values: Vec<f64>) -> Series {
    Series::new(
        name,
        ctx.from,
        ctx.until,
        step,
        values,
        ctx.x_files_factor(),
    )
}

pub(super) fn time_function(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let step = a.int(1);
    let values = generator_times("timeFunction", ctx, step)?
        .into_iter()
        .map(|t| t as f64)
        .collect();
    Ok(vec![generated(ctx, a.str(0), step, values)])
}

pub(super) fn sin_function(ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let amplitude = a.int(1) as f64;
    let step = a.int(2);
    let values = generator_times("sinFunction", ctx, step)?
        .into_iter()
        .map(|t| (t as f64).sin() * amplitude)
        .collect();
    Ok(vec![generated(ctx, a.str(0), step, values)])
}
