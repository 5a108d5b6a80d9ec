//! carbon's whitelist.conf and blacklist.conf (`USE_WHITELIST = True`): one
//! regular expression per line, searched anywhere in the metric name; a name
//! matching the blacklist is dropped, and with a non-empty whitelist a name
//! matching none of it is dropped. Both are counted by the caller
//! (`blacklistMatches`, `whitelistRejects`). A missing file is an empty list;
//! a pattern that does not compile is skipped with a warning, as in carbon.

use std::path::Path;

use regex::Regex;

/// What to do with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Store it.
    Accept,
    /// It matches the blacklist.
    Blacklisted,
    /// The whitelist is not empty and it matches none of it.
    NotWhitelisted,
}

/// The two lists.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    whitelist: Vec<Regex>,
    blacklist: Vec<Regex>,
}

/// Reads one list; returns the patterns and the lines that were skipped.
fn read_list(path: &Path) -> (Vec<Regex>, Vec<String>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (Vec::new(), Vec::new());
    };
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match Regex::new(line) {
            Ok(r) => out.push(r),
            Err(e) => skipped.push(format!("{}: {line:?}: {e}", path.display())),
        }
    }
    (out, skipped)
}

impl Filters {
    /// Loads `whitelist.conf` and `blacklist.conf` from `conf_dir`; the
    /// second value lists the patterns skipped, for a warning.
    pub fn load(conf_dir: &Path) -> (Filters, Vec<String>) {
        let (whitelist, mut skipped) = read_list(&conf_dir.join("whitelist.conf"));
        let (blacklist, more) = read_list(&conf_dir.join("blacklist.conf"));
        skipped.extend(more);
        (
            Filters {
                whitelist,
                blacklist,
            },
            skipped,
        )
    }

    /// Whether both lists are empty (nothing to check).
    pub fn is_empty(&self) -> bool {
        self.whitelist.is_empty() && self.blacklist.is_empty()
    }

    /// carbon's order: the blacklist first, then the whitelist.
    pub fn check(&self, name: &str) -> Verdict {
        if self.blacklist.iter().any(|r| r.is_match(name)) {
            Verdict::Blacklisted
        } else if !self.whitelist.is_empty() && !self.whitelist.iter().any(|r| r.is_match(name)) {
            Verdict::NotWhitelisted
        } else {
            Verdict::Accept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blacklist_then_whitelist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("whitelist.conf"), "# ours\n^app\\.\n\n(\n").unwrap();
        std::fs::write(dir.path().join("blacklist.conf"), "secret\n").unwrap();
        let (f, skipped) = Filters::load(dir.path());
        assert_eq!(skipped.len(), 1, "the bad pattern is reported");
        let v = |n: &str, want: Verdict| assert_eq!(f.check(n), want, "{n}");
        v("app.web.count", Verdict::Accept);
        v("app.secret.count", Verdict::Blacklisted);
        v("other.count", Verdict::NotWhitelisted);
        let (none, _) = Filters::load(&dir.path().join("missing"));
        assert!(none.is_empty());
        assert_eq!(none.check("anything"), Verdict::Accept);
    }
}
