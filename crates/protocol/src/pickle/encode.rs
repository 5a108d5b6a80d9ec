//! Protocol-2 pickling of a [`Value`], for carbonlink responses and graphite-web's
//! `format=pickle`.
//!
//! Carbon answers carbonlink with `pickle.dumps(result, protocol=2)`. The bytes here are not
//! identical to Python's (no memo `BINPUT`s, which only matter for shared objects) but
//! `pickle.loads` returns an equal object; the differential tests check that.
//!
//! Protocol 2 has no opcode for `bytes`, `bytearray` or `set` (Python emits `GLOBAL` +
//! `REDUCE` for them, which no safe unpickler accepts); this encoder uses the protocol 3–5
//! opcodes instead (`BINBYTES`, `BYTEARRAY8`, `EMPTY_SET`/`ADDITEMS`), which any Python 3
//! `pickle.loads` reads whatever the protocol header says.

use super::Value;

/// Python's batch size for `APPENDS`/`SETITEMS`/`ADDITEMS`.
const BATCH: usize = 1000;

/// `pickle.dumps(value, protocol=2)`, as described in the module docs.
///
/// Recurses once per level of nesting: meant for values built by code, not for arbitrary
/// depth.
///
/// ```
/// use charcoal_protocol::pickle::{decode, encode, Value};
/// let v = Value::Dict(vec![(Value::Str("value".into()), Value::Str("average".into()))]);
/// assert_eq!(decode(&encode(&v)).unwrap(), v);
/// ```
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// [`encode`], appending to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x80, 2]);
    write(value, out);
    out.push(b'.');
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::None => out.push(b'N'),
        Value::Bool(true) => out.push(0x88),
        Value::Bool(false) => out.push(0x89),
        Value::Int(i) => write_int(*i, out),
        Value::BigInt(b) => write_long(b.le_bytes(), out),
        Value::Float(f) => {
            out.push(b'G');
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Str(s) => {
            match u32::try_from(s.len()) {
                Ok(n) => {
                    out.push(b'X');
                    out.extend_from_slice(&n.to_le_bytes());
                }
                Err(_) => {
                    out.push(0x8d);
                    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                }
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            if let Ok(n) = u8::try_from(b.len()) {
                out.extend_from_slice(&[b'C', n]);
            } else if let Ok(n) = u32::try_from(b.len()) {
                out.push(b'B');
                out.extend_from_slice(&n.to_le_bytes());
            } else {
                out.push(0x8e);
                out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            }
            out.extend_from_slice(b);
        }
        Value::ByteArray(b) => {
            out.push(0x96);
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
        Value::List(items) => {
            out.push(b']');
            write_batched(items, out, b'a', b'e', write);
        }
        Value::Tuple(items) => match items.len() {
            0 => out.push(b')'),
            1..=3 => {
                for v in items {
                    write(v, out);
                }
                out.push(0x84 + items.len() as u8);
            }
            _ => {
                out.push(b'(');
                for v in items {
                    write(v, out);
                }
                out.push(b't');
            }
        },
        Value::Dict(pairs) => {
            out.push(b'}');
            write_batched(pairs, out, b's', b'u', |(k, v), out| {
                write(k, out);
                write(v, out);
            });
        }
        Value::Set(items) => {
            out.push(0x8f);
            for chunk in items.chunks(BATCH) {
                out.push(b'(');
                for v in chunk {
                    write(v, out);
                }
                out.push(0x90);
            }
        }
        Value::FrozenSet(items) => {
            out.push(b'(');
            for v in items {
                write(v, out);
            }
            out.push(0x91);
        }
    }
}

/// Python's `_batch_appends` / `_batch_setitems`: one item with the single opcode, more
/// between a mark and the batch opcode.
fn write_batched<T>(
    items: &[T],
    out: &mut Vec<u8>,
    single: u8,
    many: u8,
    mut each: impl FnMut(&T, &mut Vec<u8>),
) {
    for chunk in items.chunks(BATCH) {
        if let [one] = chunk {
            each(one, out);
            out.push(single);
        } else {
            out.push(b'(');
            for item in chunk {
                each(item, out);
            }
            out.push(many);
        }
    }
}

/// Python's `save_long` for protocol 2.
fn write_int(i: i64, out: &mut Vec<u8>) {
    if let Ok(b) = u8::try_from(i) {
        out.extend_from_slice(&[b'K', b]);
    } else if let Ok(w) = u16::try_from(i) {
        out.push(b'M');
        out.extend_from_slice(&w.to_le_bytes());
    } else if let Ok(d) = i32::try_from(i) {
        out.push(b'J');
        out.extend_from_slice(&d.to_le_bytes());
    } else {
        let mut bytes = i.to_le_bytes().to_vec();
        // Shortest two's complement, as `encode_long`.
        while bytes.len() > 1 {
            let (last, prev) = (bytes[bytes.len() - 1], bytes[bytes.len() - 2]);
            if (last == 0 && prev & 0x80 == 0) || (last == 0xff && prev & 0x80 != 0) {
                bytes.pop();
            } else {
                break;
            }
        }
        write_long(&bytes, out);
    }
}

fn write_long(le: &[u8], out: &mut Vec<u8>) {
    if let Ok(n) = u8::try_from(le.len()) {
        out.extend_from_slice(&[0x8a, n]);
    } else {
        out.push(0x8b);
        out.extend_from_slice(&(le.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(le);
}
