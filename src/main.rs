//! `nixl-kv-metrics`: vLLM's NIXL KV-transfer metrics, reproduced and explained.
//!
//! A thin layer over the `nixl_kv_metrics` library: each subcommand is a
//! module of [`cli`] (compiled into this binary only) that parses its
//! arguments, calls the library, and prints the results through the
//! library's printer to [`cli::Output`] as they come.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// vLLM's NIXL KV-transfer metrics, reproduced and explained.
#[derive(Parser)]
#[command(name = "nixl-kv-metrics", version, about, after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit statuses, as the help gives them ([`cli::output`] says why).
const EXIT_STATUS: &str = "\
Exit status: 0 when the command did its work; 2, after one line on stderr,
for input or flags it cannot use, or output it could not write; 141, as
for a tool that SIGPIPE ends, when the reader of its output went away
(`| head -1`).";

#[derive(Subcommand)]
enum Command {
    Reduce(cli::reduce::Args),
    Parse(cli::parse::Args),
    Summarize(cli::summarize::Args),
    Explain(cli::explain::Args),
    Plan(cli::plan::Args),
    Prometheus(cli::prometheus::Args),
}

fn main() -> ExitCode {
    let out = cli::Output::stdout();
    let outcome = match Cli::try_parse() {
        Ok(Cli { command }) => match command {
            Command::Reduce(args) => cli::reduce::run(args, &out),
            Command::Parse(args) => cli::parse::run(args, &out),
            Command::Summarize(args) => cli::summarize::run(args, &out),
            Command::Explain(args) => cli::explain::run(args, &out),
            Command::Plan(args) => cli::plan::run(args, &out),
            Command::Prometheus(args) => cli::prometheus::run(args, &out),
        },
        Err(error) => cli::usage::refused(error, &out),
    };
    cli::finish(outcome, &out)
}
