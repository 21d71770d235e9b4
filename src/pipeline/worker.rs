//! One worker's recorder and its per-step hand-off.

use crate::release::Family;
use crate::stats::NixlKvConnectorStats;

/// One worker process (one TP rank of one PP stage) of an engine, as far as
/// KV-transfer stats go: the live stats object its NIXL connector records
/// into, and the hand-off that ships them once per engine step.
///
/// ```
/// use nixl_kv_metrics::pipeline::Worker;
/// use nixl_kv_metrics::release::{Event, Family};
///
/// // Up to 0.14.x a worker holding only failures ships nothing: its
/// // failures wait in the live object until a success comes.
/// let mut worker = Worker::new(Family::F3);
/// worker.stats_mut().record(Event::FailedTransfer)?;
/// assert!(worker.get_kv_connector_stats().is_none());
/// assert_eq!(worker.stats().event_count(Event::FailedTransfer), 1);
///
/// let mut newer = Worker::new(Family::F4);
/// newer.stats_mut().record(Event::FailedTransfer)?;
/// assert!(newer.get_kv_connector_stats().is_some());
/// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Worker {
    stats: NixlKvConnectorStats,
}

impl Worker {
    /// A worker with empty stats.
    pub fn new(family: Family) -> Worker {
        Worker {
            stats: NixlKvConnectorStats::new(family),
        }
    }

    /// The live stats, to record into (`xfer_stats` in vLLM's worker).
    pub fn stats_mut(&mut self) -> &mut NixlKvConnectorStats {
        &mut self.stats
    }

    /// The live stats, recorded since the last hand-off.
    pub fn stats(&self) -> &NixlKvConnectorStats {
        &self.stats
    }

    /// vLLM's `get_kv_connector_stats()`, run after every engine step: the
    /// stats recorded since the last call, or `None` if they are empty by the
    /// family's rule. Shipping resets the live stats.
    pub fn get_kv_connector_stats(&mut self) -> Option<NixlKvConnectorStats> {
        if self.stats.is_empty() {
            None
        } else {
            Some(self.stats.clone_and_reset())
        }
    }
}
