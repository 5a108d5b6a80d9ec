//! How `whisper-dump` and `whisper-fetch` print a timestamp: `--pretty` and
//! `-t/--time-format` work the same way in both scripts, so the choice is
//! made once here.

use crate::pytime::{ctime, strftime};

/// The timestamp spelling chosen by `--pretty` and `--time-format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeStyle {
    /// `str(ts)`: seconds since the epoch (no `--pretty`).
    Unix,
    /// `time.ctime(ts)` (`--pretty` without a format).
    Ctime,
    /// `time.strftime(format, time.localtime(ts))` (`--pretty -t FORMAT`).
    Strftime(String),
}

impl TimeStyle {
    /// The scripts' rule: the format only matters with `--pretty`, and an
    /// empty format (false in Python) means `ctime`.
    pub fn new(pretty: bool, format: Option<&str>) -> TimeStyle {
        match (pretty, format) {
            (false, _) => TimeStyle::Unix,
            (true, Some(f)) if !f.is_empty() => TimeStyle::Strftime(f.to_owned()),
            (true, _) => TimeStyle::Ctime,
        }
    }

    /// Formats one timestamp.
    ///
    /// ```
    /// use charcoal_tools::timestyle::TimeStyle;
    /// assert_eq!(TimeStyle::new(false, Some("%Y")).format(60), "60");
    /// ```
    pub fn format(&self, ts: i64) -> String {
        match self {
            TimeStyle::Unix => ts.to_string(),
            TimeStyle::Ctime => ctime(ts),
            TimeStyle::Strftime(f) => strftime(f, ts),
        }
    }
}
