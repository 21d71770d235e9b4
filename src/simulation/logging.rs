//! From simulated telemetry to the log lines of each interval.

use std::collections::BTreeMap;

use super::{SimError, Simulation};
use crate::pipeline::{KvOutputAggregator, StatLoggers, Worker};
use crate::reduce::Summary;
use crate::release::{Event, Family};
use crate::telemetry::XferTelemetry;
use crate::topology::Instance;

/// How the frontend logs.
///
/// ```
/// use nixl_kv_metrics::simulation::LoggingConfig;
/// let logging = LoggingConfig::default();
/// assert_eq!(logging.interval_us, 10_000_000);
/// assert!(!logging.aggregate_engine_logging);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LoggingConfig {
    /// `VLLM_LOG_STATS_INTERVAL`, in microseconds (default 10 s).
    pub interval_us: u64,
    /// `--aggregate-engine-logging`: one line for all data-parallel engines
    /// of an instance instead of one per engine.
    pub aggregate_engine_logging: bool,
}

impl Default for LoggingConfig {
    fn default() -> LoggingConfig {
        LoggingConfig {
            interval_us: 10_000_000,
            aggregate_engine_logging: false,
        }
    }
}

/// The lines of one logging interval, `[start_us, end_us)`, per instance:
/// one entry per data-parallel engine (or a single pooled one), `None`
/// where that logger printed nothing.
///
/// ```
/// use nixl_kv_metrics::release::Family;
/// use nixl_kv_metrics::simulation::{LoggingConfig, SimConfig, Simulation};
/// use nixl_kv_metrics::topology::*;
///
/// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
///     Parallelism::new(1, 1, 2), Mode::Pull, BlockLayout::Contiguous)?;
/// let config = SimConfig { duration_us: 10_000_000, ..SimConfig::new(deployment) };
/// let intervals = Simulation::run(&config)?.log_lines(Family::F6, LoggingConfig::default())?;
/// let first = &intervals[0];
/// assert_eq!((first.start_us, first.end_us), (0, 10_000_000));
/// assert_eq!(first.instance(Instance::Decode).len(), 2); // one line per decode engine
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalLines {
    /// Start of the interval, in microseconds.
    pub start_us: u64,
    /// End of the interval, when the lines are printed.
    pub end_us: u64,
    /// The prefill instance's lines.
    pub prefill: Vec<Option<Summary>>,
    /// The decode instance's lines.
    pub decode: Vec<Option<Summary>>,
}

impl IntervalLines {
    /// The lines of `instance`.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::IntervalLines;
    /// use nixl_kv_metrics::topology::Instance;
    /// let idle = IntervalLines { start_us: 0, end_us: 10, prefill: vec![None], decode: vec![None, None] };
    /// assert_eq!(idle.instance(Instance::Decode).len(), 2);
    /// ```
    pub fn instance(&self, instance: Instance) -> &[Option<Summary>] {
        match instance {
            Instance::Prefill => &self.prefill,
            Instance::Decode => &self.decode,
        }
    }
}

/// One thing a worker records during a step.
enum Record {
    Transfer(XferTelemetry),
    Event(Event),
}

impl Simulation {
    /// The log lines `family`'s releases would print for this simulation,
    /// interval by interval, from the first interval to the last one in
    /// which anything was recorded.
    ///
    /// Each instance runs one [`Worker`] per rank and stage of each engine.
    /// At every engine step in which something was recorded, the workers
    /// record (transfers in recording order, then events), every worker of
    /// the engine hands over `get_kv_connector_stats()` in worker order,
    /// [`KvOutputAggregator`] pools them, and the instance's
    /// [`StatLoggers`] observe the result. A step at time `t` belongs to
    /// the interval `[k·I, (k+1)·I)` holding `t`; each interval ends with
    /// `log()`. Steps where nothing was recorded hand over nothing, so they
    /// are skipped. Events the release has no list for (say expiries before
    /// 0.15) are not recorded, as that release would not.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::simulation::{LoggingConfig, SimConfig, Simulation};
    /// use nixl_kv_metrics::topology::*;
    ///
    /// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let sim = Simulation::run(&SimConfig { duration_us: 30_000_000, ..SimConfig::new(deployment) })?;
    /// let lines = sim.log_lines(Family::F6, LoggingConfig::default())?;
    /// let logged: u64 = lines.iter().flat_map(|i| &i.decode).flatten()
    ///     .map(|s| s.float(nixl_kv_metrics::field::Field::NumSuccessfulTransfers).unwrap() as u64)
    ///     .sum();
    /// assert_eq!(logged, sim.transfers.len() as u64); // every transfer logged once
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_lines(
        &self,
        family: Family,
        logging: LoggingConfig,
    ) -> Result<Vec<IntervalLines>, SimError> {
        if logging.interval_us == 0 {
            return Err(SimError::Invalid {
                parameter: "interval_us",
                expected: "an interval of at least 1 µs",
            });
        }
        let last_us = self
            .transfers
            .iter()
            .map(|t| t.telemetry.end_time_us())
            .chain(self.events.iter().map(|e| e.time_us))
            .max();
        let intervals = last_us.map_or(0, |t| t / logging.interval_us + 1);
        let mut prefill = self.instance_lines(Instance::Prefill, family, logging, intervals);
        let mut decode = self.instance_lines(Instance::Decode, family, logging, intervals);
        Ok((0..intervals)
            .map(|k| IntervalLines {
                start_us: k * logging.interval_us,
                end_us: (k + 1) * logging.interval_us,
                prefill: std::mem::take(&mut prefill[k as usize]),
                decode: std::mem::take(&mut decode[k as usize]),
            })
            .collect())
    }

    /// One instance's lines for each of `intervals` intervals.
    fn instance_lines(
        &self,
        instance: Instance,
        family: Family,
        logging: LoggingConfig,
        intervals: u64,
    ) -> Vec<Vec<Option<Summary>>> {
        let layout = self.deployment.parallelism(instance);
        let per_engine = layout.workers_per_engine() as usize;
        let mut workers = vec![vec![Worker::new(family); per_engine]; layout.dp as usize];
        let mut loggers =
            StatLoggers::new(family, layout.dp as usize, logging.aggregate_engine_logging);
        let worker_index = |stage: u32, rank: u32| {
            (u64::from(stage) * u64::from(layout.tp) + u64::from(rank)) as usize
        };
        // Per step (time, engine): what each worker records, in order.
        let mut steps: BTreeMap<(u64, u32), Vec<(usize, Record)>> = BTreeMap::new();
        for t in self
            .transfers
            .iter()
            .filter(|t| t.tag.worker.instance == instance)
        {
            let w = t.tag.worker;
            steps
                .entry((t.telemetry.end_time_us(), w.engine))
                .or_default()
                .push((worker_index(w.stage, w.rank), Record::Transfer(t.telemetry)));
        }
        for e in self.events.iter().filter(|e| e.worker.instance == instance) {
            let w = e.worker;
            steps
                .entry((e.time_us, w.engine))
                .or_default()
                .push((worker_index(w.stage, w.rank), Record::Event(e.event)));
        }
        let mut lines = Vec::with_capacity(intervals as usize);
        for ((time_us, engine), records) in steps {
            while (lines.len() as u64) < time_us / logging.interval_us {
                lines.push(loggers.log());
            }
            let engine_workers = &mut workers[engine as usize];
            for (index, record) in records {
                let stats = engine_workers[index].stats_mut();
                match record {
                    Record::Transfer(telemetry) => stats.record_transfer(&telemetry),
                    Record::Event(event) => {
                        // A release without the event's list does not record it.
                        stats.record(event).ok();
                    }
                }
            }
            let shipped = engine_workers
                .iter_mut()
                .map(Worker::get_kv_connector_stats);
            if let Some(stats) = KvOutputAggregator::aggregate(shipped) {
                loggers.observe(engine as usize, stats);
            }
        }
        while (lines.len() as u64) < intervals {
            lines.push(loggers.log());
        }
        lines
    }
}
