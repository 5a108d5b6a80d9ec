//! `maxDataPoints`: thinning a render's series to at most N points each, exactly as
//! graphite-web's JSON renderer does it (`renderViewJson`, 1.1.8).
//!
//! The time range is taken over all series (earliest start to latest end). For each series
//! with more than `maxDataPoints` steps in that range, `valuesPerPoint =
//! ceil(range / step / maxDataPoints)`; the start is nudged forward to a multiple of the
//! bucket width (`nudge = secondsPerPoint + start % step - start % secondsPerPoint`) so that
//! buckets stay put as the range slides, `nudge / step - 1` leading values are dropped (one
//! fewer than the nudge covers: graphite-web's off-by-one, kept because clients see it), and
//! the series is consolidated lazily with its own function and xFilesFactor. With
//! `maxDataPoints=1` each series becomes one point.

use crate::series::Series;

/// Applies `maxDataPoints` to every series in place.
pub fn apply_max_data_points(series: &mut [Series], max_data_points: usize) {
    // 0 is no limit: graphite-web divides by it (a 500); a point per pixel of nothing
    // means nothing, so Charcoal answers as if it were not given.
    if max_data_points == 0 || series.iter().all(|s| s.values.is_empty()) {
        return;
    }
    let start = series.iter().map(|s| s.start).min().unwrap_or(0);
    let end = series.iter().map(|s| s.end).max().unwrap_or(0);
    let range = (end - start) as f64;
    for s in series.iter_mut() {
        if max_data_points == 1 {
            s.values_per_point = s.values.len();
            continue;
        }
        let step = s.step.max(1);
        let points = range / step as f64;
        if (max_data_points as f64) < points {
            let vpp = (points / max_data_points as f64).ceil() as i64;
            let seconds_per_point = vpp * step;
            let nudge = seconds_per_point + s.start.rem_euclid(step)
                - s.start.rem_euclid(seconds_per_point);
            s.start += nudge;
            let lose = (nudge / step - 1).max(0) as usize;
            s.values.drain(..lose.min(s.values.len()));
            s.values_per_point = vpp as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_day_of_minutes_into_five_points() {
        // The fact sheet's verified case: 1 day at 60 s, maxDataPoints=5 → 5 points 17280 s
        // apart.
        let start = 1_700_000_040;
        let mut s = vec![Series::new(
            "a",
            start,
            start + 86_400,
            60,
            vec![1.0; 1440],
            0.0,
        )];
        apply_max_data_points(&mut s, 5);
        assert_eq!(s[0].values_per_point, 288);
        let out = s[0].consolidated();
        let ts: Vec<i64> = s[0].timestamps(out.len()).collect();
        assert_eq!(ts.len(), 5);
        assert!(ts.windows(2).all(|w| w[1] - w[0] == 17_280));
    }

    /// `maxDataPoints=0` answered 500 ("capacity overflow"); it is no limit now.
    #[test]
    fn zero_max_data_points_changes_nothing() {
        let start = 1_700_000_040;
        let original = Series::new("a", start, start + 600, 60, vec![1.0; 10], 0.0);
        let mut s = vec![original.clone()];
        apply_max_data_points(&mut s, 0);
        assert_eq!(s[0].values_per_point, original.values_per_point);
        assert_eq!(s[0].consolidated(), original.consolidated());
    }
}
