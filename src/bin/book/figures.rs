//! The book's figures: a registry of named SVG images drawn by code.
//!
//! A chapter inserts one with `{{#nixl figure NAME}}`. The preprocessor writes
//! every figure to `book/src/generated/NAME.svg` (git-ignored), from where
//! mdBook copies it into the rendered book like any other static file, and
//! puts an `<img>` of it in the chapter. Numbers in a chart are computed by
//! this crate when the book is built, so a figure cannot disagree with it.
//!
//! To add a figure: write a `fn() -> Svg` and add a [`Figure`] to [`ALL`].

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::logs::parse_line;
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::simulation::{Link, LoggingConfig, SimConfig, Simulation};
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::{MIB, XferTelemetry};
use nixl_kv_metrics::topology::{BlockLayout, Deployment, Mode, ModelGeometry, Parallelism};
use nixl_kv_metrics::views::LineReading;
use nixl_kv_metrics::wallclock::WallClock;

use crate::svg::{Anchor, Font, Svg, colour};

/// One named figure.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    /// The name chapters use: `{{#nixl figure NAME}}`; also the file stem.
    pub name: &'static str,
    /// The image's `alt` text: what it shows, for readers who cannot see it.
    pub alt: &'static str,
    /// The caption printed under it (plain text).
    pub caption: &'static str,
    /// Draws it.
    pub draw: fn() -> Svg,
}

/// Every figure, by name.
pub const ALL: &[Figure] = &[
    Figure {
        name: "pipeline",
        alt: "Each worker (one per tensor-parallel rank) hands its stats to the \
              KVOutputAggregator each engine step; the scheduler ships the pooled \
              lists to KVConnectorLogging in the API server, which pools the steps \
              of one logging interval and prints one KV Transfer metrics line.",
        caption: "From the workers' recorders to one log line. Every box only \
                  concatenates lists; the numbers are computed once, at the end, \
                  over everything pooled in the interval.",
        draw: pipeline,
    },
    Figure {
        name: "p90-vs-tp",
        alt: "Line chart: as the decode instance's TP grows from 1 to 8, the \
              line's Avg and P90 xfer time fall, while the mean time until a \
              request's slowest rank finishes stays well above the average.",
        caption: "The same 16 requests read at TP = 1, 2, 4 and 8, computed with this \
                  crate's reduce(). Each decode rank reads 1/TP of a request's KV \
                  (0.2 ms + size at 10 GiB/s); one READ in eight is 60 % slower. \
                  The line's statistics are per READ, not per request.",
        draw: p90_vs_tp,
    },
    Figure {
        name: "throughput-vs-concurrency",
        alt: "Line chart: as more READs are in flight at once on one link, the \
              line's Throughput (MB/s) falls roughly as one over their number, \
              while the bytes moved per second of wall-clock time stay near the \
              link's bandwidth.",
        caption: "C READs of 8 MiB each, posted 50 µs apart by one decode rank and \
                  sharing its 25 GB/s link (20 µs latency), computed with this \
                  crate's Link, reduce() and WallClock. The line divides by the \
                  summed transfer time, which counts every overlapping microsecond \
                  once per transfer in flight.",
        draw: throughput_vs_concurrency,
    },
    Figure {
        name: "simulated-throughput",
        alt: "Line chart: as simulated requests arrive faster, the decode \
              instance's log line keeps reporting a Throughput of a few thousand \
              MiB/s and then falls, while the MiB moved per second of busy time \
              and per second of the logging interval rise toward the links' \
              capacity.",
        caption: "Simulated with this crate's Simulation: Llama-3.1-8B, prefill and \
                  decode at TP 2 in pull mode, 10 s of Poisson arrivals at each rate, \
                  default links (25 GB/s per decode rank) and a 15 ms decode step. \
                  The line and n × Avg MB / 10 s come from the first interval's log \
                  line as printed; the busy-time rate needs NIXL's start times, \
                  which the line does not carry.",
        draw: simulated_throughput,
    },
];

/// The figure called `name`.
pub fn find(name: &str) -> Option<&'static Figure> {
    ALL.iter().find(|figure| figure.name == name)
}

/// The file name a figure is written to.
pub fn file_name(figure: &Figure) -> String {
    format!("{}.svg", figure.name)
}

/// Writes every figure into `dir` (created if missing), touching only files
/// whose content changed (so `mdbook serve` does not rebuild forever), and
/// removes SVG files of figures that no longer exist.
pub fn write_all(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for figure in ALL {
        let path = dir.join(file_name(figure));
        let svg = (figure.draw)().finish();
        if fs::read_to_string(&path).ok().as_deref() != Some(svg.as_str()) {
            fs::write(&path, svg)?;
        }
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if path.extension().is_some_and(|e| e == "svg") && find(stem).is_none() {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// pipeline

const BLUE_FILL: &str = "#ddf4ff";
const BLUE: &str = "#0969da";
const GREEN_FILL: &str = "#dafbe1";
const GREEN: &str = "#1a7f37";
const AMBER_FILL: &str = "#fff8c5";
const AMBER: &str = "#9a6700";
const TERMINAL: &str = "#1f2430";
const TERMINAL_INK: &str = "#e6edf3";

/// A box with a bold title and grey lines under it, centred.
fn stage(
    svg: &mut Svg,
    (x, y, w, h): (f64, f64, f64, f64),
    colours: (&str, &str),
    title: &str,
    lines: &[&str],
) {
    svg.rect(x, y, w, h, 6.0, colours.0, colours.1);
    let line_height = 15.0;
    let block = 13.0 + line_height * lines.len() as f64;
    let mut baseline = y + (h - block) / 2.0 + 11.0;
    svg.text(
        x + w / 2.0,
        baseline,
        title,
        Font::sans(13.5).bold(),
        Anchor::Middle,
    );
    baseline += 2.0;
    for line in lines {
        baseline += line_height;
        svg.text(
            x + w / 2.0,
            baseline,
            line,
            Font::sans(11.5).fill(colour::MUTED),
            Anchor::Middle,
        );
    }
}

/// Workers → KVOutputAggregator → scheduler → KVConnectorLogging → log line.
///
/// Drawn 750 px wide: mdBook's content column, so text is shown at 1:1.
fn pipeline() -> Svg {
    let mut svg = Svg::card(750.0, 534.0, "From NIXL to the log line");
    let note = Font::sans(11.0).fill(colour::MUTED).halo();
    let heading = Font::sans(12.0).bold().fill(colour::MUTED);

    // The engine core process: workers, output aggregator, scheduler.
    svg.frame(12.0, 12.0, 726.0, 262.0);
    svg.text(
        26.0,
        33.0,
        "engine core (one per data-parallel rank)",
        heading,
        Anchor::Start,
    );

    // Workers: one per TP rank (and PP stage), each recording its own READs.
    let (wx, ww, wh, gap) = (28.0, 168.0, 44.0, 9.0);
    let tops: Vec<f64> = (0..4).map(|i| 46.0 + i as f64 * (wh + gap)).collect();
    for (rank, &top) in tops.iter().enumerate() {
        let title = format!("Worker · TP rank {rank}");
        stage(
            &mut svg,
            (wx, top, ww, wh),
            (BLUE_FILL, BLUE),
            &title,
            &["records each READ"],
        );
    }
    let mid = (tops[0] + tops[3] + wh) / 2.0;
    svg.text(
        wx,
        tops[3] + wh + 18.0,
        "each step: its stats if not empty, then it starts afresh",
        note,
        Anchor::Start,
    );

    // KVOutputAggregator.
    let agg = (288.0, mid - 46.0, 170.0, 92.0);
    stage(
        &mut svg,
        agg,
        (GREEN_FILL, GREEN),
        "KVOutputAggregator",
        &[
            "pools one engine step:",
            "concatenates the lists",
            "in worker order",
        ],
    );
    for (i, &top) in tops.iter().enumerate() {
        let target = agg.1 + 25.0 + i as f64 * 14.0;
        svg.arrow(wx + ww, top + wh / 2.0, agg.0 - 1.0, target, colour::MUTED);
    }

    // Scheduler.
    let sched = (540.0, agg.1, 180.0, 92.0);
    stage(
        &mut svg,
        sched,
        (GREEN_FILL, GREEN),
        "Scheduler",
        &[
            "ships the pooled dict in",
            "SchedulerStats",
            ".kv_connector_stats",
        ],
    );
    svg.arrow(agg.0 + agg.2, mid, sched.0 - 1.0, mid, colour::MUTED);
    svg.text(
        (agg.0 + agg.2 + sched.0) / 2.0,
        mid - 9.0,
        "each step",
        note,
        Anchor::Middle,
    );

    // The API server process: KVConnectorLogging, and the line it prints.
    svg.frame(12.0, 292.0, 726.0, 230.0);
    svg.text(26.0, 313.0, "API server (frontend)", heading, Anchor::Start);
    let logging = (28.0, 326.0, 210.0, 66.0);
    stage(
        &mut svg,
        logging,
        (AMBER_FILL, AMBER),
        "KVConnectorLogging",
        &["observe(): pools the steps", "log(): reduce(), then reset"],
    );
    let (sx, sy) = (sched.0 + sched.2 / 2.0, logging.1 + logging.3 / 2.0);
    svg.path_arrow(
        &[
            (sx, sched.1 + sched.3),
            (sx, sy),
            (logging.0 + logging.2 + 1.0, sy),
        ],
        colour::MUTED,
    );
    svg.text(
        (logging.0 + logging.2 + sx) / 2.0,
        sy - 8.0,
        "each step, to the frontend",
        note,
        Anchor::Middle,
    );

    // The log line: computed by the crate from four READs like those drawn.
    let line = NixlKvConnectorStats::from_transfers(
        Family::F6,
        vec![0.001_0, 0.001_2, 0.000_9, 0.002_4],
        vec![0.000_6, 0.000_7, 0.000_6, 0.000_8],
        vec![9 << 18; 4],
        vec![72; 4],
    )
    .reduce()
    .to_string();
    let rows = wrap_at_commas(&line, 92);
    let box_top = 420.0;
    let lx = logging.0 + logging.2 / 2.0;
    svg.arrow(lx, logging.1 + logging.3, lx, box_top - 1.0, colour::MUTED);
    svg.text(
        lx + 12.0,
        410.0,
        "every VLLM_LOG_STATS_INTERVAL (default 10 s), unless nothing was pooled",
        note,
        Anchor::Start,
    );
    svg.rect(
        28.0,
        box_top,
        694.0,
        16.0 + 17.0 * rows.len() as f64,
        6.0,
        TERMINAL,
        TERMINAL,
    );
    for (i, row) in rows.iter().enumerate() {
        svg.text(
            40.0,
            box_top + 21.0 + 17.0 * i as f64,
            row,
            Font::mono(11.5).fill(TERMINAL_INK),
            Anchor::Start,
        );
    }
    svg
}

/// Splits `text` after `", "` separators into rows of at most `width` chars.
fn wrap_at_commas(text: &str, width: usize) -> Vec<String> {
    let mut rows = vec![String::new()];
    for (i, piece) in text.split(", ").enumerate() {
        let piece = if i == 0 {
            piece.to_string()
        } else {
            format!(" {piece}")
        };
        let row = rows.last_mut().expect("never empty");
        if !row.is_empty() && row.chars().count() + piece.chars().count() + 1 > width {
            row.push(',');
            rows.push(piece.trim_start().to_string());
        } else {
            if i > 0 {
                row.push(',');
            }
            row.push_str(&piece);
        }
    }
    rows
}

// ---------------------------------------------------------------------------
// p90-vs-tp

/// KV bytes of each request of the interval, in MiB.
const REQUEST_MIB: [f64; 16] = [
    6.0, 12.0, 9.0, 24.0, 4.5, 18.0, 36.0, 7.5, 15.0, 48.0, 10.5, 21.0, 3.0, 30.0, 13.5, 60.0,
];
/// Fixed cost of one READ, in seconds.
const READ_LATENCY_S: f64 = 0.000_2;
/// What one decode rank reads per second, in MiB.
const RANK_MIB_PER_S: f64 = 10.0 * 1024.0;
/// The decode TP sizes charted.
const TPS: [usize; 4] = [1, 2, 4, 8];

/// One point of the chart: the line's numbers at one TP.
#[derive(Clone, Copy, Debug, PartialEq)]
struct TpPoint {
    tp: usize,
    transfers: f64,
    avg_ms: f64,
    p90_ms: f64,
    /// Mean over requests of the slowest rank's READ: what a request waits.
    request_ms: f64,
}

/// How long rank `rank`'s READ of request `request` (`mib` MiB in all)
/// takes at `tp`.
fn read_seconds(request: usize, mib: f64, rank: usize, tp: usize) -> f64 {
    // One READ in eight is a straggler: for every request exactly one of
    // eight ranks (3q + 5r ≡ 0 mod 8 has one solution r per q).
    let slowdown = if (3 * request + 5 * rank).is_multiple_of(8) {
        1.6
    } else {
        1.0
    };
    (READ_LATENCY_S + mib / tp as f64 / RANK_MIB_PER_S) * slowdown
}

/// The chart's points: the workload pooled into one line per TP.
fn tp_points() -> Vec<TpPoint> {
    TPS.iter()
        .map(|&tp| {
            let mut xfer = Vec::new();
            let mut bytes = Vec::new();
            let mut slowest = Vec::new();
            for (request, &mib) in REQUEST_MIB.iter().enumerate() {
                let reads: Vec<f64> = (0..tp)
                    .map(|rank| read_seconds(request, mib, rank, tp))
                    .collect();
                slowest.push(reads.iter().copied().fold(0.0, f64::max));
                bytes.extend(std::iter::repeat_n(
                    (mib / tp as f64 * 1_048_576.0) as u64,
                    tp,
                ));
                xfer.extend(reads);
            }
            let n = xfer.len();
            let summary = NixlKvConnectorStats::from_transfers(
                Family::F6,
                xfer,
                vec![0.000_05; n],
                bytes,
                vec![72; n],
            )
            .reduce();
            let value = |field| summary.float(field).expect("F6 prints every timing field");
            TpPoint {
                tp,
                transfers: value(Field::NumSuccessfulTransfers),
                avg_ms: value(Field::AvgXferTimeMs),
                p90_ms: value(Field::P90XferTimeMs),
                request_ms: slowest.iter().sum::<f64>() / slowest.len() as f64 * 1e3,
            }
        })
        .collect()
}

/// A chart's title and subtitle, at the top of its card.
fn header(svg: &mut Svg, title: &str, subtitle: &str) {
    svg.text(24.0, 34.0, title, Font::sans(16.0).bold(), Anchor::Start);
    svg.text(
        24.0,
        56.0,
        subtitle,
        Font::sans(12.0).fill(colour::MUTED),
        Anchor::Start,
    );
}

/// A chart's plot area, with a y scale from 0 to a "nice" maximum at or
/// above `max`.
struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    step: f64,
    y_max: f64,
}

impl Plot {
    fn new((left, right, top, bottom): (f64, f64, f64, f64), max: f64) -> Plot {
        let step = nice_step(max, 5.0);
        let y_max = (max / step).ceil() * step;
        Plot {
            left,
            right,
            top,
            bottom,
            step,
            y_max,
        }
    }

    /// The y coordinate of `value`.
    fn y(&self, value: f64) -> f64 {
        self.bottom - (self.bottom - self.top) * value / self.y_max
    }

    /// Grid lines with their labels, the x axis line, and the y axis title
    /// (drawn vertically at `title_x`).
    fn y_axis(&self, svg: &mut Svg, format: impl Fn(f64) -> String, title: &str, title_x: f64) {
        let ticks = (self.y_max / self.step).round() as usize;
        for k in 0..=ticks {
            let tick = k as f64 * self.step;
            let dash = if k == 0 { "" } else { "3 3" };
            svg.line(
                self.left,
                self.y(tick),
                self.right,
                self.y(tick),
                colour::RULE,
                1.0,
                dash,
            );
            svg.text(
                self.left - 8.0,
                self.y(tick) + 4.0,
                &format(tick),
                Font::sans(11.5).fill(colour::MUTED),
                Anchor::End,
            );
        }
        svg.line(
            self.left,
            self.bottom,
            self.right,
            self.bottom,
            colour::MUTED,
            1.2,
            "",
        );
        svg.vertical_text(
            title_x,
            (self.top + self.bottom) / 2.0,
            title,
            Font::sans(12.0).fill(colour::MUTED),
        );
    }

    /// A tick at `x(i)` for each point, labelled with its value and, in a
    /// second line, a note (`labels[i]`), and the axis title below them.
    fn x_axis(
        &self,
        svg: &mut Svg,
        x: impl Fn(usize) -> f64,
        labels: &[(String, String)],
        title: &str,
    ) {
        for (i, (value, note)) in labels.iter().enumerate() {
            svg.line(
                x(i),
                self.bottom,
                x(i),
                self.bottom + 5.0,
                colour::MUTED,
                1.2,
                "",
            );
            svg.text(
                x(i),
                self.bottom + 21.0,
                value,
                Font::sans(12.5).bold(),
                Anchor::Middle,
            );
            svg.text(
                x(i),
                self.bottom + 37.0,
                note,
                Font::mono(11.0).fill(colour::MUTED),
                Anchor::Middle,
            );
        }
        svg.text(
            (self.left + self.right) / 2.0,
            self.bottom + 64.0,
            title,
            Font::sans(12.0).fill(colour::MUTED),
            Anchor::Middle,
        );
    }
}

/// A "nice" tick step for an axis from 0 to `max` with about `ticks` ticks.
fn nice_step(max: f64, ticks: f64) -> f64 {
    let raw = max / ticks;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Avg and P90 xfer time of the pooled line against TP.
fn p90_vs_tp() -> Svg {
    let points = tp_points();
    let (left, right, top, bottom) = (64.0, 500.0, 84.0, 350.0);
    let mut svg = Svg::card(750.0, 440.0, "Avg and P90 xfer time against TP");
    header(
        &mut svg,
        "The line's xfer times are per READ, not per request",
        "16 requests (3–60 MiB of KV each) read by a decode instance at growing TP",
    );

    let max = points
        .iter()
        .map(|p| p.p90_ms.max(p.request_ms))
        .fold(0.0, f64::max);
    let plot = Plot::new((left, right, top, bottom), max * 1.08);
    let y = |ms: f64| plot.y(ms);
    let x = |i: usize| left + 30.0 + (right - left - 70.0) * i as f64 / (TPS.len() - 1) as f64;

    // Grid and y axis.
    plot.y_axis(&mut svg, format_ms, "milliseconds", 26.0);

    // x axis: TP, and the number of transfers the line counts there.
    let labels: Vec<(String, String)> = points
        .iter()
        .map(|point| {
            (
                format!("TP = {}", point.tp),
                format!("n = {}", point.transfers),
            )
        })
        .collect();
    plot.x_axis(
        &mut svg,
        x,
        &labels,
        "decode TP (n: Num successful transfers on the line)",
    );

    // Series, the one not on the line first, so the line's own are on top.
    type Series = (
        &'static str,
        &'static str,
        &'static str,
        fn(&TpPoint) -> f64,
    );
    let series: [Series; 3] = [
        ("slowest READ per request", "#6e7781", "6 4", |p| {
            p.request_ms
        }),
        ("P90 xfer time (ms)", "#cf222e", "", |p| p.p90_ms),
        ("Avg xfer time (ms)", "#0969da", "", |p| p.avg_ms),
    ];
    for (_, stroke, dash, value) in &series {
        let coords: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (x(i), y(value(p))))
            .collect();
        svg.polyline(&coords, stroke, 2.4, dash);
    }
    for (i, point) in points.iter().enumerate() {
        // Value labels right of the points, pushed apart where they would overlap.
        let mut labels: Vec<(f64, &str, f64)> = series
            .iter()
            .map(|(_, stroke, _, value)| (y(value(point)), *stroke, value(point)))
            .collect();
        labels.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut placed: Vec<f64> = labels.iter().map(|l| l.0 + 4.0).collect();
        for k in 1..placed.len() {
            placed[k] = placed[k].max(placed[k - 1] + 13.0);
        }
        for (_, stroke, _, value) in &series {
            svg.dot(x(i), y(value(point)), 4.5, stroke);
        }
        for ((_, stroke, value), label_y) in labels.iter().zip(placed) {
            svg.text(
                x(i) + 9.0,
                label_y,
                &format_ms(*value),
                Font::sans(11.0).bold().fill(stroke).halo(),
                Anchor::Start,
            );
        }
    }

    // Legend, right of the plot: the line's two series, then the other one.
    let lx = right + 22.0;
    let heading = Font::sans(11.5).bold().fill(colour::MUTED);
    let mut ly = top + 4.0;
    for (group, members) in [
        ("on the log line", [2, 1].as_slice()),
        ("not on the line", [0].as_slice()),
    ] {
        svg.text(lx, ly, group, heading, Anchor::Start);
        for &k in members {
            let (label, stroke, dash, _) = series[k];
            ly += 24.0;
            svg.line(lx, ly - 4.0, lx + 26.0, ly - 4.0, stroke, 2.4, dash);
            svg.dot(lx + 13.0, ly - 4.0, 3.5, stroke);
            svg.text(lx + 34.0, ly, label, Font::sans(11.5), Anchor::Start);
        }
        ly += 34.0;
    }
    svg.text(
        lx,
        ly - 6.0,
        "what a request waits for:",
        Font::sans(11.0).fill(colour::MUTED),
        Anchor::Start,
    );
    svg.text(
        lx,
        ly + 9.0,
        "its slowest rank's READ",
        Font::sans(11.0).fill(colour::MUTED),
        Anchor::Start,
    );
    svg.text(
        lx,
        ly + 24.0,
        "(mean over the requests)",
        Font::sans(11.0).fill(colour::MUTED),
        Anchor::Start,
    );
    svg
}

// ---------------------------------------------------------------------------
// throughput-vs-concurrency

/// The link all READs of the chart share: one decode rank's 200 Gb/s NIC.
const SHARED_LINK: Link = Link {
    bytes_per_s: 25e9,
    latency_us: 20,
    jitter_us: 0,
};
/// Bytes of each READ (8 MiB).
const READ_BYTES: u64 = 8 << 20;
/// Time between two posts by the same rank, in microseconds.
const POST_GAP_US: u64 = 50;
/// Post time of each READ, in microseconds.
const POST_US: u64 = 30;
/// The numbers of READs in flight charted.
const IN_FLIGHT: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// One point of the chart: `reads` READs posted back to back on one link.
#[derive(Clone, Copy, Debug, PartialEq)]
struct OverlapPoint {
    reads: usize,
    /// `Throughput (MB/s)` as the newest release logs it.
    logged_mib_s: f64,
    /// MiB over the time at least one READ was in flight.
    wall_mib_s: f64,
    /// Summed transfer time over busy time.
    concurrency: f64,
}

/// `reads` READs of [`READ_BYTES`], the i-th posted at `i × POST_GAP_US`,
/// moving data from the end of its post plus the link latency, sharing the
/// link; each completes (and is polled) when its last byte lands.
fn overlapping_reads(reads: usize) -> Vec<XferTelemetry> {
    let starts: Vec<u64> = (0..reads as u64).map(|i| i * POST_GAP_US).collect();
    let flows: Vec<(f64, u64)> = starts
        .iter()
        .map(|&start| {
            (
                (start + POST_US + SHARED_LINK.latency_us) as f64,
                READ_BYTES,
            )
        })
        .collect();
    let finish = SHARED_LINK.finish_times(&flows);
    starts
        .iter()
        .zip(finish)
        .map(|(&start, end)| {
            XferTelemetry::new(end.ceil() as u64 - start, POST_US, READ_BYTES, 56)
                .starting_at(start)
        })
        .collect()
}

/// The chart's points.
fn overlap_points() -> Vec<OverlapPoint> {
    IN_FLIGHT
        .iter()
        .map(|&reads| {
            let telemetry = overlapping_reads(reads);
            let mut stats = NixlKvConnectorStats::new(Family::F6);
            for t in &telemetry {
                stats.record_transfer(t);
            }
            let wall = WallClock::of(&telemetry);
            OverlapPoint {
                reads,
                logged_mib_s: stats
                    .reduce()
                    .float(Field::ThroughputMbS)
                    .expect("F6 prints the throughput"),
                wall_mib_s: wall
                    .throughput_mib_per_s()
                    .expect("something was in flight"),
                concurrency: wall.concurrency().expect("something was in flight"),
            }
        })
        .collect()
}

/// MiB/s as a chart label: thousands separated by a thin space, no decimals.
fn format_mib_s(mib_s: f64) -> String {
    let digits = format!("{:.0}", mib_s);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// The line's Throughput and the wall-clock throughput against the READs in flight.
fn throughput_vs_concurrency() -> Svg {
    let points = overlap_points();
    let link_mib_s = SHARED_LINK.bytes_per_s / MIB;
    let (left, right, top, bottom) = (78.0, 500.0, 84.0, 350.0);
    let mut svg = Svg::card(750.0, 440.0, "Throughput against transfers in flight");
    header(
        &mut svg,
        "Overlapping transfers make the line's Throughput fall",
        "READs of 8 MiB posted back to back on one 25 GB/s link: what the line says, what moved",
    );

    let plot = Plot::new((left, right, top, bottom), link_mib_s * 1.05);
    let y = |mib_s: f64| plot.y(mib_s);
    let x =
        |i: usize| left + 26.0 + (right - left - 60.0) * i as f64 / (IN_FLIGHT.len() - 1) as f64;

    plot.y_axis(&mut svg, format_mib_s, "MiB per second", 24.0);
    // The link's bandwidth, which no view can exceed.
    svg.line(
        left,
        y(link_mib_s),
        right,
        y(link_mib_s),
        "#6e7781",
        1.4,
        "6 4",
    );

    let labels: Vec<(String, String)> = points
        .iter()
        .map(|point| {
            (
                point.reads.to_string(),
                format!("×{:.1}", point.concurrency),
            )
        })
        .collect();
    plot.x_axis(
        &mut svg,
        x,
        &labels,
        "READs posted (×: mean number in flight, Σxfer / busy time)",
    );

    type Series = (&'static str, &'static str, fn(&OverlapPoint) -> f64);
    let series: [Series; 2] = [
        ("wall-clock: MiB / busy time", "#1a7f37", |p| p.wall_mib_s),
        ("Throughput (MB/s) on the line", "#cf222e", |p| {
            p.logged_mib_s
        }),
    ];
    for (_, stroke, value) in &series {
        let coords: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (x(i), y(value(p))))
            .collect();
        svg.polyline(&coords, stroke, 2.4, "");
    }
    for (i, point) in points.iter().enumerate() {
        for (_, stroke, value) in &series {
            svg.dot(x(i), y(value(point)), 4.5, stroke);
        }
        // At one READ both views are the same number: one label, in ink.
        // Otherwise wall-clock labels sit above their points and the line's
        // above-right of theirs, clear of its falling curve.
        let labels: Vec<(f64, f64, f64, &str, Anchor)> = if i == 0 {
            vec![(
                x(i),
                y(point.wall_mib_s) - 10.0,
                point.wall_mib_s,
                colour::INK,
                Anchor::Middle,
            )]
        } else {
            vec![
                (
                    x(i),
                    y(point.wall_mib_s) - 10.0,
                    point.wall_mib_s,
                    series[0].1,
                    Anchor::Middle,
                ),
                (
                    x(i) + 9.0,
                    y(point.logged_mib_s) - 7.0,
                    point.logged_mib_s,
                    series[1].1,
                    Anchor::Start,
                ),
            ]
        };
        for (lx, ly, value, fill, anchor) in labels {
            svg.text(
                lx,
                ly,
                &format_mib_s(value),
                Font::sans(11.0).bold().fill(fill).halo(),
                anchor,
            );
        }
    }

    let lx = right + 22.0;
    let mut ly = top + 4.0;
    svg.text(
        lx,
        ly,
        "per second of",
        Font::sans(11.5).bold().fill(colour::MUTED),
        Anchor::Start,
    );
    let legend: [(&str, &str, &str); 3] = [
        ("summed xfer time (the line)", "#cf222e", ""),
        ("busy time (wall clock)", "#1a7f37", ""),
        ("link bandwidth", "#6e7781", "6 4"),
    ];
    for (label, stroke, dash) in legend {
        ly += 24.0;
        svg.line(lx, ly - 4.0, lx + 26.0, ly - 4.0, stroke, 2.4, dash);
        if dash.is_empty() {
            svg.dot(lx + 13.0, ly - 4.0, 3.5, stroke);
        }
        svg.text(lx + 34.0, ly, label, Font::sans(11.5), Anchor::Start);
    }
    ly += 40.0;
    for (k, note) in ["Throughput × mean in flight", "= wall-clock throughput"]
        .iter()
        .enumerate()
    {
        svg.text(
            lx,
            ly + 15.0 * k as f64,
            note,
            Font::sans(11.0).fill(colour::MUTED),
            Anchor::Start,
        );
    }
    svg
}

// ---------------------------------------------------------------------------
// simulated-throughput

/// Mean request arrivals per second charted, about ×3 apart.
const ARRIVAL_RATES: [f64; 6] = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0];
/// The seed of every simulation of the chart.
const LOAD_SEED: u64 = 1;

/// One point of the chart: the first logging interval at one arrival rate.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LoadPoint {
    rate: f64,
    /// `Num successful transfers` of the decode instance's first line.
    transfers: u64,
    /// `Throughput (MB/s)` on that line.
    logged_mib_s: f64,
    /// `n × Avg MB per transfer / interval`, from the printed line.
    window_mib_s: f64,
    /// MiB over the time a READ of the interval was in flight.
    wall_mib_s: f64,
    /// Summed xfer time over that busy time.
    concurrency: f64,
}

/// The simulated deployment: Llama-3.1-8B, TP 2 on both sides, pull mode.
fn load_deployment() -> Deployment {
    Deployment::new(
        ModelGeometry::LLAMA_3_1_8B,
        Parallelism::tp(2),
        Parallelism::tp(2),
        Mode::Pull,
        BlockLayout::Contiguous,
    )
    .expect("a valid deployment")
}

/// The decode engine's capacity, MiB/s: one link per decode rank.
fn load_capacity_mib_s() -> f64 {
    let deployment = load_deployment();
    let link = SimConfig::new(deployment).link;
    f64::from(deployment.decode().tp) * link.bytes_per_s / MIB
}

/// The chart's points: 10 s of arrivals at each rate, and the decode
/// instance's line for the first 10 s interval.
fn load_points() -> Vec<LoadPoint> {
    let logging = LoggingConfig::default();
    ARRIVAL_RATES
        .iter()
        .map(|&rate| {
            let config = SimConfig {
                seed: LOAD_SEED,
                duration_us: logging.interval_us,
                arrival_rate_per_s: rate,
                ..SimConfig::new(load_deployment())
            };
            let sim = Simulation::run(&config).expect("a valid simulation");
            let lines = sim
                .log_lines(Family::F6, logging)
                .expect("a valid interval");
            let line = lines[0].decode[0]
                .as_ref()
                .expect("READs in the first interval")
                .to_string();
            // What a reader of the log has: the printed line.
            let record = parse_line(&line)
                .expect("the crate's line parses")
                .expect("a KV line");
            let reading = LineReading::new(&record, Duration::from_micros(logging.interval_us))
                .expect("a line with averages");
            // What only the simulator has: the READs with their start times.
            let first: Vec<XferTelemetry> = sim
                .transfers
                .iter()
                .map(|t| t.telemetry)
                .filter(|t| t.end_time_us() < logging.interval_us)
                .collect();
            let wall = WallClock::of(&first);
            LoadPoint {
                rate,
                transfers: reading.transfers,
                logged_mib_s: reading.throughput_mib_s.value,
                window_mib_s: reading.window_mib_s.value,
                wall_mib_s: wall.throughput_mib_per_s().expect("READs in flight"),
                concurrency: wall.concurrency().expect("READs in flight"),
            }
        })
        .collect()
}

/// The line's Throughput, the interval's rate and the busy-time rate against load.
fn simulated_throughput() -> Svg {
    let points = load_points();
    let capacity = load_capacity_mib_s();
    let (left, right, top, bottom) = (78.0, 500.0, 84.0, 350.0);
    let mut svg = Svg::card(750.0, 440.0, "Simulated throughput against load");
    header(
        &mut svg,
        "More load: the line's Throughput falls as the engine moves more",
        "Simulated decode instance at TP 2, first 10 s log line at each request rate",
    );

    let plot = Plot::new((left, right, top, bottom), capacity * 1.05);
    let y = |mib_s: f64| plot.y(mib_s);
    let x = |i: usize| {
        left + 26.0 + (right - left - 60.0) * i as f64 / (ARRIVAL_RATES.len() - 1) as f64
    };

    plot.y_axis(&mut svg, format_mib_s, "MiB per second", 24.0);
    svg.line(left, y(capacity), right, y(capacity), "#6e7781", 1.4, "6 4");

    let labels: Vec<(String, String)> = points
        .iter()
        .map(|point| {
            (
                format!("{}/s", point.rate),
                format!("×{:.1}", point.concurrency),
            )
        })
        .collect();
    plot.x_axis(
        &mut svg,
        x,
        &labels,
        "requests per second (×: mean READs in flight while busy)",
    );

    type Series = (&'static str, &'static str, fn(&LoadPoint) -> f64);
    let series: [Series; 3] = [
        ("#1a7f37", "", |p| p.wall_mib_s),
        ("#0969da", "", |p| p.window_mib_s),
        ("#cf222e", "", |p| p.logged_mib_s),
    ];
    for (stroke, dash, value) in &series {
        let coords: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (x(i), y(value(p))))
            .collect();
        svg.polyline(&coords, stroke, 2.4, dash);
    }
    for (i, point) in points.iter().enumerate() {
        for (stroke, _, value) in &series {
            svg.dot(x(i), y(value(point)), 4.5, stroke);
        }
        // Both labelled series above their points (the line's Throughput
        // stays below the busy-time rate, and its labels clear the axis);
        // the interval's rate goes unlabelled.
        svg.text(
            x(i),
            y(point.wall_mib_s) - 10.0,
            &format_mib_s(point.wall_mib_s),
            Font::sans(11.0).bold().fill(series[0].0).halo(),
            Anchor::Middle,
        );
        svg.text(
            x(i),
            y(point.logged_mib_s) - 10.0,
            &format_mib_s(point.logged_mib_s),
            Font::sans(11.0).bold().fill(series[2].0).halo(),
            Anchor::Middle,
        );
    }

    let lx = right + 22.0;
    let heading = Font::sans(11.5).bold().fill(colour::MUTED);
    let mut ly = top + 4.0;
    /// A legend entry: label, stroke, dash pattern.
    type Entry = (&'static str, &'static str, &'static str);
    let legend: [(&str, &[Entry]); 2] = [
        (
            "from the log line",
            &[
                ("Throughput (MB/s)", "#cf222e", ""),
                ("n × Avg MB / 10 s", "#0969da", ""),
            ],
        ),
        (
            "needs NIXL's start times",
            &[
                ("MiB / busy time", "#1a7f37", ""),
                ("2 links × 25 GB/s", "#6e7781", "6 4"),
            ],
        ),
    ];
    for (group, members) in legend {
        svg.text(lx, ly, group, heading, Anchor::Start);
        for &(label, stroke, dash) in members {
            ly += 24.0;
            svg.line(lx, ly - 4.0, lx + 26.0, ly - 4.0, stroke, 2.4, dash);
            if dash.is_empty() {
                svg.dot(lx + 13.0, ly - 4.0, 3.5, stroke);
            }
            svg.text(lx + 34.0, ly, label, Font::sans(11.5), Anchor::Start);
        }
        ly += 34.0;
    }
    svg
}

/// Milliseconds as a chart label: up to three decimals, no trailing zeros.
fn format_ms(ms: f64) -> String {
    let text = format!("{ms:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tag opened is closed, in order (a cheap well-formedness check).
    fn assert_balanced(svg: &str) {
        let mut stack = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if let Some(closing) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(closing.trim()), "in {svg}");
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    #[test]
    fn every_figure_draws_a_well_formed_svg() {
        for figure in ALL {
            let svg = (figure.draw)();
            assert!(svg.width() > 0.0 && svg.height() > 0.0);
            let text = svg.finish();
            assert!(text.starts_with("<svg "), "{}", figure.name);
            assert!(
                !text.contains("NaN") && !text.contains("\"inf"),
                "{}",
                figure.name
            );
            assert_balanced(&text);
        }
    }

    #[test]
    fn names_are_unique_file_stems() {
        for (i, figure) in ALL.iter().enumerate() {
            assert!(
                figure
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
            assert!(ALL[..i].iter().all(|other| other.name != figure.name));
            assert_eq!(find(figure.name).map(|f| f.name), Some(figure.name));
        }
        assert!(find("nope").is_none());
    }

    #[test]
    fn pipeline_shows_the_crate_s_line() {
        let svg = pipeline().finish();
        assert!(svg.contains("KV Transfer metrics: Num successful transfers=4,"));
        assert!(svg.contains("Num notifs after expiry=0"));
    }

    #[test]
    fn wrapping_keeps_every_field() {
        let line = "a=1, bb=2, ccc=3, dddd=4";
        let rows = wrap_at_commas(line, 10);
        assert!(rows.iter().all(|row| row.chars().count() <= 10), "{rows:?}");
        assert_eq!(rows.join(" "), line);
    }

    #[test]
    fn chart_numbers_come_from_reduce() {
        let points = tp_points();
        let counts: Vec<f64> = points.iter().map(|p| p.transfers).collect();
        assert_eq!(counts, [16.0, 32.0, 64.0, 128.0]);
        for pair in points.windows(2) {
            assert!(pair[1].avg_ms < pair[0].avg_ms, "{pair:?}");
            assert!(pair[1].p90_ms < pair[0].p90_ms, "{pair:?}");
        }
        for point in &points {
            assert!(point.avg_ms < point.p90_ms);
            // A request waits for its slowest rank, which the per-READ mean hides.
            assert!(point.request_ms >= point.avg_ms - 0.0005, "{point:?}");
        }
        // At TP=1 each request is one READ: the two means agree (up to rounding).
        assert!((points[0].request_ms - points[0].avg_ms).abs() < 0.001);
    }

    #[test]
    fn overlap_chart_numbers_come_from_reduce_and_wallclock() {
        let points = overlap_points();
        let reads: Vec<usize> = points.iter().map(|p| p.reads).collect();
        assert_eq!(reads, IN_FLIGHT);
        // One READ alone: both views agree.
        assert!((points[0].logged_mib_s - points[0].wall_mib_s).abs() < 0.001);
        let link_mib_s = SHARED_LINK.bytes_per_s / MIB;
        for pair in points.windows(2) {
            assert!(pair[1].logged_mib_s < pair[0].logged_mib_s, "{pair:?}");
            assert!(pair[1].concurrency > pair[0].concurrency, "{pair:?}");
        }
        for point in &points {
            // Never above the link; the wall-clock view stays near it (post
            // and latency are the gap at one READ).
            assert!(point.wall_mib_s <= link_mib_s && point.wall_mib_s > 0.8 * link_mib_s);
            // The identity behind the gap: pooled × concurrency = wall clock.
            let rebuilt = point.logged_mib_s * point.concurrency;
            assert!(
                (rebuilt - point.wall_mib_s).abs() / point.wall_mib_s < 1e-6,
                "{point:?}"
            );
        }
        assert_eq!(format_mib_s(23_841.9), "23\u{2009}842");
        assert_eq!(format_mib_s(868.8), "869");
    }

    #[test]
    fn load_chart_comes_from_the_simulator_s_lines() {
        let points = load_points();
        let rates: Vec<f64> = points.iter().map(|p| p.rate).collect();
        assert_eq!(rates, ARRIVAL_RATES);
        let capacity = load_capacity_mib_s();
        for pair in points.windows(2) {
            // More load: more READs and more MiB per second of the interval.
            assert!(pair[1].transfers > pair[0].transfers, "{pair:?}");
            assert!(pair[1].window_mib_s > pair[0].window_mib_s, "{pair:?}");
        }
        for point in &points {
            // The ordering explain's bounds rest on: the interval's rate and
            // the line's Throughput are both at most the busy-time rate,
            // which the links cap.
            assert!(
                point.window_mib_s <= point.wall_mib_s * (1.0 + 1e-9),
                "{point:?}"
            );
            assert!(
                point.logged_mib_s <= point.wall_mib_s * (1.0 + 1e-9),
                "{point:?}"
            );
            assert!(point.wall_mib_s <= capacity, "{point:?}");
            // Two ranks read every request: the READs overlap even at low load.
            assert!(point.concurrency > 1.5, "{point:?}");
        }
        // Saturated, the line reports a small fraction of what moved.
        let last = points.last().unwrap();
        assert!(last.wall_mib_s > 0.9 * capacity, "{last:?}");
        assert!(last.logged_mib_s < 0.05 * last.wall_mib_s, "{last:?}");
        let svg = simulated_throughput().finish();
        assert!(svg.contains(&format_mib_s(last.wall_mib_s)));
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(7.3, 5.0), 2.0);
        assert!((nice_step(1.1, 5.0) - 0.25).abs() < 1e-12);
        assert_eq!(format_ms(2.5), "2.5");
        assert_eq!(format_ms(4.0), "4");
    }

    #[test]
    fn writing_is_idempotent_and_prunes_stale_files() {
        let dir = std::env::temp_dir().join(format!("nixl-book-figures-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("gone.svg"), "<svg/>").unwrap();
        write_all(&dir).unwrap();
        let path = dir.join("pipeline.svg");
        let first = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_all(&dir).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), first);
        assert!(!dir.join("gone.svg").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
