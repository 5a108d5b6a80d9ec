//! The syntax tree of one render target, shaped like graphite-web's parse result.
//!
//! graphite-web (`render/grammar_unsafe.py`, 1.1.8) parses a target into a piped expression
//! (`template | call | pathExpression` followed by `|call` pipes) whose arguments are booleans,
//! numbers, `None`, quoted strings, `inf` or nested expressions. This tree keeps exactly that
//! information, plus a byte [`Span`] on every node so later stages can quote the user's own
//! text (graphite-web passes `seriesByTag(...)` on by its raw text, and error messages should
//! point at what was typed).
//!
//! Two choices differ from the Python structure, both to make evaluation simpler:
//!
//! - Literals and expressions share one type, [`Expr`]: an argument is an [`Expr`] whatever it
//!   is, and a template substitution can turn a path into a number in place.
//! - Pipes are desugared: `a.b|scale(2)` is the call `scale(a.b, 2)` with
//!   [`Call::piped`] set, which is how graphite-web's evaluator treats it (the expression left
//!   of the right-most pipe becomes the first argument). [`Display`](std::fmt::Display) prints
//!   the pipe form back.

use std::fmt;

/// A byte range `start..end` in [`Target::source`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// A parsed target: the source text and its tree.
///
/// Every [`Span`] in the tree indexes [`Target::source`], which is the input with tabs
/// expanded to 8-column stops, as pyparsing does before it parses (so a string literal
/// containing a tab holds spaces, exactly as graphite-web passes it on).
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub(crate) source: String,
    pub(crate) expr: Expr,
}

impl Target {
    /// The text the spans index: the input, tabs expanded.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The expression, dropping the source.
    pub fn into_expr(self) -> Expr {
        self.expr
    }

    /// The source text of `span`: what the user typed for that node. Spans that do not
    /// belong to this target give `""`.
    pub fn text(&self, span: Span) -> &str {
        self.source.get(span.start..span.end).unwrap_or("")
    }
}

impl fmt::Display for Target {
    /// The normalized form of the expression (see [`Expr`]'s `Display`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

/// One node: a path expression, a call, a template, or a literal argument.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it is in the source. For a piped call this covers the whole `input|f(...)`;
    /// [`Call::span`] covers only `f(...)`.
    pub span: Span,
}

/// The kinds of [`Expr`].
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A metric path expression with its backslash escapes removed, as graphite-web's
    /// `pathExpression` token: `a.b\(c\)` is `a.b(c)`; globs (`*`, `?`, `[..]`, `{a,b}`) are
    /// kept verbatim.
    Path(String),
    /// A function call.
    Call(Call),
    /// A `template(...)` expression, before substitution (see [`crate::template`]).
    Template(Template),
    /// `true` or `false`, in any letter case.
    Bool(bool),
    /// An integer literal (`-?[0-9]+`).
    ///
    /// Differs from graphite-web: Python integers are unbounded; a literal outside `i64`
    /// is parsed as [`ExprKind::Float`] instead.
    Int(i64),
    /// A float (`-?[0-9]+\.[0-9]+`) or scientific (`1e5`, `1.5E-3`) literal.
    Float(f64),
    /// A quoted string literal.
    Str {
        /// The text between the quotes exactly as written: graphite-web does not process
        /// escapes, so `"a\"b"` is the five characters `a\"b` and `"a""b"` is `a""b`.
        value: String,
        /// The quote character, `'` or `"`.
        quote: char,
    },
    /// `None`, in any letter case.
    None,
    /// `inf`, in any letter case (positive infinity; `-inf` is a path).
    Inf,
}

/// A function call `name(args, kw=value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function name (`[A-Za-z_][A-Za-z0-9_]*`).
    pub name: String,
    /// Positional arguments. For a piped call the first one is the piped input.
    pub args: Vec<Expr>,
    /// Keyword arguments in source order (duplicates kept; the evaluator decides).
    pub kwargs: Vec<KwArg>,
    /// Whether `args[0]` arrived through a pipe (`input|name(...)`).
    pub piped: bool,
    /// `name(...)` in the source: graphite-web's `call.raw`, which it passes on verbatim
    /// for `seriesByTag`.
    pub span: Span,
}

impl Call {
    /// The value of keyword argument `name` (the last one, if repeated, as Python's
    /// `dict(...)` keeps).
    pub fn kwarg(&self, name: &str) -> Option<&Expr> {
        self.kwargs
            .iter()
            .rev()
            .find(|k| k.name == name)
            .map(|k| &k.value)
    }
}

/// A keyword argument `name=value`.
#[derive(Clone, Debug, PartialEq)]
pub struct KwArg {
    /// The name (`[A-Za-z_][A-Za-z0-9_]*`).
    pub name: String,
    /// The value.
    pub value: Expr,
    /// `name=value` in the source.
    pub span: Span,
}

/// `template(inner, args...)` or `template(inner, name=value...)`.
///
/// graphite-web's grammar only accepts a call or a path as `inner`, and then either
/// positional or keyword arguments, all numbers or strings. Anything else named `template`
/// parses as an ordinary [`Call`] (which graphite-web's evaluator then refuses).
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The expression whose `$name` paths are substituted: a [`ExprKind::Call`] or a
    /// [`ExprKind::Path`].
    pub inner: Box<Expr>,
    /// Positional values, bound to `$1`, `$2`, ... ([`ExprKind::Int`], [`ExprKind::Float`]
    /// or [`ExprKind::Str`]).
    pub args: Vec<Expr>,
    /// Named values, bound to `$name`.
    pub kwargs: Vec<KwArg>,
}

impl Expr {
    /// The path text, if this is a path expression.
    pub fn as_path(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Path(p) => Some(p),
            _ => None,
        }
    }

    /// The call, if this is one.
    pub fn as_call(&self) -> Option<&Call> {
        match &self.kind {
            ExprKind::Call(c) => Some(c),
            _ => None,
        }
    }

    /// Whether this is a literal (bool, number, string, `None`, `inf`) rather than
    /// something that evaluates to series.
    pub fn is_literal(&self) -> bool {
        !matches!(
            self.kind,
            ExprKind::Path(_) | ExprKind::Call(_) | ExprKind::Template(_)
        )
    }
}

/// Writes a float so that graphite-web's grammar reads it back as the same float: Python's
/// `repr` without the `+` of a positive exponent (`1e+20` would parse as a path).
pub(crate) fn write_float(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_infinite() {
        return f.write_str(if v > 0.0 { "1e999" } else { "-1e999" });
    }
    f.write_str(&charcoal_pyfmt::repr(v).replace("e+", "e"))
}

/// Characters that can only appear escaped in a path.
const PATH_ESCAPED: &[char] = &['(', ')', '\'', '"', '\\', '|'];

impl fmt::Display for Expr {
    /// The normalized text of the expression: no whitespace, calls as `name(a,b,k=v)`,
    /// pipes as `input|name(...)`, numbers in canonical form (`1E3` → `1000.0`, `007` → `7`),
    /// keywords lower-case, strings with their own quote and their text as written, paths
    /// with `( ) ' " \ |` escaped. Parsing the result gives the same tree (spans aside),
    /// except for paths whose source escaped `{ } , .` (their text no longer says so).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Path(p) => {
                for c in p.chars() {
                    if PATH_ESCAPED.contains(&c) {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
            ExprKind::Call(c) => {
                let mut args = c.args.iter();
                if c.piped
                    && let Some(input) = args.next()
                {
                    write!(f, "{input}|")?;
                }
                write!(f, "{}(", c.name)?;
                let mut first = true;
                for a in args {
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    write!(f, "{a}")?;
                }
                for k in &c.kwargs {
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    write!(f, "{}={}", k.name, k.value)?;
                }
                f.write_str(")")
            }
            ExprKind::Template(t) => {
                write!(f, "template({}", t.inner)?;
                for a in &t.args {
                    write!(f, ",{a}")?;
                }
                for k in &t.kwargs {
                    write!(f, ",{}={}", k.name, k.value)?;
                }
                f.write_str(")")
            }
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Int(i) => write!(f, "{i}"),
            ExprKind::Float(v) => write_float(f, *v),
            ExprKind::Str { value, quote } => write!(f, "{quote}{value}{quote}"),
            ExprKind::None => f.write_str("none"),
            ExprKind::Inf => f.write_str("inf"),
        }
    }
}
