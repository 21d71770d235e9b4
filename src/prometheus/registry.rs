//! vLLM's `NixlPromMetrics`: the per-engine series, fed every engine step.

use std::fmt;

use crate::input::Interval;
use crate::pipeline::KvOutputAggregator;
use crate::prometheus::exposition::render;
use crate::prometheus::{FIRST_RELEASE, GoFloat, Metric, MetricType, Observation, Sample};
use crate::release::Family;
use crate::stats::NixlKvConnectorStats;

/// prometheus_client keeps every count in a float incremented by 1, which
/// stops growing at 2⁵³.
const FLOAT_COUNT_LIMIT: u64 = 1 << 53;

/// The NIXL metrics of one vLLM frontend: for each engine, one child series
/// (one label set) of every metric its family registers.
///
/// vLLM's Prometheus logger calls `observe` with the pooled stats of every
/// engine step that shipped some (the [`KvOutputAggregator`]'s output, not
/// the logging interval's): each histogram observes every element of its
/// list, in order, and each counter is incremented once per entry of its
/// event lists. The histogram `_sum`s are float sums in that order, so they
/// come out bit for bit as prometheus_client's.
///
/// ```
/// use nixl_kv_metrics::prometheus::{NixlPromMetrics, XFER_TIME};
/// use nixl_kv_metrics::release::Family;
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
///
/// let mut prom = NixlPromMetrics::new(Family::F6, "llama", [0])?;
/// let step = NixlKvConnectorStats::from_transfers(
///     Family::F6, vec![0.004, 0.012], vec![0.0005; 2], vec![1 << 20; 2], vec![72; 2]);
/// prom.observe(0, &step)?;
/// let xfer = prom.histogram(0, XFER_TIME).unwrap();
/// assert_eq!(xfer.count, 2.0);
/// assert_eq!(xfer.sum, 0.016);
/// assert_eq!(xfer.buckets[..3], [(0.005, 1.0), (0.01, 1.0), (0.025, 2.0)]); // cumulative
/// # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NixlPromMetrics {
    family: Family,
    model_name: String,
    engines: Vec<EngineSeries>,
}

/// One engine's children: one value per metric of the family.
#[derive(Clone, Debug, PartialEq)]
struct EngineSeries {
    engine: usize,
    values: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq)]
enum Value {
    /// Non-cumulative counts per bucket (the last is `+Inf`), and the sum.
    Histogram { counts: Vec<u64>, sum: f64 },
    /// Increments so far.
    Counter(u64),
}

/// A histogram child's state, as the exposition shows it (see
/// [`NixlPromMetrics::histogram`]).
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramValue {
    /// `(le, cumulative count)` per bucket, `+Inf` last.
    pub buckets: Vec<(f64, f64)>,
    /// `_count`: the number of observations.
    pub count: f64,
    /// `_sum`: the float sum of the observations, in observation order.
    pub sum: f64,
}

impl NixlPromMetrics {
    /// The metrics of `family` for a frontend serving `model_name` with the
    /// engines `engines` (vLLM's engine indexes; the order is the order of
    /// the series in the exposition; a repeated index counts once).
    ///
    /// Errors for F1 (0.11.0), which registers no NIXL metrics.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{MetricsError, NixlPromMetrics};
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let prom = NixlPromMetrics::new(Family::F4, "m", [1, 0])?;
    /// assert_eq!(prom.engines(), vec![1, 0]);
    /// assert!(matches!(NixlPromMetrics::new(Family::F1, "m", [0]), Err(MetricsError::NoMetrics(_))));
    /// # Ok::<(), MetricsError>(())
    /// ```
    pub fn new(
        family: Family,
        model_name: impl Into<String>,
        engines: impl IntoIterator<Item = usize>,
    ) -> Result<NixlPromMetrics, MetricsError> {
        let defs = Metric::of(family);
        if defs.is_empty() {
            return Err(MetricsError::NoMetrics(family));
        }
        let mut series: Vec<EngineSeries> = Vec::new();
        for engine in engines {
            if series.iter().all(|s| s.engine != engine) {
                series.push(EngineSeries {
                    engine,
                    values: defs.iter().map(initial_value).collect(),
                });
            }
        }
        Ok(NixlPromMetrics {
            family,
            model_name: model_name.into(),
            engines: series,
        })
    }

    /// The family whose metrics these are.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::NixlPromMetrics;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let prom = NixlPromMetrics::new(Family::F5, "llama", [0, 1])?;
    /// assert_eq!(prom.family(), Family::F5);
    /// assert_eq!(prom.model_name(), "llama");
    /// assert_eq!(prom.engines(), vec![0, 1]);
    /// assert_eq!(prom.metrics().len(), 7);
    /// # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
    /// ```
    pub fn family(&self) -> Family {
        self.family
    }

    /// The `model_name` label of every series.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The engine indexes, in exposition order.
    pub fn engines(&self) -> Vec<usize> {
        self.engines.iter().map(|s| s.engine).collect()
    }

    /// The metrics registered, in exposition order.
    pub fn metrics(&self) -> &'static [Metric] {
        Metric::of(self.family)
    }

    /// `NixlPromMetrics.observe(data, engine)`: one engine step's pooled
    /// stats into the engine's series.
    ///
    /// # Panics
    ///
    /// If `stats` follow another family.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{FAILED_TRANSFERS, MetricsError, NixlPromMetrics};
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// let mut step = NixlKvConnectorStats::new(Family::F5);
    /// step.record(Event::FailedHandshake)?;
    /// step.record(Event::FailedNotification)?;
    /// let mut prom = NixlPromMetrics::new(Family::F5, "m", [0])?;
    /// prom.observe(0, &step)?;
    /// // from 0.31 handshake and notification failures count as failed transfers
    /// assert_eq!(prom.counter(0, FAILED_TRANSFERS), Some(2.0));
    /// assert_eq!(prom.observe(3, &step), Err(MetricsError::UnknownEngine(3)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe(
        &mut self,
        engine: usize,
        stats: &NixlKvConnectorStats,
    ) -> Result<(), MetricsError> {
        assert_eq!(
            stats.family(),
            self.family,
            "stats of another release family"
        );
        let defs = Metric::of(self.family);
        let series = self
            .engines
            .iter_mut()
            .find(|s| s.engine == engine)
            .ok_or(MetricsError::UnknownEngine(engine))?;
        for (metric, value) in defs.iter().zip(&mut series.values) {
            match (metric.kind, value) {
                (MetricType::Histogram { bounds, observes }, Value::Histogram { counts, sum }) => {
                    match observes {
                        Observation::TransferDuration => observe_all(
                            bounds,
                            counts,
                            sum,
                            stats.transfer_duration().iter().copied(),
                        ),
                        Observation::PostDuration => {
                            observe_all(bounds, counts, sum, stats.post_duration().iter().copied())
                        }
                        Observation::BytesTransferred => observe_all(
                            bounds,
                            counts,
                            sum,
                            // Python adds an int to a float as the nearest float.
                            stats.bytes_transferred().iter().map(|&b| b as f64),
                        ),
                        Observation::NumDescriptors => observe_all(
                            bounds,
                            counts,
                            sum,
                            stats.num_descriptors().iter().map(|&d| f64::from(d)),
                        ),
                    }
                }
                (MetricType::Counter { events }, Value::Counter(total)) => {
                    for &event in events {
                        *total = float_count_add(*total, stats.event_count(event));
                    }
                }
                _ => unreachable!("values are built from the same definitions"),
            }
        }
        Ok(())
    }

    /// Observes every step of an interval document (as `reduce` reads it)
    /// into engine `engine`: each step's workers pooled by the
    /// [`KvOutputAggregator`], then observed. Steps where no worker shipped
    /// anything are skipped, as vLLM skips them.
    ///
    /// ```
    /// use nixl_kv_metrics::input::Interval;
    /// use nixl_kv_metrics::prometheus::{BYTES_TRANSFERRED, NixlPromMetrics};
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let text = br#"{"steps": [[{"transfer_duration": [0.002], "post_duration": [0.0004],
    ///     "bytes_transferred": [2359296], "num_descriptors": [72]}, null], [null, null]]}"#;
    /// let interval = Interval::from_json(Family::F6, text)?;
    /// let mut prom = NixlPromMetrics::new(Family::F6, "m", [0])?;
    /// prom.observe_interval(0, interval)?;
    /// assert_eq!(prom.histogram(0, BYTES_TRANSFERRED).unwrap().sum, 2359296.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe_interval(
        &mut self,
        engine: usize,
        interval: Interval,
    ) -> Result<(), MetricsError> {
        if self.engines.iter().all(|s| s.engine != engine) {
            return Err(MetricsError::UnknownEngine(engine));
        }
        for workers in interval.steps {
            if let Some(pooled) = KvOutputAggregator::aggregate(workers) {
                self.observe(engine, &pooled)?;
            }
        }
        Ok(())
    }

    /// A histogram child (`name` without suffix) of engine `engine`; `None`
    /// for an unknown engine or a name that is not a histogram of the family.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{FAILED_TRANSFERS, NUM_DESCRIPTORS, NixlPromMetrics};
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// let mut prom = NixlPromMetrics::new(Family::F4, "m", [0])?;
    /// let step = NixlKvConnectorStats::from_transfers(
    ///     Family::F4, vec![0.001; 2], vec![0.0002; 2], vec![4096; 2], vec![10, 11]);
    /// prom.observe(0, &step)?;
    /// let descriptors = prom.histogram(0, NUM_DESCRIPTORS).unwrap();
    /// assert_eq!((descriptors.buckets[0], descriptors.buckets[1]), ((10.0, 1.0), (20.0, 2.0)));
    /// assert_eq!((descriptors.count, descriptors.sum), (2.0, 21.0));
    /// assert!(prom.histogram(0, FAILED_TRANSFERS).is_none()); // a counter
    /// assert!(prom.histogram(1, NUM_DESCRIPTORS).is_none()); // no engine 1
    /// # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
    /// ```
    pub fn histogram(&self, engine: usize, name: &str) -> Option<HistogramValue> {
        let (metric, value) = self.value(engine, name)?;
        match (metric.kind, value) {
            (MetricType::Histogram { bounds, .. }, Value::Histogram { counts, sum }) => {
                let cumulative = cumulative_counts(counts);
                let count = *cumulative.last().expect("the +Inf bucket");
                Some(HistogramValue {
                    buckets: bounds
                        .iter()
                        .copied()
                        .chain([f64::INFINITY])
                        .zip(cumulative)
                        .collect(),
                    count,
                    sum: *sum,
                })
            }
            _ => None,
        }
    }

    /// A counter child's value (`name` without `_total`) of engine `engine`.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{FAILED_TRANSFERS, KV_EXPIRED_REQS, NixlPromMetrics};
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// let mut step = NixlKvConnectorStats::new(Family::F4);
    /// step.record_many(Event::KvExpiredReq, 4)?;
    /// let mut prom = NixlPromMetrics::new(Family::F4, "m", [0])?;
    /// prom.observe(0, &step)?;
    /// assert_eq!(prom.counter(0, KV_EXPIRED_REQS), Some(4.0));
    /// assert_eq!(prom.counter(0, FAILED_TRANSFERS), Some(0.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counter(&self, engine: usize, name: &str) -> Option<f64> {
        match self.value(engine, name)? {
            (_, Value::Counter(total)) => Some(*total as f64),
            _ => None,
        }
    }

    fn value(&self, engine: usize, name: &str) -> Option<(&'static Metric, &Value)> {
        let series = self.engines.iter().find(|s| s.engine == engine)?;
        Metric::of(self.family)
            .iter()
            .zip(&series.values)
            .find(|(metric, _)| metric.name == name)
    }

    /// Every sample of the exposition except `_created`, in exposition
    /// order: what a Prometheus scrape stores.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::NixlPromMetrics;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let prom = NixlPromMetrics::new(Family::F6, "m", [0, 1])?;
    /// let samples = prom.samples();
    /// // per engine: 13 + 14 + 13 + 15 buckets, a _count and a _sum each, 4 counters
    /// assert_eq!(samples.len(), 2 * (55 + 8 + 4));
    /// assert_eq!(samples[0].to_string(),
    ///            r#"vllm:nixl_xfer_time_seconds_bucket{engine="0",le="0.005",model_name="m"} 0.0"#);
    /// # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
    /// ```
    pub fn samples(&self) -> Vec<Sample> {
        (0..self.metrics().len())
            .flat_map(|index| self.metric_samples(index))
            .collect()
    }

    /// The samples of the `index`-th metric, engine by engine.
    pub(crate) fn metric_samples(&self, index: usize) -> Vec<Sample> {
        let metric = &self.metrics()[index];
        let mut samples = Vec::new();
        for series in &self.engines {
            let engine = series.engine.to_string();
            let labels = |le: Option<String>| {
                let mut labels = vec![("engine".to_string(), engine.clone())];
                if let Some(le) = le {
                    labels.push(("le".to_string(), le));
                }
                labels.push(("model_name".to_string(), self.model_name.clone()));
                labels
            };
            match (&metric.kind, &series.values[index]) {
                (MetricType::Histogram { bounds, .. }, Value::Histogram { counts, sum }) => {
                    let cumulative = cumulative_counts(counts);
                    let les = bounds.iter().copied().chain([f64::INFINITY]);
                    for (le, &count) in les.zip(&cumulative) {
                        samples.push(Sample::new(
                            format!("{}_bucket", metric.name),
                            labels(Some(GoFloat(le).to_string())),
                            count,
                        ));
                    }
                    let total = *cumulative.last().expect("the +Inf bucket");
                    samples.push(Sample::new(
                        format!("{}_count", metric.name),
                        labels(None),
                        total,
                    ));
                    samples.push(Sample::new(
                        format!("{}_sum", metric.name),
                        labels(None),
                        *sum,
                    ));
                }
                (MetricType::Counter { .. }, Value::Counter(total)) => samples.push(Sample::new(
                    format!("{}_total", metric.name),
                    labels(None),
                    *total as f64,
                )),
                _ => unreachable!("values are built from the same definitions"),
            }
        }
        samples
    }

    /// The `_created` samples of the `index`-th metric, all at `created`.
    pub(crate) fn created_samples(&self, index: usize, created: f64) -> Vec<Sample> {
        let metric = &self.metrics()[index];
        self.engines
            .iter()
            .map(|series| {
                Sample::new(
                    format!("{}_created", metric.name),
                    vec![
                        ("engine".to_string(), series.engine.to_string()),
                        ("model_name".to_string(), self.model_name.clone()),
                    ],
                    created,
                )
            })
            .collect()
    }

    /// The text exposition of these metrics, as prometheus_client's
    /// `generate_latest` prints it. `Some(t)` adds the `_created` gauges
    /// prometheus_client serves unless `PROMETHEUS_DISABLE_CREATED_SERIES`
    /// is set, every series at the Unix time `t` (vLLM's hold wall-clock
    /// readings no model reproduces); `None` leaves them out.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::NixlPromMetrics;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let text = NixlPromMetrics::new(Family::F3, "m", [0])?.exposition(None);
    /// assert!(text.starts_with("# HELP vllm:nixl_xfer_time_seconds Histogram of transfer duration"));
    /// assert!(text.ends_with("vllm:nixl_num_failed_notifications_total{engine=\"0\",model_name=\"m\"} 0.0\n"));
    /// # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
    /// ```
    pub fn exposition(&self, created: Option<f64>) -> String {
        render(self, created)
    }
}

fn initial_value(metric: &Metric) -> Value {
    match metric.kind {
        MetricType::Histogram { bounds, .. } => Value::Histogram {
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        },
        MetricType::Counter { .. } => Value::Counter(0),
    }
}

/// `Histogram.observe` for each value: the sum first, then the first bucket
/// whose bound is at least the value (none for NaN).
fn observe_all(
    bounds: &[f64],
    counts: &mut [u64],
    sum: &mut f64,
    values: impl Iterator<Item = f64>,
) {
    for value in values {
        *sum += value;
        let bucket = bounds
            .iter()
            .position(|&bound| value <= bound)
            .or((value <= f64::INFINITY).then_some(bounds.len()));
        if let Some(bucket) = bucket {
            counts[bucket] = float_count_add(counts[bucket], 1);
        }
    }
}

/// A float count, incremented `n` times by 1, as prometheus_client keeps it.
fn float_count_add(count: u64, n: u64) -> u64 {
    count.saturating_add(n).min(FLOAT_COUNT_LIMIT)
}

/// Cumulative bucket counts, summed as floats in bucket order.
fn cumulative_counts(counts: &[u64]) -> Vec<f64> {
    let mut total = 0.0;
    counts
        .iter()
        .map(|&count| {
            total += count as f64;
            total
        })
        .collect()
}

/// Why metrics cannot be built or fed.
///
/// ```
/// use nixl_kv_metrics::prometheus::{MetricsError, NixlPromMetrics};
/// use nixl_kv_metrics::release::Family;
///
/// let error = NixlPromMetrics::new(Family::F1, "m", [0]).unwrap_err();
/// assert_eq!(error, MetricsError::NoMetrics(Family::F1));
/// assert_eq!(error.to_string(),
///            "vLLM 0.11.0 (F1) has no NIXL Prometheus metrics: they appeared in 0.11.1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsError {
    /// The family registers no NIXL metrics (0.11.0).
    NoMetrics(Family),
    /// Stats for an engine index the metrics were not built with (vLLM
    /// would raise a `KeyError`).
    UnknownEngine(usize),
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MetricsError::NoMetrics(family) => {
                let releases = family.releases();
                write!(
                    f,
                    "vLLM {releases} ({family}) has no NIXL Prometheus metrics: \
                     they appeared in {FIRST_RELEASE}"
                )
            }
            MetricsError::UnknownEngine(engine) => write!(f, "no series for engine {engine}"),
        }
    }
}

impl std::error::Error for MetricsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_like_a_float() {
        assert_eq!(float_count_add(FLOAT_COUNT_LIMIT - 1, 5), FLOAT_COUNT_LIMIT);
        assert_eq!(float_count_add(u64::MAX, 1), FLOAT_COUNT_LIMIT);
    }

    #[test]
    fn bucket_edges_are_inclusive() {
        let mut counts = vec![0; 3];
        let mut sum = 0.0;
        observe_all(
            &[1.0, 2.0],
            &mut counts,
            &mut sum,
            [1.0, 1.0000000000000002, 2.0, 3.0, -0.0].into_iter(),
        );
        assert_eq!(counts, [2, 2, 1]);
        let mut nan_counts = vec![0; 3];
        observe_all(
            &[1.0, 2.0],
            &mut nan_counts,
            &mut sum,
            [f64::NAN].into_iter(),
        );
        assert_eq!(nan_counts, [0, 0, 0]);
        assert!(sum.is_nan());
    }
}
