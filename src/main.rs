//! `nixl-kv-metrics`: vLLM's NIXL KV-transfer metrics, reproduced and explained.
//!
//! A thin layer over the `nixl_kv_metrics` library: each subcommand is a
//! module of [`cli`] (compiled into this binary only) that parses its
//! arguments, calls the library and returns its whole output as a string, so
//! that an error never leaves half a result on stdout.

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
    Prometheus(cli::prometheus::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Reduce(args) => cli::reduce::run(args),
        Command::Parse(args) => cli::parse::run(args),
        Command::Summarize(args) => cli::summarize::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Prometheus(args) => cli::prometheus::run(args),
    };
    cli::finish(result)
}
