//! A restricted pickle decoder and a protocol-2 encoder, written for carbon's two uses of
//! pickle: metric batches on the pickle receiver (compat notes §2.2) and carbonlink
//! requests and responses (§2.3).
//!
//! # Why hand-written and restricted
//!
//! Unpickling with Python's full machinery runs arbitrary code. Carbon's `SafeUnpickler`
//! only resolves two globals, and under Python 3 not even those, so in practice carbon only
//! ever accepts *data* opcodes. This decoder knows nothing else: `GLOBAL`, `STACK_GLOBAL`,
//! `REDUCE`, `BUILD`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`, `EXT1/2/4`, `PERSID`,
//! `BINPERSID`, `NEXT_BUFFER` and `READONLY_BUFFER` are errors, and there is no code that
//! could look a name up.
//!
//! # How it decodes
//!
//! [`decode`] runs CPython's `_pickle.c` stack machine over an arena of nodes: the stack, the
//! mark stack and the memo hold node indices, so a memoised list appended to after `PUT` is
//! the same list when `GET` brings it back, as in Python. The loop is iterative; input like a
//! million `(` or `]` only grows vectors bounded by the input length. Only when `STOP` is
//! reached is the arena turned into a [`Value`] tree, depth-first with a depth limit, so a
//! cycle (a list containing itself) or a shared subtree repeated exponentially (a "billion
//! laughs" made of `GET`s) is an error, not a hang.
//!
//! Every allocation is bounded by the input length and a [`Limits`] constant: a length
//! prefix is checked against the bytes actually present before anything is allocated.
//!
//! Stack, mark and memo semantics follow `_pickle.c` (CPython 3.11): the "fence" below which
//! an opcode may not pop, `POP` removing a mark when one is on top, `MEMOIZE` using the memo's
//! size, `I01`/`I00` booleans, `strtol` for `INT`, the 4300-digit limit for decimal `LONG`,
//! and py2 strings (`STRING`, `BINSTRING`, `SHORT_BINSTRING`) decoded as UTF-8, as carbon's
//! unpickler is created with `encoding='utf-8'`. The differential tests run the same bytes
//! through `/usr/bin/python3`.
//!
//! # Differs from Python
//!
//! - A string that Python would hold with a lone surrogate (`BINUNICODE` with `surrogatepass`,
//!   `UNICODE` with `\ud800`) is an error: Rust strings cannot hold one.
//! - `APPEND(S)` only into lists, `SETITEM(S)` only into dicts, `ADDITEMS` only into sets;
//!   Python also appends to a `bytearray` and assigns list indexes.
//! - Recursive structures are an error (see above); Python builds them.
//! - Sets keep first-seen order, not Python's hash order.
//! - `PUT` with a huge index is fine (Python runs out of memory).

mod batch;
mod decode;
mod encode;
mod fast;
mod repr;
#[cfg(test)]
mod tests;
mod text;

pub use batch::{
    CarbonBatch, CarbonPoints, decode_carbon_batch, decode_carbon_batch_with_limits,
    decode_carbon_points, decode_carbon_points_with_limits,
};
pub use decode::{HIGHEST_PROTOCOL, Limits, PickleError, decode, decode_with_limits};
pub use encode::{encode, encode_into};

use crate::pynum::{parse_float, parse_float_bytes};

/// A decoded pickle: the Python data types the restricted decoder can build.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits 64 bits.
    Int(i64),
    /// An `int` that does not fit 64 bits.
    BigInt(BigInt),
    /// A `float`.
    Float(f64),
    /// A `str` (also py2 `str` from `STRING` opcodes, decoded as UTF-8 like carbon).
    Str(String),
    /// A `bytes`.
    Bytes(Vec<u8>),
    /// A `bytearray`.
    ByteArray(Vec<u8>),
    /// A `list`.
    List(Vec<Value>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `dict`, in insertion order, each key once (a repeated key kept its first position
    /// and last value, as in Python).
    Dict(Vec<(Value, Value)>),
    /// A `set`, each element once, in first-seen order.
    Set(Vec<Value>),
    /// A `frozenset`, each element once, in first-seen order.
    FrozenSet(Vec<Value>),
}

impl Value {
    /// The string, if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// For a dict, the value under the `str` key `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(pairs) => pairs
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Python's `float(x)`: numbers convert (an `int` too large for a float is `None`, where
    /// Python raises `OverflowError`), `str` and `bytes` are parsed with Python's grammar,
    /// anything else is `None`.
    pub fn py_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::BigInt(b) => b.to_f64(),
            Value::Str(s) => parse_float(s),
            Value::Bytes(b) | Value::ByteArray(b) => parse_float_bytes(b),
            _ => None,
        }
    }

    /// Python's type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::ByteArray(_) => "bytearray",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
        }
    }

    /// Python's `str(x)`: a `str` as itself, anything else as its `repr`. Best effort for
    /// non-ASCII characters that Python would escape (only control and non-space whitespace
    /// characters are escaped here).
    pub fn py_str(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.py_repr(),
        }
    }

    /// Python's `repr(x)`, with [`Value::py_str`]'s caveat.
    pub fn py_repr(&self) -> String {
        let mut out = String::new();
        repr::write_repr(self, &mut out);
        out
    }
}

/// An integer outside the `i64` range, as pickle's `LONG1`/`LONG4` store it: little-endian
/// two's complement, in the fewest bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BigInt {
    le_bytes: Vec<u8>,
}

impl BigInt {
    /// The integer from little-endian two's complement bytes: an [`Value::Int`] when it fits
    /// 64 bits, else a [`Value::BigInt`].
    pub fn value_from_le_bytes(bytes: &[u8]) -> Value {
        let mut v = bytes.to_vec();
        minimise(&mut v);
        if v.len() <= 8 {
            let fill = if v.last().is_some_and(|b| b & 0x80 != 0) {
                0xff
            } else {
                0
            };
            let mut buf = [fill; 8];
            buf[..v.len()].copy_from_slice(&v);
            Value::Int(i64::from_le_bytes(buf))
        } else {
            Value::BigInt(BigInt { le_bytes: v })
        }
    }

    /// The integer `±magnitude` (magnitude little-endian, unsigned), as [`Value::Int`] or
    /// [`Value::BigInt`].
    pub fn value_from_sign_magnitude(negative: bool, magnitude: &[u8]) -> Value {
        let mut v = magnitude.to_vec();
        v.push(0); // room for the sign bit
        if negative {
            negate(&mut v);
        }
        BigInt::value_from_le_bytes(&v)
    }

    /// Little-endian two's complement bytes, shortest form.
    pub fn le_bytes(&self) -> &[u8] {
        &self.le_bytes
    }

    /// Whether the integer is negative.
    pub fn is_negative(&self) -> bool {
        self.le_bytes.last().is_some_and(|b| b & 0x80 != 0)
    }

    /// The sign and the magnitude as little-endian unsigned bytes without high zero bytes.
    pub fn sign_magnitude(&self) -> (bool, Vec<u8>) {
        let negative = self.is_negative();
        let mut m = self.le_bytes.clone();
        if negative {
            negate(&mut m);
        }
        while m.last() == Some(&0) {
            m.pop();
        }
        (negative, m)
    }

    /// Python's `float(int)`: correctly rounded, `None` where Python raises `OverflowError`.
    pub fn to_f64(&self) -> Option<f64> {
        let (negative, m) = self.sign_magnitude();
        let bits = m.len() * 8 - m.last().map_or(8, |b| b.leading_zeros() as usize);
        if bits > 1024 {
            return None;
        }
        // Top 64 bits, with a sticky bit for anything below, round exactly once.
        let shift = bits.saturating_sub(64);
        let mut top: u64 = 0;
        for i in (0..bits.min(64)).rev() {
            let bit = shift + i;
            top = (top << 1) | u64::from((m[bit / 8] >> (bit % 8)) & 1);
        }
        let sticky = (0..shift).any(|bit| (m[bit / 8] >> (bit % 8)) & 1 == 1);
        if sticky {
            top |= 1;
        }
        let magnitude = (top as f64) * 2f64.powi(shift as i32);
        if magnitude.is_infinite() {
            return None;
        }
        Some(if negative { -magnitude } else { magnitude })
    }
}

/// Two's complement negation in place (little-endian).
fn negate(v: &mut [u8]) {
    let mut carry = true;
    for b in v.iter_mut() {
        let (n, c) = (!*b).overflowing_add(u8::from(carry));
        *b = n;
        carry = c;
    }
}

/// Drops redundant sign-extension bytes from little-endian two's complement.
fn minimise(v: &mut Vec<u8>) {
    while v.len() > 1 {
        let last = v[v.len() - 1];
        let prev = v[v.len() - 2];
        if (last == 0 && prev & 0x80 == 0) || (last == 0xff && prev & 0x80 != 0) {
            v.pop();
        } else {
            break;
        }
    }
    if v.len() == 1 && v[0] == 0 {
        v.clear();
    }
}
