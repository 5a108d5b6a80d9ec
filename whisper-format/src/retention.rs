//! Retention definitions as the whisper scripts accept them: `60:1440`,
//! `1m:7d`, `10sec:6hours`.
//!
//! A unit is any prefix of `seconds`, `minutes`, `hours`, `days`, `weeks`,
//! `years` (so `m` is minutes); a bare number of points is a count, a number
//! with a unit is a duration divided by the precision. Carbon's
//! storage-schemas parser is stricter and lives with the server.

use crate::error::{Error, Result};
use crate::header::ArchiveSpec;

const UNITS: [(&str, u64); 6] = [
    ("seconds", 1),
    ("minutes", 60),
    ("hours", 3600),
    ("days", 86400),
    ("weeks", 86400 * 7),
    ("years", 86400 * 365),
];

fn unit_seconds(unit: &str) -> Result<u64> {
    UNITS
        .iter()
        .find(|(name, _)| name.starts_with(unit))
        .map(|&(_, secs)| secs)
        .ok_or_else(|| Error::InvalidRetention(format!("Invalid unit '{unit}'")))
}

/// Splits `123abc` into (123, "abc") when it is digits followed by lowercase
/// letters, as `^(\d+)([a-z]+)$` does.
fn number_and_unit(s: &str) -> Option<(u64, &str)> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() || unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Some((digits.parse().ok()?, unit))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn to_u32(v: u64, def: &str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| Error::InvalidRetention(format!("Invalid retention definition '{def}'")))
}

/// Parses one `precision:retention` definition.
pub fn parse_retention_def(def: &str) -> Result<ArchiveSpec> {
    let trimmed = def.trim();
    let Some((precision, points)) = trimmed.split_once(':') else {
        return Err(Error::InvalidRetention(format!(
            "Invalid retention definition '{def}'"
        )));
    };
    let precision = if all_digits(precision) {
        precision.parse::<u64>().map_err(|_| {
            Error::InvalidRetention(format!("Invalid precision specification '{precision}'"))
        })?
    } else if let Some((n, unit)) = number_and_unit(precision) {
        n.saturating_mul(unit_seconds(unit)?)
    } else {
        return Err(Error::InvalidRetention(format!(
            "Invalid precision specification '{precision}'"
        )));
    };
    let points = if all_digits(points) {
        points.parse::<u64>().map_err(|_| {
            Error::InvalidRetention(format!("Invalid retention specification '{points}'"))
        })?
    } else if let Some((n, unit)) = number_and_unit(points) {
        if precision == 0 {
            return Err(Error::InvalidRetention(format!(
                "Invalid precision specification '0' in '{def}'"
            )));
        }
        n.saturating_mul(unit_seconds(unit)?) / precision
    } else {
        return Err(Error::InvalidRetention(format!(
            "Invalid retention specification '{points}'"
        )));
    };
    Ok(ArchiveSpec::new(
        to_u32(precision, def)?,
        to_u32(points, def)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_whisper() {
        let f = |def: &str, want: Option<(u32, u32)>| {
            let got = parse_retention_def(def)
                .ok()
                .map(|a| (a.seconds_per_point, a.points));
            assert_eq!(got, want, "{def}");
        };
        f("60:1440", Some((60, 1440)));
        f("1m:7d", Some((60, 10080)));
        f("10s:6h", Some((10, 2160)));
        f("10sec:6hours", Some((10, 2160)));
        f("10m:5y", Some((600, 262800)));
        f("1h:7d", Some((3600, 168)));
        f("12h:2y", Some((43200, 1460)));
        f("15m:8", Some((900, 8)));
        f(" 60:10 ", Some((60, 10)));
        f("1s:10m", Some((1, 600)));
        f("60", None);
        f("1x:10", None);
        f("1M:10", None);
        f("m:10", None);
        f("60:", None);
        f("-1:10", None);
    }
}
