//! The `p90-vs-tp` figure: the same requests read at growing decode TP. The
//! line's Avg and P90 xfer time are per READ, so they fall with TP, while a
//! request waits for its slowest rank's READ.

use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::stats::NixlKvConnectorStats;

use super::chart::{Chart, Series, format_ms};
use crate::svg::{Anchor, Colour, Svg};

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

/// A series of the chart.
type Line = Series<TpPoint>;

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
fn points() -> Vec<TpPoint> {
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

/// Draws Avg and P90 xfer time of the pooled line against TP.
pub fn draw() -> Svg {
    let points = points();
    let max = points
        .iter()
        .map(|p| p.p90_ms.max(p.request_ms))
        .fold(0.0, f64::max);
    let mut chart = Chart::new(
        "Avg and P90 xfer time against TP",
        (
            "The line's xfer times are per READ, not per request",
            "16 requests (3–60 MiB of KV each) read by a decode instance at growing TP",
        ),
        64.0,
        max * 1.08,
        points.len(),
    );
    chart.y_axis(format_ms, "milliseconds");
    // x axis: TP, and the number of transfers the line counts there.
    chart.x_axis(
        points
            .iter()
            .map(|p| (format!("TP = {}", p.tp), format!("n = {}", p.transfers))),
        &format!(
            "decode TP (n: {} on the line)",
            Field::NumSuccessfulTransfers.name()
        ),
    );

    // The series not on the line first, so the line's own are on top.
    let series = [
        Line::solid("slowest READ per request", Colour::Grey, |p| p.request_ms).dashed("6 4"),
        Line::solid(Field::P90XferTimeMs.name(), Colour::Red, |p| p.p90_ms),
        Line::solid(Field::AvgXferTimeMs.name(), Colour::Blue, |p| p.avg_ms),
    ];
    chart.series(&series, &points);
    // Value labels right of the points, pushed apart where they would overlap.
    for (i, point) in points.iter().enumerate() {
        let mut labels: Vec<(f64, &Line)> = series
            .iter()
            .map(|s| (chart.y((s.value)(point)) + 4.0, s))
            .collect();
        labels.sort_by(|a, b| a.0.total_cmp(&b.0));
        for k in 1..labels.len() {
            labels[k].0 = labels[k].0.max(labels[k - 1].0 + 13.0);
        }
        for (y, s) in labels {
            let text = format_ms((s.value)(point));
            chart.value_label((chart.x(i) + 9.0, y), &text, s.stroke.colour, Anchor::Start);
        }
    }

    let [slowest, p90, avg] = &series;
    chart.legend(
        &[
            ("on the log line", &[avg.key(), p90.key()]),
            ("not on the line", &[slowest.key()]),
        ],
        &[
            "what a request waits for:",
            "its slowest rank's READ",
            "(mean over the requests)",
        ],
    );
    chart.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_from_reduce() {
        let points = points();
        let counts: Vec<f64> = points.iter().map(|p| p.transfers).collect();
        assert_eq!(counts, [16.0, 32.0, 64.0, 128.0]);
        // More ranks, smaller READs: both statistics fall.
        let falling = |a: &TpPoint, b: &TpPoint| b.avg_ms < a.avg_ms && b.p90_ms < a.p90_ms;
        assert!(
            points.windows(2).all(|w| falling(&w[0], &w[1])),
            "{points:?}"
        );
        for point in &points {
            assert!(point.avg_ms < point.p90_ms);
            // A request waits for its slowest rank, which the per-READ mean hides.
            assert!(point.request_ms >= point.avg_ms - 0.0005, "{point:?}");
        }
        // At TP=1 each request is one READ: the two means agree (up to rounding).
        assert!((points[0].request_ms - points[0].avg_ms).abs() < 0.001);
    }
}
