//! `nixl-kv-metrics prometheus`: the NIXL part of vLLM's `/metrics`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::printer::words::excerpt;
use nixl_kv_metrics::prometheus::NixlPromMetrics;
use nixl_kv_metrics::release::Release;

use super::{Outcome, Output, family_of, flags, open_input};

/// Print the NIXL metrics vLLM serves on /metrics after observing the given
/// stats: every `vllm:nixl_*` series of one engine, with its # HELP and
/// # TYPE lines, as prometheus_client writes them.
///
/// Input is the JSON `reduce` reads: one stats `data` dict; a list of them,
/// one per worker of one engine step (null for a worker that shipped
/// nothing); or {"steps": [[...], ...]}. Each step's workers are pooled and
/// observed, as vLLM's Prometheus logger does every engine step. vLLM
/// 0.11.0 exports no NIXL metrics.
#[derive(clap::Args)]
pub struct Args {
    /// The vLLM release whose metrics to reproduce.
    #[arg(long = "vllm", value_name = "VERSION", value_parser = flags::release, default_value_t = Release::NEWEST_KNOWN)]
    release: Release,
    /// The `model_name` label (vLLM's served model name).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "model",
        allow_hyphen_values = true
    )]
    model_name: String,
    /// The `engine` label: the engine (data-parallel rank) index.
    #[arg(long, value_name = "N", value_parser = flags::engine, default_value_t = 0)]
    engine: usize,
    /// The value of the `_created` gauges prometheus_client adds to every
    /// series (the Unix time the series was created): `now`, a number of
    /// seconds, or `none` to omit them (as PROMETHEUS_DISABLE_CREATED_SERIES=true does).
    #[arg(long, value_name = "SECONDS|now|none", default_value = "now")]
    created: String,
    /// The JSON input; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

/// Prints the exposition for the observed steps. Each step is observed as
/// soon as it is read, so memory follows the observations.
pub fn run(args: Args, out: &Output) -> Outcome {
    let family = family_of(args.release)?;
    let created = created_at(&args.created)?;
    let mut metrics = NixlPromMetrics::new(family, args.model_name, [args.engine])
        .map_err(|e| format!("--vllm: {e}"))?;
    let input = open_input(args.file)?;
    let mut observed = Ok(());
    Interval::observe_steps(family, input.reader, |pooled| {
        if observed.is_ok() {
            observed = metrics.observe(args.engine, &pooled);
        }
    })
    .map_err(|e| format!("{}: {e}", input.name))?;
    observed.map_err(|e| e.to_string())?;
    out.text(metrics.exposition(created))
}

/// `--created`: `None` to omit the gauges, else their value.
fn created_at(text: &str) -> Result<Option<f64>, String> {
    match text {
        "none" => Ok(None),
        "now" => {
            let since_epoch = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|e| format!("--created now: the clock is before 1970: {e}"))?;
            Ok(Some(since_epoch.as_secs_f64()))
        }
        _ => match text.parse::<f64>() {
            Ok(seconds) if seconds.is_finite() => Ok(Some(seconds)),
            _ => Err(format!(
                "--created: {} is not a number of seconds, `now` or `none`",
                excerpt(text.as_bytes())
            )),
        },
    }
}
