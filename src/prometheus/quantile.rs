//! PromQL's `histogram_quantile` over classic (`le`-labelled) buckets, as
//! Prometheus computes it.
//!
//! Prometheus assumes the observations of a bucket are spread evenly between
//! its lower and upper bound and interpolates linearly. vLLM's log computes
//! its P90 from the raw samples instead, so the two disagree whenever the
//! buckets are coarse, as they are for NIXL: the four transfers behind the
//! line in vLLM issue #41230 all took under 5 ms, so they share the first
//! `vllm:nixl_xfer_time_seconds` bucket and the estimate is 90 % of the way
//! from 0 to 5 ms, whatever their durations:
//!
//! ```
//! use nixl_kv_metrics::prometheus::{Bucket, histogram_quantile};
//!
//! // Cumulative counts, as `sum by (le) (rate(..._bucket[5m]))` gives them
//! // (the common factor 1/300 of a rate does not change the quantile).
//! let buckets: Vec<Bucket> = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0]
//!     .into_iter()
//!     .chain([f64::INFINITY])
//!     .map(|upper_bound| Bucket { upper_bound, count: 4.0 })
//!     .collect();
//! let p90 = histogram_quantile(0.9, &buckets);
//! assert_eq!(format!("{:.3} ms", p90 * 1e3), "4.500 ms"); // the log said P90 2.601 ms
//! ```

use crate::prometheus::PrometheusVersion;

/// One classic bucket: its `le` bound and the (cumulative) count at or below
/// it, or a rate of that count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// The `le` label, parsed as a float (`+Inf` for the last bucket).
    pub upper_bound: f64,
    /// Observations at or below `upper_bound`, or their rate.
    pub count: f64,
}

/// `histogram_quantile(q, buckets)` as the newest checked Prometheus
/// ([`PrometheusVersion::NEWEST_CHECKED`]) computes it.
///
/// The buckets need not be sorted. The special cases, in Prometheus' order:
///
/// * `q` NaN gives NaN, `q < 0` gives −∞, `q > 1` gives +∞;
/// * no `+Inf` bucket gives NaN; buckets with the same bound are merged;
///   counts that decrease with the bound are raised to the running maximum;
/// * fewer than two buckets, or a zero total count, give NaN;
/// * a quantile in the `+Inf` bucket gives the highest finite bound;
/// * in the first bucket the lower bound is 0 when its upper bound is
///   positive (otherwise the upper bound is returned).
///
/// An empty slice gives NaN (Prometheus never asks: a series set without
/// buckets yields no result at all).
///
/// ```
/// use nixl_kv_metrics::prometheus::{Bucket, histogram_quantile};
///
/// let b = |upper_bound, count| Bucket { upper_bound, count };
/// let buckets = [b(0.01, 2.0), b(f64::INFINITY, 10.0), b(0.005, 1.0)];
/// assert_eq!(histogram_quantile(0.15, &buckets), 0.0075); // halfway into (0.005, 0.01]
/// assert_eq!(histogram_quantile(0.5, &buckets), 0.01); // +Inf bucket: highest finite bound
/// assert_eq!(histogram_quantile(1.5, &buckets), f64::INFINITY);
/// assert_eq!(histogram_quantile(-1.0, &buckets), f64::NEG_INFINITY);
/// assert!(histogram_quantile(f64::NAN, &buckets).is_nan());
/// assert!(histogram_quantile(0.5, &[b(0.01, 0.0), b(f64::INFINITY, 0.0)]).is_nan()); // no observations
/// assert!(histogram_quantile(0.5, &[b(f64::INFINITY, 3.0)]).is_nan()); // one bucket
/// assert!(histogram_quantile(0.5, &[b(0.01, 3.0), b(1.0, 4.0)]).is_nan()); // no +Inf
/// ```
pub fn histogram_quantile(q: f64, buckets: &[Bucket]) -> f64 {
    histogram_quantile_as(PrometheusVersion::NEWEST_CHECKED, q, buckets)
}

/// `histogram_quantile` as Prometheus `version` computes it: before 2.49
/// decreasing counts are raised to the running maximum (the "envelope");
/// from 2.49 counts within a relative 1e-12 of the previous bucket's are also
/// set equal to it, so float noise from `rate` cannot shift the quantile.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Bucket, PrometheusVersion, histogram_quantile_as};
///
/// let b = |upper_bound, count| Bucket { upper_bound, count };
/// // 1e-13 more in the second bucket: noise, or one more observation?
/// let buckets = [b(1.0, 1.0), b(2.0, 1.0 + 1e-13), b(f64::INFINITY, 1.0 + 1e-13)];
/// let old = histogram_quantile_as(PrometheusVersion::V2_42, 1.0, &buckets);
/// let new = histogram_quantile_as(PrometheusVersion::new(2, 49), 1.0, &buckets);
/// assert_eq!((old, new), (2.0, 1.0));
/// ```
pub fn histogram_quantile_as(version: PrometheusVersion, q: f64, buckets: &[Bucket]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let mut buckets = buckets.to_vec();
    buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    match buckets.last() {
        Some(last) if last.upper_bound == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce(&mut buckets);
    if version.ignores_small_bucket_deltas() {
        ensure_monotonic_ignoring_small_deltas(&mut buckets);
    } else {
        ensure_monotonic(&mut buckets);
    }
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = go_sort_search(buckets.len() - 1, |i| buckets[i].count >= rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].upper_bound;
    }
    if b == 0 && buckets[0].upper_bound <= 0.0 {
        return buckets[0].upper_bound;
    }
    let bucket_end = buckets[b].upper_bound;
    let mut count = buckets[b].count;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = buckets[b - 1].upper_bound;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// Merges neighbours with the same bound (sorted input), adding counts.
fn coalesce(buckets: &mut Vec<Bucket>) {
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for &bucket in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper_bound == bucket.upper_bound => last.count += bucket.count,
            _ => merged.push(bucket),
        }
    }
    *buckets = merged;
}

/// Before 2.49: every count at least the largest count before it.
fn ensure_monotonic(buckets: &mut [Bucket]) {
    let mut max = buckets[0].count;
    for bucket in &mut buckets[1..] {
        if bucket.count > max {
            max = bucket.count;
        } else if bucket.count < max {
            bucket.count = max;
        }
    }
}

/// Prometheus' relative tolerance for bucket counts that differ by float noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// From 2.49: decreases and relative changes below 1e-12 take the previous
/// kept count.
fn ensure_monotonic_ignoring_small_deltas(buckets: &mut [Bucket]) {
    let mut prev = buckets[0].count;
    for bucket in &mut buckets[1..] {
        let curr = bucket.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) || curr < prev {
            bucket.count = prev;
            continue;
        }
        prev = curr;
    }
}

/// Prometheus' `almost.Equal` (its staleness-marker case aside).
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Go's `sort.Search`: the smallest `i` in `0..n` with `f(i)`, by the same
/// bisection (so that NaN counts pick the bucket Prometheus picks).
fn go_sort_search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0, n);
    while i < j {
        let h = (i + j) / 2;
        if !f(h) {
            i = h + 1;
        } else {
            j = h;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(upper_bound: f64, count: f64) -> Bucket {
        Bucket { upper_bound, count }
    }

    #[test]
    fn interpolates_linearly_within_a_bucket() {
        let buckets = [b(1.0, 10.0), b(2.0, 20.0), b(f64::INFINITY, 20.0)];
        assert_eq!(histogram_quantile(0.25, &buckets), 0.5);
        assert_eq!(histogram_quantile(0.75, &buckets), 1.5);
        assert_eq!(histogram_quantile(1.0, &buckets), 2.0);
        assert_eq!(histogram_quantile(0.0, &buckets), 0.0);
    }

    #[test]
    fn non_positive_first_bound_is_returned() {
        let buckets = [b(-1.0, 5.0), b(1.0, 10.0), b(f64::INFINITY, 10.0)];
        assert_eq!(histogram_quantile(0.2, &buckets), -1.0);
        assert_eq!(histogram_quantile(0.75, &buckets), 0.0);
    }

    #[test]
    fn duplicate_bounds_are_merged_and_decreases_repaired() {
        let buckets = [b(1.0, 2.0), b(1.0, 2.0), b(2.0, 3.0), b(f64::INFINITY, 8.0)];
        // merged: (1, 4), (2, 4 after repair), (+Inf, 8)
        assert_eq!(histogram_quantile(0.5, &buckets), 1.0);
        assert_eq!(histogram_quantile(0.75, &buckets), 2.0);
        assert_eq!(
            histogram_quantile_as(PrometheusVersion::V2_42, 0.5, &buckets),
            1.0
        );
    }

    #[test]
    fn almost_equal_matches_prometheus() {
        assert!(almost_equal(1.0, 1.0 + 1e-13, 1e-12));
        assert!(!almost_equal(1.0, 1.0 + 1e-11, 1e-12));
        assert!(almost_equal(0.0, 1e-320, 1e-12));
        assert!(!almost_equal(0.0, 1e-300, 1e-12));
    }
}
