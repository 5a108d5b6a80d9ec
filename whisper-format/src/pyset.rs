//! The iteration order of a CPython `set` of small non-negative ints.
//!
//! `update_many` propagates to a lower archive once per distinct lower
//! interval, walking `set(intervals)`. The order is invisible except when
//! the lower archive is still empty: the first propagation that writes
//! becomes the archive's base slot, which fixes where every later point
//! lands. To produce the same bytes as Python whisper we walk the intervals
//! in the order CPython 3.11 would.
//!
//! The model: an open-addressing table (8 slots to start), a non-negative
//! int hashes to itself, a probe looks at up to 9 following slots before
//! jumping with `i = 5*i + 1 + perturb` (perturb shifted right 5 each jump);
//! the table grows to the next power of two above 4x the entries once it is
//! 3/5 full, re-inserting in table order. Iteration is table order.

const MIN_SIZE: usize = 8;
const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

/// A CPython set of ints, reduced to what decides iteration order.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    slots: Vec<Option<u64>>,
    used: usize,
}

impl Default for Table {
    fn default() -> Self {
        Table::new(MIN_SIZE)
    }
}

impl Table {
    fn new(size: usize) -> Self {
        Table {
            slots: vec![None; size],
            used: 0,
        }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Returns the slot holding `key` or the empty slot it goes into.
    fn probe(&self, key: u64) -> usize {
        let mask = self.mask();
        let mut perturb = key;
        let mut i = (key as usize) & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            for j in i..=i + probes {
                match self.slots[j] {
                    None => return j,
                    Some(k) if k == key => return j,
                    Some(_) => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i
                .wrapping_mul(5)
                .wrapping_add(1)
                .wrapping_add(perturb as usize))
                & mask;
        }
    }

    /// `set.add(key)`.
    pub(crate) fn insert(&mut self, key: u64) {
        let at = self.probe(key);
        if self.slots[at].is_some() {
            return;
        }
        self.slots[at] = Some(key);
        self.used += 1;
        // `fill` equals `used` here: nothing is ever deleted.
        if self.used * 5 >= self.mask() * 3 {
            let min_used = if self.used > 50_000 {
                self.used * 2
            } else {
                self.used * 4
            };
            let mut size = MIN_SIZE;
            while size <= min_used {
                size <<= 1;
            }
            let mut grown = Table::new(size);
            for key in self.slots.iter().flatten() {
                let at = grown.probe(*key);
                grown.slots[at] = Some(*key);
            }
            grown.used = self.used;
            *self = grown;
        }
    }
}

/// The distinct values of `values` in the order `for v in set(values)` visits
/// them under CPython 3.11 (values must be below 2^61 - 1, where an int's hash
/// is the int itself).
#[cfg(test)]
pub(crate) fn set_order(values: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut table = Table::default();
    for v in values {
        table.insert(v);
    }
    table.into_order()
}

impl Table {
    /// The members in iteration order.
    pub(crate) fn into_order(self) -> Vec<u64> {
        self.slots.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_follow_the_hash_modulo_table_size() {
        // In an 8-slot table, 9 goes to slot 1 and 16 to slot 0.
        assert_eq!(set_order([9, 16, 3]), vec![16, 9, 3]);
        assert_eq!(set_order([5, 5, 5]), vec![5]);
    }

    #[test]
    fn matches_cpython_on_timestamp_like_sets() {
        // One Python process, many sets: `list(set(xs))` printed per line.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut cases = Vec::new();
        for i in 0..300u64 {
            let step = [1, 10, 60, 600, 3600][(i % 5) as usize];
            let base = 1_700_000_000 / step * step;
            let n = 1 + next() % 400;
            let xs: Vec<u64> = (0..n).map(|_| base + (next() % 3000) * step).collect();
            cases.push(xs);
        }
        let input: String = cases
            .iter()
            .map(|xs| xs.iter().map(u64::to_string).collect::<Vec<_>>().join(" ") + "\n")
            .collect();
        let python = std::env::var("WHISPER_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
        let mut child = std::process::Command::new(python)
            .args([
                "-c",
                "import sys\nfor l in sys.stdin: print(' '.join(map(str, set(map(int, l.split())))))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 on this machine");
        // Feed stdin from a thread: Python answers while it reads, and a full
        // stdout pipe would otherwise block both sides.
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            use std::io::Write;
            stdin.write_all(input.as_bytes())
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for (xs, line) in cases.iter().zip(text.lines()) {
            let want: Vec<u64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
            assert_eq!(set_order(xs.iter().copied()), want, "{xs:?}");
        }
        assert_eq!(text.lines().count(), cases.len());
    }
}
