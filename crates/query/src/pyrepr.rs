//! Python's `repr(float)` (and `str(float)`, the same in Python 3).
//!
//! graphite-web turns numbers into text with `str()` when it substitutes template values,
//! and with `repr` in the differential tests' canonical dumps. Python prints the shortest
//! digits that round-trip (as Rust's `{:e}` does) and switches to exponent form when the
//! decimal exponent is below -4 or at least 16.

/// `repr(v)` as CPython 3 prints it: `1.0`, `0.0001`, `1e-05`, `1e+16`, `-0.0`, `inf`, `nan`.
pub(crate) fn float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "1e16", "0e0".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Python's decpt: the value is 0.DIGITS * 10**decpt.
    let decpt = exp + 1;
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            for _ in 0..-decpt {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let d = decpt as usize;
            if digits.len() <= d {
                out.push_str(&digits);
                for _ in digits.len()..d {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..d]);
                out.push('.');
                out.push_str(&digits[d..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let a = e.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::float_repr;

    #[test]
    fn float_repr_matches_python() {
        let f = |v: f64, want: &str| assert_eq!(float_repr(v), want, "repr({v:?})");
        f(0.0, "0.0");
        f(-0.0, "-0.0");
        f(1.0, "1.0");
        f(2.5, "2.5");
        f(-0.1, "-0.1");
        f(100000.0, "100000.0");
        f(1e15, "1000000000000000.0");
        f(1234567890123456.0, "1234567890123456.0");
        f(1e16, "1e+16");
        f(1.5e16, "1.5e+16");
        f(1e20, "1e+20");
        f(0.0001, "0.0001");
        f(0.00012, "0.00012");
        f(1e-5, "1e-05");
        f(1.5e-7, "1.5e-07");
        f(1e-100, "1e-100");
        f(1.7976931348623157e308, "1.7976931348623157e+308");
        f(5e-324, "5e-324");
        f(0.1 + 0.2, "0.30000000000000004");
        f(f64::INFINITY, "inf");
        f(f64::NEG_INFINITY, "-inf");
        f(f64::NAN, "nan");
        f(123.456, "123.456");
    }
}
