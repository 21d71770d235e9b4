//! `nixl-kv-metrics parse`: every KV line of a vLLM log, as records.

use std::path::PathBuf;

use clap::ValueEnum;
use nixl_kv_metrics::printer::record::{CsvRow, csv_header};

use super::{Outcome, Output, note_if_empty, open_input, read_log};

/// Print every `KV Transfer metrics:` line of a vLLM log as a record.
///
/// JSON Lines (the default): one object per KV line, with "line" (1-based);
/// "release", the families that print the line's shape: "F1", "F2-F4"
/// (eight fields: 0.11.1 – 0.30.x print the same ones), "F4" (an all-zero
/// eight-field line, which only 0.15.0 – 0.30.x log), "F5" or "F6"; "vllm",
/// those releases in words; "engine" (the engine's index) or
/// "aggregated_engines" (the number of engines pooled), when known;
/// "timestamp", "level", "process" and "connector" (MultiConnector), when
/// present; and "fields": vLLM's field names, in vLLM's order, to the values
/// as printed ("inf" and "nan" as strings).
///
/// CSV: a header, then one row per KV line: line, release, engine, the
/// eleven fields in vLLM's order, then 0.11.0's num_successful_transfers;
/// empty where the line has no such field.
///
/// A malformed KV line is reported on stderr with its line number (the
/// first 100 one by one, then a count) and skipped; the exit status stays 0,
/// since every other line was read and the warnings say what is missing. A
/// file that cannot be read: exit status 2, nothing on stdout.
#[derive(clap::Args)]
pub struct Args {
    /// `json`: JSON Lines; `csv`: one row per line.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// The vLLM log; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
}

/// Prints the record of every KV line as it is read.
pub fn run(args: Args, out: &Output) -> Outcome {
    let input = open_input(args.file)?;
    if let Format::Csv = args.format {
        out.text(format_args!("{}\n", csv_header()))?;
    }
    let read = read_log(input, out, |record| match args.format {
        Format::Json => out.json_line(record),
        Format::Csv => out.text(format_args!("{}\n", CsvRow(record))),
    })?;
    note_if_empty(&read);
    Ok(())
}
