//! What the frontend's loggers emit, as data: a level and a message.

use std::fmt;

use crate::logs::Level;
use crate::reduce::Summary;

/// One record a frontend logger emitted, at `level` (Python's logging
/// levels, ordered: a logger set to a level prints the records at it and
/// above).
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// The record's level.
    pub level: Level,
    /// What it says.
    pub message: Message,
}

/// What a frontend log record says.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// An engine's (or the pooled engines') stats line of the interval. Only
    /// its start is modelled ([`EngineLine`]); the request counts and cache
    /// figures after it are not KV-transfer matters.
    EngineStats(EngineLine),
    /// The `KV Transfer metrics: …` line, logged right after its engine's
    /// stats line, at the same level.
    KvTransfer(Summary),
    /// Logged once at setup, at WARNING, when the API server is one of
    /// several (`client_count` > 1): it creates no logging stat logger, so
    /// neither stats lines nor KV lines are printed; Prometheus still gets
    /// every series.
    StatsLoggingDisabled {
        /// The number of API servers.
        client_count: u32,
    },
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::EngineStats(line) => line.fmt(f),
            Message::KvTransfer(summary) => summary.fmt(f),
            Message::StatsLoggingDisabled { client_count } => write!(
                f,
                "{client_count} API servers: no logging stat logger, so no stats or KV lines"
            ),
        }
    }
}

/// Whose stats an engine stats line shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnginePrefix {
    /// One engine, by its data-parallel index: `Engine 000: `.
    Engine(usize),
    /// `N` engines pooled by `--aggregate-engine-logging`: `N Engines Aggregated: `.
    Aggregated(usize),
}

impl fmt::Display for EnginePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnginePrefix::Engine(index) => write!(f, "Engine {index:03}: "),
            EnginePrefix::Aggregated(engines) => write!(f, "{engines} Engines Aggregated: "),
        }
    }
}

/// The start of an engine stats line: whose, and the interval's prompt and
/// generation throughput (tokens over the seconds since the last line).
///
/// ```
/// use nixl_kv_metrics::pipeline::{EngineLine, EnginePrefix};
/// let line = EngineLine {
///     prefix: EnginePrefix::Engine(1),
///     prompt_throughput: 0.0,
///     generation_throughput: 1500.0 / 10.0,
/// };
/// assert_eq!(line.to_string(),
///     "Engine 001: Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 150.0 tokens/s");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngineLine {
    /// Whose stats.
    pub prefix: EnginePrefix,
    /// Prompt tokens per second over the interval.
    pub prompt_throughput: f64,
    /// Generated tokens per second over the interval.
    pub generation_throughput: f64,
}

impl fmt::Display for EngineLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python's "%.1f", correctly rounded like Rust's.
        write!(
            f,
            "{}Avg prompt throughput: {:.1} tokens/s, Avg generation throughput: {:.1} tokens/s",
            self.prefix, self.prompt_throughput, self.generation_throughput
        )
    }
}
