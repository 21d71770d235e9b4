//! The `pipeline` figure: workers → KVOutputAggregator → scheduler →
//! KVConnectorLogging → the log line, drawn for the book's running example:
//! the four READs that print the line of vLLM issue #41230 (fields.md,
//! "The example line, reproduced"), one per TP rank, and the line this crate
//! prints for them.

use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::XferTelemetry;

use crate::svg::{Anchor, Colour, Font, Rect, Stroke, Svg};

/// A box's fill and outline colours.
type BoxColours = (Colour, Colour);

const WORKER: BoxColours = (Colour::BlueFill, Colour::Blue);
const ENGINE: BoxColours = (Colour::GreenFill, Colour::Green);
const FRONTEND: BoxColours = (Colour::AmberFill, Colour::Amber);

/// A box with a bold title and grey lines under it, centred.
fn stage(svg: &mut Svg, rect: Rect, (fill, outline): BoxColours, title: &str, lines: &[&str]) {
    svg.rect(rect, 6.0, Some(fill), Stroke::solid(outline, 1.2));
    let line_height = 15.0;
    let block = 13.0 + line_height * lines.len() as f64;
    let mut baseline = rect.y + (rect.h - block) / 2.0 + 11.0;
    svg.text(
        rect.centre_x(),
        baseline,
        title,
        Font::sans(13.5).bold(),
        Anchor::Middle,
    );
    baseline += 2.0;
    for line in lines {
        baseline += line_height;
        svg.text(
            rect.centre_x(),
            baseline,
            line,
            Font::sans(11.5).fill(Colour::Muted),
            Anchor::Middle,
        );
    }
}

/// The running example's READs, one per TP rank, as NIXL reports them:
/// xfer and post time in µs, 2.25 MiB in 72 descriptors each.
const READS: [XferTelemetry; 4] = [
    XferTelemetry::new(970, 795, 2_359_296, 72),
    XferTelemetry::new(611, 538, 2_359_296, 72),
    XferTelemetry::new(3_300, 804, 2_359_296, 72),
    XferTelemetry::new(642, 551, 2_359_296, 72),
];

/// The line the newest release prints for [`READS`]: the introduction's
/// eight values, then the three counts added in 0.31 and 0.32.
fn example_line() -> String {
    let mut stats = NixlKvConnectorStats::new(Family::F6);
    for read in &READS {
        stats.record_transfer(read);
    }
    stats.reduce().to_string()
}

/// What a worker records: its one READ, in the line's units.
fn worker_note(read: &XferTelemetry) -> String {
    format!(
        "1 READ: {:.3} ms, {} MiB",
        read.xfer_seconds() * 1e3,
        read.mib()
    )
}

/// Draws the figure, 750 px wide: mdBook's content column, so text is shown
/// at 1:1.
pub fn draw() -> Svg {
    let mut svg = Svg::card(750.0, 534.0, "From NIXL to the log line");
    let note = Font::sans(11.0).fill(Colour::Muted).halo();
    let heading = Font::sans(12.0).bold().fill(Colour::Muted);

    // The engine core process: workers, output aggregator, scheduler.
    svg.frame(Rect::new(12.0, 12.0, 726.0, 262.0));
    svg.text(
        26.0,
        33.0,
        "engine core (one per data-parallel rank)",
        heading,
        Anchor::Start,
    );

    // Workers: one per TP rank (and PP stage), each recording its own READs
    // (here one each: the running example's).
    let workers: Vec<Rect> = (0..READS.len())
        .map(|i| Rect::new(28.0, 46.0 + i as f64 * 53.0, 180.0, 44.0))
        .collect();
    for (rank, (&worker, read)) in workers.iter().zip(&READS).enumerate() {
        let title = format!("Worker · TP rank {rank}");
        stage(&mut svg, worker, WORKER, &title, &[&worker_note(read)]);
    }
    let mid = (workers[0].y + workers[3].bottom()) / 2.0;
    svg.text(
        workers[3].x,
        workers[3].bottom() + 18.0,
        "each step: its stats if not empty, then it starts afresh",
        note,
        Anchor::Start,
    );

    // KVOutputAggregator.
    let agg = Rect::new(288.0, mid - 46.0, 170.0, 92.0);
    stage(
        &mut svg,
        agg,
        ENGINE,
        "KVOutputAggregator",
        &[
            "pools one engine step:",
            "concatenates the lists",
            "in worker order",
        ],
    );
    for (i, worker) in workers.iter().enumerate() {
        let target = agg.y + 25.0 + i as f64 * 14.0;
        svg.arrow(
            (worker.right(), worker.centre_y()),
            (agg.x - 1.0, target),
            Colour::Muted,
        );
    }

    // Scheduler.
    let sched = Rect::new(540.0, agg.y, 180.0, 92.0);
    stage(
        &mut svg,
        sched,
        ENGINE,
        "Scheduler",
        &[
            "ships the pooled dict in",
            "SchedulerStats",
            ".kv_connector_stats",
        ],
    );
    svg.arrow((agg.right(), mid), (sched.x - 1.0, mid), Colour::Muted);
    svg.text(
        (agg.right() + sched.x) / 2.0,
        mid - 9.0,
        "each step",
        note,
        Anchor::Middle,
    );

    // The API server process: KVConnectorLogging, and the line it prints.
    svg.frame(Rect::new(12.0, 292.0, 726.0, 230.0));
    svg.text(26.0, 313.0, "API server (frontend)", heading, Anchor::Start);
    let logging = Rect::new(28.0, 326.0, 210.0, 66.0);
    stage(
        &mut svg,
        logging,
        FRONTEND,
        "KVConnectorLogging",
        &["observe(): pools the steps", "log(): reduce(), then reset"],
    );
    let (sx, sy) = (sched.centre_x(), logging.centre_y());
    svg.path_arrow(
        &[(sx, sched.bottom()), (sx, sy), (logging.right() + 1.0, sy)],
        Colour::Muted,
    );
    svg.text(
        (logging.right() + sx) / 2.0,
        sy - 8.0,
        "each step, to the frontend",
        note,
        Anchor::Middle,
    );

    // The log line, in a terminal.
    let rows = wrap_at_commas(&example_line(), 92);
    let terminal = Rect::new(28.0, 420.0, 694.0, 16.0 + 17.0 * rows.len() as f64);
    let lx = logging.centre_x();
    svg.arrow(
        (lx, logging.bottom()),
        (lx, terminal.y - 1.0),
        Colour::Muted,
    );
    svg.text(
        lx + 12.0,
        410.0,
        "every VLLM_LOG_STATS_INTERVAL (default 10 s), unless nothing was pooled",
        note,
        Anchor::Start,
    );
    svg.rect(
        terminal,
        6.0,
        Some(Colour::Terminal),
        Stroke::solid(Colour::Terminal, 1.2),
    );
    for (i, row) in rows.iter().enumerate() {
        svg.text(
            40.0,
            terminal.y + 21.0 + 17.0 * i as f64,
            row,
            Font::mono(11.5).fill(Colour::TerminalInk),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_running_example() {
        let line = example_line();
        // The introduction's line (vLLM issue #41230), then the newer counts.
        assert_eq!(
            line,
            "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
             P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
             Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, \
             Avg number of descriptors=72.0, Num failed transfers=0, Num KV expired reqs=0, \
             Num notifs after expiry=0"
        );
        let svg = draw().finish(crate::svg::Theme::Light);
        for row in wrap_at_commas(&line, 92) {
            assert!(svg.contains(&format!(">{row}</text>")), "{row}");
        }
        for note in ["1 READ: 0.970 ms, 2.25 MiB", "1 READ: 3.300 ms, 2.25 MiB"] {
            assert!(svg.contains(note), "{note}");
        }
    }

    #[test]
    fn wrapping_keeps_every_field() {
        let line = "a=1, bb=2, ccc=3, dddd=4";
        let rows = wrap_at_commas(line, 10);
        assert!(rows.iter().all(|row| row.chars().count() <= 10), "{rows:?}");
        assert_eq!(rows.join(" "), line);
    }
}
