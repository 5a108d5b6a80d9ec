//! Shared code for the `whisper-*` command-line tools.
//!
//! The tools in this crate replace the Python scripts shipped with Graphite's
//! `whisper` package (`whisper-fetch.py`, `whisper-dump.py`, `whisper-info.py`,
//! ...). Scripts and monitoring set-ups parse their output, so the Rust tools
//! accept the same arguments and print byte-for-byte what the Python scripts
//! print, with the same exit codes. The modules here reproduce the pieces of
//! the Python runtime that the scripts' input and output go through:
//!
//! - `charcoal_pyfmt` (re-exported as [`pyfmt`]): Python's float formatting (`repr`, `'%g'`,
//!   `'%f'`, list `str`), shared with the render API.
//! - [`pytime`] (`charcoal_pyfmt::time`, shared with the graphs): `time.ctime` and
//!   `time.strftime` in the local time zone.
//! - [`pyparse`]: `int()`, `float()` and optparse's number options.
//! - `charcoal_pyfmt::json`: `json.dumps` and `repr` of dicts and lists (shared with the
//!   render API).
//! - [`optparse`]: optparse's (and argparse's) command-line syntax and help.
//!
//! and what the binaries share: [`cli`] (the clock, stdout, exit codes and
//! error messages) and [`timestyle`] (`--pretty` / `--time-format`).
//!
//! # The clock
//!
//! Every tool that depends on the current time (`whisper-fetch`'s default
//! range, `whisper-update`'s `N:` and retention checks, `whisper-merge`,
//! `whisper-fill`, `whisper-diff`, `whisper-resize`) reads it once through
//! [`cli::now`]. If the environment variable `CHARCOAL_NOW` is set to an
//! integer number of seconds since the epoch, that value replaces the clock
//! everywhere in the tool, so runs are reproducible (the tests compare the
//! tools with the Python scripts under the same fixed clock). An unparsable
//! value is an error.
//!
//! # Differences from the Python scripts
//!
//! `whisper-resize --aggregate` crashes in Debian's script on Python 3; here
//! it does what it was meant to do (aggregate the old data into each new
//! archive's intervals with the new aggregation method and xFilesFactor)
//! and does not print the script's debug lines. The other deliberate
//! differences (no empty file left behind by a failed create, NaN refused
//! as an xFilesFactor, broken pipes ending with status 141, ...) are listed
//! in `docs/compatibility.md`.

pub mod cli;
pub mod optparse;
pub use charcoal_pyfmt as pyfmt;
pub use charcoal_pyfmt::time as pytime;
pub mod pyparse;
pub mod timestyle;
