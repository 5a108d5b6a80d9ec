//! `charcoal`: the server binary.
//!
//! For now it only answers `--help` and `--version`; the `serve` subcommand
//! (receivers, cache, persister, HTTP API) arrives with the write-path issue.
//! The whisper tools live in `crates/tools`.

use clap::Parser;

/// Charcoal: a drop-in replacement for carbon-cache, the whisper file format
/// and graphite-web's render API.
#[derive(Debug, Parser)]
#[command(name = "charcoal", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "charcoal {}: the server is not built yet; the whisper-* tools are in crates/tools",
        env!("CARGO_PKG_VERSION")
    );
}
