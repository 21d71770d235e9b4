//! The subcommands, and what they share: reading input, choosing a release,
//! writing output ([`output`]) and messages ([`stderr`]), and the exit
//! status: 0; 2 with one line on stderr for bad input or failed output
//! (usage errors too, [`usage`]); 141 when the reader of standard output
//! went away.

mod closed;
pub mod explain;
pub mod flags;
pub mod output;
pub mod parse;
pub mod plan;
pub mod prometheus;
pub mod reduce;
mod stderr;
pub mod summarize;
pub mod usage;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use nixl_kv_metrics::logs::{KvRecord, LogError, LogParser};
use nixl_kv_metrics::printer::words::escaped;
use nixl_kv_metrics::release::{Family, Release};

pub use output::{Outcome, Output, Stop};

/// Ends a run: writes out what is buffered and gives the exit status: 0;
/// or, after one line on stderr, 2; or, quietly, [`output::BROKEN_PIPE`]
/// when whoever read standard output went away ([`output`] says why).
pub fn finish(outcome: Outcome, out: &Output) -> ExitCode {
    match outcome.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Closed) => ExitCode::from(output::BROKEN_PIPE),
        Err(Stop::Failed(message)) => {
            stderr::error(message);
            ExitCode::from(2)
        }
    }
}

/// The family of a `--vllm` release, with a note when it is newer than known.
pub fn family_of(release: Release) -> Result<Family, String> {
    let family = release.family().map_err(|e| format!("--vllm: {e}"))?;
    if release.is_newer_than_known() {
        stderr::note(format_args!(
            "vLLM {release} is newer than {}, the newest release checked; \
             assuming it behaves as {} ({family})",
            Release::NEWEST_KNOWN,
            family.releases()
        ));
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

/// The most characters of a file's name a message shows.
const NAME_CHARS: usize = 256;

/// Opens FILE, or standard input for `-` or no FILE. A directory, or a
/// standard input closed with `<&-`, is refused (either would otherwise
/// read as an error in mid-read, or as empty).
pub fn open_input(file: Option<PathBuf>) -> Result<Input, String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let name = escaped(path.as_os_str().as_encoded_bytes(), NAME_CHARS);
            let file = File::open(&path).map_err(|e| format!("{name}: cannot read: {e}"))?;
            if file.metadata().is_ok_and(|m| m.is_dir()) {
                return Err(format!("{name}: is a directory; expected a file"));
            }
            Ok(Input {
                name,
                reader: Box::new(file),
            })
        }
        _ if closed::stdin() => Err(
            "<stdin>: standard input is closed; give a FILE, or `-` with the input piped in"
                .to_string(),
        ),
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
/// without a line end is flagged. What `each` prints on `out` is written
/// out before every read of the input, so that it appears while the log is
/// still being written. An input that fails or runs on without a line end,
/// a failed write, or `each` stopping, stops the reading.
pub fn read_log(
    input: Input,
    out: &Output,
    mut each: impl FnMut(&KvRecord) -> Outcome,
) -> Result<LogRead, Stop> {
    let Input { name, reader } = input;
    let reader = BufReader::with_capacity(1 << 16, out.flushed_before_reads(reader));
    let mut parser = LogParser::new(reader);
    let (mut records, mut skipped) = (0u64, 0u64);
    for item in parser.by_ref() {
        match item {
            Ok(record) => {
                if record.unterminated {
                    stderr::warning(format_args!(
                        "{name}: line {}: the last line has no line end; \
                         it may have been cut off while written",
                        record.line
                    ));
                }
                records += 1;
                each(&record)?;
            }
            Err(LogError::Malformed(error)) => {
                skipped += 1;
                if skipped <= MAX_WARNINGS {
                    stderr::warning(format_args!("{name}: {error}; line skipped"));
                }
            }
            Err(error) => {
                return Err(out
                    .stopped()
                    .unwrap_or_else(|| format!("{name}: {error}").into()));
            }
        }
    }
    if skipped > MAX_WARNINGS {
        stderr::warning(format_args!(
            "{name}: {skipped} malformed KV lines skipped \
             (the first {MAX_WARNINGS} are shown above)"
        ));
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
        stderr::note(format_args!(
            "{}: no \"KV Transfer metrics:\" line in {} lines",
            read.name, read.lines
        ));
    }
}
