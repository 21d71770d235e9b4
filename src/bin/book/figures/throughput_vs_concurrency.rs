//! The `throughput-vs-concurrency` figure: READs that overlap on one link.
//! The line's Throughput divides by their summed time, so it falls as more
//! are in flight, while what moves per second of wall-clock time does not.

use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::simulation::Link;
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::{MIB, XferTelemetry};
use nixl_kv_metrics::wallclock::WallClock;

use super::chart::{Chart, Series, format_mib_s};
use crate::svg::{Anchor, Colour, Svg};

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

/// A series of the chart.
type Line = Series<OverlapPoint>;

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
fn points() -> Vec<OverlapPoint> {
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

/// Draws the line's Throughput and the wall-clock throughput against the
/// READs in flight.
pub fn draw() -> Svg {
    let points = points();
    // The link's bandwidth, which no view can exceed.
    let (mut chart, link) = Chart::bandwidth(
        "Throughput against transfers in flight",
        (
            "Overlapping transfers make the line's Throughput fall",
            "READs of 8 MiB posted back to back on one 25 GB/s link: what the line says, what moved",
        ),
        (SHARED_LINK.bytes_per_s / MIB, "link bandwidth"),
        points.len(),
    );
    chart.x_axis(
        points
            .iter()
            .map(|p| (p.reads.to_string(), format!("×{:.1}", p.concurrency))),
        "READs posted (×: mean number in flight, Σxfer / busy time)",
    );

    let wall = Line::solid("busy time (wall clock)", Colour::Green, |p| p.wall_mib_s);
    let logged = Line::solid("summed xfer time (the line)", Colour::Red, |p| {
        p.logged_mib_s
    });
    chart.series(&[wall, logged], &points);
    for (i, point) in points.iter().enumerate() {
        let x = chart.x(i);
        let above_wall = (x, chart.y(point.wall_mib_s) - 10.0);
        if i == 0 {
            // At one READ both views are the same number: one label, in ink.
            let text = format_mib_s(point.wall_mib_s);
            chart.value_label(above_wall, &text, Colour::Ink, Anchor::Middle);
            continue;
        }
        // Wall-clock labels sit above their points, the line's above-right
        // of theirs, clear of its falling curve.
        let text = format_mib_s(point.wall_mib_s);
        chart.value_label(above_wall, &text, Colour::Green, Anchor::Middle);
        let text = format_mib_s(point.logged_mib_s);
        let above_right = (x + 9.0, chart.y(point.logged_mib_s) - 7.0);
        chart.value_label(above_right, &text, Colour::Red, Anchor::Start);
    }

    chart.legend(
        &[("per second of", &[logged.key(), wall.key(), link])],
        &["Throughput × mean in flight", "= wall-clock throughput"],
    );
    chart.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_from_reduce_and_wallclock() {
        let points = points();
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
    }
}
