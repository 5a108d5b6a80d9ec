//! The storage lock: one server per storage directory.
//!
//! Two servers on one storage directory would each replay, and then delete, the other's
//! write-ahead log, and write the same whisper files from two caches. carbon refuses a
//! second instance through its pid file; Charcoal takes an exclusive `flock` on
//! `STORAGE_DIR/charcoal.lock` before it reads or replays anything, and writes its PID
//! into the file so the refusal can name the holder. The kernel releases the lock when the
//! process dies, however it dies, so a crash never leaves a stale lock behind (the file
//! stays, with the dead PID in it, and is taken over by the next start).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// The lock file's name in the storage directory.
pub const LOCK_FILE: &str = "charcoal.lock";

/// Why the storage directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "{} is in use by another Charcoal server{}: stop it first, or give this one another --storage-dir",
        dir.display(),
        pid.map(|p| format!(" (PID {p})")).unwrap_or_default()
    )]
    Held {
        /// The storage directory.
        dir: PathBuf,
        /// The holder's PID, as it wrote it into the lock file.
        pid: Option<u32>,
    },
    /// The directory or the lock file could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process exits).
#[derive(Debug)]
pub struct StorageLock {
    file: File,
    path: PathBuf,
}

impl StorageLock {
    /// Creates `storage_dir` if needed and locks it, or says who holds it. Refusing
    /// changes nothing on disk.
    pub fn acquire(storage_dir: &Path) -> Result<StorageLock, LockError> {
        let path = storage_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(storage_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    dir: storage_dir.to_path_buf(),
                    pid: text.trim().parse().ok(),
                });
            }
            Err(e) => return Err(io(e.into())),
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{pid}"))
            .map_err(io)?;
        Ok(StorageLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open lock file (to hand it to another user with the directory).
    pub fn file(&self) -> &File {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_and_taken_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        let held = StorageLock::acquire(&storage).unwrap();
        let before = std::fs::read(held.path()).unwrap();
        match StorageLock::acquire(&storage) {
            Err(LockError::Held { pid, dir }) => {
                assert_eq!(pid, Some(std::process::id()));
                assert_eq!(dir, storage);
            }
            other => panic!("expected Held, got {other:?}"),
        }
        assert_eq!(std::fs::read(held.path()).unwrap(), before, "untouched");
        drop(held);
        let again = StorageLock::acquire(&storage).unwrap();
        assert_eq!(
            std::fs::read_to_string(again.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
    }
}
