//! `nixl-kv-metrics`: vLLM's NIXL KV-transfer metrics, reproduced and explained.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::{Family, Release};

/// vLLM's NIXL KV-transfer metrics, reproduced and explained.
#[derive(Parser)]
#[command(name = "nixl-kv-metrics", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the `KV Transfer metrics:` line vLLM logs for the given stats.
    ///
    /// Input is JSON: one vLLM stats `data` dict; a list of them, one per
    /// worker of one engine step in worker order (null for a worker that
    /// shipped nothing); or {"steps": [[...], ...]}, the steps of one logging
    /// interval. Prints nothing when vLLM would log nothing.
    Reduce {
        /// The vLLM release whose behaviour to reproduce.
        #[arg(long = "vllm", value_name = "VERSION", default_value_t = Release::NEWEST_KNOWN.to_string())]
        release: String,
        /// `line`: the message vLLM logs; `json`: its fields and values.
        #[arg(long, value_enum, default_value_t = Format::Line)]
        format: Format,
        /// The JSON input; `-` or nothing for standard input.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Line,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Reduce {
            release,
            format,
            file,
        } => reduce(&release, format, file),
    };
    match result.and_then(|output| write_stdout(&output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("nixl-kv-metrics: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `reduce`: the line (or JSON summary) for one interval, or nothing.
fn reduce(release: &str, format: Format, file: Option<PathBuf>) -> Result<String, String> {
    let family = family_of(release)?;
    let (name, source) = open_input(file)?;
    let interval = Interval::from_reader(family, source).map_err(|e| format!("{name}: {e}"))?;
    Ok(match (interval.log(family), format) {
        (None, _) => String::new(),
        (Some(summary), Format::Line) => format!("{summary}\n"),
        (Some(summary), Format::Json) => format!("{}\n", summary.to_json()),
    })
}

/// The family of a `--vllm` release, with a note when it is newer than known.
fn family_of(release: &str) -> Result<Family, String> {
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
fn open_input(file: Option<PathBuf>) -> Result<(String, Box<dyn Read>), String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let name = path.display().to_string();
            let file = File::open(&path).map_err(|e| format!("{name}: cannot read: {e}"))?;
            Ok((name, Box::new(file)))
        }
        _ => Ok(("<stdin>".to_string(), Box::new(io::stdin().lock()))),
    }
}

/// Writes all output at once, after every check has passed, so a failure
/// never leaves half a result on stdout. A closed pipe is not an error.
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
