//! Python's `int(s)` and `float(s)` conversions of strings, and optparse's
//! `int` option type.
//!
//! The scripts take numbers from the command line through these, so they
//! decide which spellings a tool accepts: `float(' 1e3 ')`, `float('nan')`,
//! `float('1_000.5')`, `int('+17')`, and for optparse `--from 0x10` (hex),
//! `--from 010` (octal!) and `--from 0b101`. Rust's `str::parse` is close
//! but neither strips whitespace nor allows underscores, and knows nothing
//! of optparse's radix prefixes.

/// The white space `int()` and `float()` ignore around a number: Unicode's
/// `White_Space`, as Rust's `char::is_whitespace`.
fn is_py_space(c: char) -> bool {
    c.is_whitespace()
}

/// Removes the underscores of a number, which Python allows only singly
/// and between two digits; `None` if one is misplaced.
fn strip_underscores(s: &str, is_digit: impl Fn(char) -> bool) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            let before = i.checked_sub(1).and_then(|j| chars.get(j));
            let after = chars.get(i + 1);
            if !(before.is_some_and(|&b| is_digit(b)) && after.is_some_and(|&a| is_digit(a))) {
                return None;
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Python's `float(s)`: surrounding white space is ignored, underscores may
/// separate digits, and `inf`, `infinity` and `nan` (any case, signed) are
/// accepted. `None` where Python raises `ValueError`.
///
/// ```
/// use charcoal_tools::pyparse::py_float;
/// assert_eq!(py_float(" 1e3\n"), Some(1000.0));
/// assert_eq!(py_float("1_000.5"), Some(1000.5));
/// assert!(py_float("-NaN").is_some_and(f64::is_nan));
/// assert_eq!(py_float("1__0"), None);
/// ```
pub fn py_float(s: &str) -> Option<f64> {
    let s = s.trim_matches(is_py_space);
    let s = strip_underscores(s, |c| c.is_ascii_digit())?;
    // Rust's grammar is Python's apart from the two points handled above.
    s.parse().ok()
}

/// Python's `int(s, radix)` for radix 2, 8, 10 or 16: white space around,
/// an optional sign, the radix's prefix (`0x`, `0o`, `0b`, optionally
/// followed by one underscore) for radix 16, 8 and 2, and digits with single
/// underscores between them. `None` where Python raises `ValueError` or the
/// value does not fit an `i64`.
///
/// ```
/// use charcoal_tools::pyparse::py_int;
/// assert_eq!(py_int(" +1_700 ", 10), Some(1700));
/// assert_eq!(py_int("0x1f", 16), Some(31));
/// assert_eq!(py_int("1.5", 10), None);
/// ```
pub fn py_int(s: &str, radix: u32) -> Option<i64> {
    let s = s.trim_matches(is_py_space);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let prefix = match radix {
        16 => Some("0x"),
        8 => Some("0o"),
        2 => Some("0b"),
        _ => None,
    };
    let body = match prefix {
        Some(p) if s.len() >= 2 && s[..2].eq_ignore_ascii_case(p) => {
            let rest = &s[2..];
            // One underscore may follow the prefix: `0x_ff`.
            rest.strip_prefix('_').unwrap_or(rest)
        }
        _ => s,
    };
    let digits = strip_underscores(body, |c| c.is_digit(radix))?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// optparse's `type='int'`: `0x…` is hexadecimal, `0b…` binary, any other
/// leading `0` octal, the rest decimal; then Python's `int(value, radix)`.
///
/// ```
/// use charcoal_tools::pyparse::optparse_int;
/// assert_eq!(optparse_int("010"), Ok(8));
/// assert_eq!(optparse_int("0X10"), Ok(16));
/// assert_eq!(optparse_int("0b"), Ok(0));
/// assert_eq!(optparse_int("-5"), Ok(-5));
/// assert!(optparse_int("08").is_err());
/// ```
pub fn optparse_int(value: &str) -> Result<i64, String> {
    let head: String = value.chars().take(2).collect::<String>().to_lowercase();
    let parsed = if head == "0x" {
        py_int(value, 16)
    } else if head == "0b" {
        let rest: String = value.chars().skip(2).collect();
        py_int(if rest.is_empty() { "0" } else { &rest }, 2)
    } else if value.starts_with('0') {
        py_int(value, 8)
    } else {
        py_int(value, 10)
    };
    parsed.ok_or_else(|| format!("invalid integer value: '{value}'"))
}

/// optparse's `type='float'` (and argparse's `type=float`): Python's
/// `float(value)`.
pub fn optparse_float(value: &str) -> Result<f64, String> {
    py_float(value).ok_or_else(|| format!("invalid floating-point value: '{value}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python() {
        let ok = [
            ("1", 1.0),
            ("  -2.5\t", -2.5),
            ("1e3", 1000.0),
            ("1E+3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("+inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("1_0.2_5", 10.25),
            ("1e1_0", 1e10),
            ("1e400", f64::INFINITY),
        ];
        for (s, want) in ok {
            assert_eq!(py_float(s), Some(want), "{s:?}");
        }
        for s in [
            "", " ", ".", "e3", "1e", "_1", "1_", "1__0", "1_.5", "0x10", "nan(1)", "1 2", "\x1c5",
        ] {
            assert_eq!(py_float(s), None, "{s:?}");
        }
        assert!(py_float("nan").unwrap().is_nan());
    }

    #[test]
    fn ints_like_python() {
        assert_eq!(py_int("0012", 10), Some(12));
        assert_eq!(py_int("-0o17", 8), Some(-15));
        assert_eq!(py_int("017", 8), Some(15));
        assert_eq!(py_int("0x_ff", 16), Some(255));
        assert_eq!(py_int("ff", 16), Some(255));
        assert_eq!(py_int("0_7", 8), Some(7));
        assert_eq!(py_int("9223372036854775808", 10), None);
        assert_eq!(py_int("-9223372036854775808", 10), Some(i64::MIN));
        for s in [
            "", "-", "1.0", "1e3", "0x", "_1", "1_", "1__2", "--1", "\x1c5",
        ] {
            assert_eq!(py_int(s, 10), None, "{s:?}");
        }
    }

    #[test]
    fn optparse_radix_prefixes() {
        assert_eq!(optparse_int("1700000000"), Ok(1_700_000_000));
        assert_eq!(optparse_int("0"), Ok(0));
        assert_eq!(optparse_int("00"), Ok(0));
        assert_eq!(optparse_int("0b101"), Ok(5));
        assert_eq!(optparse_int("0o17"), Ok(15));
        assert!(optparse_int("-0x5").is_err());
        assert!(optparse_int("x").is_err());
        assert!(optparse_int("").is_err());
    }
}
