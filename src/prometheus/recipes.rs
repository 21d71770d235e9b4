//! PromQL recipes: the questions the log line answers, asked of
//! Prometheus instead, and what each answer does not tell.
//!
//! Every recipe sums over engines (and over instances, pods, anything but
//! the model) *before* dividing: `sum(rate(x_sum)) / sum(rate(x_count))`,
//! never the average of per-engine averages, which weighs a quiet engine
//! like a busy one. Rates are over [`Recipe::WINDOW`] (5 minutes, at least four
//! scrapes at the usual 15 s to 1 m intervals).
//!
//! Each recipe is an expression tree ([`Expr`]) that prints as the PromQL
//! ([`Recipe::promql`]) and evaluates with this crate's model of
//! Prometheus ([`Recipe::evaluate`]); `tests/promtool.rs` checks the two
//! against `promtool test rules` to the last bit.
//!
//! ```
//! use nixl_kv_metrics::prometheus::{CATALOG, Recipe};
//!
//! let avg = Recipe::find("xfer-time-avg").unwrap();
//! assert_eq!(
//!     avg.promql(),
//!     "sum by (model_name) (rate(vllm:nixl_xfer_time_seconds_sum[5m])) \
//!      / sum by (model_name) (rate(vllm:nixl_xfer_time_seconds_count[5m]))"
//! );
//! for recipe in CATALOG {
//!     println!("{:<40} {}", recipe.id, recipe.title);
//! }
//! ```

use std::fmt;

use crate::prometheus::{
    BYTES_TRANSFERRED, Bucket, FAILED_NOTIFICATIONS, FAILED_TRANSFERS, KV_EXPIRED_REQS, Metric,
    NOTIFICATIONS_AFTER_EXPIRY, NUM_DESCRIPTORS, POST_TIME, PrometheusVersion, SeriesSet, Vector,
    XFER_TIME, divide, histogram_quantile_as, sum_by,
};
use crate::release::Family;

/// A recipe's query, as a tree that both prints and evaluates.
///
/// ```
/// use nixl_kv_metrics::prometheus::Expr;
///
/// const BYTES: Expr = Expr::SumRate("vllm:nixl_bytes_transferred", "_sum");
/// const COUNT: Expr = Expr::SumRate("vllm:nixl_bytes_transferred", "_count");
/// let avg = Expr::Ratio(&BYTES, &COUNT);
/// assert_eq!(avg.to_string(),
///     "sum by (model_name) (rate(vllm:nixl_bytes_transferred_sum[5m])) \
///      / sum by (model_name) (rate(vllm:nixl_bytes_transferred_count[5m]))");
/// assert_eq!(avg.metrics(), ["vllm:nixl_bytes_transferred"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expr {
    /// `sum by (model_name) (rate(METRIC+SUFFIX[5m]))`: a metric name and
    /// the sample suffix (`_sum`, `_count`, `_total`).
    SumRate(&'static str, &'static str),
    /// `histogram_quantile(Q, sum by (model_name, le) (rate(METRIC_bucket[5m])))`.
    Quantile(f64, &'static str),
    /// `A / B`, matched on `model_name`.
    Ratio(&'static Expr, &'static Expr),
}

impl Expr {
    /// The metrics (names without suffix) the expression reads, first use
    /// first (see [`Expr`]'s example).
    pub fn metrics(&self) -> Vec<&'static str> {
        match *self {
            Expr::SumRate(metric, _) | Expr::Quantile(_, metric) => vec![metric],
            Expr::Ratio(a, b) => {
                let mut names = a.metrics();
                for name in b.metrics() {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                names
            }
        }
    }

    /// The expression's value at `eval_ms`, one sample per `model_name`, as
    /// Prometheus `version` computes it from `series` (see
    /// [`Recipe::evaluate`]'s example).
    pub fn evaluate(&self, series: &SeriesSet, eval_ms: i64, version: PrometheusVersion) -> Vector {
        let rates = |name: String| series.rates(&name, eval_ms, Recipe::WINDOW_MS, version);
        match *self {
            Expr::SumRate(metric, suffix) => sum_by(
                &rates(format!("{metric}{suffix}")),
                &["model_name"],
                version,
            ),
            Expr::Quantile(q, metric) => {
                let rates = rates(format!("{metric}_bucket"));
                let per_le = sum_by(&rates, &["model_name", "le"], version);
                let mut histograms: Vec<(crate::prometheus::Labels, Vec<Bucket>)> = Vec::new();
                for (labels, count) in per_le {
                    let le = labels
                        .iter()
                        .find(|(k, _)| k == "le")
                        .map(|(_, v)| v.as_str());
                    let Some(upper_bound) = le.and_then(parse_go_float) else {
                        continue;
                    };
                    let rest: crate::prometheus::Labels =
                        labels.iter().filter(|(k, _)| k != "le").cloned().collect();
                    let bucket = Bucket { upper_bound, count };
                    match histograms.iter_mut().find(|(labels, _)| *labels == rest) {
                        Some((_, buckets)) => buckets.push(bucket),
                        None => histograms.push((rest, vec![bucket])),
                    }
                }
                histograms
                    .into_iter()
                    .map(|(labels, buckets)| (labels, histogram_quantile_as(version, q, &buckets)))
                    .collect()
            }
            Expr::Ratio(a, b) => divide(
                &a.evaluate(series, eval_ms, version),
                &b.evaluate(series, eval_ms, version),
            ),
        }
    }
}

/// An `le` value as Go's `strconv.ParseFloat` reads it.
fn parse_go_float(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

impl fmt::Display for Expr {
    /// The PromQL text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::SumRate(metric, suffix) => {
                write!(
                    f,
                    "sum by (model_name) (rate({metric}{suffix}[{window}]))",
                    window = Recipe::WINDOW
                )
            }
            Expr::Quantile(q, metric) => write!(
                f,
                "histogram_quantile({q}, sum by (model_name, le) (rate({metric}_bucket[{window}])))",
                window = Recipe::WINDOW
            ),
            Expr::Ratio(a, b) => {
                let operand = |e: &Expr| match e {
                    Expr::Ratio(..) => format!("({e})"),
                    _ => e.to_string(),
                };
                write!(f, "{} / {}", operand(a), operand(b))
            }
        }
    }
}

/// The unit of a recipe's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Bytes (the log's "MB" are MiB: divide by 2²⁰).
    Bytes,
    /// Bytes per second.
    BytesPerSecond,
    /// Events per second.
    PerSecond,
    /// A plain number.
    Number,
    /// A fraction of a whole, 0 to 1.
    Ratio,
}

impl Unit {
    /// Grafana's unit id for the value.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Unit;
    /// assert_eq!(Unit::BytesPerSecond.grafana(), "binBps");
    /// ```
    pub fn grafana(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Bytes => "bytes",
            Unit::BytesPerSecond => "binBps",
            Unit::PerSecond => "ops",
            Unit::Number => "short",
            Unit::Ratio => "percentunit",
        }
    }
}

/// One query of the catalog.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Recipe, Unit};
///
/// let recipe = Recipe::find("throughput-log-equivalent").unwrap();
/// assert_eq!(recipe.unit, Unit::BytesPerSecond);
/// assert!(recipe.answers.contains("Throughput (MB/s)"));
/// assert!(recipe.does_not_answer.contains("wall-clock"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    /// A stable identifier (`xfer-time-avg`).
    pub id: &'static str,
    /// A short title (the dashboard panel's).
    pub title: &'static str,
    /// The unit of the value.
    pub unit: Unit,
    /// The query.
    pub expr: Expr,
    /// What the value answers.
    pub answers: &'static str,
    /// What it does not answer, and how it differs from the log line.
    pub does_not_answer: &'static str,
}

impl Recipe {
    /// The range of every `rate` in the catalog, as PromQL writes it.
    pub const WINDOW: &str = "5m";
    /// [`Recipe::WINDOW`] in milliseconds.
    pub const WINDOW_MS: i64 = 300_000;

    /// The recipe `id`, if the catalog has it.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Recipe;
    /// assert_eq!(Recipe::find("bytes-per-second").unwrap().title, "KV bytes per second (wall clock)");
    /// assert!(Recipe::find("p99").is_none());
    /// ```
    pub fn find(id: &str) -> Option<&'static Recipe> {
        CATALOG.iter().find(|recipe| recipe.id == id)
    }

    /// The PromQL text (what a dashboard panel or recording rule uses).
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Recipe;
    /// assert_eq!(
    ///     Recipe::find("xfer-time-p90").unwrap().promql(),
    ///     "histogram_quantile(0.9, sum by (model_name, le) (rate(vllm:nixl_xfer_time_seconds_bucket[5m])))"
    /// );
    /// ```
    pub fn promql(&self) -> String {
        self.expr.to_string()
    }

    /// The recipe's value at `eval_ms` for each `model_name`, as Prometheus
    /// `version` evaluates [`Recipe::promql`] on `series`.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{NixlPromMetrics, PrometheusVersion, Recipe, SeriesSet};
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// // The four transfers behind the line of vLLM issue #41230 (durations
    /// // consistent with it: avg 1.381 ms, P90 2.601 ms), scraped before and after.
    /// let stats = NixlKvConnectorStats::from_transfers(
    ///     Family::F6,
    ///     vec![0.0004, 0.000453, 0.00167, 0.003],
    ///     vec![0.00054, 0.000558, 0.00078, 0.00081],
    ///     vec![2_359_296; 4],
    ///     vec![72; 4],
    /// );
    /// assert!(stats.reduce().to_string().contains("Avg xfer time (ms)=1.381, P90 xfer time (ms)=2.601"));
    /// let mut prom = NixlPromMetrics::new(Family::F6, "m", [0])?;
    /// let mut series = SeriesSet::new();
    /// series.scrape(0, prom.samples());
    /// prom.observe(0, &stats)?;
    /// series.scrape(300_000, prom.samples());
    ///
    /// let v = PrometheusVersion::V2_42;
    /// let p90 = Recipe::find("xfer-time-p90").unwrap().evaluate(&series, 300_000, v)[0].1;
    /// assert_eq!(format!("{:.3}", p90 * 1e3), "4.500"); // not 2.601: all four are in (0, 5 ms]
    /// let avg = Recipe::find("xfer-time-avg").unwrap().evaluate(&series, 300_000, v)[0].1;
    /// assert_eq!(format!("{:.3}", avg * 1e3), "1.381"); // the mean survives the buckets
    /// let mib_s = Recipe::find("throughput-log-equivalent").unwrap().evaluate(&series, 300_000, v)[0].1
    ///     / f64::from(1 << 20);
    /// assert_eq!(format!("{mib_s:.3}"), "1629.549");
    /// # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
    /// ```
    pub fn evaluate(&self, series: &SeriesSet, eval_ms: i64, version: PrometheusVersion) -> Vector {
        self.expr.evaluate(series, eval_ms, version)
    }

    /// The first family whose metrics the recipe can be computed from.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Recipe;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Recipe::find("kv-expired-reqs-per-second").unwrap().first_family(), Family::F4);
    /// ```
    pub fn first_family(&self) -> Family {
        self.expr
            .metrics()
            .into_iter()
            .filter_map(Metric::first_family)
            .max()
            .expect("catalog recipes read registered metrics")
    }
}

const XFER_SUM: Expr = Expr::SumRate(XFER_TIME, "_sum");
const XFER_COUNT: Expr = Expr::SumRate(XFER_TIME, "_count");
const POST_SUM: Expr = Expr::SumRate(POST_TIME, "_sum");
const POST_COUNT: Expr = Expr::SumRate(POST_TIME, "_count");
const BYTES_SUM: Expr = Expr::SumRate(BYTES_TRANSFERRED, "_sum");
const BYTES_COUNT: Expr = Expr::SumRate(BYTES_TRANSFERRED, "_count");
const DESCRIPTORS_SUM: Expr = Expr::SumRate(NUM_DESCRIPTORS, "_sum");
const DESCRIPTORS_COUNT: Expr = Expr::SumRate(NUM_DESCRIPTORS, "_count");
const FAILED: Expr = Expr::SumRate(FAILED_TRANSFERS, "_total");

/// Every recipe, in dashboard order.
pub const CATALOG: &[Recipe] = &[
    Recipe {
        id: "xfer-time-avg",
        title: "Average transfer time",
        unit: Unit::Seconds,
        expr: Expr::Ratio(&XFER_SUM, &XFER_COUNT),
        answers: "The mean duration of the NIXL transfers that completed in the last 5 minutes, \
                  every engine, rank and instance of the model pooled: the log's \"Avg xfer time \
                  (ms)\", in seconds, over a sliding 5-minute window instead of one logging \
                  interval.",
        does_not_answer: "How long a request waited for its KV: a request read at TP=N is N \
                          transfers running in parallel, and queueing before the transfer is \
                          not in it. Transfers that failed are not in it.",
    },
    Recipe {
        id: "xfer-time-p90",
        title: "P90 transfer time (bucket estimate)",
        unit: Unit::Seconds,
        expr: Expr::Quantile(0.9, XFER_TIME),
        answers: "An estimate of the 90th percentile of transfer duration over the last 5 \
                  minutes, all engines pooled, interpolated linearly inside the histogram's \
                  buckets (0-5 ms, 5-10 ms, 10-25 ms, ...).",
        does_not_answer: "The log's \"P90 xfer time\", which is exact over one interval's raw \
                          samples: with every transfer under 5 ms the estimate is 4.5 ms \
                          whatever the durations (the log of vLLM #41230 said 2.601 ms). Only \
                          shifts between buckets move it.",
    },
    Recipe {
        id: "post-time-avg",
        title: "Average post time",
        unit: Unit::Seconds,
        expr: Expr::Ratio(&POST_SUM, &POST_COUNT),
        answers: "The mean time NIXL took to post a transfer (from the request to the \
                  hand-off to the backend), the log's \"Avg post time (ms)\" in seconds, over \
                  5 minutes, all engines pooled.",
        does_not_answer: "Transfer time: post time is part of the request's setup, not the \
                          data movement.",
    },
    Recipe {
        id: "post-time-p90",
        title: "P90 post time (bucket estimate)",
        unit: Unit::Seconds,
        expr: Expr::Quantile(0.9, POST_TIME),
        answers: "An estimate of the 90th percentile of post time over 5 minutes, interpolated \
                  inside the post-time buckets (0-1 ms, 1-5 ms, ...).",
        does_not_answer: "The log's exact \"P90 post time\": typical post times all sit in the \
                          first bucket, where the estimate is 0.9 ms whatever they are.",
    },
    Recipe {
        id: "transfers-per-second",
        title: "Successful transfers per second",
        unit: Unit::PerSecond,
        expr: XFER_COUNT,
        answers: "How many NIXL transfers completed per second over the last 5 minutes, all \
                  engines pooled. Times the window, it is the log's \"Num successful \
                  transfers\" summed over the window's intervals.",
        does_not_answer: "Requests per second: one request counts once per decode rank (and \
                          more when prefill TP is larger than decode TP).",
    },
    Recipe {
        id: "bytes-per-transfer-avg",
        title: "Average bytes per transfer",
        unit: Unit::Bytes,
        expr: Expr::Ratio(&BYTES_SUM, &BYTES_COUNT),
        answers: "The mean size of a completed transfer over 5 minutes: the log's \"Avg MB per \
                  transfer\" times 2^20 (the log's MB are MiB).",
        does_not_answer: "Bytes per request: a request's KV is split over its transfers (one \
                          per rank pair).",
    },
    Recipe {
        id: "throughput-log-equivalent",
        title: "Throughput per transfer time (the log's Throughput)",
        unit: Unit::BytesPerSecond,
        expr: Expr::Ratio(&BYTES_SUM, &XFER_SUM),
        answers: "Bytes moved per second of transfer time, over 5 minutes, all engines pooled: \
                  the log's \"Throughput (MB/s)\" times 2^20, the speed of a transfer while it \
                  runs.",
        does_not_answer: "How much the link carries: transfers overlap, so the wall-clock \
                          bandwidth (bytes-per-second) can be several times larger, and idle \
                          time makes it smaller.",
    },
    Recipe {
        id: "bytes-per-second",
        title: "KV bytes per second (wall clock)",
        unit: Unit::BytesPerSecond,
        expr: BYTES_SUM,
        answers: "Bytes of KV cache read per second of wall-clock time over 5 minutes, all \
                  engines pooled: the load on the network.",
        does_not_answer: "The speed of a transfer (see the log's Throughput equivalent); it \
                          has no counterpart in the log line.",
    },
    Recipe {
        id: "xfer-time-per-second",
        title: "Transfer time per second (transfers in flight)",
        unit: Unit::Number,
        expr: XFER_SUM,
        answers: "Seconds of transfer per second of wall-clock time: the average number of \
                  NIXL transfers in flight over 5 minutes, all engines pooled.",
        does_not_answer: "Whether transfers are slow or many: it grows with either.",
    },
    Recipe {
        id: "descriptors-per-transfer-avg",
        title: "Average descriptors per transfer",
        unit: Unit::Number,
        expr: Expr::Ratio(&DESCRIPTORS_SUM, &DESCRIPTORS_COUNT),
        answers: "The mean number of NIXL descriptors per transfer over 5 minutes: the log's \
                  \"Avg number of descriptors\".",
        does_not_answer: "Blocks per transfer: NIXL merges contiguous descriptors, so the count \
                          depends on the memory layout.",
    },
    Recipe {
        id: "failed-transfers-per-second",
        title: "Failed transfers per second",
        unit: Unit::PerSecond,
        expr: FAILED,
        answers: "Failures per second over 5 minutes. From vLLM 0.31 the counter also counts \
                  failed handshakes and failed notifications (the log's \"Num failed \
                  transfers\"); before, only failed transfers.",
        does_not_answer: "Which step failed, or whether requests were lost (vLLM may recompute \
                          the prefill). Up to 0.14, failures of a worker that completed no \
                          transfer in a step are only exported with its next success.",
    },
    Recipe {
        id: "failures-per-successful-transfer",
        title: "Failures per successful transfer",
        unit: Unit::Number,
        expr: Expr::Ratio(&FAILED, &XFER_COUNT),
        answers: "Failures per completed transfer over 5 minutes, all engines pooled: a \
                  failure ratio that does not need a count of attempts.",
        does_not_answer: "A fraction of attempts: from vLLM 0.31 handshake and notification \
                          failures are counted too, which are not transfers.",
    },
    Recipe {
        id: "failed-notifications-per-second",
        title: "Failed notifications per second",
        unit: Unit::PerSecond,
        expr: Expr::SumRate(FAILED_NOTIFICATIONS, "_total"),
        answers: "Failed completion notifications per second over 5 minutes (also inside \
                  failed-transfers-per-second from vLLM 0.31).",
        does_not_answer: "Failed transfers.",
    },
    Recipe {
        id: "kv-expired-reqs-per-second",
        title: "Expired KV requests per second",
        unit: Unit::PerSecond,
        expr: Expr::SumRate(KV_EXPIRED_REQS, "_total"),
        answers: "How often a request's KV lease ran out on the prefill instance before the \
                  decode side read it (vLLM 0.15 on), per second over 5 minutes.",
        does_not_answer: "Requests: each prefill worker records the expiry, so one request at \
                          prefill TP=4 counts 4. The series move on the prefill instance, not \
                          on the decode instance that moves the transfer series.",
    },
    Recipe {
        id: "notifications-after-expiry-per-second",
        title: "Notifications after expiry per second",
        unit: Unit::PerSecond,
        expr: Expr::SumRate(NOTIFICATIONS_AFTER_EXPIRY, "_total"),
        answers: "Completion notifications that arrived for requests no longer tracked, mostly \
                  after their lease expired (vLLM 0.32 on), per second over 5 minutes: KV \
                  blocks may have been reused while they were read.",
        does_not_answer: "Requests: it counts one notification per remote rank.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_metrics_exist() {
        for (i, recipe) in CATALOG.iter().enumerate() {
            assert!(
                CATALOG[..i].iter().all(|r| r.id != recipe.id),
                "{}",
                recipe.id
            );
            for metric in recipe.expr.metrics() {
                assert!(Metric::first_family(metric).is_some(), "{metric}");
            }
        }
    }

    #[test]
    fn nested_ratios_are_parenthesised() {
        const A: Expr = Expr::SumRate("a", "_total");
        let nested = Expr::Ratio(&A, &Expr::Ratio(&A, &A));
        assert_eq!(
            nested.to_string(),
            "sum by (model_name) (rate(a_total[5m])) / (sum by (model_name) (rate(a_total[5m])) \
             / sum by (model_name) (rate(a_total[5m])))"
        );
    }
}
