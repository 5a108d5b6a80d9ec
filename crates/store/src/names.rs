//! The store's one rule from a metric name to where it lives: its whisper file under the
//! whisper directory, and its name in the metric index.
//!
//! A plain name `a.b.c` is the file `a/b/c.wsp` and the index name `a.b.c`. A tagged
//! name (`cpu;host=a`) is stored under `_tagged/<h>/<h>/<sha256>.wsp` (carbon's
//! `TAG_HASH_FILENAMES`), and indexed by that file as graphite-web lists it
//! (`_tagged.abc.def.<hash>`): its real name is only in the tag index. Every path comes
//! from [`MetricName`], whose rules keep it inside the whisper directory.

use std::path::PathBuf;

use charcoal_protocol::{MetricName, MetricNameRef};

/// The index name of a metric: its file's path under the whisper directory, dotted.
pub fn index_name(name: MetricNameRef<'_>) -> String {
    if !name.is_tagged() {
        // A plain name's file is its dots turned into directories: the name itself.
        return name.as_str().to_owned();
    }
    let path = name.relative_path();
    let text = path.to_string_lossy();
    text.strip_suffix(".wsp")
        .unwrap_or(&text)
        .replace(std::path::MAIN_SEPARATOR, ".")
}

/// [`index_name`] of a name given as text; None if it is not a valid name.
pub fn index_name_of(raw: &str) -> Option<String> {
    MetricName::parse(raw)
        .ok()
        .map(|n| index_name(n.as_name_ref()))
}

/// The file of a name given as text, relative to the whisper directory; None if it is
/// not a valid name.
pub fn file_of(raw: &str) -> Option<PathBuf> {
    MetricName::parse(raw).ok().map(|n| n.relative_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_tagged_names() {
        assert_eq!(index_name_of("a.b.c").as_deref(), Some("a.b.c"));
        assert_eq!(file_of("a.b.c"), Some(PathBuf::from("a/b/c.wsp")));
        let tagged = index_name_of("cpu;host=a").unwrap();
        assert!(tagged.starts_with("_tagged."), "{tagged}");
        let file = file_of("cpu;host=a").unwrap();
        assert_eq!(
            file.to_string_lossy().replace('/', "."),
            format!("{tagged}.wsp")
        );
        for hostile in ["../etc/passwd", "a/../../b", "/abs", "a.b\0c"] {
            if let Some(p) = file_of(hostile) {
                assert!(
                    p.is_relative() && !p.components().any(|c| c.as_os_str() == ".."),
                    "{hostile}: {p:?}"
                );
            }
        }
        assert_eq!(index_name_of(""), None);
    }
}
