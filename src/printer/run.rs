//! A run of KV lines summarized, as `summarize` prints it: [`Text`] for
//! reading, [`Json`] for tools (the same numbers, each with its bounds).
//!
//! ```
//! use nixl_kv_metrics::logs::parse_line;
//! use nixl_kv_metrics::printer::{json, run};
//! use nixl_kv_metrics::views::{DEFAULT_INTERVAL, Run};
//!
//! let mut summary = Run::new(DEFAULT_INTERVAL);
//! summary.add(&parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap());
//! let text = run::Text { name: "vllm.log", run: &summary }.to_string();
//! assert!(text.starts_with("vllm.log: 1 KV line (lines 1 – 1); logging interval 10.0 s\n"));
//! let json = json::to_string(&run::Json { name: "vllm.log", run: &summary });
//! assert!(json.starts_with(r#"{"file":"vllm.log","interval_s":10.0,"overall":{"lines":1,"#));
//! # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
//! ```

use std::fmt::{self, Display, Formatter};
use std::time::Duration;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::json::{Float, entry};
use super::words::plural;
use crate::field::Field;
use crate::logs::{Engine, Shape};
use crate::python::Repr;
use crate::views::{Bounded, P90Bounds, Run, Totals};

/// The plain-text summary of `run`, read from the input called `name`:
/// a heading, a section per engine (and one for all engines when there are
/// several), then the caveats.
pub struct Text<'a> {
    /// The input's name.
    pub name: &'a str,
    /// The run.
    pub run: &'a Run,
}

impl Display for Text<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let Text { name, run } = *self;
        let overall = run.overall();
        if overall.lines == 0 {
            return writeln!(f, "{name}: no KV Transfer metrics lines");
        }
        write!(f, "{name}: {}", plural(overall.lines, "KV line"))?;
        if let (Some(first), Some(last)) = (overall.first_line, overall.last_line) {
            write!(f, " (lines {first} – {last})")?;
        }
        if let (Some(first), Some(last)) = (&overall.first_timestamp, &overall.last_timestamp) {
            write!(f, ", {first} – {last}")?;
        }
        writeln!(
            f,
            "; logging interval {} s",
            Repr(run.interval().as_secs_f64())
        )?;
        for shape in Shape::ALL {
            let count = overall.lines_of(shape);
            if count > 0 {
                let families = shape.families();
                writeln!(
                    f,
                    "  {} with {} ({families}: vLLM {})",
                    plural(count, "line"),
                    plural(shape.fields().len() as u64, "field"),
                    families.releases()
                )?;
            }
        }
        for (engine, totals) in run.engines() {
            f.write_str("\n")?;
            section(f, &engine_heading(*engine), totals, Some(run.interval()))?;
        }
        if run.engines().len() > 1 {
            f.write_str("\n")?;
            section(f, "all engines", overall, None)?;
        }
        notes(f, run)
    }
}

/// A heading for an engine's section.
fn engine_heading(engine: Engine) -> String {
    match engine {
        Engine::One(index) => format!("engine {index}"),
        Engine::Aggregated(count) => format!("{count} engines aggregated"),
        Engine::Unknown => "engine unknown (no engine line before these lines)".to_string(),
    }
}

/// Writes a labelled row: the label, the value, and how it was derived.
fn row(f: &mut Formatter<'_>, label: &str, value: impl Display, how: &str) -> fmt::Result {
    let value = value.to_string();
    if how.is_empty() {
        writeln!(f, "  {label:<27} {value}")
    } else {
        writeln!(f, "  {label:<27} {value:<36} {how}")
    }
}

/// `x` with `decimals` decimals and its bounds, or `–` when there is no `x`.
fn bounded(x: Option<Bounded>, decimals: usize) -> String {
    x.map_or_else(|| "–".to_string(), |x| format!("{x:.decimals$}"))
}

/// One engine's (or all engines') totals; `interval` for the time-based
/// rows, which only one engine's lines support.
fn section(
    f: &mut Formatter<'_>,
    heading: &str,
    totals: &Totals,
    interval: Option<Duration>,
) -> fmt::Result {
    let mut extra = Vec::new();
    if totals.zero_lines > 0 {
        extra.push(format!("{} all-zero", totals.zero_lines));
    }
    if totals.debug_lines > 0 {
        extra.push(format!("{} at DEBUG", totals.debug_lines));
    }
    write!(f, "{heading}: {}", plural(totals.lines, "line"))?;
    if !extra.is_empty() {
        write!(f, " ({})", extra.join(", "))?;
    }
    f.write_str("\n")?;
    let count = Field::NumSuccessfulTransfers.name();
    row(f, "transfers", totals.transfers, &format!("Σ {count}"))?;
    if totals.timed_transfers < totals.transfers {
        row(
            f,
            "  with timings",
            totals.timed_transfers,
            "(0.11.0 lines have only the count)",
        )?;
    }
    if totals.timed_lines == 0 {
        return Ok(());
    }
    let sums = &totals.sums;
    row(
        f,
        "MiB moved",
        format!("{:.3}", sums.total_mib),
        "Σ n × Avg MB",
    )?;
    let xfer_s = sums.xfer_ms / Bounded::exact(1e3);
    row(
        f,
        "xfer time, summed (s)",
        format!("{xfer_s:.6}"),
        "Σ n × Avg xfer",
    )?;
    let weighted = "weighted by n";
    let averages = [
        (
            Field::AvgXferTimeMs,
            Cell::Mean(totals.avg_xfer_ms(), 4, weighted),
        ),
        (Field::P90XferTimeMs, Cell::P90(totals.p90_xfer_ms)),
        (
            Field::AvgPostTimeMs,
            Cell::Mean(totals.avg_post_ms(), 4, weighted),
        ),
        (Field::P90PostTimeMs, Cell::P90(totals.p90_post_ms)),
        (
            Field::AvgMbPerTransfer,
            Cell::Mean(totals.avg_mib(), 4, "MiB, weighted by n"),
        ),
        (
            Field::ThroughputMbS,
            Cell::Mean(totals.throughput_mib_s(), 3, "Σ MiB / Σ xfer seconds"),
        ),
        (
            Field::AvgNumberOfDescriptors,
            Cell::Mean(totals.avg_descriptors(), 2, weighted),
        ),
    ];
    for (field, cell) in averages {
        match cell {
            Cell::Mean(x, decimals, how) => row(f, field.name(), bounded(x, decimals), how)?,
            Cell::P90(bounds) => p90_row(f, field.name(), bounds)?,
        }
    }
    let counts = [
        (Field::NumFailedTransfers, sums.failed_transfers),
        (Field::NumKvExpiredReqs, sums.kv_expired_reqs),
        (Field::NumNotifsAfterExpiry, sums.notifs_after_expiry),
    ];
    for (field, count) in counts {
        if let Some(count) = count {
            row(f, field.name(), count, "summed")?;
        }
    }
    if let Some(interval) = interval {
        writeln!(
            f,
            "  over {} ({} s):",
            plural(totals.timed_lines, "logged interval"),
            Repr(totals.logged_seconds(interval))
        )?;
        row(
            f,
            "  transfers in flight",
            bounded(totals.mean_concurrency(interval), 6),
            "Σ xfer time / logged time",
        )?;
        row(
            f,
            "  MiB/s",
            bounded(totals.mean_window_mib_s(interval), 3),
            "Σ MiB / logged time",
        )?;
    }
    Ok(())
}

/// The run's figure for one of the line's averaged fields.
enum Cell {
    /// A mean rebuilt from the lines, its decimals, and how.
    Mean(Option<Bounded>, usize, &'static str),
    /// What the lines bound about a P90.
    P90(Option<P90Bounds>),
}

/// The P90 row: a single line's P90, or the bound the lines imply.
fn p90_row(f: &mut Formatter<'_>, label: &str, bounds: Option<P90Bounds>) -> fmt::Result {
    match bounds {
        None => row(f, label, "–", ""),
        Some(b) if b.lines == 1 => row(
            f,
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
            f,
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
fn notes(f: &mut Formatter<'_>, run: &Run) -> fmt::Result {
    let seconds = Repr(run.interval().as_secs_f64());
    f.write_str("\nnotes:\n")?;
    let mut note = |text: &dyn Display| writeln!(f, "  * {text}");
    if run.overall().timed_lines > 0 {
        note(
            &"[min, max]: the bounds vLLM's rounding leaves. Each printed average is rounded \
              (±0.0005; descriptors ±0.05), so a total n × avg is known to ±n × 0.0005; bounds \
              are carried through every sum and division.",
        )?;
        note(
            &"P90s cannot be combined: the run's P90 (over all its transfers) is at least the \
              smallest line's P90 (a theorem for numpy's linear percentile at 90 %), but the \
              largest line's P90 is not an upper bound: lines {0, 10} ms and {0, 10} ms both \
              print P90 9.0, their union has P90 10.0.",
        )?;
        note(&format_args!(
            "logged time = one {seconds} s interval per line (set --interval to \
             VLLM_LOG_STATS_INTERVAL if it was changed). Intervals in which an engine logged \
             nothing are not in it; \"in flight\" and \"MiB/s\" assume each line's transfers \
             ran within its interval (the first line after idle covers less busy time)."
        ))?;
    }
    note(
        &"vLLM logs the KV line at DEBUG when the engine was idle: at the default level \
          those lines, and their transfers, failures and expiries, are missing from the log.",
    )?;
    if run.engines().len() > 1 {
        note(
            &"\"all engines\" has no per-interval rows: the engines' lines cover the same \
              wall-clock time.",
        )?;
    }
    if run.engines().contains_key(&Engine::Unknown) {
        note(
            &"lines with no \"Engine NNN:\" stats line before them (e.g. a grep'ed log) are \
              under \"engine unknown\".",
        )?;
    }
    Ok(())
}

/// The JSON summary of `run`, read from the input called `name`: one object
/// with "file", "interval_s", "overall" and "engines" (one object per
/// engine, in engine order). Every derived number is an object with
/// "value", "min" and "max"; members that do not apply are absent. The
/// per-interval members ("logged_seconds", "mean_concurrency",
/// "mean_window_mib_s") are in each engine's object, and in "overall" only
/// when there is one engine.
pub struct Json<'a> {
    /// The input's name.
    pub name: &'a str,
    /// The run.
    pub run: &'a Run,
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let run = self.run;
        let interval = run.interval();
        let several = run.engines().len() > 1;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("file", self.name)?;
        map.serialize_entry("interval_s", &Float(interval.as_secs_f64()))?;
        let overall = TotalsJson {
            totals: run.overall(),
            engine: None,
            interval: (!several).then_some(interval),
        };
        map.serialize_entry("overall", &overall)?;
        map.serialize_entry("engines", &Engines(run))?;
        map.end()
    }
}

/// The engines' totals, as a list.
struct Engines<'a>(&'a Run);

impl Serialize for Engines<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let engines = self.0.engines();
        let mut seq = serializer.serialize_seq(Some(engines.len()))?;
        for (engine, totals) in engines {
            seq.serialize_element(&TotalsJson {
                totals,
                engine: Some(*engine),
                interval: Some(self.0.interval()),
            })?;
        }
        seq.end()
    }
}

/// One set of totals; the per-interval members with `interval`.
struct TotalsJson<'a> {
    totals: &'a Totals,
    engine: Option<Engine>,
    interval: Option<Duration>,
}

impl Serialize for TotalsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.totals;
        let sums = &t.sums;
        let timed = |x: Bounded| (t.timed_lines > 0).then_some(x);
        let per_interval = |f: fn(&Totals, Duration) -> Option<Bounded>| {
            self.interval.and_then(|interval| f(t, interval))
        };
        let aggregated = match self.engine {
            Some(Engine::Aggregated(count)) => Some(count),
            _ => None,
        };
        let mut map = serializer.serialize_map(None)?;
        entry(&mut map, "engine", self.engine.and_then(Engine::index))?;
        entry(&mut map, "aggregated_engines", aggregated)?;
        map.serialize_entry("lines", &t.lines)?;
        map.serialize_entry("timed_lines", &t.timed_lines)?;
        map.serialize_entry("zero_lines", &t.zero_lines)?;
        map.serialize_entry("debug_lines", &t.debug_lines)?;
        entry(&mut map, "first_line", t.first_line)?;
        entry(&mut map, "last_line", t.last_line)?;
        entry(&mut map, "first_timestamp", t.first_timestamp.as_deref())?;
        entry(&mut map, "last_timestamp", t.last_timestamp.as_deref())?;
        map.serialize_entry("transfers", &t.transfers)?;
        map.serialize_entry("timed_transfers", &t.timed_transfers)?;
        entry(&mut map, "total_mib", timed(sums.total_mib))?;
        entry(&mut map, "xfer_ms", timed(sums.xfer_ms))?;
        entry(&mut map, "post_ms", timed(sums.post_ms))?;
        entry(&mut map, "descriptors", timed(sums.descriptors))?;
        entry(&mut map, "avg_xfer_ms", t.avg_xfer_ms())?;
        entry(&mut map, "avg_post_ms", t.avg_post_ms())?;
        entry(&mut map, "avg_mib", t.avg_mib())?;
        entry(&mut map, "throughput_mib_s", t.throughput_mib_s())?;
        entry(&mut map, "avg_descriptors", t.avg_descriptors())?;
        entry(&mut map, "p90_xfer_ms", t.p90_xfer_ms.map(P90Json))?;
        entry(&mut map, "p90_post_ms", t.p90_post_ms.map(P90Json))?;
        entry(&mut map, "failed_transfers", sums.failed_transfers)?;
        entry(&mut map, "kv_expired_reqs", sums.kv_expired_reqs)?;
        entry(&mut map, "notifs_after_expiry", sums.notifs_after_expiry)?;
        let logged = self.interval.map(|i| Float(t.logged_seconds(i)));
        entry(&mut map, "logged_seconds", logged)?;
        entry(
            &mut map,
            "mean_concurrency",
            per_interval(Totals::mean_concurrency),
        )?;
        entry(
            &mut map,
            "mean_window_mib_s",
            per_interval(Totals::mean_window_mib_s),
        )?;
        map.end()
    }
}

/// What the lines bound about a P90, as an object.
struct P90Json(P90Bounds);

impl Serialize for P90Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let b = self.0;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("lines", &b.lines)?;
        map.serialize_entry("smallest_line", &Float(b.smallest_line))?;
        map.serialize_entry("largest_line", &Float(b.largest_line))?;
        map.serialize_entry("at_least", &Float(b.at_least))?;
        map.serialize_entry("at_most", &Float(b.at_most))?;
        map.serialize_entry("largest_sample", &Float(b.largest_sample))?;
        map.end()
    }
}
