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
//! * [`metrics`]: what each release family registers: names, types, HELP
//!   texts, bucket bounds, which stats list feeds which counter;
//! * [`NixlPromMetrics`] ([`registry`]): the per-engine series, fed every
//!   engine step's pooled stats as vLLM feeds them;
//! * [`exposition`]: the `/metrics` text, as prometheus_client writes it
//!   (including what to do with `_created`);
//! * [`quantile`], [`rate`], [`series`], [`version`]: PromQL's
//!   `histogram_quantile`, `rate`/`increase` and `sum`, as Prometheus
//!   computes them, release by release;
//! * [`recipes`]: PromQL for the log's questions, with what each answers and
//!   what it does not; [`dashboard`]: a Grafana dashboard of them.
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

pub mod dashboard;
pub mod exposition;
pub mod metrics;
pub mod quantile;
pub mod rate;
pub mod recipes;
pub mod registry;
pub mod series;
pub mod version;

pub use registry::{HistogramValue, MetricsError, NixlPromMetrics};
