//! [`MetricName`]: the one validated metric name, and where its whisper file lives.
//!
//! Every name Charcoal stores or looks up passes [`MetricName::parse`] first, because a name
//! becomes a file path under the whisper directory (compat notes §2.6) and the design's
//! non-negotiable is that no name escapes it. Parsing also normalises the name the way
//! carbon's `TaggedSeries.parse(...).path` does before the cache sees it (carbon
//! `cache.py`, `CacheFeedingProcessor.process`), so the cache, the files and carbonlink all
//! agree on one spelling.
//!
//! # Rules
//!
//! A name is accepted when all of these hold, checked on the name as received:
//!
//! - it is non-empty and at most [`MAX_NAME_LEN`] bytes;
//! - it has no control character (Unicode category Cc: U+0000–U+001F, U+007F–U+009F, so no
//!   NUL, newline or tab);
//! - its series name (the part before the tags) has no `/` or `\`;
//! - tags, if any, follow carbon's syntax, see below.
//!
//! Untagged names are then split on `.` into path components: empty components (`a..b`,
//! a leading or trailing `.`) are dropped, each remaining component is at most
//! [`MAX_COMPONENT_LEN`] bytes (the leaf at most that less `.wsp`), and the first component
//! may not be `_tagged`. As a component never contains `.`, `/` or NUL, no component can be
//! `.` or `..`.
//!
//! # Tags
//!
//! Carbon's `TaggedSeries` (carbon `util.py`) is reproduced exactly for accepted names:
//!
//! - A name that ends with `"}` and contains `{` is OpenMetrics: `name{k="v",k2="v2"}`; the
//!   value may escape `"` and `\` with a backslash; pairs are separated by `,` (or `:,`, a
//!   quirk of carbon's regular expression). Otherwise it is carbon's `name;k=v;k2=v2`.
//! - A tag is non-empty and has none of `; ! ^ =`; a value is non-empty, has no `;` and
//!   does not start with `~`. A repeated tag keeps its last value. A tag called `name` is
//!   replaced by the series name.
//! - Leading `~` are stripped from the series name, tagged or not (`~a.b` is `a.b`).
//! - The normal form is the series name, then `;tag=value` for each tag, sorted by that
//!   `;tag=value` string (so `;a-b=1` sorts before `;a=1`, as in Python).
//!
//! A name is tagged when its normal form still has tags; `a;name=x` normalises to the
//! untagged `a`, as in carbon.
//!
//! # Differs from carbon
//!
//! - Carbon accepts any string; a name breaking the rules above is rejected here (the
//!   receivers count it). The path rules are the design's path-safety guarantee; carbon
//!   writes `a/../b` style names wherever the OS resolves them.
//! - Empty components are dropped from untagged names: `a..b` and `.a.b` are stored as
//!   `a.b`, in the same file carbon uses (`a/b.wsp`: carbon relies on the OS to collapse
//!   `//` and strips a leading `/`), but also in the cache and carbonlink under `a.b`; `a.b.`
//!   is `a.b` too, where carbon writes `a/b/.wsp`.
//! - A tag-syntax error rejects the name; carbon logs it and stores the raw name (under a
//!   `_tagged` hash if it contains `;`, where no tag query can reach it).
//! - An OpenMetrics series name containing `;` is rejected, and so is any name whose normal
//!   form would parse to something else (`.~a` → `~a` → `a`; `a;z=x"};b={` sorts to a
//!   string ending like OpenMetrics): carbon would cache one spelling and read back
//!   another. Every accepted name re-parses to itself (a property test checks it).
//! - Untagged names starting with the component `_tagged` are rejected, so an untagged name
//!   can never address a tagged series' file.
//! - Only `TAG_HASH_FILENAMES = True` (carbon's default) is implemented.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The longest name accepted, in bytes of UTF-8 as received.
///
/// An untagged name's path is its length plus 4 (`.wsp`) and a tagged one's is 81 bytes, so
/// with this limit a whisper directory of up to 2,040 bytes keeps every path under Linux's
/// `PATH_MAX` of 4,096.
pub const MAX_NAME_LEN: usize = 2048;

/// The longest path component of an untagged name, in bytes: Linux's `NAME_MAX`. The last
/// component also carries `.wsp`, so it may be at most `MAX_COMPONENT_LEN - 4` bytes.
pub const MAX_COMPONENT_LEN: usize = 255;

/// The suffix of every whisper file.
pub const WSP_SUFFIX: &str = ".wsp";

/// The directory under the whisper directory that holds tagged series (carbon's `_tagged`).
pub const TAGGED_DIR: &str = "_tagged";

/// A validated, normalised metric name.
///
/// Holds only the normal form, so it compares, hashes and borrows as that string:
/// a `HashMap<MetricName, _>` can be looked up with a `&str`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricName(String);

/// Why a metric name was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty, or has nothing but dots.
    #[error("metric name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("metric name is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Length of the name in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name contains a control character.
    #[error("metric name contains control character {ch:?} at byte {offset}")]
    ControlChar {
        /// The character.
        ch: char,
        /// Its byte offset in the name.
        offset: usize,
    },
    /// The series name contains `/` or `\`.
    #[error("metric name contains {ch:?}, which would make a directory")]
    PathSeparator {
        /// The character.
        ch: char,
    },
    /// A path component is longer than the file system allows.
    #[error("metric name has a component of {len} bytes, more than the limit of {max}")]
    ComponentTooLong {
        /// Length of the component in bytes.
        len: usize,
        /// The limit for that component.
        max: usize,
    },
    /// An untagged name whose first component is `_tagged`.
    #[error("metric names starting with \"_tagged.\" are reserved for tagged series")]
    Reserved,
    /// The normal form would be read back as a different name (for example `.~a`, whose
    /// normal form `~a` reads back as `a`, or `a;z=x"};b={`, whose sorted form ends like
    /// an OpenMetrics name).
    #[error("metric name does not normalise to a name that parses back to itself")]
    NotCanonical,
    /// The name has tags that carbon's `TaggedSeries.parse` would refuse.
    #[error("invalid tagged metric name: {0}")]
    Tag(#[from] TagError),
}

/// Why the tags of a name were rejected; the messages follow carbon's `TaggedSeries`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// Nothing before the first `;` or `{`.
    #[error("no metric found before the tags")]
    NoName,
    /// The series name is only `~` characters.
    #[error("metric name is only '~' characters")]
    OnlyTildes,
    /// A `;`-separated segment without `=` or with an empty tag.
    #[error("invalid segment {0:?}")]
    InvalidSegment(String),
    /// An OpenMetrics tag list that does not match `tag="value",...`.
    #[error("invalid OpenMetrics segment {0:?}")]
    InvalidOpenMetrics(String),
    /// An OpenMetrics name with more than one `{`.
    #[error("more than one '{{' in an OpenMetrics name")]
    ManyBraces,
    /// An empty tag value.
    #[error("value for tag {0:?} may not be empty")]
    EmptyValue(String),
    /// A tag containing one of `; ! ^ =`.
    #[error("character {ch:?} is not allowed in tag {tag:?}")]
    ForbiddenChar {
        /// The character.
        ch: char,
        /// The tag.
        tag: String,
    },
    /// A value containing `;`.
    #[error("character ';' is not allowed in the value of tag {0:?}")]
    SemicolonInValue(String),
    /// A value starting with `~`.
    #[error("values may not start with '~' (tag {0:?})")]
    TildeValue(String),
    /// An OpenMetrics series name containing `;`.
    #[error("OpenMetrics series name contains ';'")]
    SemicolonInName,
}

/// Excerpts of user input kept in errors are cut to this many bytes.
const ERROR_EXCERPT: usize = 64;

fn excerpt(s: &str) -> String {
    if s.len() <= ERROR_EXCERPT {
        return s.to_owned();
    }
    let mut end = ERROR_EXCERPT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A tag list as parsed: series name and (tag, value) pairs in input order.
struct Parsed<'a> {
    name: &'a str,
    tags: Vec<(&'a str, Cow<'a, str>)>,
}

impl MetricName {
    /// Validates and normalises `raw`; see the module docs for the rules.
    ///
    /// ```
    /// use charcoal_protocol::MetricName;
    /// let m = MetricName::parse("disk.used;host=a;dc=x").unwrap();
    /// assert_eq!(m.as_str(), "disk.used;dc=x;host=a");
    /// assert_eq!(MetricName::parse("a..b").unwrap().as_str(), "a.b");
    /// assert!(MetricName::parse("a/../../etc/passwd").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<MetricName, NameError> {
        if is_plain_normal(raw) {
            return Ok(MetricName(raw.to_owned()));
        }
        normal_form(raw).map(MetricName)
    }

    /// The name as a borrowed [`MetricNameRef`].
    pub fn as_name_ref(&self) -> MetricNameRef<'_> {
        MetricNameRef(&self.0)
    }

    /// The normal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normal form, as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether the name has tags (its normal form contains `;`).
    pub fn is_tagged(&self) -> bool {
        self.as_name_ref().is_tagged()
    }

    /// The series name: the whole name if untagged, else the part before the first `;`
    /// (carbon's `name` tag).
    pub fn series(&self) -> &str {
        self.as_name_ref().series()
    }

    /// The tags other than `name`, as `(tag, value)` in normal-form order.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.as_name_ref().tags()
    }

    /// The whisper file of this name relative to the whisper directory; see
    /// [`MetricNameRef::relative_path`].
    pub fn relative_path(&self) -> PathBuf {
        self.as_name_ref().relative_path()
    }

    /// Lowercase hex SHA-256 of the normal form (carbon's tagged-series file name).
    pub fn tag_hash(&self) -> String {
        self.as_name_ref().tag_hash()
    }
}

/// A validated, normalised metric name borrowed from somewhere else (a
/// [`crate::name_batch::NameBatch`], a [`MetricName`]): the same guarantees without an
/// allocation of its own. Only this crate makes one, from a name it validated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricNameRef<'a>(&'a str);

impl<'a> MetricNameRef<'a> {
    /// Wraps a string this crate has validated and normalised.
    pub(crate) fn new_unchecked(normal: &'a str) -> Self {
        MetricNameRef(normal)
    }

    /// The normal form.
    pub fn as_str(self) -> &'a str {
        self.0
    }

    /// An owned copy.
    pub fn to_name(self) -> MetricName {
        MetricName(self.0.to_owned())
    }

    /// Whether the name has tags (its normal form contains `;`).
    pub fn is_tagged(self) -> bool {
        self.0.contains(';')
    }

    /// The series name: the whole name if untagged, else the part before the first `;`
    /// (carbon's `name` tag).
    pub fn series(self) -> &'a str {
        self.0.split_once(';').map_or(self.0, |(name, _)| name)
    }

    /// The tags other than `name`, as `(tag, value)` in normal-form order.
    pub fn tags(self) -> impl Iterator<Item = (&'a str, &'a str)> {
        // Normal form: tags have no ';' or '=', values no ';', so both splits are exact.
        self.0
            .split(';')
            .skip(1)
            .filter_map(|segment| segment.split_once('='))
    }

    /// The whisper file of this name relative to the whisper directory, as carbon's
    /// `getFilesystemPath` with `TAG_HASH_FILENAMES = True`: `a.b.c` is `a/b/c.wsp`, a tagged
    /// name is `_tagged/<h[0:3]>/<h[3:6]>/<h>.wsp` where `h` is the lowercase hex SHA-256 of
    /// the normal form.
    ///
    /// Never absolute, never with an empty, `.` or `..` component, never with NUL.
    pub fn relative_path(self) -> PathBuf {
        if self.is_tagged() {
            let h = self.tag_hash();
            PathBuf::from(format!(
                "{TAGGED_DIR}/{}/{}/{h}{WSP_SUFFIX}",
                &h[0..3],
                &h[3..6]
            ))
        } else {
            let mut p = self.0.replace('.', "/");
            p.push_str(WSP_SUFFIX);
            PathBuf::from(p)
        }
    }

    /// Lowercase hex SHA-256 of the normal form (carbon's tagged-series file name).
    pub fn tag_hash(self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest.iter() {
            hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            hex.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        hex
    }
}

/// Appends the normal form of `raw` to `out`, or says why it is refused (`out` is then
/// unchanged): [`MetricName::parse`] without an allocation for names already in normal
/// form.
pub(crate) fn push_normal_form(raw: &str, out: &mut String) -> Result<(), NameError> {
    if is_plain_normal(raw) {
        out.push_str(raw);
    } else {
        out.push_str(&normal_form(raw)?);
    }
    Ok(())
}

/// The general path of [`MetricName::parse`]: tags, OpenMetrics, tildes, empty components.
fn normal_form(raw: &str) -> Result<String, NameError> {
    let normal = normalise(raw)?;
    // Every accepted name re-parses to itself, or the cache, the files and carbonlink
    // could disagree on its spelling.
    if normal != raw && normalise(&normal).as_deref() != Ok(normal.as_str()) {
        return Err(NameError::NotCanonical);
    }
    Ok(normal)
}

/// The normal form of `raw`, or why it is refused; see [`MetricName::parse`].
fn normalise(raw: &str) -> Result<String, NameError> {
    if raw.is_empty() {
        return Err(NameError::Empty);
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            len: raw.len(),
            max: MAX_NAME_LEN,
        });
    }
    if let Some((offset, ch)) = raw.char_indices().find(|(_, c)| c.is_control()) {
        return Err(NameError::ControlChar { ch, offset });
    }
    let parsed = if raw.ends_with("\"}") && raw.contains('{') {
        parse_openmetrics(raw)?
    } else {
        parse_carbon(raw)?
    };
    if let Some(ch) = parsed.name.chars().find(|&c| c == '/' || c == '\\') {
        return Err(NameError::PathSeparator { ch });
    }
    // Carbon builds a dict: a repeated tag keeps its last value, `name` is overwritten.
    let mut tags: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(parsed.tags.len());
    for (k, v) in parsed.tags {
        if k == "name" {
            continue;
        }
        match tags.iter_mut().find(|(seen, _)| *seen == k) {
            Some(slot) => slot.1 = v,
            None => tags.push((k, v)),
        }
    }
    if tags.is_empty() {
        return untagged(parsed.name);
    }
    let mut segments: Vec<String> = tags.iter().map(|(k, v)| format!(";{k}={v}")).collect();
    segments.sort_unstable();
    let mut out = String::with_capacity(raw.len());
    out.push_str(parsed.name);
    for s in &segments {
        out.push_str(s);
    }
    Ok(out)
}

/// Whether `raw` is an untagged name already in normal form that [`normalise`] would
/// accept unchanged: ASCII without control characters, `;`, `{`, `/` or `\\`, no leading
/// `~`, no empty component, component lengths within the limits, not under `_tagged`.
/// Nearly every name a sender writes is one; checking that in one pass over the bytes
/// spares the receivers the general parse (tags, OpenMetrics, tildes) for each point.
fn is_plain_normal(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME_LEN || bytes[0] == b'~' {
        return false;
    }
    let mut component_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'.' => {
                if i == component_start || i - component_start > MAX_COMPONENT_LEN {
                    return false;
                }
                component_start = i + 1;
            }
            0..=0x1f | 0x7f.. | b';' | b'{' | b'/' | b'\\' => return false,
            _ => {}
        }
    }
    let last = bytes.len() - component_start;
    last > 0
        && last <= MAX_COMPONENT_LEN - WSP_SUFFIX.len()
        && raw.split('.').next() != Some(TAGGED_DIR)
}

/// Normalises an untagged series name: drops empty components, checks component lengths.
fn untagged(name: &str) -> Result<String, NameError> {
    let mut out = String::with_capacity(name.len());
    let mut components = name.split('.').filter(|c| !c.is_empty()).peekable();
    let mut first = true;
    while let Some(c) = components.next() {
        if first && c == TAGGED_DIR {
            return Err(NameError::Reserved);
        }
        let max = if components.peek().is_some() {
            MAX_COMPONENT_LEN
        } else {
            MAX_COMPONENT_LEN - WSP_SUFFIX.len()
        };
        if c.len() > max {
            return Err(NameError::ComponentTooLong { len: c.len(), max });
        }
        if !first {
            out.push('.');
        }
        out.push_str(c);
        first = false;
    }
    if out.is_empty() {
        return Err(NameError::Empty);
    }
    Ok(out)
}

/// `TaggedSeries.sanitize_name_as_tag_value`: strip leading `~`, which must leave something.
fn sanitize_name(metric: &str) -> Result<&str, TagError> {
    if metric.is_empty() {
        return Err(TagError::NoName);
    }
    let name = metric.trim_start_matches('~');
    if name.is_empty() {
        return Err(TagError::OnlyTildes);
    }
    Ok(name)
}

/// `TaggedSeries.validateTagAndValue`, in carbon's order of checks.
fn validate_tag(tag: &str, value: &str) -> Result<(), TagError> {
    if tag.is_empty() {
        return Err(TagError::InvalidSegment(String::new()));
    }
    if value.is_empty() {
        return Err(TagError::EmptyValue(excerpt(tag)));
    }
    if let Some(ch) = tag.chars().find(|c| matches!(c, ';' | '!' | '^' | '=')) {
        return Err(TagError::ForbiddenChar {
            ch,
            tag: excerpt(tag),
        });
    }
    if value.contains(';') {
        return Err(TagError::SemicolonInValue(excerpt(tag)));
    }
    if value.starts_with('~') {
        return Err(TagError::TildeValue(excerpt(tag)));
    }
    Ok(())
}

/// `TaggedSeries.parse_carbon`: `name;tag=value;...`.
fn parse_carbon(raw: &str) -> Result<Parsed<'_>, TagError> {
    let mut segments = raw.split(';');
    let metric = segments.next().unwrap_or_default();
    let name = sanitize_name(metric)?;
    let mut tags = Vec::new();
    for segment in segments {
        match segment.split_once('=') {
            Some((tag, value)) if !tag.is_empty() => {
                validate_tag(tag, value)?;
                tags.push((tag, Cow::Borrowed(value)));
            }
            _ => return Err(TagError::InvalidSegment(excerpt(segment))),
        }
    }
    Ok(Parsed { name, tags })
}

/// `TaggedSeries.parse_openmetrics`: `name{tag="value",...}`, the caller having checked that
/// `raw` ends with `"}` and contains `{`.
///
/// Carbon matches `([^=]+)="((?:[\\]["\\]|[^"\\])+)"(:?,|$)` repeatedly; that expression
/// cannot backtrack into a different split, so a left-to-right scan gives the same result.
fn parse_openmetrics(raw: &str) -> Result<Parsed<'_>, TagError> {
    let body = &raw[..raw.len() - 1];
    let (metric, mut rest) = body.split_once('{').ok_or(TagError::NoName)?;
    if rest.contains('{') {
        return Err(TagError::ManyBraces);
    }
    if metric.is_empty() {
        return Err(TagError::NoName);
    }
    let mut tags = Vec::new();
    while !rest.is_empty() {
        let invalid = || TagError::InvalidOpenMetrics(excerpt(rest));
        let eq = rest.find('=').filter(|&i| i > 0).ok_or_else(invalid)?;
        let tag = &rest[..eq];
        let after = &rest[eq + 1..];
        let quoted = after.strip_prefix('"').ok_or_else(invalid)?;
        let bytes = quoted.as_bytes();
        let mut i = 0;
        loop {
            match bytes.get(i) {
                Some(b'\\') if matches!(bytes.get(i + 1), Some(b'"' | b'\\')) => i += 2,
                Some(b'\\') | None => return Err(invalid()),
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        if i == 0 {
            return Err(invalid());
        }
        let raw_value = &quoted[..i];
        let tail = &quoted[i + 1..];
        rest = if let Some(t) = tail.strip_prefix(',') {
            t
        } else if let Some(t) = tail.strip_prefix(":,") {
            t
        } else if tail.is_empty() {
            tail
        } else {
            return Err(invalid());
        };
        // Python's two str.replace calls, in carbon's order.
        let value: Cow<'_, str> = if raw_value.contains('\\') {
            Cow::Owned(raw_value.replace("\\\"", "\"").replace("\\\\", "\\"))
        } else {
            Cow::Borrowed(raw_value)
        };
        validate_tag(tag, &value)?;
        tags.push((tag, value));
    }
    let name = sanitize_name(metric)?;
    if name.contains(';') {
        return Err(TagError::SemicolonInName);
    }
    Ok(Parsed { name, tags })
}

impl fmt::Debug for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MetricName({:?})", self.0)
    }
}

impl fmt::Debug for MetricNameRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MetricNameRef({:?})", self.0)
    }
}

impl fmt::Display for MetricNameRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for MetricName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for MetricName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl FromStr for MetricName {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricName::parse(s)
    }
}

impl TryFrom<&str> for MetricName {
    type Error = NameError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        MetricName::parse(s)
    }
}

impl From<MetricName> for String {
    fn from(m: MetricName) -> String {
        m.0
    }
}

#[cfg(test)]
mod tests;
