//! The path from a worker's recorders to the log line, stage by stage.
//!
//! ```text
//!  TP/PP worker ──get_kv_connector_stats()──▶ KVOutputAggregator ──▶ scheduler
//!  (one per rank)   stats if not empty,        first present stats      ships the
//!                   else None; then reset      absorbs the others       pooled dict
//!                                                                          │
//!   log line ◀── log() every VLLM_LOG_STATS_INTERVAL ◀── KVConnectorLogging.observe()
//!                (reduce, then reset)                     (per engine, or pooled)
//! ```
//!
//! Each stage is a type here, named after the vLLM piece it models:
//! [`Worker`], [`KvOutputAggregator`], [`KvConnectorLogging`], and
//! [`StatLoggers`] for data-parallel engines. [`StatLoggerManager`] is the
//! whole frontend of one API server: which loggers exist for its engines,
//! aggregation flag, API-server count and log level, and the records
//! ([`LogRecord`]: a [`Level`](crate::logs::Level) and a [`Message`])
//! each interval prints.
//!
//! ```
//! use nixl_kv_metrics::pipeline::{KvConnectorLogging, KvOutputAggregator, Worker};
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::telemetry::XferTelemetry;
//!
//! // One request read at TP=2: each decode rank completes one READ.
//! let mut ranks = [Worker::new(Family::F6), Worker::new(Family::F6)];
//! ranks[0].stats_mut().record_transfer(&XferTelemetry::new(1_000, 400, 1 << 20, 36));
//! ranks[1].stats_mut().record_transfer(&XferTelemetry::new(1_200, 400, 1 << 20, 36));
//!
//! let mut logging = KvConnectorLogging::new(Family::F6);
//! let shipped = ranks.iter_mut().map(Worker::get_kv_connector_stats);
//! logging.observe(KvOutputAggregator::aggregate(shipped).expect("both ranks shipped"));
//! let line = logging.log().expect("a non-empty interval logs").to_string();
//! assert!(line.starts_with("KV Transfer metrics: Num successful transfers=2,"));
//! assert_eq!(logging.log(), None); // reset after logging
//! ```

mod aggregator;
mod frontend;
mod logger;
mod record;
mod worker;

pub use aggregator::KvOutputAggregator;
pub use frontend::{EngineStep, FrontendConfig, FrontendError, StatLogger, StatLoggerManager};
pub use logger::{KvConnectorLogging, StatLoggers};
pub use record::{EngineLine, EnginePrefix, LogRecord, Message};
pub use worker::{AfterFailedReceive, Done, TelemetryUnhandled, Worker};
