//! vLLM's NIXL Prometheus metrics, exactly as vLLM serves them, and how to
//! query them.
//!
//! Besides the log line, vLLM (0.11.1 on) exports every NIXL transfer to
//! Prometheus: four histograms (transfer time, post time, bytes,
//! descriptors) and failure and expiry counters, one series per engine,
//! labelled `model_name` and `engine`. Where the log reduces one interval's
//! raw samples, Prometheus keeps running totals in fixed buckets, so the two
//! answer different questions:
//!
//! * [`Metric`]: what each release family registers ([`Metric::of`]):
//!   names ([`XFER_TIME`], …), types, HELP texts, bucket bounds, which stats
//!   list feeds which counter;
//! * [`NixlPromMetrics`]: the per-engine series, fed every engine step's
//!   pooled stats as vLLM feeds them, and their `/metrics` text as
//!   prometheus_client writes it (including what to do with `_created`);
//! * [`histogram_quantile`], [`rate()`] and [`increase`], [`sum_by`] over a
//!   [`SeriesSet`]: PromQL's functions as Prometheus computes them, release
//!   by release ([`PrometheusVersion`]);
//! * [`CATALOG`]: a [`Recipe`] in PromQL for each of the log's questions,
//!   with what it answers and what it does not; [`grafana_dashboard`]: a
//!   Grafana dashboard of them and of the alerts;
//! * [`ALERTS`]: the [`Alert`]s an operator should get, each linked to its
//!   troubleshooting entry, and [`alert_rules`]: them as a Prometheus rules
//!   file.
//!
//! ```
//! use nixl_kv_metrics::prometheus::NixlPromMetrics;
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::stats::NixlKvConnectorStats;
//!
//! let mut prom = NixlPromMetrics::new(Family::F6, "llama", [0])?;
//! let step = NixlKvConnectorStats::from_transfers(
//!     Family::F6, vec![0.0014], vec![0.0007], vec![2_359_296], vec![72]);
//! prom.observe(0, &step)?;
//! let text = prom.exposition(None);
//! assert!(text.contains(r#"vllm:nixl_xfer_time_seconds_bucket{engine="0",le="0.005",model_name="llama"} 1.0"#));
//! assert!(text.contains(r#"vllm:nixl_bytes_transferred_sum{engine="0",model_name="llama"} 2.359296e+06"#));
//! # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
//! ```

mod alerts;
mod dashboard;
mod exposition;
mod metrics;
mod quantile;
mod rate;
mod recipes;
mod registry;
mod series;
mod version;

pub use alerts::{
    ALERT_GROUP, ALERT_RULES_PATH, ALERTS, Alert, BOOK_URL, Panel, PanelQuery, Severity,
    TROUBLESHOOTING_PAGE, alert_rules,
};
pub use dashboard::{DASHBOARD_PATH, DASHBOARD_UID, grafana_dashboard};
pub use exposition::{GoFloat, Sample, escape_help, escape_label_value};
pub use metrics::{
    BYTES_BOUNDS, BYTES_TRANSFERRED, DESCRIPTOR_BOUNDS, FAILED_NOTIFICATIONS, FAILED_TRANSFERS,
    FIRST_RELEASE, KV_EXPIRED_REQS, LABEL_NAMES, Metric, MetricType, NOTIFICATIONS_AFTER_EXPIRY,
    NUM_DESCRIPTORS, Observation, POST_TIME, POST_TIME_BOUNDS, XFER_TIME, XFER_TIME_BOUNDS,
    recorded_on,
};
pub use quantile::{Bucket, histogram_quantile, histogram_quantile_as};
pub use rate::{Point, extrapolated_rate, increase, rate, samples_in_range};
pub use recipes::{CATALOG, Expr, Recipe, Unit};
pub use registry::{HistogramValue, MetricsError, NixlPromMetrics};
pub use series::{Labels, SeriesSet, Vector, divide, sum_by};
pub use version::{PrometheusVersion, VersionError};

/// Asserts that the file committed at `path` (relative to the repository
/// root) is `generated`; with `NIXL_UPDATE_DASHBOARD` set, writes it first.
/// For the generated files under `dashboards/`: refresh them all with
/// `NIXL_UPDATE_DASHBOARD=1 cargo test --lib committed`.
#[cfg(test)]
fn assert_committed(path: &str, generated: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let how = "regenerate it with NIXL_UPDATE_DASHBOARD=1 cargo test --lib committed";
    if std::env::var_os("NIXL_UPDATE_DASHBOARD").is_some() {
        std::fs::write(&path, generated).expect("write the generated file");
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} ({how})", path.display()));
    assert!(
        committed == generated,
        "{} is not the generated text: {how}",
        path.display()
    );
}
