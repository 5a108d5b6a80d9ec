//! The fast path for the pickles carbon senders actually write: a list of
//! `(str, (number, number))` tuples, as `pickle.dumps` makes it at protocols 1 to 5
//! (carbon-relay, graphite's `carbon-client.py`, Diamond, collectd's and statsd's pickle
//! writers: protocol 2, names as `X`/`U`/`0x8c` strings, numbers as `J`/`K`/`M`/`G`/`LONG1`).
//!
//! The general decoder builds a tree of nodes, then [`super::Value`]s (two `Vec`s and a
//! `String` per point) before the batch rules look at them; this one reads the opcodes
//! straight into `(name, timestamp, value)` with the names borrowed from the frame. It is
//! an optimisation, never a second set of rules: it understands a subset of the opcodes
//! and shapes, and returns `None` for anything else — another opcode, another shape, a
//! bad length, invalid UTF-8, a memo reference to something it did not keep — so the
//! general decoder decides, with its limits and its errors. What it accepts it decodes
//! exactly as the general path does (the differential tests run both on Python's
//! pickles of every protocol, and on mutations of them).
//!
//! Memory is bounded by the frame: one stack item per opcode at most, and a memo of at
//! most [`MAX_MEMO`] entries. The general decoder's [`Limits`] are counted the way it
//! counts them (every appearance of a shared string or tuple), so a batch that would
//! exceed them — a small frame naming one long string a million times — goes to the
//! general decoder too, and is refused there.

use super::BigInt;
use super::decode::Limits;

/// Memo indexes the fast path keeps (a frame's memo is one entry per string and tuple);
/// a pickle using larger ones goes to the general decoder.
const MAX_MEMO: usize = 1 << 16;

#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    List,
    Mark,
    Str(&'a str),
    Num(f64),
    Pair(f64, f64),
    Point(&'a str, f64, f64),
}

/// What a frame holds: points in order, and the points skipped for carbon's reasons.
#[derive(Debug, Default)]
pub(crate) struct FastBatch<'a> {
    pub(crate) points: Vec<(&'a str, f64, f64)>,
    pub(crate) bad_numbers: usize,
    pub(crate) nan_values: usize,
}

impl<'a> FastBatch<'a> {
    fn add(&mut self, name: &'a str, timestamp: f64, value: f64) {
        // The general path's order: NaN value first, then a non-finite timestamp.
        if value.is_nan() {
            self.nan_values += 1;
        } else if !timestamp.is_finite() {
            self.bad_numbers += 1;
        } else {
            self.points.push((name, timestamp, value));
        }
    }
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.input.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn len_u32(&mut self) -> Option<usize> {
        usize::try_from(u32::from_le_bytes(self.array()?)).ok()
    }

    fn len_i32(&mut self) -> Option<usize> {
        usize::try_from(i32::from_le_bytes(self.array()?)).ok()
    }

    fn len_u64(&mut self) -> Option<usize> {
        usize::try_from(u64::from_le_bytes(self.array()?)).ok()
    }

    fn str(&mut self, n: usize, max: usize) -> Option<&'a str> {
        if n > max {
            return None;
        }
        std::str::from_utf8(self.take(n)?).ok()
    }
}

/// Items a point adds to the general decoder's result: its tuple, the name, the inner
/// tuple and two numbers.
const ITEMS_PER_POINT: usize = 5;

/// Decodes `input` if it is a plain carbon batch within `limits`; `None` leaves it to the
/// general decoder.
pub(crate) fn decode<'a>(input: &'a [u8], limits: &Limits) -> Option<FastBatch<'a>> {
    // A batch nests three deep: the list, a point, its time and value.
    if limits.max_depth < 3 {
        return None;
    }
    let max_memo = MAX_MEMO.min(limits.max_memo);
    let mut r = Reader { input, pos: 0 };
    // The list itself, then each point's items and name bytes, per appearance.
    let mut items = 1usize;
    let mut bytes = 0usize;
    let mut count = |name: &str| {
        items += ITEMS_PER_POINT;
        bytes += name.len();
        items <= limits.max_items && bytes <= limits.max_total_bytes
    };
    let mut stack: Vec<Item<'_>> = Vec::new();
    let mut memo: Vec<Option<Item<'_>>> = Vec::new();
    let mut memo_len = 0usize;
    let mut out = FastBatch::default();
    loop {
        match r.u8()? {
            0x80 => {
                if r.u8()? > super::HIGHEST_PROTOCOL {
                    return None;
                }
            }
            0x95 => {
                let n = r.len_u64()?;
                if n > input.len() - r.pos {
                    return None;
                }
            }
            b']' if stack.is_empty() => stack.push(Item::List),
            b'(' => stack.push(Item::Mark),
            // Memo writes: BINPUT, LONG_BINPUT, MEMOIZE (whose index is the memo's size).
            op @ (b'q' | b'r' | 0x94) => {
                let index = match op {
                    b'q' => usize::from(r.u8()?),
                    b'r' => r.len_u32()?,
                    _ => memo_len,
                };
                let top = *stack.last()?;
                if matches!(top, Item::Mark) {
                    return None;
                }
                if index >= MAX_MEMO {
                    return None;
                }
                if index >= memo.len() {
                    memo.resize(index + 1, None);
                }
                if memo[index].is_none() {
                    if memo_len >= max_memo {
                        return None;
                    }
                    memo_len += 1;
                }
                memo[index] = Some(top);
            }
            // Memo reads: BINGET, LONG_BINGET, of a string or a tuple.
            op @ (b'h' | b'j') => {
                let index = if op == b'h' {
                    usize::from(r.u8()?)
                } else {
                    r.len_u32()?
                };
                match memo.get(index).copied().flatten()? {
                    Item::List | Item::Mark => return None,
                    item => stack.push(item),
                }
            }
            // str: SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, and the py2 strings
            // SHORT_BINSTRING and BINSTRING, which the general decoder reads as UTF-8 too.
            0x8c | b'U' => {
                let n = usize::from(r.u8()?);
                stack.push(Item::Str(r.str(n, limits.max_string_len)?));
            }
            b'X' => {
                let n = r.len_u32()?;
                stack.push(Item::Str(r.str(n, limits.max_string_len)?));
            }
            b'T' => {
                let n = r.len_i32()?;
                stack.push(Item::Str(r.str(n, limits.max_string_len)?));
            }
            0x8d => {
                let n = r.len_u64()?;
                stack.push(Item::Str(r.str(n, limits.max_string_len)?));
            }
            // Numbers: BININT, BININT1, BININT2, BINFLOAT, LONG1 of up to 8 bytes.
            b'J' => stack.push(Item::Num(f64::from(i32::from_le_bytes(r.array()?)))),
            b'K' => stack.push(Item::Num(f64::from(r.u8()?))),
            b'M' => stack.push(Item::Num(f64::from(u16::from_le_bytes(r.array()?)))),
            b'G' => stack.push(Item::Num(f64::from_be_bytes(r.array()?))),
            0x8a => {
                let n = usize::from(r.u8()?);
                if n > 8 {
                    return None;
                }
                stack.push(Item::Num(
                    BigInt::value_from_le_bytes(r.take(n)?).py_float()?,
                ));
            }
            // TUPLE2, or MARK ... TUPLE of two items.
            0x86 => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                stack.push(pair(a, b)?);
            }
            b't' => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                if !matches!(stack.pop()?, Item::Mark) {
                    return None;
                }
                stack.push(pair(a, b)?);
            }
            b'a' => {
                let Item::Point(name, t, v) = stack.pop()? else {
                    return None;
                };
                if !matches!(stack.last()?, Item::List) || !count(name) {
                    return None;
                }
                out.add(name, t, v);
            }
            b'e' => {
                let mark = stack.iter().rposition(|i| matches!(i, Item::Mark))?;
                if mark == 0 || !matches!(stack[mark - 1], Item::List) {
                    return None;
                }
                for item in stack.drain(mark..).skip(1) {
                    let Item::Point(name, t, v) = item else {
                        return None;
                    };
                    if !count(name) {
                        return None;
                    }
                    out.add(name, t, v);
                }
            }
            b'.' => {
                return matches!(stack.as_slice(), [Item::List]).then_some(out);
            }
            _ => return None,
        }
    }
}

/// A two-item tuple: `(number, number)` is a point's time and value, `(str, that)` a point.
fn pair<'a>(a: Item<'a>, b: Item<'a>) -> Option<Item<'a>> {
    match (a, b) {
        (Item::Num(t), Item::Num(v)) => Some(Item::Pair(t, v)),
        (Item::Str(name), Item::Pair(t, v)) => Some(Item::Point(name, t, v)),
        _ => None,
    }
}
