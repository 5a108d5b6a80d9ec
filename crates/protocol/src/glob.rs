//! Graphite path patterns (`a.{b,c}.d*.[0-9]?`), matched as graphite-web's finder matches
//! them.
//!
//! graphite-web's `StandardFinder` removes backslashes from the query, splits it on `.`
//! (before expanding braces, so `{a.b,c}` does not span nodes), and for each node expands
//! `{x,y}` groups (innermost first, nested allowed) and matches every variant with Python's
//! `fnmatch` (`*`, `?`, `[abc]`, `[a-z]`, `[!a]`; case-sensitive). A node without `*`, `?`
//! or `[` is an existence check; a node that is exactly `**` matches any number of nodes.
//!
//! The `glob` crate has no braces and `globset` differs from `fnmatch` in corners (`[!`,
//! empty ranges, `[` without a `]`), so each variant is translated the way `fnmatch.translate`
//! does into a regular expression for the `regex` crate, which guarantees linear-time
//! matching whatever the pattern.

use regex::Regex;

/// Why a pattern cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobError {
    /// Brace expansion would produce more variants than [`MAX_VARIANTS`].
    #[error("pattern {0:?} expands to too many alternatives")]
    TooManyVariants(String),
    /// The translated expression was refused (too large).
    #[error("pattern {pattern:?} cannot be compiled: {reason}")]
    Regex {
        /// The node pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
}

/// The most brace variants one node may expand to.
pub const MAX_VARIANTS: usize = 10_000;

/// One node of a pattern.
#[derive(Clone, Debug)]
pub enum NodePattern {
    /// Plain names (a node without wildcards, after brace expansion): looked up directly.
    Names(Vec<String>),
    /// Wildcard variants (and any plain ones) as one anchored expression.
    Wild(Regex),
    /// Any name at all (`*`, or a variant that is only stars): the most common wildcard
    /// (`servers.*`), so neither compiled nor run as an expression.
    Any,
    /// `**`: any number of nodes (at least zero).
    GlobStar,
}

impl NodePattern {
    /// Whether the node name `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NodePattern::Names(names) => names.iter().any(|n| n == name),
            NodePattern::Wild(re) => re.is_match(name),
            NodePattern::Any | NodePattern::GlobStar => true,
        }
    }
}

/// A compiled path pattern.
#[derive(Clone, Debug)]
pub struct PathPattern {
    nodes: Vec<NodePattern>,
}

impl PathPattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<PathPattern, GlobError> {
        let clean = pattern.replace('\\', "");
        let nodes = clean
            .split('.')
            .map(compile_node)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PathPattern { nodes })
    }

    /// The node patterns, first to last.
    pub fn nodes(&self) -> &[NodePattern] {
        &self.nodes
    }

    /// Whether the dotted `path` matches the whole pattern.
    pub fn matches_path(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('.').collect();
        match_from(&self.nodes, &parts)
    }
}

fn match_from(nodes: &[NodePattern], parts: &[&str]) -> bool {
    match nodes.split_first() {
        None => parts.is_empty(),
        Some((NodePattern::GlobStar, rest)) => {
            // A terminal `**` matches anything below (graphite-web adds a `*` after it).
            if rest.is_empty() {
                return !parts.is_empty();
            }
            (0..=parts.len()).any(|skip| match_from(rest, &parts[skip..]))
        }
        Some((node, rest)) => match parts.split_first() {
            Some((first, tail)) => node.matches(first) && match_from(rest, tail),
            None => false,
        },
    }
}

/// Whether a node pattern has fnmatch wildcards.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn compile_node(node: &str) -> Result<NodePattern, GlobError> {
    if node == "**" {
        return Ok(NodePattern::GlobStar);
    }
    let variants = expand_braces(node)?;
    if !variants.iter().any(|v| has_wildcard(v)) {
        return Ok(NodePattern::Names(variants));
    }
    // One variant that matches everything makes the whole alternation match everything.
    if variants
        .iter()
        .any(|v| !v.is_empty() && v.bytes().all(|b| b == b'*'))
    {
        return Ok(NodePattern::Any);
    }
    let mut re = String::from("^(?s:");
    for (i, v) in variants.iter().enumerate() {
        if i > 0 {
            re.push('|');
        }
        re.push_str(&translate(v));
    }
    re.push_str(")$");
    regex::RegexBuilder::new(&re)
        .size_limit(1 << 20)
        .build()
        .map(NodePattern::Wild)
        .map_err(|e| GlobError::Regex {
            pattern: node.to_owned(),
            reason: e.to_string(),
        })
}

/// graphite-web's `expand_braces`: the innermost-first expansion of `{a,b}` groups, each
/// variant once (order unspecified there; sorted here).
pub fn expand_braces(input: &str) -> Result<Vec<String>, GlobError> {
    let mut out = Vec::new();
    let mut stack = vec![input.to_owned()];
    while let Some(s) = stack.pop() {
        // The first `{...}` that holds no other brace (graphite's `\{([^\{\}]*)\}`).
        let mut group = None;
        let mut open = None;
        for (i, c) in s.char_indices() {
            match c {
                '{' => open = Some(i),
                '}' => {
                    if let Some(o) = open {
                        group = Some((o, i));
                        break;
                    }
                }
                _ => {}
            }
        }
        match group {
            None => out.push(s),
            Some((o, c)) => {
                for alt in s[o + 1..c].split(',') {
                    stack.push(format!("{}{}{}", &s[..o], alt, &s[c + 1..]));
                }
            }
        }
        if out.len() + stack.len() > MAX_VARIANTS {
            return Err(GlobError::TooManyVariants(input.chars().take(80).collect()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Python's `fnmatch.translate` body for one variant, in the `regex` crate's syntax.
fn translate(pat: &str) -> String {
    let p: Vec<char> = pat.chars().collect();
    let n = p.len();
    let mut out = String::new();
    let mut i = 0;
    let mut last_star = false;
    while i < n {
        let c = p[i];
        i += 1;
        if c == '*' {
            if !last_star {
                out.push_str(".*");
            }
            last_star = true;
            continue;
        }
        last_star = false;
        match c {
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < n && p[j] == '!' {
                    j += 1;
                }
                if j < n && p[j] == ']' {
                    j += 1;
                }
                while j < n && p[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    out.push_str("\\[");
                } else {
                    out.push_str(&char_class(&p, i, j));
                    i = j + 1;
                }
            }
            c => push_escaped(&mut out, c),
        }
    }
    out
}

/// The class `[p[i..j]]`, split into range chunks the way fnmatch does.
fn char_class(p: &[char], start: usize, j: usize) -> String {
    let negated = p[start] == '!';
    let mut chunks: Vec<Vec<char>> = Vec::new();
    let mut i = start;
    let mut k = if negated { start + 2 } else { start + 1 };
    loop {
        match (k..j).find(|&x| p[x] == '-') {
            None => break,
            Some(h) => {
                chunks.push(p[i..h].to_vec());
                i = h + 1;
                k = h + 3;
            }
        }
    }
    let tail = p[i..j].to_vec();
    if !tail.is_empty() {
        chunks.push(tail);
    } else if let Some(last) = chunks.last_mut() {
        last.push('-');
    } else {
        chunks.push(vec!['-']);
    }
    // Remove empty ranges (`z-a`).
    let mut k = chunks.len();
    while k > 1 {
        k -= 1;
        let prev_last = chunks[k - 1].last().copied();
        let next_first = chunks[k].first().copied();
        if let (Some(a), Some(b)) = (prev_last, next_first)
            && a > b
        {
            let mut merged = chunks[k - 1].clone();
            merged.pop();
            merged.extend_from_slice(&chunks[k][1..]);
            chunks[k - 1] = merged;
            chunks.remove(k);
        }
    }
    let mut items: Vec<char> = Vec::new();
    let mut ranges_at = Vec::new();
    for (ci, chunk) in chunks.iter().enumerate() {
        if ci > 0 {
            ranges_at.push(items.len());
        }
        items.extend(chunk);
    }
    let mut body = String::new();
    let skip_first = negated;
    if items.is_empty() || (skip_first && items.len() == 1) {
        return if items.is_empty() {
            r"\b\B".into()
        } else {
            ".".into()
        };
    }
    for (idx, &c) in items.iter().enumerate() {
        if idx == 0 && skip_first {
            continue;
        }
        if ranges_at.contains(&idx) {
            body.push('-');
        }
        push_escaped(&mut body, c);
    }
    if negated {
        format!("[^{body}]")
    } else {
        format!("[{body}]")
    }
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_ascii_punctuation() {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        PathPattern::new(p).unwrap().matches_path(path)
    }

    #[test]
    fn fnmatch_basics() {
        assert!(m("a.b.c", "a.b.c"));
        assert!(!m("a.b", "a.b.c"));
        assert!(m("a.*.c", "a.xyz.c"));
        assert!(m("a.b?", "a.b1"));
        assert!(!m("a.b?", "a.b"));
        assert!(m("a.[0-9]x", "a.5x"));
        assert!(!m("a.[!0-9]x", "a.5x"));
        assert!(m("a.[!0-9]x", "a.qx"));
        assert!(m("a.{b,c}d", "a.cd"));
        assert!(m("a.{b,{c,e}}d", "a.ed"));
        assert!(m("a.{b*,c}", "a.bee"));
        assert!(m("a.[", "a.["), "an unclosed [ is literal");
        assert!(m("a.x[a-]", "a.x-"));
        assert!(m("a.x[]]", "a.x]"));
        assert!(!m("a.[z-a]", "a.m"), "an empty range never matches");
        assert!(
            m("a.b\\*", "a.b*") && m("a.b\\*", "a.bcd"),
            "backslashes are dropped"
        );
        assert!(m("a.(x)+", "a.(x)+"));
    }

    #[test]
    fn globstar_spans_nodes() {
        assert!(m("a.**", "a.b.c"));
        assert!(m("a.**.d", "a.d"));
        assert!(m("a.**.d", "a.b.c.d"));
        assert!(!m("a.**.d", "a.b.c"));
    }

    /// The fast path for star-only nodes answers as the expression it replaces.
    #[test]
    fn star_nodes_match_as_their_expression() {
        for node in ["*", "***", "{*,b}", "{a,**}x", "{a,*}"] {
            let fast = compile_node(node).unwrap();
            let variants = expand_braces(node).unwrap();
            let re = format!(
                "^(?s:{})$",
                variants
                    .iter()
                    .map(|v| translate(v))
                    .collect::<Vec<_>>()
                    .join("|")
            );
            let slow = NodePattern::Wild(Regex::new(&re).unwrap());
            let is_any = matches!(fast, NodePattern::Any);
            assert_eq!(
                is_any,
                variants.iter().any(|v| v.chars().all(|c| c == '*')),
                "{node}"
            );
            for name in ["", "a", "b", "ax", "x", "*", "a b", "\n", "é", "a.b", "[x]"] {
                assert_eq!(fast.matches(name), slow.matches(name), "{node} {name:?}");
            }
        }
    }

    #[test]
    fn brace_bombs_are_refused() {
        let bomb = "{a,b}".repeat(20);
        assert!(matches!(
            PathPattern::new(&bomb),
            Err(GlobError::TooManyVariants(_))
        ));
    }
}
