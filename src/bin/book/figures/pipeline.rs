//! The `pipeline` figure: workers → KVOutputAggregator → scheduler →
//! KVConnectorLogging → the log line, with the line this crate prints for
//! four READs like those drawn.

use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::stats::NixlKvConnectorStats;

use crate::svg::{Anchor, Font, Rect, Stroke, Svg, colour};

/// A box's fill and outline colours.
type BoxColours = (&'static str, &'static str);

const WORKER: BoxColours = (colour::BLUE_FILL, colour::BLUE);
const ENGINE: BoxColours = (colour::GREEN_FILL, colour::GREEN);
const FRONTEND: BoxColours = (colour::AMBER_FILL, colour::AMBER);

/// A box with a bold title and grey lines under it, centred.
fn stage(svg: &mut Svg, rect: Rect, (fill, outline): BoxColours, title: &str, lines: &[&str]) {
    svg.rect(rect, 6.0, fill, Stroke::solid(outline, 1.2));
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
            Font::sans(11.5).fill(colour::MUTED),
            Anchor::Middle,
        );
    }
}

/// The line the crate prints for four READs like those drawn.
fn example_line() -> String {
    NixlKvConnectorStats::from_transfers(
        Family::F6,
        vec![0.001_0, 0.001_2, 0.000_9, 0.002_4],
        vec![0.000_6, 0.000_7, 0.000_6, 0.000_8],
        vec![9 << 18; 4],
        vec![72; 4],
    )
    .reduce()
    .to_string()
}

/// Draws the figure, 750 px wide: mdBook's content column, so text is shown
/// at 1:1.
pub fn draw() -> Svg {
    let mut svg = Svg::card(750.0, 534.0, "From NIXL to the log line");
    let note = Font::sans(11.0).fill(colour::MUTED).halo();
    let heading = Font::sans(12.0).bold().fill(colour::MUTED);

    // The engine core process: workers, output aggregator, scheduler.
    svg.frame(Rect::new(12.0, 12.0, 726.0, 262.0));
    svg.text(
        26.0,
        33.0,
        "engine core (one per data-parallel rank)",
        heading,
        Anchor::Start,
    );

    // Workers: one per TP rank (and PP stage), each recording its own READs.
    let workers: Vec<Rect> = (0..4)
        .map(|i| Rect::new(28.0, 46.0 + i as f64 * 53.0, 168.0, 44.0))
        .collect();
    for (rank, &worker) in workers.iter().enumerate() {
        let title = format!("Worker · TP rank {rank}");
        stage(&mut svg, worker, WORKER, &title, &["records each READ"]);
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
            colour::MUTED,
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
    svg.arrow((agg.right(), mid), (sched.x - 1.0, mid), colour::MUTED);
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
        colour::MUTED,
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
        colour::MUTED,
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
        colour::TERMINAL,
        Stroke::solid(colour::TERMINAL, 1.2),
    );
    for (i, row) in rows.iter().enumerate() {
        svg.text(
            40.0,
            terminal.y + 21.0 + 17.0 * i as f64,
            row,
            Font::mono(11.5).fill(colour::TERMINAL_INK),
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
    fn shows_the_crate_s_line() {
        let svg = draw().finish();
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
}
