//! One worker's recorder and its per-step hand-off.

use std::fmt;

use crate::release::{Event, Family, Release, Releases};
use crate::stats::NixlKvConnectorStats;
use crate::telemetry::XferTelemetry;

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

    /// What the worker does when NIXL reports one of its transfers done
    /// (`_pop_done_transfers`): it reads the transfer's telemetry and
    /// records it, or, when the telemetry cannot be read (`None`: NIXL
    /// without telemetry, as with `NIXL_TELEMETRY_ENABLE=n`), counts a
    /// failed transfer although the data arrived.
    ///
    /// By release: 0.11.0 reads no telemetry and counts a success; 0.11.1 –
    /// 0.11.2 let the exception escape the worker (nothing is recorded;
    /// they set `NIXL_TELEMETRY_ENABLE=1` themselves, so only a NIXL without
    /// telemetry support gets there);
    /// from 0.12.0 the failure path records one failed transfer, and the
    /// request's blocks are reported as load errors, so the engine recomputes
    /// them or fails the request (`kv_load_failure_policy`); 0.12.0 – 0.13.x
    /// then raise in the same step ([`AfterFailedReceive`]). Measured on
    /// vLLM 0.12.0 and 0.15.1 to 0.34.0 with `NIXL_TELEMETRY_ENABLE=n`
    /// (tests/golden/realstack, `kv-worker.jsonl`).
    ///
    /// ```
    /// use nixl_kv_metrics::pipeline::{Done, Worker};
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    ///
    /// let mut worker = Worker::new(Family::F6);
    /// assert_eq!(worker.transfer_done(Some(&XferTelemetry::new(900, 90, 65_536, 4))), Ok(Done::Recorded));
    /// assert_eq!(worker.transfer_done(None), Ok(Done::Failed));
    /// let shipped = worker.get_kv_connector_stats().unwrap();
    /// assert_eq!((shipped.num_successful_transfers(), shipped.event_count(Event::FailedTransfer)), (1, 1));
    /// assert!(Worker::new(Family::F2).transfer_done(None).is_err());
    /// ```
    pub fn transfer_done(
        &mut self,
        telemetry: Option<&XferTelemetry>,
    ) -> Result<Done, TelemetryUnhandled> {
        match (self.stats.family(), telemetry) {
            (Family::F1, _) => self.stats.record_transfer(&XferTelemetry::default()),
            (_, Some(telemetry)) => self.stats.record_transfer(telemetry),
            (Family::F2, None) => return Err(TelemetryUnhandled),
            (_, None) => {
                self.stats
                    .record(Event::FailedTransfer)
                    .expect("every family from 0.11.1 counts failed transfers");
                return Ok(Done::Failed);
            }
        }
        Ok(Done::Recorded)
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

/// What a worker made of a transfer NIXL reported done
/// ([`Worker::transfer_done`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Done {
    /// Recorded as a successful transfer.
    Recorded,
    /// Counted as a failed transfer; the request's blocks are reported as
    /// load errors.
    Failed,
}

/// The telemetry of a done transfer could not be read and the worker did
/// not handle it (vLLM 0.11.1 – 0.11.2): the exception leaves the worker's
/// step, and nothing is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TelemetryUnhandled;

impl fmt::Display for TelemetryUnhandled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the transfer's telemetry cannot be read and this release does not catch that")
    }
}

impl std::error::Error for TelemetryUnhandled {}

/// What a decode worker's step does after one of its receives failed: a
/// READ whose telemetry could not be read (or that NIXL ended in error), or
/// a handshake with the prefill instance that failed (such as a refused
/// pairing). In every release the worker first records the failure and
/// marks the request's blocks invalid; what follows in the same step, in
/// `get_finished`, changed.
///
/// 0.12.0 – 0.13.x raise there, so the step fails and a real engine stops
/// before it ships the stats or reports the blocks as load errors: after a
/// failed READ, `_handle_failed_transfer` has already removed the
/// request's metadata, which `get_finished` then asserts is present
/// (`AssertionError: <request> not found in recving_metadata list`); after
/// a failed handshake, `get_finished` looks up the prefill instance's block
/// size, which the handshake never stored because it failed first
/// (`KeyError`, in `block_size_ratio_from_engine_id`). Read in
/// `nixl_connector.py` at 0.12.0 and 0.13.0 and measured on 0.12.0
/// (tests/golden/realstack, `kv-worker.jsonl`: `pull-gqa-p2d1`,
/// `pull-gqa-p1d1-telemetry-off`). 0.14.0 looks the metadata up without
/// removing it, and from 0.14.0 the refused pairings fail the handshake
/// after the block size is stored (measured on 0.15.1): the step goes on
/// and reports the blocks.
///
/// ```
/// use nixl_kv_metrics::pipeline::AfterFailedReceive;
///
/// let at = |r: &str| AfterFailedReceive::of(r.parse().unwrap());
/// assert_eq!(at("0.12.0"), AfterFailedReceive::StepRaises);
/// assert_eq!(at("0.13.0"), AfterFailedReceive::StepRaises);
/// assert_eq!(at("0.14.0"), AfterFailedReceive::Reported);
/// assert_eq!(AfterFailedReceive::StepRaises.releases().to_string(), "0.12.0 – 0.13.x");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AfterFailedReceive {
    /// The step goes on: the stats ship by the family's rules and the
    /// request's blocks are reported as load errors.
    Reported,
    /// `get_finished` raises in the same step: nothing of it is shipped or
    /// reported (0.12.0 – 0.13.x).
    StepRaises,
}

/// The first release whose failure path raises in `get_finished`.
const RAISES_FROM: Release = Release::new(0, 12, 0);
/// The first release whose `get_finished` survives a failed receive.
const SURVIVES_FROM: Release = Release::new(0, 14, 0);

impl AfterFailedReceive {
    /// The behaviour of `release`. Releases before 0.12.0 are not modelled
    /// here (0.11.1 – 0.11.2 let an unreadable telemetry escape earlier,
    /// [`TelemetryUnhandled`]).
    pub fn of(release: Release) -> AfterFailedReceive {
        if (RAISES_FROM..SURVIVES_FROM).contains(&release) {
            AfterFailedReceive::StepRaises
        } else {
            AfterFailedReceive::Reported
        }
    }

    /// The releases of each behaviour ([`Reported`](AfterFailedReceive::Reported):
    /// from 0.14.0; [`of`](AfterFailedReceive::of) also answers it for the
    /// releases before 0.12.0, which it does not model).
    pub fn releases(self) -> Releases {
        match self {
            AfterFailedReceive::StepRaises => Releases::before(RAISES_FROM, Some(SURVIVES_FROM)),
            AfterFailedReceive::Reported => Releases::before(SURVIVES_FROM, None),
        }
    }
}
