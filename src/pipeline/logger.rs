//! The interval logger, and the loggers of data-parallel engines.

use crate::reduce::Summary;
use crate::release::Family;
use crate::stats::NixlKvConnectorStats;

/// vLLM's `KVConnectorLogging`: pools the stats of every engine step between
/// two log lines.
///
/// `observe` keeps the first stats it gets as the accumulator and
/// `aggregate`s later ones into it. `log`, run every
/// `VLLM_LOG_STATS_INTERVAL` seconds (10 by default), reduces and resets the
/// accumulator if it is not empty, and otherwise logs nothing and keeps it.
///
/// ```
/// use nixl_kv_metrics::pipeline::KvConnectorLogging;
/// use nixl_kv_metrics::release::Family;
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
///
/// let step = |ms: f64| NixlKvConnectorStats::from_transfers(
///     Family::F6, vec![ms / 1e3], vec![0.0005], vec![1 << 20], vec![72]);
/// let mut logging = KvConnectorLogging::new(Family::F6);
/// assert_eq!(logging.log(), None); // an idle interval prints nothing
/// logging.observe(step(1.0));
/// logging.observe(step(3.0));
/// let summary = logging.log().unwrap();
/// assert!(summary.to_string().contains("Num successful transfers=2, Avg xfer time (ms)=2.0,"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct KvConnectorLogging {
    family: Family,
    accumulator: Option<NixlKvConnectorStats>,
}

impl KvConnectorLogging {
    /// A logger with nothing observed.
    pub fn new(family: Family) -> KvConnectorLogging {
        KvConnectorLogging {
            family,
            accumulator: None,
        }
    }

    /// The family the logger's stats follow.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Takes one engine step's pooled stats (what the scheduler shipped).
    ///
    /// # Panics
    ///
    /// If `stats` follow another family than the logger.
    pub fn observe(&mut self, stats: NixlKvConnectorStats) {
        assert_eq!(
            stats.family(),
            self.family,
            "stats of another release family"
        );
        match &mut self.accumulator {
            None => self.accumulator = Some(stats),
            Some(accumulator) => {
                accumulator.aggregate(&stats);
            }
        }
    }

    /// What has been pooled since the last line, if anything was observed.
    pub fn pending(&self) -> Option<&NixlKvConnectorStats> {
        self.accumulator.as_ref()
    }

    /// The interval's line: the reduced accumulator, which is then reset; or
    /// `None`, and nothing reset, when nothing (or only empty stats) was
    /// observed.
    pub fn log(&mut self) -> Option<Summary> {
        let accumulator = self.accumulator.take_if(|stats| !stats.is_empty())?;
        Some(accumulator.reduce())
    }
}

/// The CLI loggers of a frontend serving several data-parallel engines.
///
/// By default each engine has its own [`KvConnectorLogging`] and its own line
/// per interval; with `--aggregate-engine-logging` one logger pools every
/// engine into a single line.
///
/// ```
/// use nixl_kv_metrics::pipeline::StatLoggers;
/// use nixl_kv_metrics::release::Family;
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
///
/// let step = || NixlKvConnectorStats::from_transfers(
///     Family::F6, vec![0.001], vec![0.0005], vec![1 << 20], vec![72]);
///
/// let mut per_engine = StatLoggers::new(Family::F6, 2, false);
/// per_engine.observe(0, step());
/// per_engine.observe(1, step());
/// assert_eq!(per_engine.log().iter().flatten().count(), 2); // one line each
///
/// let mut pooled = StatLoggers::new(Family::F6, 2, true);
/// pooled.observe(0, step());
/// pooled.observe(1, step());
/// let lines = pooled.log();
/// assert_eq!(lines.len(), 1);
/// assert!(lines[0].as_ref().unwrap().to_string().contains("Num successful transfers=2,"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StatLoggers {
    loggers: Vec<KvConnectorLogging>,
    aggregate_engine_logging: bool,
}

impl StatLoggers {
    /// Loggers for `engines` engines, per engine or pooled.
    pub fn new(family: Family, engines: usize, aggregate_engine_logging: bool) -> StatLoggers {
        let count = if aggregate_engine_logging { 1 } else { engines };
        StatLoggers {
            loggers: vec![KvConnectorLogging::new(family); count],
            aggregate_engine_logging,
        }
    }

    /// Takes a step's pooled stats from engine `engine`.
    ///
    /// # Panics
    ///
    /// If `engine` is not below the number of engines (per-engine logging).
    pub fn observe(&mut self, engine: usize, stats: NixlKvConnectorStats) {
        let index = if self.aggregate_engine_logging {
            0
        } else {
            engine
        };
        self.loggers[index].observe(stats);
    }

    /// One entry per logger (per engine, or the single pooled one), in
    /// engine order: its line, or `None` where it logs nothing.
    pub fn log(&mut self) -> Vec<Option<Summary>> {
        self.loggers
            .iter_mut()
            .map(KvConnectorLogging::log)
            .collect()
    }
}
