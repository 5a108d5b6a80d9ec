//! Graphite's INI files (carbon.conf, storage-schemas.conf,
//! storage-aggregation.conf) read the way Python's `configparser` reads them,
//! so an operator's existing files mean the same thing to us.
//!
//! What matters and is kept: sections in file order (storage-schemas is
//! first-match), option names case-insensitive (lower-cased), `=` or `:` as
//! separator, whole-line `#` and `;` comments, indented continuation lines,
//! values trimmed, backslashes kept as typed (`^carbon\.` stays a regex).
//! Inline comments are not stripped (configparser's default). `%`
//! interpolation is not performed: none of carbon's files rely on it.

use thiserror::Error;

/// A syntax error, with the line it is on.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IniError {
    /// An option line before any `[section]`.
    #[error("line {line}: option outside any [section]: {text:?}")]
    NoSection {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A line that is neither a section, an option nor a comment.
    #[error("line {line}: expected `name = value`: {text:?}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The same section twice (configparser refuses this too).
    #[error("line {line}: section [{name}] appears twice")]
    DuplicateSection {
        /// 1-based line number.
        line: usize,
        /// The section.
        name: String,
    },
}

/// One `[section]` and its options in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name between the brackets.
    pub name: String,
    /// (lower-cased name, value) pairs; a repeated option keeps the last.
    pub options: Vec<(String, String)>,
}

impl Section {
    /// The value of an option (name compared case-insensitively).
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        self.options
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a whole file.
pub fn parse(text: &str) -> Result<Vec<Section>, IniError> {
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented {
            // A continuation of the previous option's value.
            if let Some((_, value)) = sections.last_mut().and_then(|s| s.options.last_mut()) {
                value.push('\n');
                value.push_str(trimmed);
                continue;
            }
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if sections.iter().any(|s| s.name == name) {
                return Err(IniError::DuplicateSection {
                    line,
                    name: name.to_string(),
                });
            }
            sections.push(Section {
                name: name.to_string(),
                options: Vec::new(),
            });
            continue;
        }
        let Some(split) = trimmed.find(['=', ':']) else {
            return Err(IniError::Malformed {
                line,
                text: raw.to_string(),
            });
        };
        let key = trimmed[..split].trim().to_ascii_lowercase();
        let value = trimmed[split + 1..].trim().to_string();
        if key.is_empty() {
            return Err(IniError::Malformed {
                line,
                text: raw.to_string(),
            });
        }
        let Some(section) = sections.last_mut() else {
            return Err(IniError::NoSection {
                line,
                text: raw.to_string(),
            });
        };
        section.options.retain(|(k, _)| *k != key);
        section.options.push((key, value));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_configparser() {
        let text = "# comment\n[carbon]\npattern = ^carbon\\.\nRetentions: 60:90d\n\n; other\n\
                    [default_1min_for_1day]\npattern = .*\nretentions = 60s:1d\n  ,1h:1y\n";
        let s = parse(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "carbon");
        assert_eq!(s[0].get("pattern"), Some("^carbon\\."));
        assert_eq!(s[0].get("RETENTIONS"), Some("60:90d"));
        assert_eq!(s[1].get("retentions"), Some("60s:1d\n,1h:1y"));
    }

    #[test]
    fn errors_name_the_line() {
        let f = |text: &str, want: IniError| assert_eq!(parse(text).unwrap_err(), want);
        f(
            "a = 1\n",
            IniError::NoSection {
                line: 1,
                text: "a = 1".into(),
            },
        );
        f(
            "[a]\nnonsense\n",
            IniError::Malformed {
                line: 2,
                text: "nonsense".into(),
            },
        );
        f(
            "[a]\n[a]\n",
            IniError::DuplicateSection {
                line: 2,
                name: "a".into(),
            },
        );
    }

    #[test]
    fn a_repeated_option_keeps_the_last_value() {
        let s = parse("[a]\nx = 1\nX = 2\n").unwrap();
        assert_eq!(s[0].options, vec![("x".to_string(), "2".to_string())]);
    }
}
