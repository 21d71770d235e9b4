//! The subcommands, and what they share: reading input, choosing a release,
//! writing output ([`output`]), and the exit status: 0, or 2 with one line
//! on stderr for bad input.

pub mod explain;
pub mod flags;
pub mod output;
pub mod parse;
pub mod plan;
pub mod prometheus;
pub mod reduce;
pub mod summarize;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use nixl_kv_metrics::logs::{KvRecord, LogError, LogParser};
use nixl_kv_metrics::release::{Family, Release};

pub use output::{Outcome, Output, Stop};

/// Ends a run: writes out what is buffered and gives the exit status, 0 or,
/// after one line on stderr, 2. A closed standard output ends the run with
/// 0 ([`output`] decides what counts as closed).
pub fn finish(outcome: Outcome, mut out: Output) -> ExitCode {
    match outcome.and_then(|()| out.flush()) {
        Ok(()) | Err(Stop::Closed) => ExitCode::SUCCESS,
        Err(Stop::Failed(message)) => {
            eprintln!("nixl-kv-metrics: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Ends a run whose command line clap refused. A value refused by a value
/// parser ([`flags`]): one line naming the flag, exit status 2. Anything
/// else (help, version, a usage error) as clap prints it.
pub fn refuse(error: clap::Error) -> ExitCode {
    if error.kind() == ErrorKind::ValueValidation
        && let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg)
        && let Some(reason) = std::error::Error::source(&error)
    {
        let flag = flag.split(' ').next().unwrap_or(flag);
        eprintln!("nixl-kv-metrics: error: {flag}: {reason}");
        return ExitCode::from(2);
    }
    error.exit()
}

/// The family of a `--vllm` release, with a note when it is newer than known.
pub fn family_of(release: &str) -> Result<Family, String> {
    let release: Release = release.parse().map_err(|e| format!("--vllm: {e}"))?;
    let family = release.family().map_err(|e| format!("--vllm: {e}"))?;
    if release.is_newer_than_known() {
        eprintln!(
            "nixl-kv-metrics: note: vLLM {release} is newer than {}, the newest release checked; \
             assuming it behaves as {} ({family})",
            Release::NEWEST_KNOWN,
            family.releases()
        );
    }
    Ok(family)
}

/// An input stream and its name for messages.
pub struct Input {
    /// `<stdin>` or the file's path.
    pub name: String,
    /// The stream, read in constant memory.
    pub reader: Box<dyn Read>,
}

/// Opens FILE, or standard input for `-` or no FILE.
pub fn open_input(file: Option<PathBuf>) -> Result<Input, String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let name = path.display().to_string();
            let file = File::open(&path).map_err(|e| format!("{name}: cannot read: {e}"))?;
            Ok(Input {
                name,
                reader: Box::new(file),
            })
        }
        _ => Ok(Input {
            name: "<stdin>".to_string(),
            reader: Box::new(io::stdin().lock()),
        }),
    }
}

/// Warnings shown one by one before they are only counted.
const MAX_WARNINGS: u64 = 100;

/// What reading a log found.
pub struct LogRead {
    /// The input's name, for messages.
    pub name: String,
    /// Well-formed KV lines, each given to the caller.
    pub records: u64,
    /// Malformed KV lines, reported on stderr and skipped.
    pub skipped: u64,
    /// Lines read in all.
    pub lines: u64,
}

/// Reads the log `input`, giving each KV line to `each` as it is read;
/// malformed lines are reported on stderr and skipped, and a last line
/// without a line end is flagged. An I/O error, or `each` stopping, stops
/// the reading.
pub fn read_log(input: Input, mut each: impl FnMut(&KvRecord) -> Outcome) -> Result<LogRead, Stop> {
    let Input { name, reader } = input;
    let mut parser = LogParser::new(BufReader::with_capacity(1 << 16, reader));
    let (mut records, mut skipped) = (0u64, 0u64);
    for item in parser.by_ref() {
        match item {
            Ok(record) => {
                if record.unterminated {
                    eprintln!(
                        "nixl-kv-metrics: warning: {name}: line {}: the last line has no line end; \
                         it may have been cut off while written",
                        record.line
                    );
                }
                records += 1;
                each(&record)?;
            }
            Err(LogError::Malformed(error)) => {
                skipped += 1;
                if skipped <= MAX_WARNINGS {
                    eprintln!("nixl-kv-metrics: warning: {name}: {error}; line skipped");
                }
            }
            Err(error @ LogError::Io { .. }) => return Err(format!("{name}: {error}").into()),
        }
    }
    if skipped > MAX_WARNINGS {
        eprintln!(
            "nixl-kv-metrics: warning: {name}: {skipped} malformed KV lines skipped \
             (the first {MAX_WARNINGS} are shown above)"
        );
    }
    Ok(LogRead {
        name,
        records,
        skipped,
        lines: parser.lines_read(),
    })
}

/// A note on stderr when the log has no KV line at all (not an error: an
/// idle server logs none).
pub fn note_if_empty(read: &LogRead) {
    if read.records == 0 && read.skipped == 0 {
        eprintln!(
            "nixl-kv-metrics: note: {}: no \"KV Transfer metrics:\" line in {} lines",
            read.name, read.lines
        );
    }
}
