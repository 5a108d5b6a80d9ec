//! Python `re` semantics on top of the `regex` crate, for the functions that take regular
//! expressions from the target (`aliasSub`, `grep`, `exclude`, ...).
//!
//! Patterns: the `regex` crate's syntax is Python's for everything graphite users write
//! (classes, groups, `(?P<name>...)`, `\d`, anchors, flags) and guarantees linear-time
//! matching, so a hostile pattern cannot stall the server; look-around and back-references
//! are refused with a message instead. Compiled size is bounded.
//!
//! Replacements follow Python's template syntax (`\1`, `\g<1>`, `\g<name>`, `\n`, `\\`),
//! parsed once into text and group pieces (a `$` is plain text, unlike in the crate's own
//! templates), and [`Substitution::apply`] reproduces Python 3.7+'s treatment of empty
//! matches (an empty match right after a non-empty one is replaced too).

use regex::Regex;

/// The most memory a compiled pattern may use.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// Compiles a Python pattern, or explains why it cannot be used.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_SIZE)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                format!("regular expression {pattern:?} is too complex")
            }
            other => format!(
                "unsupported regular expression {pattern:?}: {}",
                other.to_string().lines().last().unwrap_or("")
            ),
        })
}

/// One piece of a replacement template.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// Parses a Python replacement template.
fn parse_template(template: &str, re: &Regex) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(n) = chars.next() else {
            return Err("bad escape (end of pattern)".into());
        };
        match n {
            '0'..='9' => {
                let mut digits = n.to_string();
                if let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let group: usize = digits.parse().map_err(|_| "bad group".to_string())?;
                if group == 0 || group >= re.captures_len() {
                    return Err(format!("invalid group reference {group}"));
                }
                flush(&mut out, &mut text);
                out.push(Piece::Group(group));
            }
            'g' => {
                if chars.next() != Some('<') {
                    return Err("missing <".into());
                }
                let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                flush(&mut out, &mut text);
                match name.parse::<usize>() {
                    Ok(g) if g < re.captures_len() => out.push(Piece::Group(g)),
                    Ok(g) => return Err(format!("invalid group reference {g}")),
                    Err(_) if re.capture_names().any(|n| n == Some(name.as_str())) => {
                        out.push(Piece::Named(name))
                    }
                    Err(_) => return Err(format!("unknown group name '{name}'")),
                }
            }
            'n' => text.push('\n'),
            't' => text.push('\t'),
            'r' => text.push('\r'),
            '\\' => text.push('\\'),
            'a' => text.push('\x07'),
            'f' => text.push('\x0c'),
            'v' => text.push('\x0b'),
            'b' => text.push('\x08'),
            c if c.is_ascii_alphabetic() => return Err(format!("bad escape \\{c}")),
            c => {
                text.push('\\');
                text.push(c);
            }
        }
    }
    flush(&mut out, &mut text);
    Ok(out)
}

fn flush(out: &mut Vec<Piece>, text: &mut String) {
    if !text.is_empty() {
        out.push(Piece::Text(std::mem::take(text)));
    }
}

/// A compiled `re.sub(pattern, replacement, ...)`.
#[derive(Clone, Debug)]
pub struct Substitution {
    re: Regex,
    template: Vec<Piece>,
}

impl Substitution {
    /// Compiles the pattern and the replacement template.
    pub fn new(pattern: &str, replacement: &str) -> Result<Substitution, String> {
        let re = compile(pattern)?;
        let template = parse_template(replacement, &re)?;
        Ok(Substitution { re, template })
    }

    /// Python's `re.sub(pattern, replacement, text)`: every non-overlapping match replaced,
    /// empty matches included (also right after a non-empty match, as Python 3.7+ does).
    ///
    /// Differs from Python only for patterns whose empty alternative is tried before a
    /// non-empty one at the same position (`|a`): Python retries that position for a
    /// non-empty match, this moves on one character.
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut pos = 0;
        while pos <= text.len() {
            let Some(caps) = self.re.captures_at(text, pos) else {
                break;
            };
            let m = caps.get(0).expect("group 0");
            out.push_str(&text[last..m.start()]);
            for piece in &self.template {
                match piece {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Group(g) => out.push_str(caps.get(*g).map_or("", |c| c.as_str())),
                    Piece::Named(n) => out.push_str(caps.name(n).map_or("", |c| c.as_str())),
                }
            }
            last = m.end();
            if m.start() == m.end() {
                // Step over one character after an empty match.
                match text[m.end()..].chars().next() {
                    Some(c) => {
                        out.push_str(&text[m.end()..m.end() + c.len_utf8()]);
                        last = m.end() + c.len_utf8();
                        pos = last;
                    }
                    None => break,
                }
            } else {
                pos = m.end();
            }
        }
        out.push_str(&text[last.min(text.len())..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(p: &str, r: &str, t: &str) -> String {
        Substitution::new(p, r).unwrap().apply(t)
    }

    #[test]
    fn python_sub_semantics() {
        assert_eq!(sub("(^.*$)", "\\1 A", "a.b.c"), "a.b.c A");
        assert_eq!(sub("^.*\\.(\\w+)$", "\\g<1>", "a.b.cpu"), "cpu");
        assert_eq!(sub("(?P<x>b)", "[\\g<x>]", "abc"), "a[b]c");
        assert_eq!(sub("x*", "-", "abxd"), "-a-b--d-");
        assert_eq!(sub("b", "$0\\\\", "abc"), "a$0\\c");
        assert_eq!(sub("", "-", ""), "-");
        assert!(Substitution::new("(a)", "\\2").is_err());
        assert!(Substitution::new("(?=a)", "x").is_err());
    }
}
