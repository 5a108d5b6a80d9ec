//! The traffic both subcommands agree on: metric names, timestamps, values,
//! send order and which connection owns which metrics.
//!
//! Metric `i` is `<prefix>.<i / 1000>.m<i>`, so the whisper tree holds at most
//! 1,000 files per directory (`loadgen/42/m42017.wsp`). Point `j` of `P` has the
//! timestamp `end - (P - 1 - j) * step`: the last one is `end`, normally the
//! current time rounded down to the step. Values are a cheap function of
//! `(i, j)`, exact in binary (quarters below 2,500), so the checker can compare
//! what it reads with what was sent.

use std::ops::Range;
use std::path::PathBuf;

/// In which order a connection sends its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Order {
    /// Point 0 of every metric, then point 1 of every metric, ...: what a
    /// fleet reporting every interval looks like.
    Time,
    /// All points of the first metric, then all of the next, ...: a backfill.
    Metric,
}

/// What is sent: `metrics` series of `points` points each.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    /// First component of every name.
    pub(crate) prefix: String,
    /// Number of metrics.
    pub(crate) metrics: usize,
    /// Points per metric.
    pub(crate) points: usize,
    /// Seconds between a metric's points.
    pub(crate) step: u32,
    /// Timestamp of the last point.
    pub(crate) end: u32,
    /// Send order.
    pub(crate) order: Order,
}

impl Workload {
    /// The name of metric `i`.
    pub(crate) fn name(&self, i: usize) -> String {
        format!("{}.{}.m{}", self.prefix, i / 1000, i)
    }

    /// Its whisper file, relative to the whisper directory (carbon's rule:
    /// dots become directories, plus `.wsp`).
    pub(crate) fn relative_path(&self, i: usize) -> PathBuf {
        PathBuf::from(format!("{}.wsp", self.name(i).replace('.', "/")))
    }

    /// Timestamp of point `j`.
    pub(crate) fn timestamp(&self, j: usize) -> u32 {
        self.end - (self.points - 1 - j) as u32 * self.step
    }

    /// Value of point `j` of metric `i`.
    pub(crate) fn value(i: usize, j: usize) -> f64 {
        ((i * 31 + j * 7) % 10_000) as f64 / 4.0
    }

    /// Total number of points.
    pub(crate) fn total_points(&self) -> usize {
        self.metrics * self.points
    }

    /// The metrics connection `c` of `n` owns: a contiguous slice.
    pub(crate) fn slice(&self, c: usize, n: usize) -> Range<usize> {
        (c * self.metrics / n)..((c + 1) * self.metrics / n)
    }

    /// Calls `f(i, j)` for every point of the metrics in `range`, in send
    /// order.
    pub(crate) fn for_each_point(&self, range: Range<usize>, mut f: impl FnMut(usize, usize)) {
        match self.order {
            Order::Time => {
                for j in 0..self.points {
                    for i in range.clone() {
                        f(i, j);
                    }
                }
            }
            Order::Metric => {
                for i in range {
                    for j in 0..self.points {
                        f(i, j);
                    }
                }
            }
        }
    }

    /// Checks that the timestamps do not run below zero.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.metrics > 0 && self.points > 0, "nothing to send");
        anyhow::ensure!(self.step > 0, "--step must be positive");
        let span = (self.points as u64 - 1) * u64::from(self.step);
        anyhow::ensure!(
            span <= u64::from(self.end),
            "{} points every {} s do not fit before {}",
            self.points,
            self.step,
            self.end
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(order: Order) -> Workload {
        Workload {
            prefix: "loadgen".into(),
            metrics: 5,
            points: 3,
            step: 10,
            end: 1_000,
            order,
        }
    }

    #[test]
    fn names_timestamps_and_paths() {
        let w = workload(Order::Time);
        assert_eq!(w.name(42_017), "loadgen.42.m42017");
        assert_eq!(
            w.relative_path(7),
            PathBuf::from("loadgen/0/m7.wsp"),
            "dots are directories"
        );
        assert_eq!(
            (w.timestamp(0), w.timestamp(1), w.timestamp(2)),
            (980, 990, 1_000)
        );
    }

    #[test]
    fn slices_cover_every_metric_once() {
        let w = Workload {
            metrics: 10,
            ..workload(Order::Time)
        };
        let all: Vec<usize> = (0..3).flat_map(|c| w.slice(c, 3)).collect();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn orders() {
        let mut seen = Vec::new();
        workload(Order::Time).for_each_point(1..3, |i, j| seen.push((i, j)));
        assert_eq!(seen, [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 2)]);
        seen.clear();
        workload(Order::Metric).for_each_point(1..3, |i, j| seen.push((i, j)));
        assert_eq!(seen, [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]);
    }
}
