//! `nixl-kv-metrics summarize`: a run summary from a vLLM log's KV lines.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use nixl_kv_metrics::logs::{Engine, Shape};
use nixl_kv_metrics::printer::words::plural;
use nixl_kv_metrics::python::Repr;
use nixl_kv_metrics::views::{Bounded, DEFAULT_INTERVAL, P90Bounds, Run, Totals};

use super::Outcome;
use super::parse::note_if_empty;
use super::read_log;

/// Summarize a vLLM log's KV lines: per engine and overall.
///
/// Counts and totals add; averages are weighted by each line's transfer
/// count; the throughput is rebuilt as total MiB over summed transfer time.
/// Every number carries the bounds vLLM's rounding leaves, in brackets. The
/// lines' P90s cannot be combined: the summary gives the lower bound they
/// imply and says why there is no upper one.
#[derive(clap::Args)]
pub struct Args {
    /// The logging interval, VLLM_LOG_STATS_INTERVAL, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_INTERVAL.as_secs_f64())]
    interval: f64,
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

/// The summary of every KV line.
pub fn run(args: Args) -> Outcome {
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(format!(
            "--interval: {} is not a positive number of seconds",
            args.interval
        ));
    }
    let interval = Duration::from_secs_f64(args.interval);
    let mut run = Run::new(interval);
    let read = read_log(args.file, |record| run.add(record))?;
    note_if_empty(&read);
    let name = read.name;
    Ok(match args.format {
        Format::Text => text(&name, &run),
        Format::Json => json(&name, &run),
    })
}

/// A heading for an engine's section.
fn engine_heading(engine: Engine) -> String {
    match engine {
        Engine::One(index) => format!("engine {index}"),
        Engine::Aggregated(count) => format!("{count} engines aggregated"),
        Engine::Unknown => "engine unknown (no engine line before these lines)".to_string(),
    }
}

/// The plain-text summary.
fn text(name: &str, run: &Run) -> String {
    let overall = run.overall();
    let mut out = String::new();
    let w = &mut out;
    let seconds = Repr(run.interval().as_secs_f64());
    if overall.lines == 0 {
        return format!("{name}: no KV Transfer metrics lines\n");
    }
    line(
        w,
        format_args!(
            "{name}: {}{}{}; logging interval {seconds} s",
            plural(overall.lines, "KV line"),
            span(
                overall.first_line,
                overall.last_line,
                " (lines ",
                " – ",
                ")"
            ),
            span(
                overall.first_timestamp.as_ref(),
                overall.last_timestamp.as_ref(),
                ", ",
                " – ",
                ""
            ),
        ),
    );
    for shape in Shape::ALL {
        let count = overall.lines_of(shape);
        if count > 0 {
            let families = shape.families();
            line(
                w,
                format_args!(
                    "  {} with {} ({families}: vLLM {})",
                    plural(count, "line"),
                    plural(shape.fields().len() as u64, "field"),
                    families.releases()
                ),
            );
        }
    }
    let several = run.engines().len() > 1;
    for (engine, totals) in run.engines() {
        out.push('\n');
        section(
            &mut out,
            &engine_heading(*engine),
            totals,
            Some(run.interval()),
        );
    }
    if several {
        out.push('\n');
        section(&mut out, "all engines", overall, None);
    }
    out.push_str(&notes(run));
    out
}

/// `start` – `end` between `open` and `close`, when known.
fn span<T: std::fmt::Display>(
    start: Option<T>,
    end: Option<T>,
    open: &str,
    between: &str,
    close: &str,
) -> String {
    match (start, end) {
        (Some(start), Some(end)) => format!("{open}{start}{between}{end}{close}"),
        _ => String::new(),
    }
}

/// Writes one line.
fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    out.write_fmt(args).expect("writing to a String");
    out.push('\n');
}

/// Writes a labelled row.
fn row(out: &mut String, label: &str, value: impl std::fmt::Display, note: &str) {
    let value = value.to_string();
    if note.is_empty() {
        line(out, format_args!("  {label:<27} {value}"));
    } else {
        line(out, format_args!("  {label:<27} {value:<36} {note}"));
    }
}

/// One engine's (or all engines') totals; `interval` for the time-based
/// rows, which only one engine's lines support.
fn section(out: &mut String, heading: &str, totals: &Totals, interval: Option<Duration>) {
    let mut extra = Vec::new();
    if totals.zero_lines > 0 {
        extra.push(format!("{} all-zero", totals.zero_lines));
    }
    if totals.debug_lines > 0 {
        extra.push(format!("{} at DEBUG", totals.debug_lines));
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({})", extra.join(", "))
    };
    line(
        out,
        format_args!("{heading}: {}{extra}", plural(totals.lines, "line")),
    );
    row(
        out,
        "transfers",
        totals.transfers,
        "Σ Num successful transfers",
    );
    if totals.timed_transfers < totals.transfers {
        row(
            out,
            "  with timings",
            totals.timed_transfers,
            "(0.11.0 lines have only the count)",
        );
    }
    if totals.timed_lines == 0 {
        return;
    }
    row(
        out,
        "MiB moved",
        format!("{:.3}", totals.sums.total_mib),
        "Σ n × Avg MB",
    );
    row(
        out,
        "xfer time, summed (s)",
        format!("{:.6}", totals.sums.xfer_ms / Bounded::exact(1e3)),
        "Σ n × Avg xfer",
    );
    let optional = |x: Option<Bounded>, digits: usize| match x {
        Some(x) => format!("{x:.digits$}"),
        None => "–".to_string(),
    };
    row(
        out,
        "Avg xfer time (ms)",
        optional(totals.avg_xfer_ms(), 4),
        "weighted by n",
    );
    p90_row(out, "P90 xfer time (ms)", totals.p90_xfer_ms);
    row(
        out,
        "Avg post time (ms)",
        optional(totals.avg_post_ms(), 4),
        "weighted by n",
    );
    p90_row(out, "P90 post time (ms)", totals.p90_post_ms);
    row(
        out,
        "Avg MB per transfer",
        optional(totals.avg_mib(), 4),
        "MiB, weighted by n",
    );
    row(
        out,
        "Throughput (MB/s)",
        optional(totals.throughput_mib_s(), 3),
        "Σ MiB / Σ xfer seconds",
    );
    row(
        out,
        "Avg number of descriptors",
        optional(totals.avg_descriptors(), 2),
        "weighted by n",
    );
    let counts = [
        ("Num failed transfers", totals.sums.failed_transfers),
        ("Num KV expired reqs", totals.sums.kv_expired_reqs),
        ("Num notifs after expiry", totals.sums.notifs_after_expiry),
    ];
    for (label, count) in counts {
        if let Some(count) = count {
            row(out, label, count, "summed");
        }
    }
    if let Some(interval) = interval {
        let logged = totals.logged_seconds(interval);
        line(
            out,
            format_args!(
                "  over {} ({} s):",
                plural(totals.timed_lines, "logged interval"),
                Repr(logged)
            ),
        );
        row(
            out,
            "  transfers in flight",
            optional(totals.mean_concurrency(interval), 6),
            "Σ xfer time / logged time",
        );
        row(
            out,
            "  MiB/s",
            optional(totals.mean_window_mib_s(interval), 3),
            "Σ MiB / logged time",
        );
    }
}

/// The P90 row: a single line's P90, or the bound the lines imply.
fn p90_row(out: &mut String, label: &str, bounds: Option<P90Bounds>) {
    match bounds {
        None => row(out, label, "–", ""),
        Some(b) if b.lines == 1 => row(
            out,
            label,
            format!(
                "{} [{:.4}, {:.4}]",
                Repr(b.largest_line),
                b.at_least,
                b.at_most
            ),
            "one line",
        ),
        Some(b) => row(
            out,
            label,
            format!("≥ {:.4}", b.at_least),
            &format!(
                "lines: {} – {}; not combinable, no upper bound",
                Repr(b.smallest_line),
                Repr(b.largest_line)
            ),
        ),
    }
}

/// The caveats, after the numbers.
fn notes(run: &Run) -> String {
    let seconds = Repr(run.interval().as_secs_f64());
    let mut out = String::from("\nnotes:\n");
    let overall = run.overall();
    let mut note = |text: String| {
        out.push_str("  * ");
        out.push_str(&text);
        out.push('\n');
    };
    if overall.timed_lines > 0 {
        note(
            "[min, max]: the bounds vLLM's rounding leaves. Each printed average is rounded \
             (±0.0005; descriptors ±0.05), so a total n × avg is known to ±n × 0.0005; bounds \
             are carried through every sum and division."
                .to_string(),
        );
        note(
            "P90s cannot be combined: the run's P90 (over all its transfers) is at least the \
             smallest line's P90 (a theorem for numpy's linear percentile at 90 %), but the \
             largest line's P90 is not an upper bound: lines {0, 10} ms and {0, 10} ms both \
             print P90 9.0, their union has P90 10.0."
                .to_string(),
        );
        note(format!(
            "logged time = one {seconds} s interval per line (set --interval to \
             VLLM_LOG_STATS_INTERVAL if it was changed). Intervals in which an engine logged \
             nothing are not in it; \"in flight\" and \"MiB/s\" assume each line's transfers \
             ran within its interval (the first line after idle covers less busy time)."
        ));
    }
    note(
        "vLLM logs the KV line at DEBUG when the engine was idle: at the default level \
         those lines, and their transfers, failures and expiries, are missing from the log."
            .to_string(),
    );
    if run.engines().len() > 1 {
        note(
            "\"all engines\" has no per-interval rows: the engines' lines cover the same \
             wall-clock time."
                .to_string(),
        );
    }
    if run.engines().contains_key(&Engine::Unknown) {
        note(
            "lines with no \"Engine NNN:\" stats line before them (e.g. a grep'ed log) are \
             under \"engine unknown\"."
                .to_string(),
        );
    }
    out
}

/// A number as JSON: Python's repr of it, `inf` and `nan` as strings.
fn number(x: f64) -> String {
    if x.is_finite() {
        Repr(x).to_string()
    } else {
        format!("\"{}\"", Repr(x))
    }
}

/// A bounded number as a JSON object.
fn bounded(x: Bounded) -> String {
    format!(
        "{{\"value\":{},\"min\":{},\"max\":{}}}",
        number(x.value),
        number(x.min),
        number(x.max)
    )
}

/// A JSON object from its members (already rendered), skipping `None`s.
fn object(members: &[(&str, Option<String>)]) -> String {
    let inner: Vec<String> = members
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|value| format!("\"{key}\":{value}")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A JSON string.
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("a str serializes")
}

/// One set of totals as JSON; the per-interval members with `interval`.
fn totals_json(totals: &Totals, engine: Option<Engine>, interval: Option<Duration>) -> String {
    let p90 = |b: Option<P90Bounds>| {
        b.map(|b| {
            object(&[
                ("lines", Some(b.lines.to_string())),
                ("smallest_line", Some(number(b.smallest_line))),
                ("largest_line", Some(number(b.largest_line))),
                ("at_least", Some(number(b.at_least))),
                ("at_most", Some(number(b.at_most))),
                ("largest_sample", Some(number(b.largest_sample))),
            ])
        })
    };
    let timed = totals.timed_lines > 0;
    let total = |x: Bounded| timed.then(|| bounded(x));
    let count = |x: Option<u64>| x.map(|x| x.to_string());
    let per_interval = |f: fn(&Totals, Duration) -> Option<Bounded>| {
        interval
            .and_then(|interval| f(totals, interval))
            .map(bounded)
    };
    object(&[
        (
            "engine",
            engine.and_then(Engine::index).map(|i| i.to_string()),
        ),
        (
            "aggregated_engines",
            match engine {
                Some(Engine::Aggregated(count)) => Some(count.to_string()),
                _ => None,
            },
        ),
        ("lines", Some(totals.lines.to_string())),
        ("timed_lines", Some(totals.timed_lines.to_string())),
        ("zero_lines", Some(totals.zero_lines.to_string())),
        ("debug_lines", Some(totals.debug_lines.to_string())),
        ("first_line", count(totals.first_line)),
        ("last_line", count(totals.last_line)),
        (
            "first_timestamp",
            totals.first_timestamp.as_deref().map(quote),
        ),
        (
            "last_timestamp",
            totals.last_timestamp.as_deref().map(quote),
        ),
        ("transfers", Some(totals.transfers.to_string())),
        ("timed_transfers", Some(totals.timed_transfers.to_string())),
        ("total_mib", total(totals.sums.total_mib)),
        ("xfer_ms", total(totals.sums.xfer_ms)),
        ("post_ms", total(totals.sums.post_ms)),
        ("descriptors", total(totals.sums.descriptors)),
        ("avg_xfer_ms", totals.avg_xfer_ms().map(bounded)),
        ("avg_post_ms", totals.avg_post_ms().map(bounded)),
        ("avg_mib", totals.avg_mib().map(bounded)),
        ("throughput_mib_s", totals.throughput_mib_s().map(bounded)),
        ("avg_descriptors", totals.avg_descriptors().map(bounded)),
        ("p90_xfer_ms", p90(totals.p90_xfer_ms)),
        ("p90_post_ms", p90(totals.p90_post_ms)),
        ("failed_transfers", count(totals.sums.failed_transfers)),
        ("kv_expired_reqs", count(totals.sums.kv_expired_reqs)),
        (
            "notifs_after_expiry",
            count(totals.sums.notifs_after_expiry),
        ),
        (
            "logged_seconds",
            interval.map(|i| number(totals.logged_seconds(i))),
        ),
        ("mean_concurrency", per_interval(Totals::mean_concurrency)),
        ("mean_window_mib_s", per_interval(Totals::mean_window_mib_s)),
    ])
}

/// The JSON summary: one object.
fn json(name: &str, run: &Run) -> String {
    let engines: Vec<String> = run
        .engines()
        .iter()
        .map(|(engine, totals)| totals_json(totals, Some(*engine), Some(run.interval())))
        .collect();
    let several = run.engines().len() > 1;
    let overall_interval = (!several).then_some(run.interval());
    object(&[
        ("file", Some(quote(name))),
        ("interval_s", Some(number(run.interval().as_secs_f64()))),
        (
            "overall",
            Some(totals_json(run.overall(), None, overall_interval)),
        ),
        ("engines", Some(format!("[{}]", engines.join(",")))),
    ]) + "\n"
}
