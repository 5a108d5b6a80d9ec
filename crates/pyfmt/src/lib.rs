//! Formatting of `f64` exactly as CPython 3.11 formats a `float`.
//!
//! Python code decides the text of numbers all over the Graphite stack: the whisper scripts
//! print with `print(value)`, `'%f' % v` and `'%.35g' % v`; graphite-web names series with
//! `'scale(%s,%g)'`, writes JSON and `rawData` with `repr`, and substitutes template values
//! with `str()`. Rust's own `Display` for `f64` differs from Python's in many places (`1` vs
//! `1.0`, `1e16` vs `10000000000000000`, `NaN` vs `nan`, no `%g` at all), so this crate
//! rebuilds Python's rules on top of Rust's digit generation, once, for the tools and the
//! render API alike:
//!
//! - `{:e}` yields a shortest digit string that round-trips, as Python's
//!   `repr` uses; where two such strings are equally near the value, Python
//!   takes the even one, so that choice is redone with `{:.Ne}`.
//! - `{:.N}` and `{:.Ne}` are correctly rounded from the exact binary value
//!   (ties to even), which is what glibc's `printf` and Python's `%`
//!   operator produce, for any precision.
//!
//! [`json`] builds Python's `json.dumps`, `str()` and `repr()` of plain data on these;
//! [`time`] is Python's (glibc's) `ctime` and `strftime`, for the whisper tools' dates and
//! the graphs' time labels.
//!
//! Everything here is checked against `/usr/bin/python3` by the unit tests.

pub mod json;
pub mod time;

/// Python's spelling of a non-finite value, or `None` for finite values.
///
/// Python never prints the sign of a NaN.
fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("nan")
    } else if v == f64::INFINITY {
        Some("inf")
    } else if v == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

/// Splits Rust's `{:e}`-style output (`-1.2345e-5`) into the sign, the
/// significant digits without the decimal point (`12345`) and the decimal
/// exponent of the first digit (`-5`).
fn split_scientific(s: &str) -> (bool, String, i32) {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exponent) = s
        .split_once('e')
        .expect("Rust's {:e} output always contains an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent = exponent
        .parse()
        .expect("Rust's {:e} exponent is a decimal integer");
    (negative, digits, exponent)
}

/// The shortest digit string that reads back as `v` (and, among those, the
/// one nearest to `v`, ties to even, as Python's `repr` picks it), with the
/// sign and the decimal exponent of the first digit.
///
/// Rust's `{:e}` gives the shortest length, but when two strings of that
/// length both round-trip and are equally near (`…67.25` between `…67.2` and
/// `…67.3`) it may pick the upper one. So the correctly rounded string of the
/// same length, from `{:.Ne}`, is used whenever it also round-trips.
fn shortest_digits(v: f64) -> (bool, String, i32) {
    let shortest = format!("{v:e}");
    let (negative, digits, exponent) = split_scientific(&shortest);
    let nearest = format!("{v:.*e}", digits.len() - 1);
    if nearest != shortest && nearest.parse::<f64>() == Ok(v) {
        split_scientific(&nearest)
    } else {
        (negative, digits, exponent)
    }
}

/// Formats an exponent the way C and Python do: a sign and at least two
/// digits (`e+16`, `e-05`, `e+300`).
fn exponent_suffix(exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exponent.unsigned_abs())
}

/// Removes trailing zeros after the decimal point, then the point itself if
/// nothing follows it, as `%g` does without the `#` flag.
fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Python's `repr(v)` (and `str(v)`) for a float.
///
/// Uses the shortest digit string that reads back as the same value. Fixed
/// notation is used when the decimal exponent `e` (with `v = d.ddd × 10^e`)
/// satisfies `-4 <= e < 16`, and always shows a fractional part (`1.0`,
/// `100.0`); otherwise scientific notation with a signed exponent of at least
/// two digits (`1e+16`, `1e-05`, `1.5e+300`). Non-finite values are `inf`,
/// `-inf` and `nan`.
///
/// ```
/// use charcoal_pyfmt::repr;
/// assert_eq!(repr(1.0), "1.0");
/// assert_eq!(repr(1e16), "1e+16");
/// assert_eq!(repr(0.0001), "0.0001");
/// assert_eq!(repr(-0.0), "-0.0");
/// ```
pub fn repr(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.to_owned();
    }
    let (negative, digits, exponent) = shortest_digits(v);
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    let n = digits.len();
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            // `exponent` is in 0..16 here, so the cast is lossless.
            let int_len = exponent as usize + 1;
            if n <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - n));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            // `exponent` is in -4..0 here.
            out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&exponent_suffix(exponent));
    }
    out
}

/// C's and Python's `'%.Pg' % v` (no width, no flags).
///
/// Follows C99: a precision of 0 counts as 1; with `X` the exponent that
/// `%.{P-1}e` would print, fixed notation with `P - 1 - X` decimals is used
/// when `P > X >= -4`, scientific notation with `P - 1` decimals otherwise;
/// then trailing zeros and a trailing decimal point are removed. Digits are
/// correctly rounded from the exact binary value, so large precisions
/// (`%.35g`) print the exact decimal expansion as glibc does.
///
/// ```
/// use charcoal_pyfmt::percent_g;
/// assert_eq!(percent_g(0.1, 6), "0.1");
/// assert_eq!(percent_g(1e16, 6), "1e+16");
/// assert_eq!(percent_g(0.1, 20), "0.10000000000000000555");
/// ```
pub fn percent_g(v: f64, precision: usize) -> String {
    let mut out = Vec::new();
    write_percent_g(&mut out, v, precision);
    String::from_utf8(out).expect("%g writes only ASCII")
}

/// 10^i as f64 for i in 0..=38 (the bound of the whole-number shortcut).
const POW10: [f64; 39] = {
    let mut t = [1.0f64; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10.0;
        i += 1;
    }
    t
};

/// "00" to "99": two digits per division when printing integers.
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Appends the decimal digits of `v` (what `{v}` prints, without the
/// formatting machinery: whisper-dump prints two integers per line).
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    while v >= 100 {
        i -= 2;
        digits[i..i + 2].copy_from_slice(&PAIRS[(v % 100) as usize]);
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        digits[i..i + 2].copy_from_slice(&PAIRS[v as usize]);
    } else {
        i -= 1;
        digits[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&digits[i..]);
}

/// [`percent_g`] appended to `out` as ASCII bytes (no allocation and no UTF-8
/// checks on the common paths: whisper-dump formats half a million values per year of
/// minutes).
pub fn write_percent_g(out: &mut Vec<u8>, v: f64, precision: usize) {
    use std::io::Write as _;
    if let Some(s) = non_finite(v) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    let precision = precision.max(1);
    // Whole numbers with at most `precision` digits print as the integer
    // itself (C's rule: exponent < precision means fixed notation, and
    // trailing zeros are stripped). Most values in whisper files are, and
    // this skips two exact decimal conversions per value.
    let magnitude = v.abs();
    // `as u64` saturates and truncates; equal back means a whole number.
    let whole = magnitude as u64;
    if magnitude < 1.8e19 && whole as f64 == magnitude && magnitude < POW10[precision.min(38)] {
        if v.is_sign_negative() {
            out.push(b'-');
        }
        push_u64(out, whole);
        return;
    }
    if v.fract() == 0.0 && precision <= 38 && magnitude < POW10[precision] {
        if v.is_sign_negative() {
            out.push(b'-');
        }
        let _ = write!(out, "{}", magnitude as u128);
        return;
    }
    if exact_g_small(out, v, precision) {
        return;
    }
    out.extend_from_slice(percent_g_general(v, precision).as_bytes());
}

/// The general path of [`percent_g`], through Rust's exact `{:e}`.
fn percent_g_general(v: f64, precision: usize) -> String {
    let scientific = format!("{v:.*e}", precision - 1);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("Rust's {:e} output always contains an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("Rust's {:e} exponent is a decimal integer");
    let precision = i64::try_from(precision).unwrap_or(i64::MAX);
    let exponent_wide = i64::from(exponent);
    if (-4..precision).contains(&exponent_wide) {
        // -4 <= exponent < precision, so this is at least 0.
        let decimals = usize::try_from(precision - 1 - exponent_wide).unwrap_or(0);
        strip_fraction_zeros(&format!("{v:.decimals$}")).to_owned()
    } else {
        let mut out = strip_fraction_zeros(mantissa).to_owned();
        out.push_str(&exponent_suffix(exponent));
        out
    }
}

/// Writes the last `buf.len()` decimal digits of `v` into `buf` as values 0 to 9 (not
/// ASCII), two per division.
fn two_digits_at_a_time(buf: &mut [u8], v: &mut u32) {
    let mut i = buf.len();
    while i >= 2 {
        let pair = PAIRS[(*v % 100) as usize];
        buf[i - 2] = pair[0] - b'0';
        buf[i - 1] = pair[1] - b'0';
        *v /= 100;
        i -= 2;
    }
    if i == 1 {
        buf[0] = (*v % 10) as u8;
        *v /= 10;
    }
}

/// `%.Pg` of a finite, non-integral `v` with `|v| < 2^64` whose binary
/// fraction has at most 124 bits, computed exactly in `u128` (the value is
/// `m / 2^k`: each decimal digit is one multiply by ten). None for anything
/// else, which takes the general path. Ties round to even, as glibc does in
/// the default rounding mode.
fn exact_g_small(out: &mut Vec<u8>, v: f64, precision: usize) -> bool {
    exact_g_small_checked(out, v, precision).is_some()
}

fn exact_g_small_checked(out: &mut Vec<u8>, v: f64, precision: usize) -> Option<()> {
    if v == 0.0 || v.fract() == 0.0 || precision > 40 {
        return None;
    }
    let bits = v.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction_bits = bits & ((1u64 << 52) - 1);
    let (mantissa, exp2) = if biased == 0 {
        (fraction_bits, -1074)
    } else {
        (fraction_bits | (1u64 << 52), biased - 1075)
    };
    // v = mantissa * 2^exp2 with exp2 < 0 (v is not a whole number).
    let k = u32::try_from(-exp2).ok().filter(|&k| k <= 124)?;
    let int_part = if k >= 64 { 0 } else { mantissa >> k };
    let mask = (1u128 << k) - 1;
    let mut frac = u128::from(mantissa) & mask;

    // Significant digits and the decimal exponent of the first one. With k <= 64 the
    // fraction times 10^19 fits in u128, so digits come 19 at a time (whisper-dump's
    // `%.35g` of everyday fractions: two multiplications instead of 35); longer fractions
    // take one digit per multiplication.
    let mut store = [0u8; 64];
    let mut n: usize;
    let mut exp10: i32;
    if int_part > 0 {
        let mut rev = [0u8; 20];
        let mut len = 0;
        let mut x = int_part;
        while x > 0 {
            rev[len] = (x % 10) as u8;
            x /= 10;
            len += 1;
        }
        if len > precision {
            return None; // more integer digits than the precision: general path
        }
        for i in 0..len {
            store[i] = rev[len - 1 - i];
        }
        n = len;
        exp10 = len as i32 - 1;
    } else {
        n = 0;
        exp10 = -1;
    }
    const CHUNK: u128 = 10_000_000_000_000_000_000; // 10^19
    if k <= 64 {
        // Digits beyond the precision are kept for rounding.
        while n < precision + 1 {
            let scaled = frac * CHUNK;
            let chunk = (scaled >> k) as u64;
            frac = scaled & mask;
            // 19 digits as a 9-digit and a 10-digit half (32-bit divisions), two digits
            // per division.
            let mut buf = [0u8; 19];
            let (hi, lo) = ((chunk / 10_000_000_000) as u32, chunk % 10_000_000_000);
            let (mut lo_hi, mut lo_lo) = ((lo / 100_000) as u32, (lo % 100_000) as u32);
            two_digits_at_a_time(&mut buf[14..], &mut lo_lo);
            two_digits_at_a_time(&mut buf[9..14], &mut lo_hi);
            let mut hi = hi;
            two_digits_at_a_time(&mut buf[..9], &mut hi);
            let mut digits = &buf[..];
            if n == 0 {
                // Still before the first significant digit.
                let zeros = digits.iter().take_while(|&&d| d == 0).count();
                exp10 -= zeros as i32;
                digits = &digits[zeros..];
            }
            store[n..n + digits.len()].copy_from_slice(digits);
            n += digits.len();
        }
    } else {
        if n == 0 {
            loop {
                frac *= 10;
                let d = (frac >> k) as u8;
                frac &= mask;
                if d != 0 {
                    store[0] = d;
                    n = 1;
                    break;
                }
                exp10 -= 1;
            }
        }
        while n < precision {
            frac *= 10;
            store[n] = (frac >> k) as u8;
            n += 1;
            frac &= mask;
        }
    }
    // Round on what follows the precision: the extra digits, then the exact remainder
    // frac / 2^k. Ties go to even.
    let (digits, tail) = store[..n].split_at_mut(precision);
    let round_up = match tail.split_first() {
        Some((&first, rest)) => {
            first > 5
                || (first == 5
                    && (rest.iter().any(|&d| d != 0)
                        || frac != 0
                        || digits.last().is_some_and(|d| d % 2 == 1)))
        }
        None => {
            let half = 1u128 << (k - 1);
            frac > half || (frac == half && digits.last().is_some_and(|d| d % 2 == 1))
        }
    };
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                // All nines rounded up: 1 followed by zeros, one place higher.
                digits.rotate_right(1);
                digits[0] = 1;
                exp10 += 1;
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let digits = &*digits;
    // The digits as ASCII, written in one piece (pushing bytes one by one costs more than
    // computing them); trailing zeros after the point are dropped here, on the digits,
    // rather than by scanning the output.
    let mut ascii = [0u8; 64];
    for (a, d) in ascii.iter_mut().zip(digits) {
        *a = b'0' + d;
    }
    let text = &ascii[..digits.len()];
    let significant = digits.iter().rposition(|&d| d != 0).map_or(1, |i| i + 1);
    if negative {
        out.push(b'-');
    }
    let p = precision as i32;
    if (-4..p).contains(&exp10) {
        if exp10 < 0 {
            out.extend_from_slice(b"0.");
            for _ in 0..(-exp10 - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(&text[..significant]);
        } else {
            let point = (exp10 + 1) as usize;
            out.extend_from_slice(&text[..point]);
            if significant > point {
                out.push(b'.');
                out.extend_from_slice(&text[point..significant]);
            }
        }
    } else {
        out.extend_from_slice(&text[..1]);
        if significant > 1 {
            out.push(b'.');
            out.extend_from_slice(&text[1..significant]);
        }
        out.extend_from_slice(exponent_suffix(exp10).as_bytes());
    }
    Some(())
}

/// C's and Python's `'%W.Pg' % v`: [`percent_g`] right-aligned with spaces
/// to at least `width` characters.
///
/// ```
/// use charcoal_pyfmt::percent_width_g;
/// assert_eq!(percent_width_g(1.5, 6, 3), "   1.5");
/// ```
pub fn percent_width_g(v: f64, width: usize, precision: usize) -> String {
    format!("{:>width$}", percent_g(v, precision))
}

/// C's and Python's `'%f' % v`: fixed notation with six decimals; `inf`,
/// `-inf` and `nan` for non-finite values.
///
/// ```
/// use charcoal_pyfmt::percent_f;
/// assert_eq!(percent_f(1.0 / 3.0), "0.333333");
/// assert_eq!(percent_f(-0.0), "-0.000000");
/// ```
pub fn percent_f(v: f64) -> String {
    match non_finite(v) {
        Some(s) => s.to_owned(),
        None => format!("{v:.6}"),
    }
}

/// Python's `str(list)` for a list of floats and `None`s, such as the value
/// list `whisper.fetch` returns: `[1.0, None, 2.5]`, or `[]` when empty.
///
/// ```
/// use charcoal_pyfmt::list_repr;
/// assert_eq!(list_repr(&[Some(1.0), None, Some(2.5)]), "[1.0, None, 2.5]");
/// assert_eq!(list_repr(&[]), "[]");
/// ```
pub fn list_repr(values: &[Option<f64>]) -> String {
    let mut out = String::with_capacity(2 + values.len() * 8);
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match value {
            Some(v) => out.push_str(&repr(*v)),
            None => out.push_str("None"),
        }
    }
    out.push(']');
    out
}

/// Python's `repr(str)`: single quotes unless the text holds a single quote and no double
/// quote; backslash, newline, carriage return and tab as `\\`, `\n`, `\r`, `\t`; other
/// characters Python does not print (controls, and whitespace other than the space) as
/// `\xNN`, `\uNNNN` or `\UNNNNNNNN`. (Python's printable test also covers unassigned and
/// format characters; those are rare enough in metric names to print as themselves.)
pub fn write_str_repr(out: &mut String, s: &str) {
    use std::fmt::Write;
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let cp = c as u32;
                let _ = if cp < 0x100 {
                    write!(out, "\\x{cp:02x}")
                } else if cp < 0x10000 {
                    write!(out, "\\u{cp:04x}")
                } else {
                    write!(out, "\\U{cp:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// [`write_str_repr`] into a new string.
pub fn str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str_repr(&mut out, s);
    out
}

/// A string as Python's `json.dumps` writes it: `\"`, `\\`, the short escapes, `\u00XX`
/// for other controls and, with `ensure_ascii` (`json.dumps`' default), `\uXXXX` for
/// everything outside printable ASCII (DEL included; surrogate pairs beyond the BMP).
pub fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    // Runs that need no escape (all of a typical metric name) are copied whole: pushing
    // char by char was a tenth of a 1,000-node find.
    let plain = |b: u8| b >= 0x20 && b != b'"' && b != b'\\' && (b < 0x7f || !ensure_ascii);
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && plain(bytes[i]) {
            i += 1;
        }
        // `i` is at a char boundary: the bytes stopped at are ASCII, or, with
        // `ensure_ascii`, the first byte of a character after an ASCII run.
        out.push_str(&s[start..i]);
        if let Some(c) = s[i..].chars().next() {
            push_json_char(out, c, ensure_ascii);
            i += c.len_utf8();
        }
    }
    out.push('"');
}

/// [`write_json_str`] one character at a time: the definition the fast path must equal.
#[cfg(test)]
fn write_json_str_chars(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        push_json_char(out, c, ensure_ascii);
    }
    out.push('"');
}

fn push_json_char(out: &mut String, c: char, ensure_ascii: bool) {
    use std::fmt::Write;
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c if (c as u32) < 0x20 || (ensure_ascii && !(' '..='~').contains(&c)) => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
        c => out.push(c),
    }
}

/// The system Python as a test oracle, shared by this crate's tests and the tools'.
#[cfg(any(test, feature = "oracle"))]
pub mod oracle {
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Debian's interpreter, not whatever `python3` is first on `PATH`.
    pub const PYTHON: &str = "/usr/bin/python3";

    /// Runs `script` under the system Python (isolated mode, C locale) with `input` on
    /// stdin and returns its stdout; panics when Python is missing or fails.
    pub fn run_python(script: &str, input: String) -> String {
        let mut child = Command::new(PYTHON)
            .args(["-I", "-c", script])
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("these tests need {PYTHON}: {e}"));
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().expect("python3 runs");
        writer
            .join()
            .expect("writer thread")
            .expect("write to python3");
        assert!(
            output.status.success(),
            "python3 failed: {:?}",
            output.status
        );
        String::from_utf8(output.stdout).expect("python3 prints UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::oracle::run_python;
    use super::*;

    /// The run-copying `write_json_str` writes what escaping char by char writes.
    #[test]
    fn json_str_fast_path_is_char_by_char() {
        let pieces = [
            "",
            "a",
            "host-01.cpu",
            "\"",
            "\\",
            "\n",
            "\u{1}",
            "\u{1f}",
            " ",
            "~",
            "\u{7f}",
            "\u{80}",
            "é",
            "€",
            "😀",
            "\u{ffff}",
            "+%41",
        ];
        let mut x: u64 = 0x853c_49e6_748f_ea9b;
        for _ in 0..5_000 {
            let mut s = String::new();
            for _ in 0..(x % 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(pieces[(x % pieces.len() as u64) as usize]);
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for ascii in [true, false] {
                let (mut fast, mut slow) = (String::from("x"), String::from("x"));
                write_json_str(&mut fast, &s, ascii);
                write_json_str_chars(&mut slow, &s, ascii);
                assert_eq!(fast, slow, "{s:?} ascii {ascii}");
            }
        }
    }

    /// Reads one `float.hex()` value (or `nan`/`inf`) per line; a line
    /// starting with `list:` holds a comma-separated list of such values and
    /// `None`s. Everything is read before anything is printed.
    const SCRIPT: &str = r#"
import sys
out = []
for line in sys.stdin.read().splitlines():
    if line.startswith('list:'):
        items = line[5:].split(',') if len(line) > 5 else []
        out.append(str([None if s == 'None' else float.fromhex(s) for s in items]))
    else:
        v = float.fromhex(line)
        out.append('\t'.join((repr(v), '%.35g' % v, '%10.35g' % v, '%g' % v, '%f' % v)))
sys.stdout.write('\n'.join(out) + '\n')
"#;

    /// `float.hex()`-style spelling that `float.fromhex` reads back exactly.
    fn to_py_hex(v: f64) -> String {
        if v.is_nan() {
            return "nan".to_owned();
        }
        if v.is_infinite() {
            return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
        }
        let bits = v.to_bits();
        let sign = if bits >> 63 == 1 { "-" } else { "" };
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        if biased == 0 {
            format!("{sign}0x0.{fraction:013x}p-1022")
        } else {
            format!("{sign}0x1.{fraction:013x}p{}", biased - 1023)
        }
    }

    /// SplitMix64: small, fixed-seed and good enough to spread bit patterns.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn special_values() -> Vec<f64> {
        vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            10.0,
            100.0,
            12345.0,
            0.5,
            1.5,
            2.5,
            9.5,
            0.125,
            1234565.0, // %g tie, rounds to even
            1234575.0,
            999999.5,
            9999995.0,
            1e15,
            1e16,
            1e17,
            9007199254740993.0,
            1e-4,
            1e-5,
            0.0001234,
            0.00001234,
            0.1,
            0.2,
            0.3,
            1.0 / 3.0,
            123456789.123,
            5e-324,
            -5e-324,
            2.2250738585072014e-308,
            2.225073858507201e-308,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1.5e300,
            // Two shortest candidates, equally near: ...67.2 and ...67.3.
            -1_136_438_326_395_567.0 - 0.25,
            79_958_185_518_249.0 + 0.625,
            -11_683_408_216_855.0 - 0.5625,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ]
    }

    fn generated_values() -> Vec<f64> {
        let mut rng = Rng(0x00c0_ffee_5eed_2026);
        let mut values = special_values();
        for i in 0..4000 {
            let v = match i % 5 {
                // Any bit pattern: mostly huge or tiny magnitudes, plus NaNs.
                0 => f64::from_bits(rng.next()),
                // Subnormals.
                1 => f64::from_bits(rng.next() & 0x800f_ffff_ffff_ffff),
                // Random mantissa, magnitude between 2^-40 and 2^60, where
                // the fixed/scientific switch of every format lives.
                2 => {
                    let exponent = 1023 - 40 + rng.below(100);
                    let bits = (rng.next() & 0x800f_ffff_ffff_ffff) | (exponent << 52);
                    f64::from_bits(bits)
                }
                // Short decimals such as 0.05 or 1234.5e10.
                3 => {
                    let len = 1 + rng.below(8) as u32;
                    let digits = rng.below(10u64.pow(len));
                    let exponent = rng.below(44) as i32 - 22;
                    format!("{digits}e{exponent}").parse().expect("valid float")
                }
                // Integers, including ties at the sixth significant digit.
                _ => {
                    let bits = 1 + rng.below(56);
                    let n = rng.below(1 << bits);
                    let n = if rng.below(2) == 0 {
                        n
                    } else {
                        n / 10 * 10 + 5
                    };
                    n as f64
                }
            };
            values.push(v);
        }
        values
    }

    #[test]
    fn known_values() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (-1_136_438_326_395_567.0 - 0.25, "-1136438326395567.2"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (v, expected) in cases {
            assert_eq!(repr(*v), *expected, "repr({v:?})");
        }
        assert_eq!(percent_g(0.0, 0), "0");
        assert_eq!(percent_g(123456.0, 0), "1e+05");
        assert_eq!(percent_g(1234565.0, 6), "1.23456e+06");
        assert_eq!(percent_g(9.5, 1), "1e+01");
        assert_eq!(percent_g(-0.0, 6), "-0");
        assert_eq!(percent_g(0.0001, 6), "0.0001");
        assert_eq!(percent_g(0.00001, 6), "1e-05");
        assert_eq!(percent_g(-f64::NAN, 6), "nan");
        assert_eq!(percent_width_g(f64::NEG_INFINITY, 6, 3), "  -inf");
        assert_eq!(percent_width_g(123.0, 2, 3), "123");
        assert_eq!(percent_f(f64::NAN), "nan");
        assert_eq!(percent_f(2.5e-7), "0.000000");
        assert_eq!(list_repr(&[None]), "[None]");
        // Exact binary ties round to even (the chunked expansion decides on its extra
        // digits and remainder).
        for (v, p, want) in [
            (1.25, 2, "1.2"),
            (0.125, 2, "0.12"),
            (0.375, 2, "0.38"),
            (2.5, 1, "2"),
            (3.5, 1, "4"),
            (0.0625, 1, "0.06"),
            (1.0 / 3.0, 35, "0.33333333333333331482961625624739099"),
            (1e-5 / 3.0, 35, "3.3333333333333337471823375891544217e-06"),
            (123.456, 35, "123.4560000000000030695446184836328"),
        ] {
            assert_eq!(percent_g(v, p), want, "%.{p}g of {v:?}");
        }
    }

    #[test]
    fn matches_python() {
        let values = generated_values();
        let lists: Vec<Vec<Option<f64>>> = vec![
            vec![],
            vec![None],
            vec![Some(1.0), None, Some(2.5)],
            values.iter().take(40).map(|v| Some(*v)).collect(),
            values
                .iter()
                .skip(100)
                .take(30)
                .enumerate()
                .map(|(i, v)| (i % 3 != 0).then_some(*v))
                .collect(),
        ];

        let mut input = String::new();
        for v in &values {
            input.push_str(&to_py_hex(*v));
            input.push('\n');
        }
        for list in &lists {
            let items: Vec<String> = list
                .iter()
                .map(|v| v.map_or_else(|| "None".to_owned(), to_py_hex))
                .collect();
            input.push_str("list:");
            input.push_str(&items.join(","));
            input.push('\n');
        }

        let output = run_python(SCRIPT, input);
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), values.len() + lists.len());

        let mut failures = Vec::new();
        for (v, line) in values.iter().zip(&lines) {
            let expected: Vec<&str> = line.split('\t').collect();
            let actual = [
                repr(*v),
                percent_g(*v, 35),
                percent_width_g(*v, 10, 35),
                percent_g(*v, 6),
                percent_f(*v),
            ];
            let names = ["repr", "%.35g", "%10.35g", "%g", "%f"];
            assert_eq!(expected.len(), actual.len(), "python line {line:?}");
            for ((name, want), got) in names.iter().zip(&expected).zip(&actual) {
                if want != got {
                    failures.push(format!(
                        "{name} of {} ({v:?}): python {want:?}, rust {got:?}",
                        to_py_hex(*v)
                    ));
                }
            }
        }
        for (list, line) in lists.iter().zip(&lines[values.len()..]) {
            let got = list_repr(list);
            if got != *line {
                failures.push(format!("list: python {line:?}, rust {got:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches, first ones:\n{}",
            failures.len(),
            failures[..failures.len().min(20)].join("\n")
        );
    }
}
