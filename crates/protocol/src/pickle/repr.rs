//! Python's `repr` of a [`Value`], for messages that carbon builds with `str()` or `%s`
//! (carbonlink's `Invalid request type "<t>"`).

use std::fmt::Write;

use super::{BigInt, Value};

pub(super) fn write_repr(v: &Value, out: &mut String) {
    match v {
        Value::None => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(b) => write_bigint(b, out),
        Value::Float(f) => out.push_str(&float_repr(*f)),
        Value::Str(s) => write_str(s, out),
        Value::Bytes(b) => write_bytes(b, out),
        Value::ByteArray(b) => {
            out.push_str("bytearray(");
            write_bytes(b, out);
            out.push(')');
        }
        Value::List(items) => write_seq("[", items, "]", out),
        Value::Tuple(items) if items.len() == 1 => write_seq("(", items, ",)", out),
        Value::Tuple(items) => write_seq("(", items, ")", out),
        Value::Dict(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(k, out);
                out.push_str(": ");
                write_repr(v, out);
            }
            out.push('}');
        }
        Value::Set(items) if items.is_empty() => out.push_str("set()"),
        Value::Set(items) => write_seq("{", items, "}", out),
        Value::FrozenSet(items) if items.is_empty() => out.push_str("frozenset()"),
        Value::FrozenSet(items) => write_seq("frozenset({", items, "})", out),
    }
}

fn write_seq(open: &str, items: &[Value], close: &str, out: &mut String) {
    out.push_str(open);
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(v, out);
    }
    out.push_str(close);
}

/// Decimal digits of a big integer; very large ones (which Python 3.11 refuses to print
/// beyond 4300 digits) are summarised.
fn write_bigint(b: &BigInt, out: &mut String) {
    let (negative, mut magnitude) = b.sign_magnitude();
    if magnitude.len() > 1800 {
        let _ = write!(out, "<int of {} bytes>", magnitude.len());
        return;
    }
    let mut chunks = Vec::new();
    while !magnitude.is_empty() {
        // Divide by 10^9, most significant byte first.
        let mut rem: u64 = 0;
        for byte in magnitude.iter_mut().rev() {
            let cur = (rem << 8) | u64::from(*byte);
            *byte = (cur / 1_000_000_000) as u8;
            rem = cur % 1_000_000_000;
        }
        while magnitude.last() == Some(&0) {
            magnitude.pop();
        }
        chunks.push(rem);
    }
    if negative {
        out.push('-');
    }
    let mut iter = chunks.iter().rev();
    if let Some(first) = iter.next() {
        let _ = write!(out, "{first}");
    }
    for c in iter {
        let _ = write!(out, "{c:09}");
    }
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation for exponents in
/// [-4, 16), scientific with a signed two-digit exponent otherwise.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}"); // e.g. "-1.2345e-7", shortest round-trip digits
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else {
            let point = point as usize;
            if digits.len() <= point {
                format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

/// Python's `repr(str)` (see `charcoal_pyfmt::write_str_repr` for the approximation of
/// "printable").
fn write_str(s: &str, out: &mut String) {
    charcoal_pyfmt::write_str_repr(out, s);
}

/// Python's `repr(bytes)`.
fn write_bytes(b: &[u8], out: &mut String) {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push('b');
    out.push(char::from(quote));
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x20..=0x7e => out.push(char::from(c)),
            c => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(char::from(quote));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python() {
        let f = |x: f64, want: &str| assert_eq!(float_repr(x), want, "{x:e}");
        f(1e16, "1e+16");
        f(1.5e16, "1.5e+16");
        f(1e-5, "1e-05");
        f(0.0001, "0.0001");
        f(123456789012345678.0, "1.2345678901234568e+17");
        f(-0.0, "-0.0");
        f(0.0, "0.0");
        f(1e22, "1e+22");
        f(5e-324, "5e-324");
        f(9999999999999998.0, "9999999999999998.0");
        f(1.5, "1.5");
        f(100.0, "100.0");
        f(1700000000.0, "1700000000.0");
        f(0.1, "0.1");
        f(f64::NAN, "nan");
        f(f64::NEG_INFINITY, "-inf");
    }

    #[test]
    fn values_like_python() {
        let f = |v: Value, want: &str| assert_eq!(v.py_repr(), want);
        f(Value::Str("a'b".into()), "\"a'b\"");
        f(Value::Str("a'\"b".into()), "'a\\'\"b'");
        f(Value::Str("\0\u{a0}é😀\x7f".into()), "'\\x00\\xa0é😀\\x7f'");
        f(Value::Bytes(b"a'\"\0\xff".to_vec()), "b'a\\'\"\\x00\\xff'");
        f(Value::Set(vec![]), "set()");
        f(Value::FrozenSet(vec![]), "frozenset()");
        f(Value::ByteArray(b"x".to_vec()), "bytearray(b'x')");
        f(Value::Tuple(vec![Value::Int(1)]), "(1,)");
        f(
            Value::Dict(vec![(Value::Int(1), Value::Tuple(vec![Value::Int(2)]))]),
            "{1: (2,)}",
        );
        f(Value::None, "None");
        f(Value::Bool(true), "True");
        f(
            BigInt::value_from_sign_magnitude(true, &[0, 0, 0, 0, 0, 0, 0, 0, 1]),
            "-18446744073709551616",
        );
        f(
            BigInt::value_from_sign_magnitude(false, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            "20282409603651670423947251286016",
        );
    }
}
