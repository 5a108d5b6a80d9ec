//! The two text encodings of protocol 0, which old Python 2 clients still send.
//!
//! `STRING` carries a quoted Python 2 `repr` of a byte string, decoded by CPython with
//! `PyBytes_DecodeEscape`; `UNICODE` carries `raw-unicode-escape`. Both are reproduced here
//! as CPython 3.11 implements them, including its quirks (unknown escapes kept verbatim,
//! octal escapes above `\377` truncated to a byte, `\u` only after an odd run of
//! backslashes).

/// `_PyBytes_DecodeEscape` in strict mode. `None` for a trailing backslash or a bad `\x`.
pub(super) fn decode_bytes_escape(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let e = *s.get(i)?;
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'a' => out.push(0x07),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = (v << 3) + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' => {
                let hi = (*s.get(i)? as char).to_digit(16)?;
                let lo = (*s.get(i + 1)? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            _ => {
                out.push(b'\\');
                i -= 1;
            }
        }
    }
    Some(out)
}

/// Why a `raw-unicode-escape` string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawUnicodeError {
    /// `\u` or `\U` without enough hex digits, or a code point above U+10FFFF.
    BadEscape,
    /// A surrogate code point, which a Rust string cannot hold.
    Surrogate,
}

/// `raw-unicode-escape` decoding as CPython 3.11 does it: bytes are Latin-1 code points; a
/// run of backslashes is copied, and if the run is odd and followed by `u` or `U`, the last
/// backslash starts an escape of exactly 4 or 8 hex digits.
pub(super) fn decode_raw_unicode_escape(s: &[u8]) -> Result<String, RawUnicodeError> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(char::from(s[i]));
            i += 1;
            continue;
        }
        let run_start = i;
        while s.get(i) == Some(&b'\\') {
            out.push('\\');
            i += 1;
        }
        let run = i - run_start;
        let count = match s.get(i) {
            Some(b'u') if run % 2 == 1 => 4,
            Some(b'U') if run % 2 == 1 => 8,
            _ => continue,
        };
        out.pop();
        i += 1;
        let digits = s.get(i..i + count).ok_or(RawUnicodeError::BadEscape)?;
        let mut cp: u32 = 0;
        for &d in digits {
            cp = cp * 16 + (d as char).to_digit(16).ok_or(RawUnicodeError::BadEscape)?;
        }
        i += count;
        if cp > 0x10ffff {
            return Err(RawUnicodeError::BadEscape);
        }
        out.push(char::from_u32(cp).ok_or(RawUnicodeError::Surrogate)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_escape() {
        let f = |input: &[u8], want: Option<&[u8]>| {
            assert_eq!(decode_bytes_escape(input).as_deref(), want, "{input:?}");
        };
        f(b"abc", Some(b"abc"));
        f(b"a\\nb", Some(b"a\nb"));
        f(b"\\x41\\x4a", Some(b"AJ"));
        f(b"\\x4", None);
        f(b"\\x4g", None);
        f(b"\\", None);
        f(b"a\\q", Some(b"a\\q"));
        f(b"\\101\\0\\7777", Some(b"A\0\xff7"));
        f(b"\\'\\\"\\\\", Some(b"'\"\\"));
        f(b"\\a\\b\\f\\v\\r\\t", Some(b"\x07\x08\x0c\x0b\r\t"));
    }

    #[test]
    fn raw_unicode_escape() {
        let f = |input: &[u8], want: Result<&str, RawUnicodeError>| {
            let got = decode_raw_unicode_escape(input);
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{input:?}");
        };
        f(b"abc", Ok("abc"));
        f(b"\\u0041", Ok("A"));
        f(b"\\\\u0041", Ok("\\\\u0041"));
        f(b"\\\\\\u0041", Ok("\\\\A"));
        f(b"\\x41", Ok("\\x41"));
        f(b"\\", Ok("\\"));
        f(b"\xe9", Ok("\u{e9}"));
        f(b"\\U0001F600", Ok("\u{1f600}"));
        f(b"\\u00", Err(RawUnicodeError::BadEscape));
        f(b"\\u00zz", Err(RawUnicodeError::BadEscape));
        f(b"\\U00110000", Err(RawUnicodeError::BadEscape));
        f(b"\\ud800", Err(RawUnicodeError::Surrogate));
    }
}
