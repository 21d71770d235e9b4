//! `nixl-kv-metrics explain`: each KV line in plain words, for a deployment.

use std::ffi::OsString;
use std::path::PathBuf;

use nixl_kv_metrics::explain::Context;
use nixl_kv_metrics::logs::{KvRecord, parse_line};
use nixl_kv_metrics::printer::explanation::Text;
use nixl_kv_metrics::printer::plan::Fitted;

use super::flags::IntervalFlag;
use super::plan::{DeploymentFlags, ModelFlags};
use super::{Outcome, Output, Stop, open_input, read_log};

/// Explain KV lines in plain words, for a given deployment.
///
/// For each KV line: what each field means for the deployment, what follows
/// from the fields (with the bounds vLLM's rounding leaves), and the caveats
/// that apply.
///
/// The input is one `KV Transfer metrics:` line given as the argument (any
/// argument containing `KV Transfer metrics:`), or a vLLM log FILE, or
/// standard input (`-` or nothing): every KV line of it is explained.
///
/// Without TP flags the counts are explained in general terms; `--tp N`
/// (both instances at TP N) or `--prefill-tp P --decode-tp D` turns
/// rank-level transfers into requests. A malformed KV line is reported on
/// stderr with its line number and skipped. No KV line at all, or input that
/// cannot be read: exit status 2, nothing on stdout.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    deployment: DeploymentFlags,
    /// The model uses multi-head latent attention (DeepSeek-V2/V3 and kin).
    #[arg(long, conflicts_with_all = ["model", "layers"])]
    mla: bool,
    #[command(flatten)]
    model: ModelFlags,
    #[command(flatten)]
    interval: IntervalFlag,
    /// A KV line, or a vLLM log; `-` or nothing for standard input.
    #[arg(value_name = "LINE|FILE")]
    input: Option<OsString>,
}

/// Prints the explanation of every KV line of the input as it is read.
pub fn run(args: Args, out: &Output) -> Outcome {
    let mode = args.deployment.mode();
    let setup = match args.deployment.tp_sizes() {
        Some((prefill, decode)) => args.model.setup(prefill, decode, mode)?,
        None if args.model.given() => {
            return Err(
                "a model needs the TP sizes: --tp N, or --prefill-tp P with --decode-tp D"
                    .to_string()
                    .into(),
            );
        }
        None => None,
    };
    let mla = setup
        .as_ref()
        .is_some_and(|s| s.deployment.model().is_mla());
    let context = context(&args)?.with_mla(args.mla || mla);
    let mut first = true;
    let mut explain = |record: &KvRecord| {
        let separator = if first { "" } else { "\n" };
        first = false;
        let explanation = context.explain(record);
        out.text(format_args!("{separator}{}", Text(&explanation)))?;
        match (&setup, &explanation.reading) {
            (Some(setup), Some(reading)) if explanation.transfers > 0 => {
                out.text(Fitted { setup, reading })
            }
            _ => Ok(()),
        }
    };
    let input = args.input.unwrap_or_default();
    let given = input.as_encoded_bytes();
    if memchr::memmem::find(given, b"KV Transfer metrics:").is_some() {
        let record = parse_line(given)
            .map_err(|e| format!("the line given: {e}"))?
            .ok_or_else(|| "the line given is not a KV line".to_string())?;
        explain(&record)?;
    } else {
        let file = (!input.is_empty()).then(|| PathBuf::from(&input));
        let read = read_log(open_input(file)?, out, explain)?;
        if read.records == 0 {
            return Err(Stop::Failed(if read.skipped == 0 {
                format!(
                    "{}: no \"KV Transfer metrics:\" line in {} lines",
                    read.name, read.lines
                )
            } else {
                format!(
                    "{}: no well-formed KV line ({} malformed)",
                    read.name, read.skipped
                )
            }));
        }
    }
    if context.tp_sizes().is_none() {
        out.text(
            "\nhint: --tp N (both instances at TP N) or --prefill-tp P --decode-tp D turns\n\
             transfers into requests; add --mla for an MLA model, --mode push for\n\
             NixlPushConnector.\n",
        )?;
    }
    Ok(())
}

/// The deployment the flags describe.
fn context(args: &Args) -> Result<Context, String> {
    let context = match args.deployment.tp_sizes() {
        Some((prefill, decode)) => {
            Context::hetero(prefill, decode).map_err(|e| format!("TP sizes: {e}"))?
        }
        None => Context::unknown(),
    };
    Ok(context
        .with_mode(args.deployment.mode())
        .with_mla(args.mla)
        .with_interval(args.interval.duration()))
}
