//! The restricted stack machine and the arena-to-[`Value`] conversion.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::text::{RawUnicodeError, decode_bytes_escape, decode_raw_unicode_escape};
use super::{BigInt, Value};
use crate::pynum::{IntBase, parse_int, strtod, strtol};

/// The highest pickle protocol (Python 3.8+'s `pickle.HIGHEST_PROTOCOL`).
pub const HIGHEST_PROTOCOL: u8 = 5;

/// Deepest nesting [`Limits::max_depth`] may ask for: the conversion to [`Value`] recurses
/// once per level, so this keeps it far from any thread's stack size.
const MAX_DEPTH_CEILING: usize = 512;

/// Bounds on what one pickle may make the decoder build. Each is also bounded by the input:
/// no opcode creates more than one node, and every length prefix is checked against the
/// bytes present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of containers in the result (carbon batches need 3). At most 512.
    pub max_depth: usize,
    /// Most containers and scalars, counted both while decoding and in the result (a value
    /// shared through the memo counts each time it appears).
    pub max_items: usize,
    /// Longest single string, bytes or bytearray.
    pub max_string_len: usize,
    /// Most bytes of strings in the result, counting each appearance of a shared string.
    pub max_total_bytes: usize,
    /// Most memo entries.
    pub max_memo: usize,
}

impl Default for Limits {
    /// Room for carbon's 1 MiB frames of any shape a client produces (a point needs about
    /// five items and thirty bytes), and a few hundred megabytes at most in the worst case.
    fn default() -> Limits {
        Limits {
            max_depth: 64,
            max_items: 2 << 20,
            max_string_len: 1 << 20,
            max_total_bytes: 64 << 20,
            max_memo: 1 << 20,
        }
    }
}

/// Why a pickle was refused. `offset` is the byte offset of the opcode.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// The input ended before `STOP`, inside an argument, or a `FRAME` runs past the end.
    #[error("pickle data was truncated at byte {offset}")]
    Truncated {
        /// Where more input was needed.
        offset: usize,
    },
    /// An opcode that loads or calls code, or needs out-of-band data.
    #[error("opcode {name} at byte {offset} is not allowed: only data opcodes are")]
    Forbidden {
        /// The opcode's name in Python's `pickletools`.
        name: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// A byte that is no pickle opcode.
    #[error("invalid opcode 0x{opcode:02x} at byte {offset}")]
    UnknownOpcode {
        /// The byte.
        opcode: u8,
        /// Its offset.
        offset: usize,
    },
    /// `PROTO` above 5.
    #[error("unsupported pickle protocol {0}")]
    Protocol(u8),
    /// An opcode needed more stack items than there are above the last mark.
    #[error("stack underflow at byte {offset}")]
    StackUnderflow {
        /// Offset of the opcode.
        offset: usize,
    },
    /// An opcode needed a mark and there is none.
    #[error("could not find MARK for the opcode at byte {offset}")]
    NoMark {
        /// Offset of the opcode.
        offset: usize,
    },
    /// A malformed argument: a number, a quoted string, an escape, a negative length.
    #[error("invalid {what} at byte {offset}")]
    Invalid {
        /// What was malformed.
        what: &'static str,
        /// Offset of the opcode.
        offset: usize,
    },
    /// `GET` of an index never `PUT`.
    #[error("memo has no entry {index} (byte {offset})")]
    MemoMissing {
        /// The index asked for.
        index: i64,
        /// Offset of the opcode.
        offset: usize,
    },
    /// `APPEND`, `SETITEM` or `ADDITEMS` onto something that is not a list, dict or set.
    #[error("{opcode} at byte {offset} needs a {expected} below its items")]
    WrongTarget {
        /// The opcode.
        opcode: &'static str,
        /// What it needs.
        expected: &'static str,
        /// Offset of the opcode.
        offset: usize,
    },
    /// A list, dict, set or bytearray (or a tuple holding one) as a dict key or set item.
    #[error("unhashable value used as a dict key or set item at byte {offset}")]
    Unhashable {
        /// Offset of the opcode.
        offset: usize,
    },
    /// `DICT` or `SETITEMS` with a key and no value.
    #[error("odd number of items for {opcode} at byte {offset}")]
    OddItems {
        /// The opcode.
        opcode: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// A string or bytes argument that is not valid UTF-8 where a `str` is made.
    #[error("string at byte {offset} is not valid UTF-8")]
    Utf8 {
        /// Offset of the opcode.
        offset: usize,
    },
    /// Containers nested deeper than [`Limits::max_depth`] (or a recursive structure).
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// More items than [`Limits::max_items`].
    #[error("more than {max} items")]
    TooManyItems {
        /// The limit.
        max: usize,
    },
    /// A string longer than [`Limits::max_string_len`].
    #[error("string of {len} bytes at byte {offset} exceeds the limit of {max}")]
    StringTooLong {
        /// Its announced length.
        len: u64,
        /// The limit.
        max: usize,
        /// Offset of the opcode.
        offset: usize,
    },
    /// More string bytes in the result than [`Limits::max_total_bytes`].
    #[error("more than {max} bytes of strings")]
    TooManyBytes {
        /// The limit.
        max: usize,
    },
    /// A carbon batch payload that is not a list, tuple, set, frozenset or dict.
    #[error("pickle payload is a {found}, not a list of datapoints")]
    NotABatch {
        /// Python's name of its type.
        found: &'static str,
    },
    /// More memo entries than [`Limits::max_memo`].
    #[error("more than {max} memo entries")]
    MemoTooLarge {
        /// The limit.
        max: usize,
    },
}

type NodeId = usize;

/// One object of the pickle machine. Containers refer to other nodes, so sharing through the
/// memo is sharing, as in Python.
#[derive(Debug)]
enum Node {
    Scalar(Value),
    List(Vec<NodeId>),
    Tuple { items: Vec<NodeId>, hashable: bool },
    Dict(Vec<(NodeId, NodeId)>),
    Set(Vec<NodeId>),
    FrozenSet(Vec<NodeId>),
}

/// Decodes `input` with [`Limits::default`].
pub fn decode(input: &[u8]) -> Result<Value, PickleError> {
    decode_with_limits(input, &Limits::default())
}

/// Decodes one pickle (bytes after its `STOP` are ignored, as by `pickle.loads`).
///
/// ```
/// use charcoal_protocol::pickle::{decode, Value};
/// // pickle.dumps([('a', 1)], protocol=2)
/// let v = decode(b"\x80\x02]q\x00X\x01\x00\x00\x00aq\x01K\x01\x86q\x02a.").unwrap();
/// assert_eq!(v, Value::List(vec![Value::Tuple(vec![Value::Str("a".into()), Value::Int(1)])]));
/// assert!(decode(b"cos\nsystem\n(S'id'\ntR.").is_err());
/// ```
pub fn decode_with_limits(input: &[u8], limits: &Limits) -> Result<Value, PickleError> {
    let mut limits = limits.clone();
    limits.max_depth = limits.max_depth.min(MAX_DEPTH_CEILING);
    let mut m = Machine {
        input,
        pos: 0,
        op_at: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        limits,
    };
    let root = m.run()?;
    let mut b = Builder {
        nodes: &m.nodes,
        limits: &m.limits,
        items: 0,
        bytes: 0,
    };
    b.build(root, 0)
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Offset of the opcode being run, for errors.
    op_at: usize,
    nodes: Vec<Node>,
    stack: Vec<NodeId>,
    /// Stack heights at each `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u64, NodeId>,
    limits: Limits,
}

impl<'a> Machine<'a> {
    fn truncated(&self) -> PickleError {
        PickleError::Truncated { offset: self.pos }
    }

    fn invalid(&self, what: &'static str) -> PickleError {
        PickleError::Invalid {
            what,
            offset: self.op_at,
        }
    }

    fn underflow(&self) -> PickleError {
        PickleError::StackUnderflow { offset: self.op_at }
    }

    /// `n` bytes, checked against what is present before anything is done with `n`.
    fn read(&mut self, n: u64) -> Result<&'a [u8], PickleError> {
        let remaining = (self.input.len() - self.pos) as u64;
        if n > remaining {
            return Err(self.truncated());
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.input[start..self.pos])
    }

    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let bytes = self.read(N as u64)?;
        let mut a = [0; N];
        a.copy_from_slice(bytes);
        Ok(a)
    }

    fn read_u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.read_array::<1>()?[0])
    }

    fn read_u32(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from(u32::from_le_bytes(self.read_array()?)))
    }

    fn read_u64(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.read_array()?))
    }

    /// A string argument of announced length `n`: bounded by the input and the limit.
    fn read_string(&mut self, n: u64) -> Result<&'a [u8], PickleError> {
        if n > self.limits.max_string_len as u64 {
            return Err(PickleError::StringTooLong {
                len: n,
                max: self.limits.max_string_len,
                offset: self.op_at,
            });
        }
        self.read(n)
    }

    /// A `\n`-terminated argument, without the `\n`. CPython refuses an empty one for most
    /// opcodes ("pickle data was truncated"), which `nonempty` asks for.
    fn readline(&mut self, nonempty: bool) -> Result<&'a [u8], PickleError> {
        let rest = &self.input[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.truncated())?;
        if nonempty && n == 0 {
            return Err(self.truncated());
        }
        if n as u64 > self.limits.max_string_len as u64 {
            return Err(PickleError::StringTooLong {
                len: n as u64,
                max: self.limits.max_string_len,
                offset: self.op_at,
            });
        }
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn new_node(&mut self, node: Node) -> Result<NodeId, PickleError> {
        if self.nodes.len() >= self.limits.max_items {
            return Err(PickleError::TooManyItems {
                max: self.limits.max_items,
            });
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    fn push(&mut self, node: Node) -> Result<(), PickleError> {
        let id = self.new_node(node)?;
        self.stack.push(id);
        Ok(())
    }

    fn push_scalar(&mut self, v: Value) -> Result<(), PickleError> {
        self.push(Node::Scalar(v))
    }

    fn push_str(&mut self, bytes: &[u8]) -> Result<(), PickleError> {
        let s = std::str::from_utf8(bytes).map_err(|_| PickleError::Utf8 { offset: self.op_at })?;
        self.push_scalar(Value::Str(s.to_owned()))
    }

    fn top(&self) -> Result<NodeId, PickleError> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    /// `marker()`: pops the last mark and returns the stack height it recorded.
    fn pop_mark(&mut self) -> Result<usize, PickleError> {
        self.marks
            .pop()
            .ok_or(PickleError::NoMark { offset: self.op_at })
    }

    fn hashable(&self, id: NodeId) -> bool {
        match &self.nodes[id] {
            Node::Scalar(v) => !matches!(v, Value::ByteArray(_)),
            Node::Tuple { hashable, .. } => *hashable,
            Node::FrozenSet(_) => true,
            Node::List(_) | Node::Dict(_) | Node::Set(_) => false,
        }
    }

    fn check_hashable(&self, ids: impl IntoIterator<Item = NodeId>) -> Result<(), PickleError> {
        for id in ids {
            if !self.hashable(id) {
                return Err(PickleError::Unhashable { offset: self.op_at });
            }
        }
        Ok(())
    }

    fn memo_put(&mut self, index: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        let max = self.limits.max_memo;
        if self.memo.len() >= max && !self.memo.contains_key(&index) {
            return Err(PickleError::MemoTooLarge { max });
        }
        self.memo.insert(index, top);
        Ok(())
    }

    fn memo_get(&mut self, index: i64) -> Result<(), PickleError> {
        let id = u64::try_from(index)
            .ok()
            .and_then(|i| self.memo.get(&i).copied())
            .ok_or(PickleError::MemoMissing {
                index,
                offset: self.op_at,
            })?;
        self.stack.push(id);
        Ok(())
    }

    /// `do_append(x)`: moves the items above height `x` into the list at `x - 1`.
    fn append_from(&mut self, x: usize, opcode: &'static str) -> Result<(), PickleError> {
        let len = self.stack.len();
        if x > len || x <= self.fence() {
            return Err(self.underflow());
        }
        if x == len {
            return Ok(());
        }
        let target = self.stack[x - 1];
        let items: Vec<NodeId> = self.stack.drain(x..).collect();
        match &mut self.nodes[target] {
            Node::List(list) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(PickleError::WrongTarget {
                opcode,
                expected: "list",
                offset: self.op_at,
            }),
        }
    }

    /// `do_setitems(x)`: moves key/value pairs above height `x` into the dict at `x - 1`.
    fn setitems_from(&mut self, x: usize, opcode: &'static str) -> Result<(), PickleError> {
        let len = self.stack.len();
        if x > len || x <= self.fence() {
            return Err(self.underflow());
        }
        if x == len {
            return Ok(());
        }
        if !(len - x).is_multiple_of(2) {
            return Err(PickleError::OddItems {
                opcode: "SETITEMS",
                offset: self.op_at,
            });
        }
        let target = self.stack[x - 1];
        if !matches!(self.nodes[target], Node::Dict(_)) {
            return Err(PickleError::WrongTarget {
                opcode,
                expected: "dict",
                offset: self.op_at,
            });
        }
        self.check_hashable(self.stack[x..].iter().step_by(2).copied())?;
        let items: Vec<NodeId> = self.stack.drain(x..).collect();
        if let Node::Dict(pairs) = &mut self.nodes[target] {
            pairs.extend(items.chunks_exact(2).map(|kv| (kv[0], kv[1])));
        }
        Ok(())
    }

    /// Builds a tuple of the top `n` items (`TUPLE1..3`), not reaching below the fence.
    fn counted_tuple(&mut self, n: usize) -> Result<(), PickleError> {
        let len = self.stack.len();
        if len < n || len - n < self.fence() {
            return Err(self.underflow());
        }
        let items: Vec<NodeId> = self.stack.drain(len - n..).collect();
        self.push_tuple(items)
    }

    fn push_tuple(&mut self, items: Vec<NodeId>) -> Result<(), PickleError> {
        let hashable = items.iter().all(|&id| self.hashable(id));
        self.push(Node::Tuple { items, hashable })
    }

    fn parse_int_arg(
        &self,
        line: &[u8],
        base: IntBase,
        what: &'static str,
    ) -> Result<Value, PickleError> {
        let p = parse_int(line, base).ok_or_else(|| self.invalid(what))?;
        Ok(BigInt::value_from_sign_magnitude(p.negative, &p.magnitude))
    }

    /// A memo index argument of `PUT`/`GET`: Python's `int(line, 10)` as a C `ssize_t`.
    fn memo_index_arg(&self, line: &[u8], what: &'static str) -> Result<i64, PickleError> {
        match self.parse_int_arg(line, IntBase::Ten, what)? {
            Value::Int(i) => Ok(i),
            _ => Err(self.invalid(what)),
        }
    }

    fn run(&mut self) -> Result<NodeId, PickleError> {
        loop {
            self.op_at = self.pos;
            let Some(&op) = self.input.get(self.pos) else {
                return Err(self.truncated());
            };
            self.pos += 1;
            match op {
                // --- framing and control ---
                0x80 => {
                    let proto = self.read_u8()?;
                    if proto > HIGHEST_PROTOCOL {
                        return Err(PickleError::Protocol(proto));
                    }
                }
                0x95 => {
                    // FRAME: a hint; CPython only checks that the frame is present.
                    let n = self.read_u64()?;
                    let remaining = (self.input.len() - self.pos) as u64;
                    if n > remaining {
                        return Err(self.truncated());
                    }
                }
                b'.' => {
                    let top = self.top()?;
                    return Ok(top);
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    // POP removes a mark when one sits on top of the stack.
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else if self.stack.len() <= self.fence() {
                        return Err(self.underflow());
                    } else {
                        self.stack.pop();
                    }
                }
                b'1' => {
                    let x = self.pop_mark()?;
                    self.stack.truncate(x);
                }
                b'2' => {
                    let top = self.top()?;
                    self.stack.push(top);
                }

                // --- memo ---
                b'p' => {
                    let line = self.readline(true)?;
                    let i = self.memo_index_arg(line, "PUT argument")?;
                    let i = u64::try_from(i).map_err(|_| self.invalid("negative PUT argument"))?;
                    self.memo_put(i)?;
                }
                b'q' => {
                    let i = self.read_u8()?;
                    self.memo_put(u64::from(i))?;
                }
                b'r' => {
                    let i = self.read_u32()?;
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u64;
                    self.memo_put(i)?;
                }
                b'g' => {
                    let line = self.readline(true)?;
                    let i = self.memo_index_arg(line, "GET argument")?;
                    self.memo_get(i)?;
                }
                b'h' => {
                    let i = self.read_u8()?;
                    self.memo_get(i64::from(i))?;
                }
                b'j' => {
                    let i = self.read_u32()?;
                    self.memo_get(i as i64)?;
                }

                // --- containers ---
                b']' => self.push(Node::List(Vec::new()))?,
                b')' => self.push_tuple(Vec::new())?,
                b'}' => self.push(Node::Dict(Vec::new()))?,
                0x8f => self.push(Node::Set(Vec::new()))?,
                b'a' => {
                    let x = self.stack.len().wrapping_sub(1);
                    if self.stack.is_empty() {
                        return Err(self.underflow());
                    }
                    self.append_from(x, "APPEND")?;
                }
                b'e' => {
                    let x = self.pop_mark()?;
                    self.append_from(x, "APPENDS")?;
                }
                b's' => {
                    if self.stack.len() < 2 {
                        return Err(self.underflow());
                    }
                    let x = self.stack.len() - 2;
                    self.setitems_from(x, "SETITEM")?;
                }
                b'u' => {
                    let x = self.pop_mark()?;
                    self.setitems_from(x, "SETITEMS")?;
                }
                0x90 => {
                    let x = self.pop_mark()?;
                    let len = self.stack.len();
                    if x > len || x <= self.fence() {
                        return Err(self.underflow());
                    }
                    if x < len {
                        let target = self.stack[x - 1];
                        if !matches!(self.nodes[target], Node::Set(_)) {
                            return Err(PickleError::WrongTarget {
                                opcode: "ADDITEMS",
                                expected: "set",
                                offset: self.op_at,
                            });
                        }
                        self.check_hashable(self.stack[x..].iter().copied())?;
                        let items: Vec<NodeId> = self.stack.drain(x..).collect();
                        if let Node::Set(set) = &mut self.nodes[target] {
                            set.extend(items);
                        }
                    }
                }
                b't' => {
                    let x = self.pop_mark()?;
                    let items = self.stack.split_off(x);
                    self.push_tuple(items)?;
                }
                0x85 => self.counted_tuple(1)?,
                0x86 => self.counted_tuple(2)?,
                0x87 => self.counted_tuple(3)?,
                b'l' => {
                    let x = self.pop_mark()?;
                    let items = self.stack.split_off(x);
                    self.push(Node::List(items))?;
                }
                b'd' => {
                    let x = self.pop_mark()?;
                    let items = self.stack.split_off(x);
                    if !items.len().is_multiple_of(2) {
                        return Err(PickleError::OddItems {
                            opcode: "DICT",
                            offset: self.op_at,
                        });
                    }
                    self.check_hashable(items.iter().step_by(2).copied())?;
                    let pairs = items.chunks_exact(2).map(|kv| (kv[0], kv[1])).collect();
                    self.push(Node::Dict(pairs))?;
                }
                0x91 => {
                    let x = self.pop_mark()?;
                    let items = self.stack.split_off(x);
                    self.check_hashable(items.iter().copied())?;
                    self.push(Node::FrozenSet(items))?;
                }

                // --- scalars ---
                b'N' => self.push_scalar(Value::None)?,
                0x88 => self.push_scalar(Value::Bool(true))?,
                0x89 => self.push_scalar(Value::Bool(false))?,
                b'I' => {
                    let line = self.readline(true)?;
                    let v = self.load_int(line)?;
                    self.push_scalar(v)?;
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.read_array()?);
                    self.push_scalar(Value::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = self.read_u8()?;
                    self.push_scalar(Value::Int(i64::from(v)))?;
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.read_array()?);
                    self.push_scalar(Value::Int(i64::from(v)))?;
                }
                b'L' => {
                    let line = self.readline(true)?;
                    let digits = line.strip_suffix(b"L").unwrap_or(line);
                    let v = self.parse_int_arg(digits, IntBase::Auto, "LONG literal")?;
                    self.push_scalar(v)?;
                }
                0x8a => {
                    let n = self.read_u8()?;
                    let bytes = self.read_string(u64::from(n))?;
                    self.push_scalar(BigInt::value_from_le_bytes(bytes))?;
                }
                0x8b => {
                    let n = i32::from_le_bytes(self.read_array()?);
                    let n = u64::try_from(n).map_err(|_| self.invalid("negative LONG4 length"))?;
                    let bytes = self.read_string(n)?;
                    self.push_scalar(BigInt::value_from_le_bytes(bytes))?;
                }
                b'F' => {
                    let line = self.readline(true)?;
                    let v = self.load_float(line)?;
                    self.push_scalar(Value::Float(v))?;
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.read_array()?);
                    self.push_scalar(Value::Float(v))?;
                }

                // --- strings ---
                b'S' => {
                    let line = self.readline(false)?;
                    let quoted = line.len() >= 2
                        && line[0] == line[line.len() - 1]
                        && matches!(line[0], b'\'' | b'"');
                    if !quoted {
                        return Err(self.invalid("STRING quoting"));
                    }
                    let bytes = decode_bytes_escape(&line[1..line.len() - 1])
                        .ok_or_else(|| self.invalid("STRING escape"))?;
                    self.push_str(&bytes)?;
                }
                b'T' => {
                    let n = i32::from_le_bytes(self.read_array()?);
                    let n =
                        u64::try_from(n).map_err(|_| self.invalid("negative BINSTRING length"))?;
                    let bytes = self.read_string(n)?;
                    self.push_str(bytes)?;
                }
                b'U' => {
                    let n = self.read_u8()?;
                    let bytes = self.read_string(u64::from(n))?;
                    self.push_str(bytes)?;
                }
                b'V' => {
                    let line = self.readline(false)?;
                    let s = decode_raw_unicode_escape(line).map_err(|e| {
                        self.invalid(match e {
                            RawUnicodeError::BadEscape => "raw-unicode-escape",
                            RawUnicodeError::Surrogate => "surrogate in UNICODE",
                        })
                    })?;
                    self.push_scalar(Value::Str(s))?;
                }
                b'X' => {
                    let n = self.read_u32()?;
                    let bytes = self.read_string(n)?;
                    self.push_str(bytes)?;
                }
                0x8c => {
                    let n = self.read_u8()?;
                    let bytes = self.read_string(u64::from(n))?;
                    self.push_str(bytes)?;
                }
                0x8d => {
                    let n = self.read_u64()?;
                    let bytes = self.read_string(n)?;
                    self.push_str(bytes)?;
                }
                b'B' => {
                    let n = self.read_u32()?;
                    let bytes = self.read_string(n)?;
                    self.push_scalar(Value::Bytes(bytes.to_vec()))?;
                }
                b'C' => {
                    let n = self.read_u8()?;
                    let bytes = self.read_string(u64::from(n))?;
                    self.push_scalar(Value::Bytes(bytes.to_vec()))?;
                }
                0x8e => {
                    let n = self.read_u64()?;
                    let bytes = self.read_string(n)?;
                    self.push_scalar(Value::Bytes(bytes.to_vec()))?;
                }
                0x96 => {
                    let n = self.read_u64()?;
                    let bytes = self.read_string(n)?;
                    self.push_scalar(Value::ByteArray(bytes.to_vec()))?;
                }

                op => {
                    return Err(match forbidden_name(op) {
                        Some(name) => PickleError::Forbidden {
                            name,
                            offset: self.op_at,
                        },
                        None => PickleError::UnknownOpcode {
                            opcode: op,
                            offset: self.op_at,
                        },
                    });
                }
            }
        }
    }

    /// `load_int`: C `strtol` first (a line of exactly `0` or `1`, plus newline, is a bool),
    /// then Python's `int(line, 0)` when `strtol` stopped early or overflowed.
    fn load_int(&self, line: &[u8]) -> Result<Value, PickleError> {
        let (value, end) = strtol(line);
        if let Some(v) = value
            && (end == line.len() || line[end] == 0)
        {
            // `len == 3` in CPython counts the newline.
            if line.len() == 2 && (v == 0 || v == 1) {
                return Ok(Value::Bool(v == 1));
            }
            return Ok(Value::Int(v));
        }
        self.parse_int_arg(line, IntBase::Auto, "INT literal")
    }

    /// `load_float`: `PyOS_string_to_double` with overflow an error, then nothing but the end
    /// of the line (or a NUL) may follow.
    fn load_float(&self, line: &[u8]) -> Result<f64, PickleError> {
        let parsed = strtod(line).ok_or_else(|| self.invalid("FLOAT literal"))?;
        if parsed.overflow {
            return Err(self.invalid("FLOAT literal (overflow)"));
        }
        match line.get(parsed.consumed) {
            None | Some(0) => Ok(parsed.value),
            Some(_) => Err(self.invalid("FLOAT literal")),
        }
    }
}

/// Names of the opcodes that exist but are refused.
fn forbidden_name(op: u8) -> Option<&'static str> {
    Some(match op {
        b'c' => "GLOBAL",
        0x93 => "STACK_GLOBAL",
        b'R' => "REDUCE",
        b'b' => "BUILD",
        b'i' => "INST",
        b'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return None,
    })
}

/// Turns the arena into a [`Value`] tree, counting every node it emits.
struct Builder<'n> {
    nodes: &'n [Node],
    limits: &'n Limits,
    items: usize,
    bytes: usize,
}

/// A dict key or set item as Python compares it: numbers by value across `bool`, `int` and
/// `float`; `str` and `bytes` apart; NaN equal only to itself (the same node).
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum HashKey<'n> {
    None,
    Int(i64),
    Big(Vec<u8>),
    Float(u64),
    NaN(NodeId),
    Str(&'n str),
    Bytes(&'n [u8]),
    Tuple(Vec<HashKey<'n>>),
    FrozenSet(Vec<HashKey<'n>>),
}

impl<'n> Builder<'n> {
    fn count(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(PickleError::TooManyItems {
                max: self.limits.max_items,
            });
        }
        self.bytes += bytes;
        if self.bytes > self.limits.max_total_bytes {
            return Err(PickleError::TooManyBytes {
                max: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }

    fn enter(&self, depth: usize) -> Result<usize, PickleError> {
        if depth >= self.limits.max_depth {
            return Err(PickleError::TooDeep {
                max: self.limits.max_depth,
            });
        }
        Ok(depth + 1)
    }

    fn build(&mut self, id: NodeId, depth: usize) -> Result<Value, PickleError> {
        let nodes = self.nodes;
        match &nodes[id] {
            Node::Scalar(v) => {
                let len = match v {
                    Value::Str(s) => s.len(),
                    Value::Bytes(b) | Value::ByteArray(b) => b.len(),
                    _ => 0,
                };
                self.count(len)?;
                Ok(v.clone())
            }
            Node::List(items) => {
                self.count(0)?;
                let d = self.enter(depth)?;
                Ok(Value::List(self.build_all(items, d)?))
            }
            Node::Tuple { items, .. } => {
                self.count(0)?;
                let d = self.enter(depth)?;
                Ok(Value::Tuple(self.build_all(items, d)?))
            }
            Node::Dict(pairs) => {
                self.count(0)?;
                let d = self.enter(depth)?;
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(pairs.len());
                let mut index: HashMap<HashKey<'n>, usize> = HashMap::with_capacity(pairs.len());
                for &(k, v) in pairs {
                    let key = self.hash_key(k, d)?;
                    let value = self.build(v, d)?;
                    match index.entry(key) {
                        Entry::Occupied(e) => out[*e.get()].1 = value,
                        Entry::Vacant(e) => {
                            e.insert(out.len());
                            out.push((self.build(k, d)?, value));
                        }
                    }
                }
                Ok(Value::Dict(out))
            }
            Node::Set(items) => {
                self.count(0)?;
                let d = self.enter(depth)?;
                Ok(Value::Set(self.build_set(items, d)?))
            }
            Node::FrozenSet(items) => {
                self.count(0)?;
                let d = self.enter(depth)?;
                Ok(Value::FrozenSet(self.build_set(items, d)?))
            }
        }
    }

    fn build_all(&mut self, items: &[NodeId], depth: usize) -> Result<Vec<Value>, PickleError> {
        items.iter().map(|&i| self.build(i, depth)).collect()
    }

    fn build_set(&mut self, items: &[NodeId], depth: usize) -> Result<Vec<Value>, PickleError> {
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        let mut out = Vec::with_capacity(items.len());
        for &i in items {
            if seen.insert(self.hash_key(i, depth)?) {
                out.push(self.build(i, depth)?);
            }
        }
        Ok(out)
    }

    /// The key of a hashable node (the machine refused unhashable keys and items). Counts
    /// toward the item limit, as the walk repeats shared tuples.
    fn hash_key(&mut self, id: NodeId, depth: usize) -> Result<HashKey<'n>, PickleError> {
        let nodes = self.nodes;
        self.count(0)?;
        Ok(match &nodes[id] {
            Node::Scalar(v) => match v {
                Value::None => HashKey::None,
                Value::Bool(b) => HashKey::Int(i64::from(*b)),
                Value::Int(i) => HashKey::Int(*i),
                Value::BigInt(b) => HashKey::Big(b.le_bytes().to_vec()),
                Value::Float(f) => float_key(*f, id),
                Value::Str(s) => HashKey::Str(s),
                Value::Bytes(b) | Value::ByteArray(b) => HashKey::Bytes(b),
                _ => HashKey::None,
            },
            Node::Tuple { items, .. } => {
                let d = self.enter(depth)?;
                let keys = items
                    .iter()
                    .map(|&i| self.hash_key(i, d))
                    .collect::<Result<_, _>>()?;
                HashKey::Tuple(keys)
            }
            Node::FrozenSet(items) => {
                let d = self.enter(depth)?;
                let mut keys = items
                    .iter()
                    .map(|&i| self.hash_key(i, d))
                    .collect::<Result<Vec<_>, _>>()?;
                keys.sort();
                keys.dedup();
                HashKey::FrozenSet(keys)
            }
            Node::List(_) | Node::Dict(_) | Node::Set(_) => HashKey::None,
        })
    }
}

/// A float's key: integral floats equal the int of the same value, as in Python.
fn float_key<'n>(f: f64, id: NodeId) -> HashKey<'n> {
    if f.is_nan() {
        return HashKey::NaN(id);
    }
    if f.is_finite() && f.fract() == 0.0 {
        if f.abs() < (1u64 << 63) as f64 {
            return HashKey::Int(f as i64);
        }
        // |f| >= 2^63: mantissa times a power of two, as two's complement bytes.
        let bits = f.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as usize - 1075;
        let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
        let mut magnitude = vec![0u8; exp / 8];
        let shifted = u128::from(mantissa) << (exp % 8);
        magnitude.extend_from_slice(&shifted.to_le_bytes());
        return match BigInt::value_from_sign_magnitude(f < 0.0, &magnitude) {
            Value::BigInt(b) => HashKey::Big(b.le_bytes().to_vec()),
            Value::Int(i) => HashKey::Int(i),
            _ => HashKey::None,
        };
    }
    HashKey::Float(f.to_bits())
}
