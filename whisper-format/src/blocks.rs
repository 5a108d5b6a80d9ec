//! A write-back block buffer for one write call on a pread/pwrite file.
//!
//! `update_many` touches the same few blocks many times: every propagation
//! reads a base slot and a run of finer points and writes one coarser point.
//! Done with a syscall each, a 1,000-point batch into a three-archive file
//! costs about 750 of them. During one call we read each 4 KiB block once,
//! apply the writes in memory, and write back only the changed span of each
//! block (adjacent spans coalesced) before the call returns, so what is on
//! disk afterwards is exactly what the unbuffered writes would have left,
//! and bytes we did not change are never rewritten.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs::File;
use std::os::unix::fs::FileExt;

const BLOCK: u64 = 4096;

struct Block {
    data: Vec<u8>,
    /// The changed bytes, `start..end` within the block (empty: clean).
    dirty: std::ops::Range<usize>,
}

/// Blocks of one file, read on first use.
#[derive(Default)]
pub(crate) struct Blocks {
    blocks: BTreeMap<u64, Block>,
}

impl Blocks {
    /// Makes sure block `index` is loaded; `len` is the file size.
    fn load(&mut self, file: &File, len: u64, index: u64) -> std::io::Result<&mut Block> {
        let slot = match self.blocks.entry(index) {
            Entry::Occupied(e) => return Ok(e.into_mut()),
            Entry::Vacant(v) => v,
        };
        let start = index * BLOCK;
        let size = (len - start).min(BLOCK) as usize;
        let mut data = vec![0u8; size];
        let mut done = 0;
        while done < size {
            match file.read_at(&mut data[done..], start + done as u64) {
                Ok(0) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("the file ends before byte {}", start + size as u64),
                    ));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(slot.insert(Block { data, dirty: 0..0 }))
    }

    /// Copies `buf.len()` bytes at `offset` (within `len`) into `buf`.
    pub(crate) fn read(
        &mut self,
        file: &File,
        len: u64,
        offset: u64,
        buf: &mut [u8],
    ) -> std::io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let block = self.load(file, len, at / BLOCK)?;
            let from = (at % BLOCK) as usize;
            let n = (block.data.len() - from).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&block.data[from..from + n]);
            done += n;
        }
        Ok(())
    }

    /// Applies a write of `buf` at `offset` (within `len`) in memory.
    pub(crate) fn write(
        &mut self,
        file: &File,
        len: u64,
        offset: u64,
        buf: &[u8],
    ) -> std::io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let block = self.load(file, len, at / BLOCK)?;
            let from = (at % BLOCK) as usize;
            let n = (block.data.len() - from).min(buf.len() - done);
            block.data[from..from + n].copy_from_slice(&buf[done..done + n]);
            block.dirty = if block.dirty.is_empty() {
                from..from + n
            } else {
                block.dirty.start.min(from)..block.dirty.end.max(from + n)
            };
            done += n;
        }
        Ok(())
    }

    /// Writes the changed spans back; spans that touch are one call.
    pub(crate) fn flush(&mut self, file: &File) -> std::io::Result<()> {
        let mut run: Vec<u8> = Vec::new();
        let mut run_start = 0u64;
        for (&index, block) in self.blocks.iter().filter(|(_, b)| !b.dirty.is_empty()) {
            let start = index * BLOCK + block.dirty.start as u64;
            if !run.is_empty() && run_start + run.len() as u64 != start {
                file.write_all_at(&run, run_start)?;
                run.clear();
            }
            if run.is_empty() {
                run_start = start;
            }
            run.extend_from_slice(&block.data[block.dirty.clone()]);
        }
        if !run.is_empty() {
            file.write_all_at(&run, run_start)?;
        }
        self.blocks.clear();
        Ok(())
    }
}
