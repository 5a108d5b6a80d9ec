//! graphite-web's target grammar, hand-written as recursive descent.
//!
//! The reference is `render/grammar_unsafe.py` in graphite-web 1.1.8 (a pyparsing grammar;
//! compat notes §5). pyparsing grammars are PEG-like: every `|` is an ordered choice that
//! commits to the first alternative that matches, and whitespace (space, newline, carriage
//! return; tabs are expanded to spaces first) is skipped before every token except inside a
//! path and inside a number. This parser makes the same choices in the same order, so that for
//! every input graphite-web parses completely it builds the same tree; the differential tests
//! (`tests/graphite_differential.rs`) check that against graphite-web's own parser.
//!
//! # The grammar, as graphite-web defines it
//!
//! ```text
//! target     := expression
//! expression := (template | call | path) ( '|' call )*
//! call       := NAME '(' [ arg (',' arg)* ] [ ',' kwarg (',' kwarg)* ] ')'
//! kwarg      := NAME '=' arg
//! arg        := bool | number | none | string | inf | expression      (first match wins)
//! template   := 'template' '(' (call | path) [ ',' (lit (',' lit)* | NAME '=' lit (',' ...)*) ] ')'
//! lit        := number | string
//! number     := (-?D+(\.D+)?[eE]-?D+ | -?D+\.D+ | -?D+)  followed by ',' or ')' or the end
//! bool       := true | false      none := none     inf := inf     (any case, whole words)
//! string     := "…" | '…'         (doubled quotes and backslash escapes kept verbatim)
//! path       := element ('.' element)*
//! element    := (chars | '{' chars (',' chars)* '}')+
//! chars      := ( [!-~] minus ( ) { } , . ' " \ |   |   '\' one of ( ) { } , . ' " \ | = )+
//! NAME       := [A-Za-z_][A-Za-z0-9_]*
//! ```
//!
//! Consequences worth knowing: a number must be followed by `,`, `)` or the end, so
//! `scale(a, 2x)` passes the path `2x`; `true.x` is the boolean `true` followed by junk;
//! `-inf` is a path; `template(...)` with mixed or non-literal arguments is an ordinary call
//! named `template` (which the evaluator refuses, as graphite-web's does).
//!
//! # Differs from graphite-web
//!
//! - **The whole target must parse.** graphite-web ignores what it cannot parse at the end,
//!   so `sumSeries(a.*` fetches the metric `sumSeries` and `x(` the metric `x` (an empty
//!   result, HTTP 200). We return a [`ParseError`] saying what was expected where.
//! - **Keyword-only calls parse.** graphite-web's grammar needs at least one positional
//!   argument before keyword arguments, so it cannot parse `f(x=1)` (it then fetches the
//!   metric `f`). We accept it, except as the inner call of `template(...)`, where
//!   graphite-web's failure decides how the rest parses (`template(template(x=y), 1)` is a
//!   call whose argument is a template with the path `x=y`), so we keep its reading.
//! - **Nesting is limited** to [`MAX_DEPTH`] levels (calls inside calls, plus pipes);
//!   graphite-web fails with a Python `RecursionError` (HTTP 500) at about 35.
//! - **Only ASCII outside string literals.** Python's `\d` and `str.upper()` let
//!   graphite-web read a few non-ASCII characters as digits (`١`) or keyword letters (`ınf`).
//!   We read them as errors.
//! - Integer literals outside `i64` become floats (Python keeps them exact).
//! - Error positions are byte offsets into the tab-expanded text; pyparsing counts
//!   characters.

use std::collections::HashMap;
use std::fmt;

use crate::ast::{Call, Expr, ExprKind, KwArg, Span, Target, Template};

/// How deeply calls (and pipes) may nest before [`parse_target`] refuses the target.
pub const MAX_DEPTH: usize = 100;

/// Why a target does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The target is empty or only whitespace.
    #[error("cannot parse target '{input}': it is empty")]
    Empty {
        /// The target.
        input: String,
    },
    /// Something else was found where [`expected`](ParseError::Syntax::expected) things
    /// could go.
    #[error("cannot parse target '{input}': expected {} at {pos}{}", describe(.expected), found(.input, *.pos))]
    Syntax {
        /// The target (tabs expanded, so that `pos` indexes it).
        input: String,
        /// Byte offset of the failure: the furthest point any alternative reached.
        pos: usize,
        /// What would have been accepted there, most specific first.
        expected: Vec<Expected>,
    },
    /// Calls nest deeper than [`MAX_DEPTH`].
    #[error("cannot parse target '{input}': expressions nest deeper than {limit} levels at {pos}")]
    TooDeep {
        /// The target.
        input: String,
        /// Byte offset where the limit was crossed.
        pos: usize,
        /// [`MAX_DEPTH`].
        limit: usize,
    },
}

impl ParseError {
    /// The byte offset the error points at (0 for an empty target).
    pub fn pos(&self) -> usize {
        match self {
            ParseError::Empty { .. } => 0,
            ParseError::Syntax { pos, .. } | ParseError::TooDeep { pos, .. } => *pos,
        }
    }
}

/// One thing a [`ParseError::Syntax`] says would have been accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// A metric path, a function call or `template(...)`.
    Expression,
    /// A function argument.
    Argument,
    /// A keyword argument: positional arguments cannot follow keyword arguments.
    KeywordArgument,
    /// `)` (the end of an empty argument list).
    CloseParen,
    /// `,` or `)` after an argument.
    CommaOrCloseParen,
    /// A path element after `.`, `{` or `,` inside braces.
    PathElement,
    /// `,` or `}` inside a `{a,b}` group.
    CommaOrCloseBrace,
    /// A character that may be backslash-escaped in a path.
    EscapedChar,
    /// A function call after `|`.
    PipedCall,
    /// The closing quote of a string.
    ClosingQuote,
    /// A call or a path as the first argument of `template`.
    CallOrPath,
    /// A number or a string as a `template` value.
    TemplateValue,
    /// The end of the target.
    End,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Expression => "a metric path, a function call or template(...)",
            Expected::Argument => "an argument",
            Expected::KeywordArgument => {
                "a keyword argument (positional arguments cannot follow keyword arguments)"
            }
            Expected::CloseParen => "')'",
            Expected::CommaOrCloseParen => "',' or ')'",
            Expected::PathElement => "a path element",
            Expected::CommaOrCloseBrace => "',' or '}'",
            Expected::EscapedChar => "one of ( ) { } , . ' \" \\ | = after a backslash in a path",
            Expected::PipedCall => "a function call after '|'",
            Expected::ClosingQuote => "a closing quote",
            Expected::CallOrPath => "a function call or a metric path",
            Expected::TemplateValue => "a number or a string",
            Expected::End => "the end of the target",
        })
    }
}

fn describe(expected: &[Expected]) -> String {
    let parts: Vec<String> = expected.iter().map(|e| e.to_string()).collect();
    match parts.split_last() {
        None => "something else".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn found(input: &str, pos: usize) -> String {
    match input.get(pos..).and_then(|s| s.chars().next()) {
        Some(c) => format!(", found {c:?}"),
        None => String::new(),
    }
}

/// Parses one render target.
///
/// Leading and trailing whitespace is allowed; everything in between must parse (see the
/// module docs for where that differs from graphite-web).
///
/// ```
/// use charcoal_query::parser::parse_target;
/// use charcoal_query::ast::ExprKind;
///
/// let t = parse_target("a.b.*|scale(2)").unwrap();
/// let ExprKind::Call(call) = &t.expr().kind else { panic!() };
/// assert_eq!(call.name, "scale");
/// assert!(call.piped);
/// assert_eq!(t.text(call.args[0].span), "a.b.*");
/// assert_eq!(t.to_string(), "a.b.*|scale(2)");
///
/// let e = parse_target("x(").unwrap_err();
/// assert_eq!(e.to_string(), "cannot parse target 'x(': expected an argument or ')' at 2");
/// ```
pub fn parse_target(input: &str) -> Result<Target, ParseError> {
    let source = expand_tabs(input);
    let mut p = Parser::new(&source);
    let start = p.ws(0);
    if start == source.len() {
        return Err(ParseError::Empty { input: source });
    }
    let parsed = match p.expression(start) {
        Ok((expr, end)) => {
            let end = p.ws(end);
            if end == source.len() {
                Ok(expr)
            } else {
                p.note(end, Expected::End);
                Err(())
            }
        }
        Err(()) => {
            p.note(start, Expected::Expression);
            Err(())
        }
    };
    match parsed {
        Ok(expr) => Ok(Target { source, expr }),
        Err(()) => Err(p.error()),
    }
}

/// Python's `str.expandtabs()`, which pyparsing applies before parsing: tab stops every 8
/// columns, columns counted in characters from the last `\n` or `\r`.
fn expand_tabs(input: &str) -> String {
    if !input.contains('\t') {
        return input.to_owned();
    }
    let mut out = String::with_capacity(input.len() + 16);
    let mut col = 0usize;
    for c in input.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' | '\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// Whitespace pyparsing skips between tokens (its default set; tabs are already expanded).
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r')
}

/// Characters that may appear unescaped in a path: printable ASCII except `(){},.'"\|`.
fn is_path_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !b"(){},.'\"\\|".contains(&b)
}

/// Characters a backslash may escape in a path.
fn is_escapable(b: u8) -> bool {
    b"(){},.'\"\\|=".contains(&b)
}

/// Characters that continue a keyword (pyparsing's `Keyword.DEFAULT_KEYWORD_CHARS`).
fn is_keyword_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// A failed alternative; what was expected is recorded in the [`Parser`].
type Fail = ();
type PResult<T> = Result<(T, usize), Fail>;

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    /// Current nesting (expressions plus pipes), checked against [`MAX_DEPTH`].
    depth: usize,
    /// Where the nesting limit was first crossed, if it was.
    too_deep: Option<usize>,
    /// The furthest failure so far and what would have been accepted there.
    fail_pos: usize,
    expected: Vec<Expected>,
    /// Calls already parsed, by start offset (`None`: the call does not parse). Ordered
    /// choice re-reads text, and without this nesting makes that exponential:
    ///
    /// - a failed `template(...)` is re-read as a call, so its inner call is read again as
    ///   that call's first argument (nested templates would take Fibonacci time);
    /// - a failed keyword argument `x=a|f(...)` is re-read as the positional path `x=a`, and
    ///   the piped call after it is read again (nested, 2^depth).
    ///
    /// Failures are remembered everywhere (cheap); successes only inside a `template(`
    /// attempt, the one place a call that parsed can be read again.
    calls: HashMap<usize, Option<(Call, usize)>>,
    /// How many `template(` attempts enclose the current position.
    in_template: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Parser<'a> {
        Parser {
            src,
            b: src.as_bytes(),
            depth: 0,
            too_deep: None,
            fail_pos: 0,
            expected: Vec::new(),
            calls: HashMap::new(),
            in_template: 0,
        }
    }

    fn error(&self) -> ParseError {
        if let Some(pos) = self.too_deep {
            return ParseError::TooDeep {
                input: self.src.to_owned(),
                pos,
                limit: MAX_DEPTH,
            };
        }
        ParseError::Syntax {
            input: self.src.to_owned(),
            pos: self.fail_pos,
            expected: self.expected.clone(),
        }
    }

    /// Records that `what` would have been accepted at `pos`; only the furthest position
    /// is kept.
    fn note(&mut self, pos: usize, what: Expected) {
        if pos > self.fail_pos || self.expected.is_empty() {
            self.fail_pos = pos;
            self.expected.clear();
            self.expected.push(what);
        } else if pos == self.fail_pos && !self.expected.contains(&what) {
            self.expected.push(what);
        }
    }

    fn fail<T>(&mut self, pos: usize, what: Expected) -> Result<T, Fail> {
        self.note(pos, what);
        Err(())
    }

    fn at(&self, pos: usize) -> Option<u8> {
        self.b.get(pos).copied()
    }

    fn ws(&self, mut pos: usize) -> usize {
        while self.at(pos).is_some_and(is_ws) {
            pos += 1;
        }
        pos
    }

    /// The end of a NAME (`[A-Za-z_][A-Za-z0-9_]*`) starting at `pos`.
    fn name(&self, pos: usize) -> Option<usize> {
        let first = self.at(pos)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut end = pos + 1;
        while self
            .at(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            end += 1;
        }
        Some(end)
    }

    /// Whether a call starts at `pos`: a NAME, optional whitespace, `(`.
    fn call_starts(&self, pos: usize) -> bool {
        self.name(pos)
            .is_some_and(|end| self.at(self.ws(end)) == Some(b'('))
    }

    fn enter(&mut self, pos: usize) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.too_deep.get_or_insert(pos);
            self.depth -= 1;
            return Err(());
        }
        Ok(())
    }

    /// `(template | call | path) ('|' call)*`, starting at `pos` (whitespace allowed).
    fn expression(&mut self, pos: usize) -> PResult<Expr> {
        let pos = self.ws(pos);
        self.enter(pos)?;
        let depth = self.depth;
        let r = self.piped_expression(pos);
        self.depth = depth - 1;
        r
    }

    fn piped_expression(&mut self, pos: usize) -> PResult<Expr> {
        let (mut expr, mut end) = self.head(pos)?;
        loop {
            let bar = self.ws(end);
            if self.at(bar) != Some(b'|') {
                return Ok((expr, end));
            }
            let start = self.ws(bar + 1);
            if !self.call_starts(start) {
                return self.fail(start, Expected::PipedCall);
            }
            self.enter(start)?;
            let (mut call, call_end) = self.call(start)?;
            let span = Span::new(expr.span.start, call_end);
            call.args.insert(0, expr);
            call.piped = true;
            expr = Expr {
                kind: ExprKind::Call(call),
                span,
            };
            end = call_end;
        }
    }

    /// `template | call | path` at `pos` (no whitespace).
    fn head(&mut self, pos: usize) -> PResult<Expr> {
        if self.b[pos..].starts_with(b"template") {
            self.in_template += 1;
            let t = self.template(pos);
            self.in_template -= 1;
            if t.is_ok() {
                return t;
            }
        }
        if self.call_starts(pos) {
            let (call, end) = self.call(pos)?;
            return Ok((
                Expr {
                    kind: ExprKind::Call(call),
                    span: Span::new(pos, end),
                },
                end,
            ));
        }
        self.path(pos)
    }

    /// A call at `pos`, where [`Parser::call_starts`] is true.
    fn call(&mut self, pos: usize) -> PResult<Call> {
        if let Some(done) = self.calls.get(&pos) {
            return done.clone().ok_or(());
        }
        let r = self.call_uncached(pos);
        if r.is_err() {
            self.calls.insert(pos, None);
        } else if self.in_template > 0 {
            self.calls.insert(pos, r.clone().ok());
        }
        r
    }

    fn call_uncached(&mut self, pos: usize) -> PResult<Call> {
        let name_end = self.name(pos).ok_or(())?;
        let open = self.ws(name_end);
        if self.at(open) != Some(b'(') {
            return Err(());
        }
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        let mut end = open + 1;
        let mut first = true;
        loop {
            let item = self.ws(end);
            if first && self.at(item) == Some(b')') {
                end = item + 1;
                break;
            }
            // graphite-web: `~kwarg + arg` while positional, then only kwargs.
            let attempt = self.kwarg(item, Parser::arg);
            match attempt {
                Some(Ok((kw, kw_end))) => {
                    kwargs.push(kw);
                    end = kw_end;
                }
                Some(Err(())) | None if kwargs.is_empty() => match self.arg(item) {
                    Ok((a, a_end)) => {
                        args.push(a);
                        end = a_end;
                    }
                    Err(()) => {
                        if first {
                            self.note(item, Expected::CloseParen);
                        }
                        return Err(());
                    }
                },
                Some(Err(())) => return Err(()),
                None => return self.fail(item, Expected::KeywordArgument),
            }
            first = false;
            let sep = self.ws(end);
            match self.at(sep) {
                Some(b',') => end = sep + 1,
                Some(b')') => {
                    end = sep + 1;
                    break;
                }
                _ => return self.fail(sep, Expected::CommaOrCloseParen),
            }
        }
        Ok((
            Call {
                name: self.src[pos..name_end].to_owned(),
                args,
                kwargs,
                piped: false,
                span: Span::new(pos, end),
            },
            end,
        ))
    }

    /// `NAME '=' value` at `pos`: `None` if the text does not start with `NAME =`, else
    /// whether `value` parsed.
    fn kwarg(
        &mut self,
        pos: usize,
        value: fn(&mut Parser<'a>, usize) -> PResult<Expr>,
    ) -> Option<PResult<KwArg>> {
        let name_end = self.name(pos)?;
        let eq = self.ws(name_end);
        if self.at(eq) != Some(b'=') {
            return None;
        }
        Some(value(self, eq + 1).map(|(v, end)| {
            (
                KwArg {
                    name: self.src[pos..name_end].to_owned(),
                    span: Span::new(pos, end),
                    value: v,
                },
                end,
            )
        }))
    }

    /// One argument: `bool | number | none | string | inf | expression`.
    fn arg(&mut self, pos: usize) -> PResult<Expr> {
        let pos = self.ws(pos);
        let lit = |kind, end| {
            Ok((
                Expr {
                    kind,
                    span: Span::new(pos, end),
                },
                end,
            ))
        };
        if let Some(end) = self.keyword(pos, "true") {
            return lit(ExprKind::Bool(true), end);
        }
        if let Some(end) = self.keyword(pos, "false") {
            return lit(ExprKind::Bool(false), end);
        }
        if let Some((kind, end)) = self.number(pos) {
            return lit(kind, end);
        }
        if let Some(end) = self.keyword(pos, "none") {
            return lit(ExprKind::None, end);
        }
        if matches!(self.at(pos), Some(b'"' | b'\'')) {
            // Nothing else can start with a quote.
            let (kind, end) = self.string(pos)?;
            return lit(kind, end);
        }
        if let Some(end) = self.keyword(pos, "inf") {
            return lit(ExprKind::Inf, end);
        }
        match self.expression(pos) {
            Ok(r) => Ok(r),
            Err(()) => self.fail(pos, Expected::Argument),
        }
    }

    /// A template value: `number | string`.
    fn lit(&mut self, pos: usize) -> PResult<Expr> {
        let pos = self.ws(pos);
        let r = if let Some(r) = self.number(pos) {
            Ok(r)
        } else if matches!(self.at(pos), Some(b'"' | b'\'')) {
            self.string(pos)
        } else {
            self.fail(pos, Expected::TemplateValue)
        };
        r.map(|(kind, end)| {
            (
                Expr {
                    kind,
                    span: Span::new(pos, end),
                },
                end,
            )
        })
    }

    /// A caseless keyword at `pos` that is not followed by a keyword character.
    fn keyword(&self, pos: usize, word: &str) -> Option<usize> {
        let end = pos + word.len();
        let text = self.b.get(pos..end)?;
        if !text.eq_ignore_ascii_case(word.as_bytes()) || self.at(end).is_some_and(is_keyword_char)
        {
            return None;
        }
        Some(end)
    }

    /// The end of `-?[0-9]+` at `pos`.
    fn int_re(&self, pos: usize) -> Option<usize> {
        let mut i = pos;
        if self.at(i) == Some(b'-') {
            i += 1;
        }
        let digits = i;
        while self.at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        (i > digits).then_some(i)
    }

    /// The end of `-?[0-9]+\.[0-9]+` at `pos`.
    fn float_re(&self, pos: usize) -> Option<usize> {
        let i = self.int_re(pos)?;
        if self.at(i) != Some(b'.') {
            return None;
        }
        let mut j = i + 1;
        while self.at(j).is_some_and(|b| b.is_ascii_digit()) {
            j += 1;
        }
        (j > i + 1).then_some(j)
    }

    /// The end of a scientific literal (`(float | int) [eE] int`) at `pos`.
    fn sci_re(&self, pos: usize) -> Option<usize> {
        let mantissa = self.float_re(pos).or_else(|| self.int_re(pos))?;
        if !matches!(self.at(mantissa), Some(b'e' | b'E')) {
            return None;
        }
        self.int_re(mantissa + 1)
    }

    /// pyparsing's `afterNumber`, `FollowedBy(",") ^ FollowedBy(")") ^ FollowedBy(LineEnd())`:
    /// after whitespace, a `,`, a `)` or the end of the input. The `^` skips all whitespace,
    /// newlines included, before `LineEnd` looks, so `1\n|g()` is not a number (it is the
    /// path `1` piped into `g`).
    fn after_number(&self, pos: usize) -> bool {
        matches!(self.at(self.ws(pos)), None | Some(b',' | b')'))
    }

    /// A number literal at `pos`, if one is there and followed by what graphite-web needs.
    fn number(&self, pos: usize) -> Option<(ExprKind, usize)> {
        let text = |end: usize| &self.src[pos..end];
        if let Some(end) = self.sci_re(pos).filter(|&e| self.after_number(e)) {
            return Some((ExprKind::Float(text(end).parse().ok()?), end));
        }
        if let Some(end) = self.float_re(pos).filter(|&e| self.after_number(e)) {
            return Some((ExprKind::Float(text(end).parse().ok()?), end));
        }
        let end = self.int_re(pos).filter(|&e| self.after_number(e))?;
        let kind = match text(end).parse::<i64>() {
            Ok(i) => ExprKind::Int(i),
            Err(_) => ExprKind::Float(text(end).parse().ok()?),
        };
        Some((kind, end))
    }

    /// pyparsing's `quotedString` at `pos` (a quote): no raw newlines, a doubled quote or a
    /// backslash plus any character (`\x` needs hex digits) stays inside.
    fn string(&mut self, pos: usize) -> PResult<ExprKind> {
        let quote = self.b[pos];
        let mut i = pos + 1;
        loop {
            match self.at(i) {
                None | Some(b'\n' | b'\r') => break,
                Some(b) if b == quote => {
                    if self.at(i + 1) == Some(quote) {
                        i += 2;
                    } else {
                        break;
                    }
                }
                Some(b'\\') => match self.src[i + 1..].chars().next() {
                    None => break,
                    Some('x') => {
                        let hex = self.b[i + 2..]
                            .iter()
                            .take_while(|b| b.is_ascii_hexdigit())
                            .count();
                        if hex == 0 {
                            break;
                        }
                        i += 2 + hex;
                    }
                    Some(c) => i += 1 + c.len_utf8(),
                },
                Some(_) => {
                    let c = self.src[i..].chars().next().map_or(1, char::len_utf8);
                    i += c;
                }
            }
        }
        if self.at(i) != Some(quote) {
            return self.fail(i, Expected::ClosingQuote);
        }
        Ok((
            ExprKind::Str {
                value: self.src[pos + 1..i].to_owned(),
                quote: quote as char,
            },
            i + 1,
        ))
    }

    /// A path expression at `pos` (no whitespace inside).
    fn path(&mut self, pos: usize) -> PResult<Expr> {
        let mut text = String::new();
        let mut end = self.path_element(pos, &mut text)?;
        if end == pos {
            return Err(());
        }
        while self.at(end) == Some(b'.') {
            text.push('.');
            let next = self.path_element(end + 1, &mut text)?;
            if next == end + 1 {
                return self.fail(end + 1, Expected::PathElement);
            }
            end = next;
        }
        Ok((
            Expr {
                kind: ExprKind::Path(text),
                span: Span::new(pos, end),
            },
            end,
        ))
    }

    /// One dot-separated element: characters, escapes and `{a,b}` groups, appended to
    /// `text`. Returns `pos` itself if there is none. A `{` that does not close and a
    /// backslash before a character that cannot be escaped are errors: nothing after a path
    /// can start with them.
    fn path_element(&mut self, pos: usize, text: &mut String) -> Result<usize, Fail> {
        let mut i = pos;
        loop {
            let chars = self.path_chars(i, text)?;
            if chars > i {
                i = chars;
                continue;
            }
            if self.at(i) != Some(b'{') {
                return Ok(i);
            }
            text.push('{');
            let mut j = i + 1;
            loop {
                let next = self.path_chars(j, text)?;
                if next == j {
                    return self.fail(j, Expected::PathElement);
                }
                match self.at(next) {
                    Some(b',') => {
                        text.push(',');
                        j = next + 1;
                    }
                    Some(b'}') => {
                        text.push('}');
                        i = next + 1;
                        break;
                    }
                    _ => return self.fail(next, Expected::CommaOrCloseBrace),
                }
            }
        }
    }

    /// A run of path characters and escapes at `pos`, appended (unescaped) to `text`.
    fn path_chars(&mut self, pos: usize, text: &mut String) -> Result<usize, Fail> {
        let mut i = pos;
        loop {
            match self.at(i) {
                Some(b) if is_path_char(b) => {
                    text.push(b as char);
                    i += 1;
                }
                Some(b'\\') => match self.at(i + 1) {
                    Some(b) if is_escapable(b) => {
                        text.push(b as char);
                        i += 2;
                    }
                    _ => return self.fail(i + 1, Expected::EscapedChar),
                },
                _ => return Ok(i),
            }
        }
    }

    /// `template(inner [, values])` at `pos`, which starts with `template`. Fails (and the
    /// caller re-reads the text as a call) unless graphite-web's `template` rule matches.
    fn template(&mut self, pos: usize) -> PResult<Expr> {
        let open = self.ws(pos + "template".len());
        if self.at(open) != Some(b'(') {
            return Err(());
        }
        let inner_pos = self.ws(open + 1);
        let (inner, inner_end) = if self.call_starts(inner_pos) {
            self.enter(inner_pos)?;
            let r = self.call(inner_pos);
            self.depth -= 1;
            let (call, end) = r?;
            if call.args.is_empty() && !call.kwargs.is_empty() {
                // graphite-web's call rule fails here, so its template rule does too and
                // the text is re-read as a call named `template`, whose first argument
                // may then be a template (`template(template(x=y), 1)`: inner path `x=y`).
                // Keyword-only calls must not change what graphite-web parses.
                return Err(());
            }
            (
                Expr {
                    kind: ExprKind::Call(call),
                    span: Span::new(inner_pos, end),
                },
                end,
            )
        } else {
            match self.path(inner_pos) {
                Ok(r) => r,
                Err(()) => return self.fail(inner_pos, Expected::CallOrPath),
            }
        };
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        let mut end = inner_end;
        let comma = self.ws(inner_end);
        if self.at(comma) == Some(b',') {
            // `Optional(comma + (litargs | litkwargs))`: every value positional, or every
            // value named; a list that stops early leaves its comma for `)` to fail on.
            if let Ok((first, first_end)) = self.lit(comma + 1) {
                args.push(first);
                end = first_end;
                while let Some(next) = self.list_next(end) {
                    match self.lit(next) {
                        Ok((a, a_end)) => {
                            args.push(a);
                            end = a_end;
                        }
                        Err(()) => break,
                    }
                }
            } else if let Some(Ok((first, first_end))) = self.kwarg(self.ws(comma + 1), Parser::lit)
            {
                kwargs.push(first);
                end = first_end;
                while let Some(next) = self.list_next(end) {
                    let next = self.ws(next);
                    match self.kwarg(next, Parser::lit) {
                        Some(Ok((k, k_end))) => {
                            kwargs.push(k);
                            end = k_end;
                        }
                        _ => break,
                    }
                }
            }
        }
        let close = self.ws(end);
        if self.at(close) != Some(b')') {
            return self.fail(close, Expected::CommaOrCloseParen);
        }
        Ok((
            Expr {
                kind: ExprKind::Template(Template {
                    inner: Box::new(inner),
                    args,
                    kwargs,
                }),
                span: Span::new(pos, close + 1),
            },
            close + 1,
        ))
    }

    /// The offset after the `,` that continues a list ending at `end`, if there is one.
    fn list_next(&self, end: usize) -> Option<usize> {
        let comma = self.ws(end);
        (self.at(comma) == Some(b',')).then_some(comma + 1)
    }
}

#[cfg(test)]
mod tests;
