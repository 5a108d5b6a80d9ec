//! storage-schemas.conf and storage-aggregation.conf: which archives and
//! which aggregation a new whisper file gets.
//!
//! Carbon's rules, kept: sections are tried in file order and the first whose
//! `pattern` matches anywhere in the name (an unanchored search, on the
//! tag-normalised name) wins. A schema section without `pattern` or
//! `retentions`, or whose archives break whisper's rules, is skipped with a
//! warning; a retention that does not parse is an error for the whole file
//! (carbon exits). Carbon's own retention syntax is stricter than the whisper
//! scripts': single-letter units only. A built-in fallback (60 s for 7 days;
//! average, 0.5) applies when nothing matches. An aggregation section that
//! matches decides, even if it sets only one of its two keys; the other takes
//! whisper's default.

use std::path::Path;

use regex::Regex;
use thiserror::Error;
use whisper_format::{Aggregation, ArchiveSpec, validate_archive_list};

use crate::ini::{self, IniError};

/// What went wrong reading a rules file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// INI syntax.
    #[error("{path}: {source}")]
    Syntax {
        /// The file.
        path: String,
        /// Where and what.
        #[source]
        source: IniError,
    },
    /// A retention definition carbon would refuse to start with.
    #[error("{path}: section [{section}]: invalid retention {value:?}: {reason}")]
    Retention {
        /// The file.
        path: String,
        /// The section.
        section: String,
        /// The definition.
        value: String,
        /// Why.
        reason: String,
    },
    /// A pattern our regex engine cannot compile.
    #[error("{path}: section [{section}]: invalid pattern {pattern:?}: {reason}")]
    Pattern {
        /// The file.
        path: String,
        /// The section.
        section: String,
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// An xFilesFactor outside 0..=1 (carbon fails at load too).
    #[error("{path}: section [{section}]: xFilesFactor {value} is not between 0 and 1")]
    XFilesFactor {
        /// The file.
        path: String,
        /// The section.
        section: String,
        /// The value.
        value: String,
    },
}

/// One storage schema.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Section name.
    pub name: String,
    /// The pattern as written (None for the built-in fallback).
    pub pattern: Option<String>,
    regex: Option<Regex>,
    /// Archives, finest first.
    pub archives: Vec<ArchiveSpec>,
}

/// One aggregation rule; None fields take whisper's defaults.
#[derive(Debug, Clone)]
pub struct AggregationRule {
    /// Section name.
    pub name: String,
    /// The pattern as written (None for the built-in fallback).
    pub pattern: Option<String>,
    regex: Option<Regex>,
    /// Fraction of known points needed to propagate.
    pub x_files_factor: Option<f32>,
    /// How lower archives are filled.
    pub aggregation: Option<Aggregation>,
}

/// A rule skipped while loading, for a warning in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Section name.
    pub section: String,
    /// Why.
    pub reason: String,
}

/// The loaded storage-schemas.conf and storage-aggregation.conf.
#[derive(Debug, Clone)]
pub struct Rules {
    schemas: Vec<Schema>,
    aggregations: Vec<AggregationRule>,
    /// Sections skipped while loading.
    pub skipped: Vec<Skipped>,
}

/// What a new file gets.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFile {
    /// Archives, finest first.
    pub archives: Vec<ArchiveSpec>,
    /// Stored xFilesFactor.
    pub x_files_factor: f32,
    /// Aggregation method.
    pub aggregation: Aggregation,
    /// The schema section that matched.
    pub schema: String,
}

/// Carbon's storage-schemas.conf as Debian and upstream ship it, used when no
/// configuration directory is given.
pub const DEFAULT_SCHEMAS: &str = "\
[carbon]
pattern = ^carbon\\.
retentions = 60:90d

[default_1min_for_1day]
pattern = .*
retentions = 60s:1d
";

/// An empty storage-aggregation.conf: average, xFilesFactor 0.5 for all.
pub const DEFAULT_AGGREGATION: &str = "";

/// Carbon's own retention syntax: `60:1440`, `10s:6h`; units s m h d w y.
pub fn parse_carbon_retention(def: &str) -> Result<ArchiveSpec, String> {
    let parts: Vec<&str> = def.trim().split(':').collect();
    let [precision, points] = parts[..] else {
        return Err("expected precision:retention".into());
    };
    let unit = |u: &str| -> Result<u64, String> {
        Ok(match u {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            "w" => 86400 * 7,
            "y" => 86400 * 365,
            _ => return Err(format!("Invalid unit '{u}'")),
        })
    };
    let number = |s: &str, what: &str| -> Result<(u64, Option<u64>), String> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (n, rest) = s.split_at(digits);
        let n: u64 = n
            .parse()
            .map_err(|_| format!("Invalid {what} specification '{s}'"))?;
        if rest.is_empty() {
            Ok((n, None))
        } else if rest.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok((n, Some(unit(rest)?)))
        } else {
            Err(format!("Invalid {what} specification '{s}'"))
        }
    };
    let (p, pu) = number(precision, "precision")?;
    let precision = p.saturating_mul(pu.unwrap_or(1));
    let (n, nu) = number(points, "retention")?;
    let points = match nu {
        None => n,
        Some(u) if precision > 0 => n.saturating_mul(u) / precision,
        Some(_) => return Err("zero precision".into()),
    };
    let fit = |v: u64| u32::try_from(v).map_err(|_| format!("{v} is too large"));
    Ok(ArchiveSpec::new(fit(precision)?, fit(points)?))
}

fn compile(path: &str, section: &str, pattern: &str) -> Result<Regex, RulesError> {
    Regex::new(pattern).map_err(|e| RulesError::Pattern {
        path: path.into(),
        section: section.into(),
        pattern: pattern.into(),
        reason: e.to_string(),
    })
}

impl Rules {
    /// Carbon's defaults (what `charcoal serve` uses without `--config`).
    pub fn embedded() -> Rules {
        Rules::parse(
            DEFAULT_SCHEMAS,
            "storage-schemas.conf",
            DEFAULT_AGGREGATION,
            "",
        )
        .expect("BUG: the embedded rules parse")
    }

    /// Reads both files from a configuration directory. A missing
    /// storage-aggregation.conf means defaults for all (as carbon); a
    /// missing storage-schemas.conf is an error.
    pub fn load(conf_dir: &Path) -> Result<Rules, RulesError> {
        let read = |name: &str, required: bool| -> Result<(String, String), RulesError> {
            let path = conf_dir.join(name);
            let shown = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((text, shown)),
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                    Ok((String::new(), shown))
                }
                Err(source) => Err(RulesError::Io {
                    path: shown,
                    source,
                }),
            }
        };
        let (schemas, schemas_path) = read("storage-schemas.conf", true)?;
        let (aggregation, aggregation_path) = read("storage-aggregation.conf", false)?;
        Rules::parse(&schemas, &schemas_path, &aggregation, &aggregation_path)
    }

    /// Parses the two files' contents (paths are for messages).
    pub fn parse(
        schemas_text: &str,
        schemas_path: &str,
        aggregation_text: &str,
        aggregation_path: &str,
    ) -> Result<Rules, RulesError> {
        let mut skipped = Vec::new();
        let mut schemas = Vec::new();
        let sections = ini::parse(schemas_text).map_err(|source| RulesError::Syntax {
            path: schemas_path.into(),
            source,
        })?;
        for s in sections {
            let Some(retentions) = s.get("retentions") else {
                skipped.push(Skipped {
                    section: s.name.clone(),
                    reason: "missing 'retentions'".into(),
                });
                continue;
            };
            let mut archives = Vec::new();
            for def in retentions.split(',') {
                archives.push(parse_carbon_retention(def).map_err(|reason| {
                    RulesError::Retention {
                        path: schemas_path.into(),
                        section: s.name.clone(),
                        value: def.trim().into(),
                        reason,
                    }
                })?);
            }
            let Some(pattern) = s.get("pattern").filter(|p| !p.is_empty()) else {
                skipped.push(Skipped {
                    section: s.name.clone(),
                    reason: "missing 'pattern'".into(),
                });
                continue;
            };
            if let Err(e) = validate_archive_list(&mut archives) {
                skipped.push(Skipped {
                    section: s.name.clone(),
                    reason: format!("invalid archives: {e}"),
                });
                continue;
            }
            schemas.push(Schema {
                regex: Some(compile(schemas_path, &s.name, pattern)?),
                pattern: Some(pattern.to_string()),
                name: s.name,
                archives,
            });
        }
        schemas.push(Schema {
            name: "default".into(),
            pattern: None,
            regex: None,
            archives: vec![ArchiveSpec::new(60, 60 * 24 * 7)],
        });

        let mut aggregations = Vec::new();
        let sections = ini::parse(aggregation_text).map_err(|source| RulesError::Syntax {
            path: aggregation_path.into(),
            source,
        })?;
        for s in sections {
            let x_files_factor = match s.get("xfilesfactor") {
                None => None,
                Some(v) => match v.trim().parse::<f64>() {
                    Ok(x) if (0.0..=1.0).contains(&x) => Some(x as f32),
                    Ok(_) => {
                        return Err(RulesError::XFilesFactor {
                            path: aggregation_path.into(),
                            section: s.name.clone(),
                            value: v.into(),
                        });
                    }
                    Err(_) => {
                        skipped.push(Skipped {
                            section: s.name.clone(),
                            reason: format!("xFilesFactor {v:?} is not a number"),
                        });
                        continue;
                    }
                },
            };
            let aggregation = match s.get("aggregationmethod") {
                None => None,
                Some(v) => match v.trim().parse::<Aggregation>() {
                    Ok(a) => Some(a),
                    Err(e) => {
                        skipped.push(Skipped {
                            section: s.name.clone(),
                            reason: e.to_string(),
                        });
                        continue;
                    }
                },
            };
            let Some(pattern) = s.get("pattern").filter(|p| !p.is_empty()) else {
                skipped.push(Skipped {
                    section: s.name.clone(),
                    reason: "missing 'pattern'".into(),
                });
                continue;
            };
            aggregations.push(AggregationRule {
                regex: Some(compile(aggregation_path, &s.name, pattern)?),
                pattern: Some(pattern.to_string()),
                name: s.name,
                x_files_factor,
                aggregation,
            });
        }
        aggregations.push(AggregationRule {
            name: "default".into(),
            pattern: None,
            regex: None,
            x_files_factor: None,
            aggregation: None,
        });
        Ok(Rules {
            schemas,
            aggregations,
            skipped,
        })
    }

    /// The schemas in match order, the fallback last.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// What a new file for `name` (tag-normalised) gets.
    pub fn for_metric(&self, name: &str) -> NewFile {
        let matches = |re: &Option<Regex>| re.as_ref().is_none_or(|re| re.is_match(name));
        let schema = self
            .schemas
            .iter()
            .find(|s| matches(&s.regex))
            .expect("BUG: the fallback schema matches everything");
        let rule = self
            .aggregations
            .iter()
            .find(|a| matches(&a.regex))
            .expect("BUG: the fallback aggregation matches everything");
        NewFile {
            archives: schema.archives.clone(),
            x_files_factor: rule.x_files_factor.unwrap_or(0.5),
            aggregation: rule.aggregation.unwrap_or(Aggregation::Average),
            schema: schema.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carbon_retentions() {
        let f = |def: &str, want: Result<(u32, u32), ()>| {
            let got = parse_carbon_retention(def)
                .map(|a| (a.seconds_per_point, a.points))
                .map_err(|_| ());
            assert_eq!(got, want, "{def}");
        };
        f("60:1440", Ok((60, 1440)));
        f("10s:6h", Ok((10, 2160)));
        f("1m:7d", Ok((60, 10080)));
        f("60:90d", Ok((60, 129600)));
        f("10m:5y", Ok((600, 262800)));
        f(" 1h:1y ", Ok((3600, 8760)));
        f("7s:1m", Ok((7, 8)));
        f("10sec:6h", Err(())); // whisper's scripts accept this; carbon does not
        f("1M:1d", Err(()));
        f("60:1440:5", Err(()));
        f("60", Err(()));
    }

    #[test]
    fn first_match_in_file_order_unanchored() {
        let schemas = "[stats]\npattern = ^stats\\.\nretentions = 10s:6h,1m:7d\n\n\
                       [anywhere]\npattern = timers\nretentions = 1s:1h\n\n\
                       [catchall]\npattern = .*\nretentions = 60:1440\n";
        let aggregation = "[min]\npattern = \\.min$\nxFilesFactor = 0.1\naggregationMethod = min\n\n\
                           [count]\npattern = \\.count$\naggregationMethod = sum\n\n\
                           [onlyxff]\npattern = ^half\\.\nxFilesFactor = 0\n";
        let rules = Rules::parse(schemas, "s", aggregation, "a").unwrap();
        let f = |name: &str, schema: &str, xff: f32, agg: Aggregation| {
            let got = rules.for_metric(name);
            assert_eq!(
                (got.schema.as_str(), got.x_files_factor, got.aggregation),
                (schema, xff, agg),
                "{name}"
            );
        };
        f("stats.timers.x.min", "stats", 0.1, Aggregation::Min);
        f("app.timers.count", "anywhere", 0.5, Aggregation::Sum);
        f("half.count", "catchall", 0.5, Aggregation::Sum); // [count] comes first
        f("half.x", "catchall", 0.0, Aggregation::Average); // only one key set
        f("x;tag=1", "catchall", 0.5, Aggregation::Average);
        assert_eq!(
            rules.for_metric("stats.a").archives,
            vec![ArchiveSpec::new(10, 2160), ArchiveSpec::new(60, 10080)]
        );
    }

    #[test]
    fn bad_sections_are_skipped_or_fatal_as_in_carbon() {
        let schemas = "[nopattern]\nretentions = 60:10\n\n[noretention]\npattern = a\n\n\
                       [invalid]\npattern = b\nretentions = 60:10,90:100\n";
        let rules = Rules::parse(schemas, "s", "", "a").unwrap();
        let skipped: Vec<&str> = rules.skipped.iter().map(|s| s.section.as_str()).collect();
        assert_eq!(skipped, ["nopattern", "noretention", "invalid"]);
        assert_eq!(rules.for_metric("b").schema, "default");
        assert_eq!(
            rules.for_metric("b").archives,
            vec![ArchiveSpec::new(60, 10080)]
        );
        assert!(Rules::parse("[x]\npattern = a\nretentions = 60:1q\n", "s", "", "a").is_err());
        assert!(Rules::parse("[x]\npattern = (\nretentions = 60:1\n", "s", "", "a").is_err());
        assert!(Rules::parse("", "s", "[x]\npattern = a\nxFilesFactor = 2\n", "a").is_err());
        let rules = Rules::parse("", "s", "[x]\npattern = a\nxFilesFactor = many\n", "a").unwrap();
        assert_eq!(rules.skipped.len(), 1);
    }

    #[test]
    fn embedded_defaults_are_carbons() {
        let rules = Rules::embedded();
        assert_eq!(
            rules.for_metric("carbon.agents.x.cpuUsage").archives,
            vec![ArchiveSpec::new(60, 129_600)]
        );
        let other = rules.for_metric("web.requests");
        assert_eq!(other.archives, vec![ArchiveSpec::new(60, 1440)]);
        assert_eq!(
            (other.x_files_factor, other.aggregation),
            (0.5, Aggregation::Average)
        );
    }
}
