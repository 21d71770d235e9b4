//! `nixl-kv-metrics summarize`: a run summary from a vLLM log's KV lines.

use std::path::PathBuf;

use clap::ValueEnum;
use nixl_kv_metrics::printer::run::{Json, Text};
use nixl_kv_metrics::views::Run;

use super::flags::IntervalFlag;
use super::{Outcome, Output, note_if_empty, open_input, read_log};

/// Summarize a vLLM log's KV lines: per engine and overall.
///
/// Counts and totals add; averages are weighted by each line's transfer
/// count; the throughput is rebuilt as total MiB over summed transfer time.
/// Every number carries the bounds vLLM's rounding leaves, in brackets. The
/// lines' P90s cannot be combined: the summary gives the lower bound they
/// imply and says why there is no upper one.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    interval: IntervalFlag,
    /// `text`: for reading; `json`: the same numbers, with bounds.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The vLLM log; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Prints the summary of every KV line.
pub fn run(args: Args, out: &Output) -> Outcome {
    let mut run = Run::new(args.interval.duration());
    let read = read_log(open_input(args.file)?, out, |record| {
        run.add(record);
        Ok(())
    })?;
    note_if_empty(&read);
    let name = &read.name;
    match args.format {
        Format::Text => out.text(Text { name, run: &run }),
        Format::Json => out.json_line(&Json { name, run: &run }),
    }
}
