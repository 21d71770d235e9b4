//! `nixl-kv-metrics summarize`: a run summary from a vLLM log's KV lines.

use std::path::PathBuf;

use clap::ValueEnum;
use nixl_kv_metrics::printer::run::{Json, Text};
use nixl_kv_metrics::views::Run;

use super::flags::IntervalFlag;
use super::{Outcome, Output, Stop, note_if_empty, open_input, read_log};

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

/// The most engines a summary keeps totals for. vLLM names an engine by its
/// data-parallel rank, and deployments run at most a few hundred; a log
/// that names more is not one deployment's, and totals kept for each would
/// cost memory that follows the input.
const MAX_ENGINES: usize = 4096;

/// Prints the summary of every KV line.
pub fn run(args: Args, out: &Output) -> Outcome {
    let mut run = Run::new(args.interval.duration());
    let input = open_input(args.file)?;
    let name = input.name.clone();
    let read = read_log(input, out, |record| {
        run.add(record);
        if run.engines().len() > MAX_ENGINES {
            return Err(Stop::Failed(format!(
                "{name}: line {}: more than {MAX_ENGINES} engines named; \
                 a summary keeps totals for at most {MAX_ENGINES}",
                record.line
            )));
        }
        Ok(())
    })?;
    note_if_empty(&read);
    let name = &read.name;
    match args.format {
        Format::Text => out.text(Text { name, run: &run }),
        Format::Json => out.json_line(&Json { name, run: &run }),
    }
}
