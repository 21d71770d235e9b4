//! The `simulated-throughput` figure: a simulated decode instance under
//! growing load. The line's Throughput falls while the engine moves more,
//! and only NIXL's start times show the busy-time rate.

use std::time::Duration;

use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::logs::parse_line;
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::simulation::{LoggingConfig, SimConfig, Simulation};
use nixl_kv_metrics::telemetry::{MIB, XferTelemetry};
use nixl_kv_metrics::topology::{BlockLayout, Deployment, Mode, ModelGeometry, Parallelism};
use nixl_kv_metrics::views::LineReading;
use nixl_kv_metrics::wallclock::WallClock;

use super::chart::{Chart, Series, format_mib_s};
use crate::svg::{Anchor, Colour, Svg};

/// Mean request arrivals per second charted, about ×3 apart.
const ARRIVAL_RATES: [f64; 6] = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0];
/// The seed of every simulation of the chart.
const SEED: u64 = 1;

/// A series of the chart.
type Line = Series<LoadPoint>;

/// One point of the chart: the first logging interval at one arrival rate.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LoadPoint {
    rate: f64,
    /// `Num successful transfers` of the decode instance's first line.
    transfers: u128,
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
fn deployment() -> Deployment {
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
fn capacity_mib_s() -> f64 {
    let deployment = deployment();
    let link = SimConfig::new(deployment).link;
    f64::from(deployment.decode().tp) * link.bytes_per_s / MIB
}

/// The chart's points: 10 s of arrivals at each rate, and the decode
/// instance's line for the first 10 s interval.
fn points() -> Vec<LoadPoint> {
    let logging = LoggingConfig::default();
    ARRIVAL_RATES
        .iter()
        .map(|&rate| {
            let config = SimConfig {
                seed: SEED,
                duration_us: logging.interval_us,
                arrival_rate_per_s: rate,
                ..SimConfig::new(deployment())
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

/// Draws the line's Throughput, the interval's rate and the busy-time rate
/// against load.
pub fn draw() -> Svg {
    let points = points();
    let (mut chart, links) = Chart::bandwidth(
        "Simulated throughput against load",
        (
            "More load: the line's Throughput falls as the engine moves more",
            "Simulated decode instance at TP 2, first 10 s log line at each request rate",
        ),
        (capacity_mib_s(), "2 links × 25 GB/s"),
        points.len(),
    );
    chart.x_axis(
        points
            .iter()
            .map(|p| (format!("{}/s", p.rate), format!("×{:.1}", p.concurrency))),
        "requests per second (×: mean READs in flight while busy)",
    );

    let wall = Line::solid("MiB / busy time", Colour::Green, |p| p.wall_mib_s);
    let window = Line::solid("n × Avg MB / 10 s", Colour::Blue, |p| p.window_mib_s);
    let logged = Line::solid(Field::ThroughputMbS.name(), Colour::Red, |p| p.logged_mib_s);
    chart.series(&[wall, window, logged], &points);
    // Both labelled series above their points (the line's Throughput stays
    // below the busy-time rate, and its labels clear the axis); the
    // interval's rate goes unlabelled.
    for (i, point) in points.iter().enumerate() {
        for series in [wall, logged] {
            let value = (series.value)(point);
            let at = (chart.x(i), chart.y(value) - 10.0);
            let text = format_mib_s(value);
            chart.value_label(at, &text, series.stroke.colour, Anchor::Middle);
        }
    }

    chart.legend(
        &[
            ("from the log line", &[logged.key(), window.key()]),
            ("needs NIXL's start times", &[wall.key(), links]),
        ],
        &[],
    );
    chart.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_from_the_simulator_s_lines() {
        let points = points();
        let rates: Vec<f64> = points.iter().map(|p| p.rate).collect();
        assert_eq!(rates, ARRIVAL_RATES);
        let capacity = capacity_mib_s();
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
        let svg = draw().finish(crate::svg::Theme::Light);
        assert!(svg.contains(&format_mib_s(last.wall_mib_s)));
    }
}
