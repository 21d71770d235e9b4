//! The subcommands, and what they share: reading input, choosing a release,
//! reporting errors (one line on stderr, exit status 2) and writing output.

pub mod explain;
pub mod parse;
pub mod prometheus;
pub mod reduce;
pub mod summarize;

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use nixl_kv_metrics::logs::{KvRecord, LogError, LogParser};
use nixl_kv_metrics::release::{Family, Release};

/// What a subcommand prints on success, or the message of its failure.
pub type Outcome = Result<String, String>;

/// Writes a subcommand's output, or its error, and gives the exit status:
/// 0, or 2 for bad input (nothing is written to stdout then).
pub fn finish(outcome: Outcome) -> ExitCode {
    match outcome.and_then(|output| write_stdout(&output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("nixl-kv-metrics: error: {message}");
            ExitCode::from(2)
        }
    }
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

/// Opens FILE, or standard input for `-` or no FILE; returns a name for
/// messages and the stream (read in constant memory).
pub fn open_input(file: Option<PathBuf>) -> Result<(String, Box<dyn Read>), String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let name = path.display().to_string();
            let file = File::open(&path).map_err(|e| format!("{name}: cannot read: {e}"))?;
            Ok((name, Box::new(file)))
        }
        _ => Ok(("<stdin>".to_string(), Box::new(io::stdin().lock()))),
    }
}

/// Writes all output at once. A closed pipe is not an error.
fn write_stdout(output: &str) -> Result<(), String> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("cannot write output: {e}")),
        _ => Ok(()),
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

/// Reads the log in FILE (or stdin), giving each KV line to `each`;
/// malformed lines are reported on stderr and skipped, and a last line
/// without a line end is flagged. An I/O error stops the reading.
pub fn read_log(file: Option<PathBuf>, mut each: impl FnMut(&KvRecord)) -> Result<LogRead, String> {
    let (name, source) = open_input(file)?;
    let mut parser = LogParser::new(BufReader::with_capacity(1 << 16, source));
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
                each(&record);
            }
            Err(LogError::Malformed(error)) => {
                skipped += 1;
                if skipped <= MAX_WARNINGS {
                    eprintln!("nixl-kv-metrics: warning: {name}: {error}; line skipped");
                }
            }
            Err(error @ LogError::Io { .. }) => return Err(format!("{name}: {error}")),
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
