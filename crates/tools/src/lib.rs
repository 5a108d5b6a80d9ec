//! Shared code for the `whisper-*` command-line tools.
//!
//! The tools in this crate replace the Python scripts shipped with Graphite's
//! `whisper` package (`whisper-fetch.py`, `whisper-dump.py`, `whisper-info.py`,
//! ...). Scripts and monitoring set-ups parse their output, so the Rust tools
//! must print byte-for-byte what the Python scripts print. The modules here
//! reproduce the pieces of the Python runtime that the scripts' output goes
//! through:
//!
//! - [`pyfmt`]: Python's float formatting (`repr`, `'%g'`, `'%f'`, list `str`).
//! - [`pytime`]: `time.ctime` and `time.strftime` in the local time zone.

pub mod pyfmt;
pub mod pytime;
