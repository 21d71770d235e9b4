//! `nixl-kv-metrics reduce`: the line vLLM logs for given stats.

use std::path::PathBuf;

use clap::ValueEnum;
use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::Release;

use super::{Outcome, Output, family_of, flags, open_input};

/// Print the `KV Transfer metrics:` line vLLM logs for the given stats.
///
/// Input is JSON: one vLLM stats `data` dict; a list of them, one per worker
/// of one engine step in worker order (null for a worker that shipped
/// nothing); or {"steps": [[...], ...]}, the steps of one logging interval.
/// Prints nothing when vLLM would log nothing.
#[derive(clap::Args)]
pub struct Args {
    /// The vLLM release whose behaviour to reproduce.
    #[arg(long = "vllm", value_name = "VERSION", value_parser = flags::release, default_value_t = Release::NEWEST_KNOWN)]
    release: Release,
    /// `line`: the message vLLM logs; `json`: its fields and values.
    #[arg(long, value_enum, default_value_t = Format::Line)]
    format: Format,
    /// The JSON input; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Line,
    Json,
}

/// Prints the line (or its JSON) for one interval, or nothing. The steps
/// are pooled as they are read, so memory follows the observations.
pub fn run(args: Args, out: &Output) -> Outcome {
    let family = family_of(args.release)?;
    let input = open_input(args.file)?;
    let line =
        Interval::log_stream(family, input.reader).map_err(|e| format!("{}: {e}", input.name))?;
    match (line, args.format) {
        (None, _) => Ok(()),
        (Some(summary), Format::Line) => out.text(format_args!("{summary}\n")),
        (Some(summary), Format::Json) => out.json_line(&summary),
    }
}
