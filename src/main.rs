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
#[command(name = "nixl-kv-metrics", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

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
    let command = match Cli::try_parse() {
        Ok(cli) => cli.command,
        Err(error) => return cli::refuse(error),
    };
    let mut out = cli::Output::stdout();
    let outcome = match command {
        Command::Reduce(args) => cli::reduce::run(args, &mut out),
        Command::Parse(args) => cli::parse::run(args, &mut out),
        Command::Summarize(args) => cli::summarize::run(args, &mut out),
        Command::Explain(args) => cli::explain::run(args, &mut out),
        Command::Plan(args) => cli::plan::run(args, &mut out),
        Command::Prometheus(args) => cli::prometheus::run(args, &mut out),
    };
    cli::finish(outcome, out)
}
