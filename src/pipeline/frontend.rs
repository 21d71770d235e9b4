//! The frontend's stat loggers: which exist, and what each interval prints
//! at which level.

use std::fmt;

use super::logger::KvConnectorLogging;
use super::record::{EngineLine, EnginePrefix, LogRecord, Message};
use crate::logs::Level;
use crate::prometheus::{MetricsError, NixlPromMetrics};
use crate::release::{Family, Release, ReleaseError};
use crate::stats::NixlKvConnectorStats;

/// How an API server's stats logging is set up.
///
/// ```
/// use nixl_kv_metrics::logs::Level;
/// use nixl_kv_metrics::pipeline::FrontendConfig;
/// let config = FrontendConfig::new([0, 1], "llama");
/// assert_eq!((config.client_count, config.log_level), (1, Level::Info));
/// assert!(!config.aggregate_engine_logging);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontendConfig {
    /// The engines (data-parallel ranks) the API server serves, in order.
    pub engines: Vec<usize>,
    /// `--aggregate-engine-logging` (0.11.1 on): one pooled line for all
    /// engines instead of one per engine.
    pub aggregate_engine_logging: bool,
    /// The number of API servers (`--api-server-count`), which vLLM passes
    /// as `client_count`. From 0.15.0 `vllm serve --data-parallel-size N`
    /// with internal load balancing defaults it to `N`.
    pub client_count: u32,
    /// The effective level of vLLM's logger (`VLLM_LOGGING_LEVEL`, INFO by
    /// default).
    pub log_level: Level,
    /// The served model name (the `model_name` label).
    pub model_name: String,
}

impl FrontendConfig {
    /// One API server serving `engines` with vLLM's defaults: per-engine
    /// logging at INFO.
    pub fn new(engines: impl IntoIterator<Item = usize>, model_name: &str) -> FrontendConfig {
        FrontendConfig {
            engines: engines.into_iter().collect(),
            aggregate_engine_logging: false,
            client_count: 1,
            log_level: Level::Info,
            model_name: model_name.to_string(),
        }
    }
}

/// What one engine step hands the frontend (`SchedulerStats` and
/// `IterationStats`, as far as the loggers modelled here read them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineStep {
    /// The step's pooled KV-connector stats, if any worker shipped some.
    pub kv_connector_stats: Option<NixlKvConnectorStats>,
    /// Prompt tokens the step processed.
    pub num_prompt_tokens: u64,
    /// Tokens the step generated.
    pub num_generation_tokens: u64,
}

/// A stat logger the manager holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StatLogger {
    /// One logging stat logger per engine (`PerEngineStatLoggerAdapter`).
    PerEngine(Vec<usize>),
    /// One logging stat logger pooling the engines
    /// (`AggregatedLoggingStatLogger`).
    Aggregated(Vec<usize>),
    /// The Prometheus logger, created in every setup.
    Prometheus,
}

/// vLLM's `StatLoggerManager` for one API server: its logging stat loggers
/// (which print the engine stats line and the KV line each interval) and
/// its Prometheus logger (the `vllm:nixl_*` series).
///
/// Which logging loggers exist is decided once, at setup (every release
/// 0.11.0 – 0.34.0): none unless vLLM's logger is enabled at INFO, and none
/// (with one warning) when the server is one of several (`client_count` >
/// 1); otherwise one per engine, or one pooled logger with
/// `aggregate_engine_logging`. The Prometheus logger always exists.
///
/// Each interval, every logging logger prints its stats line and, if its
/// KV stats are not empty, its KV line, both at INFO, or at DEBUG when its
/// engine was idle (no prompt and no generated tokens in this interval and
/// the one before). A record below the configured level is not printed,
/// but the KV stats are reset all the same. Measured on vLLM 0.15.1, 0.31.0,
/// 0.33.0 and 0.34.0 (tests/golden/realstack, `frontend.jsonl`).
///
/// ```
/// use nixl_kv_metrics::logs::Level;
/// use nixl_kv_metrics::pipeline::{EngineStep, FrontendConfig, Message, StatLoggerManager};
/// use nixl_kv_metrics::release::Family;
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
///
/// let release = "0.34.0".parse()?;
/// let mut manager = StatLoggerManager::new(release, &FrontendConfig::new([0], "m"), 0.0)?;
/// let stats = NixlKvConnectorStats::from_transfers(
///     Family::F6, vec![0.002], vec![0.0005], vec![1 << 20], vec![4]);
/// let step = |tokens, kv| EngineStep { kv_connector_stats: kv, num_generation_tokens: tokens, ..EngineStep::default() };
/// manager.record(0, step(500, Some(stats.clone())))?;
/// let records = manager.log(10.0);
/// assert_eq!(records.len(), 2);
/// assert!(records[0].message.to_string().starts_with("Engine 000: Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 50.0"));
/// assert!(matches!(records[1].message, Message::KvTransfer(_)));
///
/// // Two idle intervals: the KV line of the second is logged at DEBUG, not printed at INFO.
/// manager.record(0, step(0, Some(stats.clone())))?;
/// assert_eq!(manager.log(20.0).len(), 2);
/// manager.record(0, step(0, Some(stats)))?;
/// assert!(manager.log(30.0).is_empty());
///
/// // Several API servers: nothing is logged, Prometheus still counts.
/// let config = FrontendConfig { client_count: 2, ..FrontendConfig::new([0], "m") };
/// let quiet = StatLoggerManager::new(release, &config, 0.0)?;
/// assert_eq!(quiet.setup_records()[0].level, Level::Warning);
/// assert!(quiet.prometheus().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StatLoggerManager {
    log_level: Level,
    engines: Vec<usize>,
    aggregated: bool,
    setup: Vec<LogRecord>,
    logging: Vec<LoggingStatLogger>,
    prometheus: Option<NixlPromMetrics>,
}

impl StatLoggerManager {
    /// The manager of `release`'s frontend set up as `config`, its clock
    /// starting at `start_s` seconds.
    ///
    /// ```
    /// use nixl_kv_metrics::pipeline::{FrontendConfig, FrontendError, StatLoggerManager};
    /// use nixl_kv_metrics::release::Release;
    ///
    /// let pooled = FrontendConfig { aggregate_engine_logging: true, ..FrontendConfig::new([0, 1], "m") };
    /// let old = Release::new(0, 11, 0);
    /// assert_eq!(StatLoggerManager::new(old, &pooled, 0.0), Err(FrontendError::NoAggregateLogging(old)));
    /// ```
    pub fn new(
        release: Release,
        config: &FrontendConfig,
        start_s: f64,
    ) -> Result<StatLoggerManager, FrontendError> {
        let family = release.family().map_err(FrontendError::Release)?;
        if config.engines.is_empty() {
            return Err(FrontendError::NoEngines);
        }
        if config.aggregate_engine_logging && release < AGGREGATE_ENGINE_LOGGING {
            return Err(FrontendError::NoAggregateLogging(release));
        }
        let prometheus = match NixlPromMetrics::new(
            family,
            config.model_name.clone(),
            config.engines.iter().copied(),
        ) {
            Ok(metrics) => Some(metrics),
            Err(MetricsError::NoMetrics(_)) => None,
            Err(other) => return Err(FrontendError::Metrics(other)),
        };
        let mut setup = Vec::new();
        let mut logging = Vec::new();
        if config.log_level <= Level::Info {
            if config.client_count > 1 {
                setup.push(LogRecord {
                    level: Level::Warning,
                    message: Message::StatsLoggingDisabled {
                        client_count: config.client_count,
                    },
                });
            } else if config.aggregate_engine_logging {
                logging.push(LoggingStatLogger::new(
                    family,
                    EnginePrefix::Aggregated(config.engines.len()),
                    config.engines.clone(),
                    start_s,
                ));
            } else {
                logging.extend(config.engines.iter().map(|&engine| {
                    LoggingStatLogger::new(
                        family,
                        EnginePrefix::Engine(engine),
                        vec![engine],
                        start_s,
                    )
                }));
            }
        }
        Ok(StatLoggerManager {
            log_level: config.log_level,
            engines: config.engines.clone(),
            aggregated: config.aggregate_engine_logging,
            setup,
            logging,
            prometheus,
        })
    }

    /// The records emitted while the manager was set up (and printed at its
    /// level).
    pub fn setup_records(&self) -> &[LogRecord] {
        &self.setup
    }

    /// The stat loggers the manager holds, logging ones first.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Level;
    /// use nixl_kv_metrics::pipeline::{FrontendConfig, StatLogger, StatLoggerManager};
    ///
    /// let release = "0.33.0".parse()?;
    /// let both = StatLoggerManager::new(release, &FrontendConfig::new([0, 1], "m"), 0.0)?;
    /// assert_eq!(both.loggers(), [StatLogger::PerEngine(vec![0, 1]), StatLogger::Prometheus]);
    /// let warning = FrontendConfig { log_level: Level::Warning, ..FrontendConfig::new([0], "m") };
    /// let quiet = StatLoggerManager::new(release, &warning, 0.0)?;
    /// assert_eq!(quiet.loggers(), [StatLogger::Prometheus]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn loggers(&self) -> Vec<StatLogger> {
        let logging = (!self.logging.is_empty()).then(|| {
            if self.aggregated {
                StatLogger::Aggregated(self.engines.clone())
            } else {
                StatLogger::PerEngine(self.engines.clone())
            }
        });
        logging
            .into_iter()
            .chain([StatLogger::Prometheus])
            .collect()
    }

    /// Takes one step of engine `engine` (`record`): its tokens and KV stats
    /// go to the engine's logging logger, its KV stats to Prometheus.
    pub fn record(&mut self, engine: usize, step: EngineStep) -> Result<(), FrontendError> {
        if !self.engines.contains(&engine) {
            return Err(FrontendError::UnknownEngine(engine));
        }
        if let (Some(prometheus), Some(stats)) = (&mut self.prometheus, &step.kv_connector_stats) {
            prometheus
                .observe(engine, stats)
                .map_err(FrontendError::Metrics)?;
        }
        if let Some(logger) = self
            .logging
            .iter_mut()
            .find(|logger| logger.engines.contains(&engine))
        {
            logger.record(step);
        }
        Ok(())
    }

    /// The interval's end at `now_s` seconds (`log`): every logging
    /// logger's records, in engine order, those below the configured level
    /// left out.
    pub fn log(&mut self, now_s: f64) -> Vec<LogRecord> {
        let level = self.log_level;
        self.logging
            .iter_mut()
            .flat_map(|logger| logger.log(now_s))
            .filter(|record| record.level >= level)
            .collect()
    }

    /// The `vllm:nixl_*` series (0.11.1 on; `None` for 0.11.0, which has
    /// none).
    pub fn prometheus(&self) -> Option<&NixlPromMetrics> {
        self.prometheus.as_ref()
    }
}

/// The first release with `--aggregate-engine-logging`.
const AGGREGATE_ENGINE_LOGGING: Release = Release::new(0, 11, 1);

/// vLLM's `LoggingStatLogger` (or its aggregated form): counts tokens and
/// pools KV stats between two lines.
#[derive(Clone, Debug, PartialEq)]
struct LoggingStatLogger {
    prefix: EnginePrefix,
    engines: Vec<usize>,
    kv: KvConnectorLogging,
    prompt_tokens: u64,
    generation_tokens: u64,
    /// The previous interval's prompt and generation throughput.
    last_throughput: (f64, f64),
    last_log_s: f64,
}

impl LoggingStatLogger {
    fn new(
        family: Family,
        prefix: EnginePrefix,
        engines: Vec<usize>,
        start_s: f64,
    ) -> LoggingStatLogger {
        LoggingStatLogger {
            prefix,
            engines,
            kv: KvConnectorLogging::new(family),
            prompt_tokens: 0,
            generation_tokens: 0,
            last_throughput: (0.0, 0.0),
            last_log_s: start_s,
        }
    }

    fn record(&mut self, step: EngineStep) {
        self.prompt_tokens += step.num_prompt_tokens;
        self.generation_tokens += step.num_generation_tokens;
        if let Some(stats) = step.kv_connector_stats {
            self.kv.observe(stats);
        }
    }

    fn log(&mut self, now_s: f64) -> Vec<LogRecord> {
        let elapsed = now_s - self.last_log_s;
        let line = EngineLine {
            prefix: self.prefix,
            prompt_throughput: self.prompt_tokens as f64 / elapsed,
            generation_throughput: self.generation_tokens as f64 / elapsed,
        };
        (self.prompt_tokens, self.generation_tokens, self.last_log_s) = (0, 0, now_s);
        let (last_prompt, last_generation) = self.last_throughput;
        let idle = [
            line.prompt_throughput,
            line.generation_throughput,
            last_prompt,
            last_generation,
        ]
        .iter()
        .all(|&throughput| throughput == 0.0);
        self.last_throughput = (line.prompt_throughput, line.generation_throughput);
        let level = if idle { Level::Debug } else { Level::Info };
        let record = |message| LogRecord { level, message };
        std::iter::once(record(Message::EngineStats(line)))
            .chain(
                self.kv
                    .log()
                    .map(|summary| record(Message::KvTransfer(summary))),
            )
            .collect()
    }
}

/// Why a frontend cannot be set up or fed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrontendError {
    /// The release has no NIXL stats.
    Release(ReleaseError),
    /// `--aggregate-engine-logging` is not in the release (before 0.11.1).
    NoAggregateLogging(Release),
    /// No engine to serve.
    NoEngines,
    /// A step from an engine the server does not serve.
    UnknownEngine(usize),
    /// The Prometheus logger refused the stats.
    Metrics(MetricsError),
}

impl fmt::Display for FrontendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrontendError::Release(error) => error.fmt(f),
            FrontendError::NoAggregateLogging(release) => write!(
                f,
                "vLLM {release} has no --aggregate-engine-logging: it appeared in \
                 {AGGREGATE_ENGINE_LOGGING}"
            ),
            FrontendError::NoEngines => f.write_str("an API server serves at least one engine"),
            FrontendError::UnknownEngine(engine) => {
                write!(f, "engine {engine} is not served by this API server")
            }
            FrontendError::Metrics(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for FrontendError {}
