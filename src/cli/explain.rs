//! `nixl-kv-metrics explain`: each KV line in plain words, for a deployment.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::ValueEnum;
use nixl_kv_metrics::explain::Context;
use nixl_kv_metrics::logs::{KvRecord, parse_line};
use nixl_kv_metrics::printer::explanation::Text;
use nixl_kv_metrics::topology::Mode;

use super::flags::{self, IntervalFlag};
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
    /// Tensor-parallel size of both instances.
    #[arg(long, value_name = "N", value_parser = flags::tp_size, conflicts_with_all = ["prefill_tp", "decode_tp"])]
    tp: Option<u32>,
    /// Tensor-parallel size of the prefill instance (with --decode-tp).
    #[arg(long, value_name = "N", value_parser = flags::tp_size, requires = "decode_tp")]
    prefill_tp: Option<u32>,
    /// Tensor-parallel size of the decode instance (with --prefill-tp).
    #[arg(long, value_name = "N", value_parser = flags::tp_size, requires = "prefill_tp")]
    decode_tp: Option<u32>,
    /// `pull`: decode READs (vLLM's default NixlConnector); `push`: prefill
    /// WRITEs (NixlPushConnector).
    #[arg(long, value_enum, default_value_t = ModeArg::Pull)]
    mode: ModeArg,
    /// The model uses multi-head latent attention (DeepSeek-V2/V3 and kin).
    #[arg(long)]
    mla: bool,
    #[command(flatten)]
    interval: IntervalFlag,
    /// A KV line, or a vLLM log; `-` or nothing for standard input.
    #[arg(value_name = "LINE|FILE")]
    input: Option<OsString>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Pull,
    Push,
}

/// Prints the explanation of every KV line of the input as it is read.
pub fn run(args: Args, out: &Output) -> Outcome {
    let context = context(&args)?;
    let mut first = true;
    let mut explain = |record: &KvRecord| {
        let separator = if first { "" } else { "\n" };
        first = false;
        out.text(format_args!(
            "{separator}{}",
            Text(&context.explain(record))
        ))
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
    let tp = match (args.tp, args.prefill_tp, args.decode_tp) {
        (Some(tp), _, _) => Some((tp, tp)),
        (None, Some(prefill), Some(decode)) => Some((prefill, decode)),
        _ => None,
    };
    let context = match tp {
        Some((prefill, decode)) => {
            Context::hetero(prefill, decode).map_err(|e| format!("TP sizes: {e}"))?
        }
        None => Context::unknown(),
    };
    let mode = match args.mode {
        ModeArg::Pull => Mode::Pull,
        ModeArg::Push => Mode::Push,
    };
    Ok(context
        .with_mode(mode)
        .with_mla(args.mla)
        .with_interval(args.interval.duration()))
}
