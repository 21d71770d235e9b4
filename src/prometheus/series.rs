//! Scraped series, and the PromQL aggregations the recipes use, evaluated
//! as Prometheus evaluates them.
//!
//! A [`SeriesSet`] is what a Prometheus server stores from successive scrapes
//! of the exposition: one series per sample name and label set. On it,
//! [`SeriesSet::rates`] is `rate(name[range])` and [`sum_by`] is
//! `sum by (labels) (…)`.
//!
//! ```
//! use nixl_kv_metrics::prometheus::{NixlPromMetrics, PrometheusVersion, SeriesSet, sum_by};
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::stats::NixlKvConnectorStats;
//!
//! let mut prom = NixlPromMetrics::new(Family::F6, "m", [0, 1])?;
//! let mut series = SeriesSet::new();
//! series.scrape(0, prom.samples());
//! let step = NixlKvConnectorStats::from_transfers(
//!     Family::F6, vec![0.002; 3], vec![0.0005; 3], vec![1 << 20; 3], vec![72; 3]);
//! prom.observe(0, &step)?;
//! prom.observe(1, &step)?;
//! series.scrape(60_000, prom.samples());
//! let v = PrometheusVersion::V2_42;
//! let rates = series.rates("vllm:nixl_xfer_time_seconds_count", 60_000, 60_000, v);
//! assert_eq!(rates.len(), 2); // one per engine
//! let total = sum_by(&rates, &["model_name"], v);
//! assert_eq!(total[0].1, 0.1); // 6 transfers in 60 s
//! # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
//! ```

use std::collections::BTreeMap;

use crate::prometheus::{Point, PrometheusVersion, Sample, rate};

/// A label set, sorted by label name (as in [`sum_by`]'s example).
pub type Labels = Vec<(String, String)>;

/// An instant vector: label sets and values.
pub type Vector = Vec<(Labels, f64)>;

/// The label holding a series' name.
const NAME: &str = "__name__";

/// Series stored from scrapes: per label set (name included), its samples
/// in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesSet {
    series: BTreeMap<Labels, Vec<Point>>,
}

impl SeriesSet {
    /// No series.
    pub fn new() -> SeriesSet {
        SeriesSet::default()
    }

    /// Stores one scrape taken at `t_ms` (later than every earlier scrape).
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{Sample, SeriesSet};
    ///
    /// let sample = |v| Sample::new("x_total", vec![("engine".into(), "0".into())], v);
    /// let mut series = SeriesSet::new();
    /// assert!(series.is_empty());
    /// series.scrape(0, [sample(1.0)]);
    /// series.scrape(15_000, [sample(4.0)]);
    /// assert_eq!(series.len(), 1);
    /// let (labels, points) = series.iter().next().unwrap();
    /// assert_eq!(labels[0], ("__name__".to_string(), "x_total".to_string()));
    /// assert_eq!(points[1].value, 4.0);
    /// ```
    ///
    /// # Panics
    ///
    /// If a series already has a sample at or after `t_ms`.
    pub fn scrape(&mut self, t_ms: i64, samples: impl IntoIterator<Item = Sample>) {
        for sample in samples {
            let mut labels = Vec::with_capacity(sample.labels.len() + 1);
            labels.push((NAME.to_string(), sample.name));
            labels.extend(sample.labels);
            labels.sort();
            let points = self.series.entry(labels).or_default();
            assert!(
                points.last().is_none_or(|p| p.t_ms < t_ms),
                "scrapes must come in time order"
            );
            points.push(Point::new(t_ms, sample.value));
        }
    }

    /// Every series: its labels (with `__name__`) and samples, in label order.
    pub fn iter(&self) -> impl Iterator<Item = (&Labels, &[Point])> {
        self.series
            .iter()
            .map(|(labels, points)| (labels, points.as_slice()))
    }

    /// How many series there are.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when nothing was scraped.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// `rate(name[range])` at `eval_ms`: per series named `name` with at
    /// least two samples in the window, its labels (without the name) and
    /// rate, in label order.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{PrometheusVersion, Sample, SeriesSet};
    ///
    /// let sample = |e: &str, v| Sample::new("x_total", vec![("engine".into(), e.into())], v);
    /// let mut series = SeriesSet::new();
    /// series.scrape(0, [sample("0", 0.0), sample("1", 0.0)]);
    /// series.scrape(60_000, [sample("0", 6.0), sample("1", 12.0)]);
    /// let rates = series.rates("x_total", 60_000, 60_000, PrometheusVersion::V2_42);
    /// assert_eq!(rates[1], (vec![("engine".to_string(), "1".to_string())], 0.2));
    /// ```
    pub fn rates(
        &self,
        name: &str,
        eval_ms: i64,
        range_ms: i64,
        version: PrometheusVersion,
    ) -> Vector {
        self.series
            .iter()
            .filter(|(labels, _)| labels.iter().any(|(k, v)| k == NAME && v == name))
            .filter_map(|(labels, points)| {
                let value = rate(points, eval_ms, range_ms, version)?;
                let without_name = labels.iter().filter(|(k, _)| k != NAME).cloned().collect();
                Some((without_name, value))
            })
            .collect()
    }
}

/// `sum by (by) (vector)`: groups in order of first appearance, each summed
/// in vector order, plainly before Prometheus 3.0 and with Kahan-Neumaier
/// compensation from 3.0 on.
///
/// Prometheus adds in the order its storage returns the series, which for an
/// unsorted select is the order they were created; this function adds in
/// the vector's order. The two orders give the same bits for up to two
/// series per group (addition commutes), and may differ in the last bit
/// for three or more.
///
/// ```
/// use nixl_kv_metrics::prometheus::{PrometheusVersion, sum_by};
///
/// let l = |m: &str, e: &str| vec![("engine".to_string(), e.to_string()), ("model_name".to_string(), m.to_string())];
/// let vector = vec![(l("a", "0"), 1.0), (l("b", "0"), 5.0), (l("a", "1"), 2.0)];
/// let sums = sum_by(&vector, &["model_name"], PrometheusVersion::V2_42);
/// assert_eq!(sums, vec![
///     (vec![("model_name".to_string(), "a".to_string())], 3.0),
///     (vec![("model_name".to_string(), "b".to_string())], 5.0),
/// ]);
/// // 3.x's compensated sum keeps what plain addition loses
/// let tiny = vec![(vec![], 1.0), (vec![], 1e-16), (vec![], 1e-16)];
/// assert_eq!(sum_by(&tiny, &[], PrometheusVersion::V2_42)[0].1, 1.0);
/// assert_eq!(sum_by(&tiny, &[], PrometheusVersion::new(3, 0))[0].1, 1.0000000000000002);
/// ```
pub fn sum_by(vector: &[(Labels, f64)], by: &[&str], version: PrometheusVersion) -> Vector {
    let mut groups: Vec<(Labels, f64, f64)> = Vec::new();
    for (labels, value) in vector {
        let key: Labels = labels
            .iter()
            .filter(|(name, _)| by.contains(&name.as_str()))
            .cloned()
            .collect();
        match groups.iter_mut().find(|(labels, _, _)| *labels == key) {
            None => groups.push((key, *value, 0.0)),
            Some((_, sum, compensation)) => {
                if version.compensated_sum() {
                    (*sum, *compensation) = kahan_sum_inc(*value, *sum, *compensation);
                } else {
                    *sum += value;
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(labels, sum, compensation)| {
            if version.compensated_sum() {
                (labels, sum + compensation)
            } else {
                (labels, sum)
            }
        })
        .collect()
}

/// Prometheus 3's `kahanSumInc` (Neumaier's variant).
fn kahan_sum_inc(inc: f64, sum: f64, mut c: f64) -> (f64, f64) {
    let t = sum + inc;
    if t.is_infinite() {
        c = 0.0;
    } else if sum.abs() >= inc.abs() {
        c += (sum - t) + inc;
    } else {
        c += (inc - t) + sum;
    }
    (t, c)
}

/// `lhs / rhs` between two instant vectors: one-to-one on identical label
/// sets, keeping `lhs`'s order.
///
/// ```
/// use nixl_kv_metrics::prometheus::divide;
/// let m = |v: &str| vec![("model_name".to_string(), v.to_string())];
/// let q = divide(&[(m("a"), 1.0), (m("b"), 1.0)], &[(m("b"), 4.0)]);
/// assert_eq!(q, vec![(m("b"), 0.25)]);
/// ```
pub fn divide(lhs: &[(Labels, f64)], rhs: &[(Labels, f64)]) -> Vector {
    lhs.iter()
        .filter_map(|(labels, numerator)| {
            let (_, denominator) = rhs.iter().find(|(other, _)| other == labels)?;
            Some((labels.clone(), numerator / denominator))
        })
        .collect()
}
