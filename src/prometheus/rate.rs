//! PromQL's `rate` and `increase` over a counter's samples, as Prometheus
//! computes them, extrapolation included.
//!
//! `increase(c[5m])` at time `t` is not "the counter at `t` minus the
//! counter at `t - 5m`". Prometheus takes the samples *inside* the window,
//! the difference between the last and the first (adding back the value
//! before each reset), and stretches it from the span those samples cover to
//! the window:
//!
//! * towards each end of the window, all the way when the gap to it is
//!   under 1.1 average sample intervals, else by half an interval (the
//!   series is taken to start or stop inside the window);
//! * towards the start no further than where the counter, continued
//!   linearly backwards, would reach zero.
//!
//! So with a scrape every 15 s, `increase(c[5m])` of a counter that grew by
//! exactly 20 between the first and last sample of the window is reported
//! as 20 only when those samples sit at both edges of the window; it is
//! larger otherwise, and fractional for an integer counter. `rate` is
//! `increase` divided by the window's length in seconds.
//!
//! ```
//! use nixl_kv_metrics::prometheus::{Point, PrometheusVersion, increase, rate};
//!
//! let v = PrometheusVersion::V2_42;
//! // scraped every 15 s: 0 at t = 0 s, then +1 per scrape
//! let counter: Vec<Point> = (0..=40).map(|k| Point::new(k * 15_000, k as f64)).collect();
//! // a window of 300 s ending on a scrape holds 21 samples spanning it exactly
//! assert_eq!(increase(&counter, 300_000, 300_000, v), Some(20.0));
//! assert_eq!(rate(&counter, 300_000, 300_000, v), Some(20.0 / 300.0));
//! // 7 s later the window holds the samples from 15 s to 300 s: their
//! // increase of 19 over 285 s is stretched to the window's 300 s
//! assert_eq!(increase(&counter, 307_000, 300_000, v), Some(19.0 * (300.0 / 285.0)));
//! ```

use crate::prometheus::PrometheusVersion;

/// One sample of a series: milliseconds since the epoch, and the value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Timestamp in milliseconds (Prometheus' resolution).
    pub t_ms: i64,
    /// The sample's value.
    pub value: f64,
}

impl Point {
    /// A sample of `value` at `t_ms` milliseconds.
    pub const fn new(t_ms: i64, value: f64) -> Point {
        Point { t_ms, value }
    }
}

/// The samples a range selector `[range]` evaluated at `eval_ms` sees: those
/// in `[eval − range, eval]` before Prometheus 3.0, in `(eval − range, eval]`
/// from 3.0 (see [`PrometheusVersion::left_open_ranges`]). `points` must be
/// sorted by time.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Point, PrometheusVersion, samples_in_range};
///
/// let points = [Point::new(0, 0.0), Point::new(60_000, 1.0), Point::new(120_000, 2.0)];
/// assert_eq!(samples_in_range(&points, 120_000, 120_000, PrometheusVersion::V2_42).len(), 3);
/// assert_eq!(samples_in_range(&points, 120_000, 120_000, PrometheusVersion::new(3, 0)).len(), 2);
/// ```
pub fn samples_in_range(
    points: &[Point],
    eval_ms: i64,
    range_ms: i64,
    version: PrometheusVersion,
) -> &[Point] {
    let start = eval_ms - range_ms;
    let first = points.partition_point(|p| {
        if version.left_open_ranges() {
            p.t_ms <= start
        } else {
            p.t_ms < start
        }
    });
    let end = points.partition_point(|p| p.t_ms <= eval_ms);
    &points[first..end.max(first)]
}

/// `rate(series[range])` at `eval_ms`, as Prometheus `v` computes it: the
/// extrapolated increase per second, or `None` (no result) when the window
/// holds fewer than two samples.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Point, PrometheusVersion, rate};
///
/// let counter = [Point::new(0, 0.0), Point::new(60_000, 30.0), Point::new(120_000, 90.0)];
/// assert_eq!(rate(&counter, 120_000, 120_000, PrometheusVersion::V2_42), Some(0.75));
/// assert_eq!(rate(&counter[..1], 120_000, 120_000, PrometheusVersion::V2_42), None);
/// ```
pub fn rate(points: &[Point], eval_ms: i64, range_ms: i64, v: PrometheusVersion) -> Option<f64> {
    counter_over_range(points, eval_ms, range_ms, v, true)
}

/// `increase(series[range])` at `eval_ms`, as Prometheus `v` computes it: the
/// extrapolated increase, or `None` when the window holds fewer than two
/// samples.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Point, PrometheusVersion, increase};
///
/// // Two scrapes 60 s apart, 100 s and 140 s from the window's edges (more
/// // than 1.1 intervals): the series is taken to start and stop half an
/// // interval beyond its samples, so the 6 counted over 60 s become 12 over
/// // 120 s. Before 2.51 the start was instead moved to where the counter,
/// // continued backwards, is zero (60 s before the first sample): 15.
/// let two = [Point::new(100_000, 6.0), Point::new(160_000, 12.0)];
/// assert_eq!(increase(&two, 300_000, 300_000, PrometheusVersion::new(2, 51)), Some(12.0));
/// assert_eq!(increase(&two, 300_000, 300_000, PrometheusVersion::V2_42), Some(15.0));
/// // A reset: 12 then 2 counts as 12 + 2.
/// let reset = [Point::new(0, 0.0), Point::new(150_000, 12.0), Point::new(300_000, 2.0)];
/// assert_eq!(increase(&reset, 300_000, 300_000, PrometheusVersion::V2_42), Some(14.0));
/// ```
pub fn increase(
    points: &[Point],
    eval_ms: i64,
    range_ms: i64,
    v: PrometheusVersion,
) -> Option<f64> {
    counter_over_range(points, eval_ms, range_ms, v, false)
}

/// `rate` (`per_second`) or `increase` of a counter over `[range]` at `eval_ms`.
fn counter_over_range(
    points: &[Point],
    eval_ms: i64,
    range_ms: i64,
    version: PrometheusVersion,
    per_second: bool,
) -> Option<f64> {
    let inside = samples_in_range(points, eval_ms, range_ms, version);
    extrapolated_rate(
        inside,
        eval_ms - range_ms,
        eval_ms,
        true,
        per_second,
        version,
    )
}

/// Prometheus' `extrapolatedRate` for float samples already selected from the
/// window `[range_start_ms, range_end_ms]` (`rate`: counter, per second;
/// `increase`: counter, not per second; `delta`: neither). `None` with fewer
/// than two samples.
///
/// The arithmetic is Prometheus', operation for operation, so results agree
/// to the last bit.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Point, PrometheusVersion, extrapolated_rate};
///
/// let samples = [Point::new(15_000, 5.0), Point::new(30_000, 7.0)];
/// let delta = extrapolated_rate(&samples, 0, 30_000, false, false, PrometheusVersion::V2_42);
/// assert_eq!(delta, Some(4.0)); // 2 over 15 s, extrapolated to 30 s
/// assert_eq!(extrapolated_rate(&samples[..1], 0, 30_000, true, true, PrometheusVersion::V2_42), None);
/// ```
pub fn extrapolated_rate(
    samples: &[Point],
    range_start_ms: i64,
    range_end_ms: i64,
    is_counter: bool,
    is_rate: bool,
    version: PrometheusVersion,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let first = samples[0];
    let last = samples[samples.len() - 1];
    let mut result = last.value - first.value;
    if is_counter {
        let mut prev = first.value;
        for point in &samples[1..] {
            if point.value < prev {
                result += prev;
            }
            prev = point.value;
        }
    }
    let duration_to_start = (first.t_ms - range_start_ms) as f64 / 1000.0;
    let duration_to_end = (range_end_ms - last.t_ms) as f64 / 1000.0;
    let sampled_interval = (last.t_ms - first.t_ms) as f64 / 1000.0;
    let average_between_samples = sampled_interval / (samples.len() - 1) as f64;
    let threshold = average_between_samples * 1.1;
    // A gap to the window's edge of 1.1 average intervals or more: the
    // series is taken to start (or stop) half an interval beyond its samples.
    let to_edge = |duration: f64| {
        if duration < threshold {
            duration
        } else {
            average_between_samples / 2.0
        }
    };
    // A counter is not extrapolated back past where it would reach zero.
    let caps_at_zero = is_counter && result > 0.0 && first.value >= 0.0;
    let to_zero = |duration: f64| {
        let duration_to_zero = sampled_interval * (first.value / result);
        if caps_at_zero && duration_to_zero < duration {
            duration_to_zero
        } else {
            duration
        }
    };
    let to_start = if version.caps_at_zero_after_threshold() {
        to_zero(to_edge(duration_to_start))
    } else {
        to_edge(to_zero(duration_to_start))
    };
    let extrapolate_to = sampled_interval + to_start + to_edge(duration_to_end);
    let mut factor = extrapolate_to / sampled_interval;
    if is_rate {
        factor /= go_duration_seconds(range_end_ms - range_start_ms);
    }
    Some(result * factor)
}

/// Go's `time.Duration.Seconds()` of a whole number of milliseconds.
fn go_duration_seconds(ms: i64) -> f64 {
    let seconds = ms / 1000;
    let nanos = (ms % 1000) * 1_000_000;
    seconds as f64 + nanos as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_point_order_changed_in_2_51() {
        // First sample 1.5 intervals after the window start, counter near zero.
        let samples = [
            Point::new(90_000, 1.0),
            Point::new(150_000, 3.0),
            Point::new(210_000, 5.0),
        ];
        // The increase from 0 to `end_ms` before 2.51 and from 2.51 on.
        let old_and_new = |samples: &[Point], end_ms| {
            let increase = |version| extrapolated_rate(samples, 0, end_ms, true, false, version);
            (
                increase(PrometheusVersion::V2_42),
                increase(PrometheusVersion::new(2, 51)),
            )
        };
        let (old, new) = old_and_new(&samples, 210_000);
        // to zero: 120 s * 1/4 = 30 s, which is < 66 s (threshold): 2.42 adds
        // the 30 s; 2.51 first replaces 90 s by half an interval (30 s) and
        // keeps the smaller: also 30 s.
        assert_eq!(old, new);
        let far = [Point::new(100_000, 10.0), Point::new(160_000, 12.0)];
        let (old, new) = old_and_new(&far, 160_000);
        // to zero: 300 s, to start 100 s >= 66 s: both add half an interval.
        assert_eq!(old, Some(2.0 * 90.0 / 60.0));
        assert_eq!(new, old);
        let between = [Point::new(100_000, 0.8), Point::new(160_000, 2.0)];
        // to zero: 60 * 0.8 / 1.2 = 40 s (< 66 s threshold, > 30 s half interval)
        let (old, new) = old_and_new(&between, 160_000);
        assert_ne!(old, new);
        assert_eq!(new, Some(1.2 * (90.0 / 60.0)));
    }

    #[test]
    fn sub_second_ranges() {
        assert_eq!(go_duration_seconds(1_500), 1.5);
        assert_eq!(go_duration_seconds(300_000), 300.0);
    }
}
