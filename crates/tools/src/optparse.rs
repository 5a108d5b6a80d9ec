//! Command-line parsing that behaves like the Python scripts' optparse (and,
//! for `whisper-set-xfilesfactor`, argparse), built on clap.
//!
//! Users call these tools from shell scripts and cron jobs written against
//! the Python versions, so the accepted syntax must match: `--opt=value` and
//! `--opt value`, options anywhere among the positionals, unambiguous
//! prefixes of long options (`--fr` for `--from`), values that start with a
//! dash (`--from -5`), the last of a repeated option winning, and usage
//! errors exiting with status 2. The scripts check the number of positional
//! arguments themselves (printing the help and exiting 1), so the derive
//! structs collect positionals into a `Vec` and the binaries check it.
//!
//! clap's own help would differ from optparse's, and some scripts print the
//! help on stdout as their answer to a wrong argument count. So `-h/--help`
//! is ours: [`parse`] renders the help from the same clap definitions, in
//! optparse's (or argparse's) layout, so it is the same text.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;
use clap::{Arg, ArgAction, Command, Parser};

use crate::cli::{Exit, Out};

const HELP_ID: &str = "help";
const HELP_TEXT: &str = "show this help message and exit";

/// Which Python module the script parses its arguments with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// optparse: `Usage: ...`, `Options:`, positionals not listed.
    Optparse,
    /// argparse: `usage: prog [-h] ...`, positionals listed with their help,
    /// negative numbers accepted as positionals.
    Argparse,
}

/// How a tool presents itself in its help.
#[derive(Debug, Clone, Copy)]
pub struct Syntax<'a> {
    /// The script's parser.
    pub flavor: Flavor,
    /// optparse's usage text, with `%prog` for the program name (unused for
    /// argparse, which builds it from the arguments).
    pub usage: &'a str,
    /// The parser's description, if it has one.
    pub description: Option<&'a str>,
}

/// The rendered help of a tool, for the places a script prints it.
#[derive(Debug, Clone)]
pub struct Help {
    prog: String,
    /// optparse's `get_usage()` / argparse's `format_usage()`: ends in a
    /// newline.
    usage_line: String,
    /// The usage without its `Usage: ` label, for clap's error messages.
    clap_usage: String,
    text: String,
}

impl Help {
    /// The whole help text (`print_help()`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `option_parser.print_help(); sys.exit(1)`: what the scripts do for a
    /// wrong number of positional arguments.
    pub fn print_and_fail(&self, out: &mut Out) -> anyhow::Error {
        match out.write_all(self.text.as_bytes()) {
            Ok(()) => Exit::code(1),
            Err(e) => e.into(),
        }
    }

    /// `if len(args) < n: option_parser.print_help(); sys.exit(1)`: the
    /// positional arguments if there are at least `n`.
    pub fn at_least<'a>(
        &self,
        out: &mut Out,
        args: &'a [String],
        n: usize,
    ) -> Result<&'a [String]> {
        if args.len() < n {
            return Err(self.print_and_fail(out));
        }
        Ok(args)
    }

    /// `option_parser.print_usage(); sys.exit(1)`.
    pub fn print_usage_and_fail(&self, out: &mut Out) -> anyhow::Error {
        // `print(get_usage())`.
        match writeln!(out, "{}", self.usage_line) {
            Ok(()) => Exit::code(1),
            Err(e) => e.into(),
        }
    }

    /// `option_parser.error(message)`: usage and message on stderr, exit 2.
    pub fn usage_error(&self, message: &str) -> anyhow::Error {
        let _ = write!(
            io::stderr(),
            "{}\n{}: error: {message}\n",
            self.usage_line,
            self.prog
        );
        Exit::code(2)
    }
}

/// Parsed arguments and the help to print when they do not add up.
#[derive(Debug)]
pub struct Parsed<T> {
    /// The options and positionals.
    pub args: T,
    /// The tool's help.
    pub help: Help,
}

/// Parses the process arguments into `T` the way the script's parser would.
/// `-h/--help` prints the help to `out` and ends with status 0; a usage
/// error is reported on stderr with status 2 (both as an [`Exit`]).
pub fn parse<T: Parser>(syntax: &Syntax<'_>, out: &mut Out) -> Result<Parsed<T>> {
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    let prog = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| T::command().get_name().to_owned());
    let cmd = configure(T::command(), syntax.flavor);
    split_short_equals(&cmd, &mut argv);
    let help = render_help(&cmd, &prog, syntax);
    let mut cmd = cmd.override_usage(help.clap_usage.clone());
    let matches = match cmd.try_get_matches_from_mut(argv) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return Err(Exit::code(u8::try_from(e.exit_code()).unwrap_or(2)));
        }
    };
    if matches.get_flag(HELP_ID) {
        out.write_all(help.text.as_bytes())?;
        return Err(Exit::code(0));
    }
    let args = T::from_arg_matches(&matches).map_err(|e| {
        let _ = e.format(&mut cmd).print();
        Exit::code(2)
    })?;
    Ok(Parsed { args, help })
}

/// The settings that make clap accept what optparse accepts.
fn configure(cmd: Command, flavor: Flavor) -> Command {
    let cmd = cmd
        .infer_long_args(true)
        .args_override_self(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .allow_negative_numbers(flavor == Flavor::Argparse)
        .mut_args(|a| {
            if a.is_positional() {
                // `--help` wins over missing positionals, as in argparse;
                // the derive struct still insists on them afterwards.
                a.required(false)
            } else if a.get_action().takes_values() {
                a.allow_hyphen_values(true)
            } else {
                a
            }
        });
    cmd.arg(
        Arg::new(HELP_ID)
            .short('h')
            .long("help")
            .action(ArgAction::SetTrue)
            .help(HELP_TEXT),
    )
}

/// optparse reads `-tX` and `-t=X` as the value `X` and `=X`; clap drops the
/// `=`. Splitting `-t=X` into `-t` `=X` keeps optparse's reading.
fn split_short_equals(cmd: &Command, argv: &mut Vec<OsString>) {
    let takes_value = |c: char| {
        cmd.get_arguments()
            .any(|a| a.get_short() == Some(c) && a.get_action().takes_values())
    };
    let mut i = 1;
    while i < argv.len() {
        let Some(arg) = argv[i].to_str() else {
            i += 1;
            continue;
        };
        if arg == "--" {
            break;
        }
        let mut chars = arg.chars();
        if let (Some('-'), Some(c), Some('=')) = (chars.next(), chars.next(), chars.next())
            && c != '-'
            && takes_value(c)
        {
            let value = OsString::from(format!("={}", chars.as_str()));
            argv[i] = OsString::from(format!("-{c}"));
            argv.insert(i + 1, value);
            i += 1;
        }
        i += 1;
    }
}

/// Help layout numbers shared by optparse's and argparse's formatters: the
/// text width (`$COLUMNS` - 2, 78 by default) and the column help starts in.
struct Layout {
    help_position: usize,
    help_width: usize,
}

impl Layout {
    /// `max_invocation` is the longest option (or positional) spelling.
    fn new(max_invocation: usize) -> Layout {
        let width = text_width();
        let max_help_position = 24.min(width.saturating_sub(20).max(4));
        // Entries are indented by two columns.
        let help_position = (max_invocation + 2 + 2).min(max_help_position);
        Layout {
            help_position,
            help_width: width.saturating_sub(help_position).max(11),
        }
    }

    /// One entry: the invocation, then the help wrapped at `help_width` and
    /// aligned at `help_position` (on the next line if the invocation is
    /// too wide). optparse pads an entry without help; argparse does not.
    fn entry(&self, out: &mut String, invocation: &str, help: Option<&str>, flavor: Flavor) {
        let room = self.help_position.saturating_sub(4);
        let len = invocation.chars().count();
        let Some(help) = help else {
            if flavor == Flavor::Optparse && len <= room {
                out.push_str(&format!("  {invocation:<room$}  \n"));
            } else {
                out.push_str(&format!("  {invocation}\n"));
            }
            return;
        };
        let mut indent_first = 0;
        if len > room {
            out.push_str(&format!("  {invocation}\n"));
            indent_first = self.help_position;
        } else {
            out.push_str(&format!("  {invocation:<room$}  "));
        }
        for (i, line) in wrap(help, self.help_width).iter().enumerate() {
            let indent = if i == 0 {
                indent_first
            } else {
                self.help_position
            };
            out.push_str(&format!("{:indent$}{line}\n", ""));
        }
    }
}

/// `textwrap.wrap` for plain words: greedy, at most `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if line.is_empty() {
            line.push_str(word);
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(std::mem::take(&mut line));
            line.push_str(word);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// An option as its help shows it: `-t TIME_FORMAT, --time-format=TIME_FORMAT`
/// for optparse, `-h, --help` for both.
fn option_invocation(arg: &Arg) -> String {
    let metavar = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    let takes_value = arg.get_action().takes_values();
    let mut parts = Vec::new();
    if let Some(c) = arg.get_short() {
        parts.push(if takes_value {
            format!("-{c} {metavar}")
        } else {
            format!("-{c}")
        });
    }
    if let Some(long) = arg.get_long() {
        parts.push(if takes_value {
            format!("--{long}={metavar}")
        } else {
            format!("--{long}")
        });
    }
    parts.join(", ")
}

fn positional_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_owned())
}

/// The options, `-h/--help` first as the Python parsers list it.
fn options(cmd: &Command) -> Vec<&Arg> {
    let (help, rest): (Vec<&Arg>, Vec<&Arg>) = cmd
        .get_arguments()
        .filter(|a| !a.is_positional())
        .partition(|a| a.get_id() == HELP_ID);
    help.into_iter().chain(rest).collect()
}

fn help_of(arg: &Arg) -> Option<String> {
    arg.get_help().map(|h| h.to_string())
}

fn render_help(cmd: &Command, prog: &str, syntax: &Syntax<'_>) -> Help {
    let options: Vec<(String, Option<String>)> = options(cmd)
        .iter()
        .map(|a| (option_invocation(a), help_of(a)))
        .collect();
    let mut text = String::new();
    let (usage_line, clap_usage) = match syntax.flavor {
        Flavor::Optparse => {
            let usage = syntax.usage.replace("%prog", prog);
            // `get_usage()`, then `format_help` adds a blank line.
            let usage_line = format!("Usage: {usage}\n");
            text.push_str(&usage_line);
            text.push('\n');
            if let Some(description) = syntax.description {
                text.push_str(&wrap(description, description_width()).join("\n"));
                text.push_str("\n\n");
            }
            text.push_str("Options:\n");
            let layout = layout_for(&options);
            for (invocation, help) in &options {
                layout.entry(&mut text, invocation, help.as_deref(), syntax.flavor);
            }
            (usage_line, usage)
        }
        Flavor::Argparse => {
            let positionals: Vec<(String, Option<String>)> = cmd
                .get_arguments()
                .filter(|a| a.is_positional())
                .map(|a| (positional_name(a), help_of(a)))
                .collect();
            let names: Vec<&str> = positionals.iter().map(|(n, _)| n.as_str()).collect();
            let usage = format!("{prog} [-h] {}", names.join(" "));
            let usage_line = format!("usage: {usage}\n");
            text.push_str(&usage_line);
            if let Some(description) = syntax.description {
                text.push('\n');
                text.push_str(&wrap(description, description_width()).join("\n"));
                text.push('\n');
            }
            // argparse aligns every section on the widest entry of any.
            let all: Vec<(String, Option<String>)> =
                positionals.iter().chain(&options).cloned().collect();
            let layout = layout_for(&all);
            for (title, entries) in [
                ("positional arguments", &positionals),
                ("options", &options),
            ] {
                if entries.is_empty() {
                    continue;
                }
                text.push_str(&format!("\n{title}:\n"));
                for (invocation, help) in entries {
                    layout.entry(&mut text, invocation, help.as_deref(), syntax.flavor);
                }
            }
            (usage_line, usage)
        }
    };
    Help {
        prog: prog.to_owned(),
        usage_line,
        clap_usage: clap_usage.trim_end().to_owned(),
        text,
    }
}

/// The formatters' width: `$COLUMNS` (80 if unset) minus 2.
fn text_width() -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .unwrap_or(80);
    columns.saturating_sub(2)
}

fn description_width() -> usize {
    text_width().max(11)
}

fn layout_for(entries: &[(String, Option<String>)]) -> Layout {
    let widest = entries
        .iter()
        .map(|(invocation, _)| invocation.chars().count())
        .max()
        .unwrap_or(0);
    Layout::new(widest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_greedily() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("", 6), Vec::<String>::new());
    }
}
