//! Python's number grammars, because carbon hands every number it receives to Python.
//!
//! Carbon parses plaintext values and timestamps with `float(str)` (compat notes §2.1), pickle
//! items with `float(x)` (§2.2), and CPython's unpickler parses protocol-0 `INT`, `LONG`,
//! `FLOAT`, `PUT` and `GET` arguments with C `strtol`, `PyLong_FromString` and
//! `PyOS_string_to_double`. Reproducing those grammars exactly is what makes
//! "the same line is accepted or rejected" true; the differential tests check it against
//! `/usr/bin/python3`.
//!
//! Digits are converted by Rust's correctly rounded `f64` parser, as CPython's `dtoa.c` is
//! correctly rounded, so accepted strings give the same bits.

/// Characters for which Python's `str.isspace()` is true (CPython 3.11, Unicode 14.0): what
/// `str.split()` and `str.strip()` split and strip on.
const PY_WHITESPACE: &[char] = &[
    '\u{09}', '\u{0a}', '\u{0b}', '\u{0c}', '\u{0d}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}',
    '\u{20}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}',
    '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}',
    '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// The digit zero of every run of Unicode decimal digits (category Nd) in Unicode 14.0, as
/// CPython 3.11's `unicodedata.decimal` sees them. Each run is ten consecutive code points,
/// zero to nine (a Unicode stability guarantee, checked against Python when the table was
/// made). `float()` accepts any of them as a digit.
const ND_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
    0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// Python 3.11's `sys.int_info.default_max_str_digits`: `int()` refuses longer decimal strings.
const MAX_INT_STR_DIGITS: usize = 4300;

/// Whether Python's `str.isspace()` is true for `c`.
pub fn is_py_whitespace(c: char) -> bool {
    if c.is_ascii() {
        matches!(
            c,
            '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | '\u{1c}'..='\u{1f}' | ' '
        )
    } else {
        PY_WHITESPACE.contains(&c)
    }
}

/// C's `isspace` in the "C" locale, which CPython uses for bytes (`Py_ISSPACE`).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The decimal value of a Unicode decimal digit (category Nd), as `unicodedata.decimal`.
fn unicode_decimal(c: char) -> Option<u8> {
    let cp = c as u32;
    // The table is sorted: the run that could hold `cp` starts at the last zero <= cp.
    let i = ND_ZEROS.partition_point(|&z| z <= cp);
    let zero = *ND_ZEROS.get(i.checked_sub(1)?)?;
    let d = cp - zero;
    (d < 10).then_some(d as u8)
}

/// Python's `float(s)` for a `str`: Unicode decimal digits and whitespace are first mapped to
/// ASCII, then surrounding whitespace is stripped, underscores between digits are removed,
/// and the rest must be a decimal literal, `inf`, `infinity` or `nan` (any case, optional
/// sign). Overflowing literals give ±infinity, as in Python.
///
/// ```
/// use charcoal_protocol::pynum::parse_float;
/// assert_eq!(parse_float(" +1_000.5e0 "), Some(1000.5));
/// assert_eq!(parse_float("-Infinity"), Some(f64::NEG_INFINITY));
/// assert_eq!(parse_float("١٢"), Some(12.0)); // Arabic-Indic digits, as Python accepts
/// assert_eq!(parse_float("1e"), None);
/// assert_eq!(parse_float("0x10"), None);
/// ```
pub fn parse_float(s: &str) -> Option<f64> {
    if s.is_ascii() {
        return parse_float_bytes(s.as_bytes());
    }
    // _PyUnicode_TransformDecimalAndSpaceToASCII: anything else non-ASCII cannot parse.
    let mut ascii = Vec::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            ascii.push(c as u8);
        } else if PY_WHITESPACE.contains(&c) {
            ascii.push(b' ');
        } else {
            ascii.push(b'0' + unicode_decimal(c)?);
        }
    }
    parse_float_bytes(&ascii)
}

/// Python's `int(s, radix)`: surrounding whitespace, a sign, an underscore only between
/// digits, decimal digits of any script, ASCII letters for digits past 9. Values beyond
/// `i64` saturate.
///
/// ```
/// use charcoal_protocol::pynum::parse_i64;
/// assert_eq!(parse_i64(" -1_000 ", 10), Some(-1000));
/// assert_eq!(parse_i64("+b", 16), Some(11));
/// assert_eq!(parse_i64("1__0", 10), None);
/// assert_eq!(parse_i64("", 10), None);
/// assert_eq!(parse_i64("\u{ff11}\u{ff12}", 16), Some(0x12));
/// ```
pub fn parse_i64(s: &str, radix: u32) -> Option<i64> {
    let t = s.trim_matches(is_py_whitespace);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut value: i64 = 0;
    for c in digits.chars().filter(|c| *c != '_') {
        let d = match unicode_decimal(c) {
            Some(d) => u32::from(d),
            None if c.is_ascii() => c.to_digit(36)?,
            None => return None,
        };
        if d >= radix {
            return None;
        }
        value = value
            .saturating_mul(i64::from(radix))
            .saturating_add(i64::from(d));
    }
    Some(if negative { -value } else { value })
}

/// Python's `float(b)` for `bytes`: as [`parse_float`] but only ASCII is accepted.
pub fn parse_float_bytes(s: &[u8]) -> Option<f64> {
    let cleaned;
    let s = if s.contains(&b'_') {
        cleaned = remove_underscores(s)?;
        &cleaned[..]
    } else {
        s
    };
    let start = s.iter().position(|&b| !is_c_space(b))?;
    let end = s.iter().rposition(|&b| !is_c_space(b))? + 1;
    let body = &s[start..end];
    let parsed = strtod(body)?;
    (parsed.consumed == body.len()).then_some(parsed.value)
}

/// `_Py_string_to_number_with_underscores`: an underscore must sit between two ASCII digits.
fn remove_underscores(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut prev = 0u8;
    for &b in s {
        if b == b'_' {
            if !prev.is_ascii_digit() {
                return None;
            }
        } else {
            if prev == b'_' && !b.is_ascii_digit() {
                return None;
            }
            out.push(b);
        }
        prev = b;
    }
    (prev != b'_').then_some(out)
}

/// The result of [`strtod`]: the value, how many bytes made it, and whether a finite literal
/// overflowed to infinity (which pickle's `FLOAT` opcode treats as an error).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strtod {
    pub(crate) value: f64,
    pub(crate) consumed: usize,
    pub(crate) overflow: bool,
}

/// `_PyOS_ascii_strtod`: the longest prefix of `s` that is a float literal (no leading
/// whitespace skipped, no underscores). `None` if no prefix parses.
pub(crate) fn strtod(s: &[u8]) -> Option<Strtod> {
    let mut i = usize::from(matches!(s.first(), Some(b'-' | b'+')));
    let digits_start = i;
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = i - digits_start;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        let dot = i;
        i += 1;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        frac_digits = i - dot - 1;
    }
    if int_digits + frac_digits == 0 {
        return inf_or_nan(s);
    }
    // An exponent counts only if it has digits; otherwise the literal ends before the 'e'.
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = j;
        while s.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j > exp_digits {
            i = j;
        }
    }
    // The prefix is ASCII by construction, and Rust's grammar is a superset of it.
    let text = std::str::from_utf8(&s[..i]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some(Strtod {
        value,
        consumed: i,
        overflow: value.is_infinite(),
    })
}

/// `_Py_parse_inf_or_nan`: optional sign, then `inf`, `infinity` or `nan`, any case.
fn inf_or_nan(s: &[u8]) -> Option<Strtod> {
    let (negative, rest) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let sign_len = s.len() - rest.len();
    let starts =
        |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);
    let (magnitude, len) = if starts(b"infinity") {
        (f64::INFINITY, 8)
    } else if starts(b"inf") {
        (f64::INFINITY, 3)
    } else if starts(b"nan") {
        (f64::NAN, 3)
    } else {
        return None;
    };
    Some(Strtod {
        value: if negative { -magnitude } else { magnitude },
        consumed: sign_len + len,
        overflow: false,
    })
}

/// The base argument of [`parse_int`], as given to Python's `int(s, base)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntBase {
    /// Base 0: `0x`, `0o`, `0b` prefixes; a decimal with a leading zero must be all zeros.
    Auto,
    /// Base 10, leading zeros allowed.
    Ten,
}

/// An integer as sign and magnitude, the magnitude as little-endian bytes without trailing
/// zero bytes (so zero is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedInt {
    pub(crate) negative: bool,
    pub(crate) magnitude: Vec<u8>,
}

impl ParsedInt {
    /// The value if it fits an `i64`.
    #[cfg(test)]
    pub(crate) fn to_i64(&self) -> Option<i64> {
        if self.magnitude.len() > 8 {
            return None;
        }
        let mut m: u64 = 0;
        for &b in self.magnitude.iter().rev() {
            m = (m << 8) | u64::from(b);
        }
        if self.negative {
            0i64.checked_sub_unsigned(m)
        } else {
            i64::try_from(m).ok()
        }
    }
}

/// `PyLong_FromString(s, NULL, base)` on a C string: stops at the first NUL; surrounding
/// ASCII whitespace, a sign, single underscores between digits (and one after a base prefix)
/// are allowed; decimal strings longer than 4300 digits are refused, as Python 3.11 does.
pub(crate) fn parse_int(s: &[u8], base: IntBase) -> Option<ParsedInt> {
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let mut i = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let mut negative = false;
    match s.get(i) {
        Some(b'+') => i += 1,
        Some(b'-') => {
            negative = true;
            i += 1;
        }
        _ => {}
    }
    let mut radix = 10u32;
    let mut must_be_zero = false;
    let at = |k: usize| s.get(k).copied().unwrap_or(0);
    if base == IntBase::Auto && at(i) == b'0' {
        match at(i + 1) {
            b'x' | b'X' => radix = 16,
            b'o' | b'O' => radix = 8,
            b'b' | b'B' => radix = 2,
            _ => must_be_zero = true,
        }
        if radix != 10 {
            i += 2;
            if at(i) == b'_' {
                i += 1;
            }
        }
    }
    if at(i) == b'_' {
        return None;
    }
    let mut digits: Vec<u8> = Vec::new();
    let mut prev_underscore = false;
    while i < s.len() && !is_c_space(s[i]) {
        if s[i] == b'_' {
            if prev_underscore {
                return None;
            }
            prev_underscore = true;
        } else {
            digits.push((s[i] as char).to_digit(radix)? as u8);
            prev_underscore = false;
        }
        i += 1;
    }
    if prev_underscore || digits.is_empty() || s[i..].iter().any(|&b| !is_c_space(b)) {
        return None;
    }
    if must_be_zero && digits.iter().any(|&d| d != 0) {
        return None;
    }
    if radix == 10 && digits.len() > MAX_INT_STR_DIGITS {
        return None;
    }
    Some(ParsedInt {
        negative,
        magnitude: digits_to_magnitude(&digits, radix),
    })
}

/// Little-endian magnitude bytes of a digit string, most significant digit first.
fn digits_to_magnitude(digits: &[u8], radix: u32) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    if radix.is_power_of_two() {
        // Linear: pack bits from the least significant digit.
        let bits = radix.trailing_zeros();
        let (mut acc, mut nacc) = (0u32, 0u32);
        for &d in digits.iter().rev() {
            acc |= u32::from(d) << nacc;
            nacc += bits;
            while nacc >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                nacc -= 8;
            }
        }
        if nacc > 0 {
            out.push(acc as u8);
        }
    } else {
        // Quadratic, but decimal input is at most MAX_INT_STR_DIGITS long.
        for &d in digits {
            let mut carry = u32::from(d);
            for byte in out.iter_mut() {
                let v = u32::from(*byte) * radix + carry;
                *byte = v as u8;
                carry = v >> 8;
            }
            while carry > 0 {
                out.push(carry as u8);
                carry >>= 8;
            }
        }
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// C `strtol(s, &end, 0)` as glibc does it: returns the value (saturating is reported as
/// `None` like `ERANGE`) and the index where parsing stopped (0 if nothing parsed).
pub(crate) fn strtol(s: &[u8]) -> (Option<i64>, usize) {
    let at = |k: usize| s.get(k).copied().unwrap_or(0);
    let mut i = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let negative = match at(i) {
        b'-' => {
            i += 1;
            true
        }
        b'+' => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut radix = 10u32;
    if at(i) == b'0' {
        if matches!(at(i + 1), b'x' | b'X') && (at(i + 2) as char).is_ascii_hexdigit() {
            radix = 16;
            i += 2;
        } else {
            radix = 8;
        }
    }
    let start = i;
    let mut value: Option<i128> = Some(0);
    while let Some(d) = (at(i) as char).to_digit(radix) {
        value = value
            .and_then(|v| v.checked_mul(i128::from(radix)))
            .and_then(|v| v.checked_add(i128::from(d)))
            .filter(|v| *v <= i128::from(u64::MAX));
        i += 1;
    }
    if i == start {
        return (Some(0), 0);
    }
    let value = value
        .map(|v| if negative { -v } else { v })
        .and_then(|v| i64::try_from(v).ok());
    (value, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_grammar() {
        let f = |input: &str, want: Option<f64>| {
            let got = parse_float(input);
            match (got, want) {
                (Some(g), Some(w)) if w.is_nan() => assert!(g.is_nan(), "{input:?}: {g}"),
                (Some(g), Some(w)) => assert_eq!(g.to_bits(), w.to_bits(), "{input:?}"),
                _ => assert_eq!(got, want, "{input:?}"),
            }
        };
        f("1", Some(1.0));
        f("  1.5\t", Some(1.5));
        f("1e3", Some(1000.0));
        f("1E+3", Some(1000.0));
        f("+5", Some(5.0));
        f("-0", Some(-0.0));
        f("1_000", Some(1000.0));
        f("1_0.0_1e1_0", Some(10.01e10));
        f("1__0", None);
        f("_1", None);
        f("1_", None);
        f("1_.5", None);
        f("1._5", None);
        f(".5", Some(0.5));
        f("5.", Some(5.0));
        f(".", None);
        f("", None);
        f("   ", None);
        f("e5", None);
        f("1e", None);
        f("1e+", None);
        f("1e5.5", None);
        f("inf", Some(f64::INFINITY));
        f("-iNF", Some(f64::NEG_INFINITY));
        f("Infinity", Some(f64::INFINITY));
        f("infinit", None);
        f("nan", Some(f64::NAN));
        f("-NaN", Some(f64::NAN));
        f("nan(1)", None);
        f("1e400", Some(f64::INFINITY));
        f("-1e400", Some(f64::NEG_INFINITY));
        f("1e-400", Some(0.0));
        f("0x10", None);
        f("1 2", None);
        f("1\0", None);
        f("\u{a0}7\u{3000}", Some(7.0));
        f("١٢٣", Some(123.0));
        f("１.５", Some(1.5));
        f("½", None);
        f("²", None);
    }

    #[test]
    fn python_int_grammar() {
        let f = |input: &str, base: IntBase, want: Option<i64>| {
            let got = parse_int(input.as_bytes(), base).map(|p| p.to_i64().unwrap());
            assert_eq!(got, want, "{input:?} {base:?}");
        };
        f("12", IntBase::Auto, Some(12));
        f(" -12 \n", IntBase::Auto, Some(-12));
        f("0x_1f", IntBase::Auto, Some(31));
        f("0o17", IntBase::Auto, Some(15));
        f("0b101", IntBase::Auto, Some(5));
        f("0_0", IntBase::Auto, Some(0));
        f("00", IntBase::Auto, Some(0));
        f("010", IntBase::Auto, None);
        f("010", IntBase::Ten, Some(10));
        f("0x1", IntBase::Ten, None);
        f("1__0", IntBase::Auto, None);
        f("_1", IntBase::Auto, None);
        f("1_", IntBase::Auto, None);
        f("", IntBase::Auto, None);
        f("-", IntBase::Auto, None);
        f("12\0zz", IntBase::Auto, Some(12));
        f("1 2", IntBase::Auto, None);
        assert!(parse_int("9".repeat(4300).as_bytes(), IntBase::Auto).is_some());
        assert!(parse_int("9".repeat(4301).as_bytes(), IntBase::Auto).is_none());
        let big = parse_int(b"18446744073709551616", IntBase::Ten).unwrap();
        assert_eq!(big.magnitude, vec![0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let hex = parse_int(b"0x1_0000_0000_0000_0000", IntBase::Auto).unwrap();
        assert_eq!(hex.magnitude, vec![0, 0, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn c_strtol() {
        let f = |input: &str, want: (Option<i64>, usize)| {
            assert_eq!(strtol(input.as_bytes()), want, "{input:?}");
        };
        f("12\n", (Some(12), 2));
        f("010", (Some(8), 3));
        f("0x1f", (Some(31), 4));
        f("0x", (Some(0), 1));
        f(" -5", (Some(-5), 3));
        f("+", (Some(0), 0));
        f("", (Some(0), 0));
        f("99999999999999999999", (None, 20));
        f("-9223372036854775808", (Some(i64::MIN), 20));
        f("1_0", (Some(1), 1));
    }

    #[test]
    fn unicode_digit_table() {
        assert_eq!(unicode_decimal('0'), Some(0));
        assert_eq!(unicode_decimal('9'), Some(9));
        assert_eq!(unicode_decimal(':'), None);
        assert_eq!(unicode_decimal('\u{669}'), Some(9));
        assert_eq!(unicode_decimal('\u{1fbf9}'), Some(9));
        assert_eq!(unicode_decimal('\u{1fbfa}'), None);
        assert_eq!(unicode_decimal('\u{2f}'), None);
    }
}
