//! Wall-clock views of transfers that vLLM's stats cannot give.
//!
//! vLLM's `Throughput (MB/s)` divides the pooled MiB by the *sum* of the
//! transfer times. When transfers overlap (several requests in flight,
//! several ranks reading at once) that sum exceeds the time anything was
//! moving, and the figure is a per-transfer average rate rather than the
//! bandwidth the deployment achieved. With NIXL's start times (kept in
//! [`XferTelemetry::start_time_us`]) the wall-clock view is possible:
//!
//! * busy time: the length of the union of the transfer intervals
//!   `[start, start + xfer)`;
//! * wall-clock throughput: MiB over the busy time;
//! * average concurrency: summed transfer time over the busy time, so that
//!   pooled throughput × concurrency = wall-clock throughput.
//!
//! Telemetry tagged with the worker and request it belongs to
//! ([`TaggedTelemetry`], as the simulator produces it) gives the same
//! totals per worker ([`per_worker`]) and per request ([`per_request`]).
//!
//! ```
//! use nixl_kv_metrics::telemetry::XferTelemetry;
//! use nixl_kv_metrics::wallclock::WallClock;
//!
//! // Two 1 MiB transfers of 2 ms each, the second starting 1 ms later.
//! let transfers = [
//!     XferTelemetry::new(2_000, 100, 1 << 20, 2).starting_at(0),
//!     XferTelemetry::new(2_000, 100, 1 << 20, 2).starting_at(1_000),
//! ];
//! let wall = WallClock::of(&transfers);
//! assert_eq!(wall.busy_us, 3_000);
//! assert_eq!(wall.pooled_mib_per_s, 500.0); // vLLM's figure: 2 MiB / 4 ms
//! assert_eq!(wall.throughput_mib_per_s(), Some(2.0 / 0.003)); // 2 MiB / 3 ms
//! assert_eq!(wall.concurrency(), Some(4.0 / 3.0));
//! ```

use std::collections::BTreeMap;

use crate::numpy;
use crate::telemetry::{MIB, RequestId, Tag, TaggedTelemetry, XferTelemetry};
use crate::topology::WorkerId;

/// Totals and wall-clock figures over a set of transfers.
///
/// ```
/// use nixl_kv_metrics::telemetry::XferTelemetry;
/// use nixl_kv_metrics::wallclock::WallClock;
/// let empty = WallClock::of(&[]);
/// assert_eq!((empty.transfers, empty.busy_us), (0, 0));
/// assert_eq!(empty.throughput_mib_per_s(), None);
/// assert!(empty.pooled_mib_per_s.is_nan()); // 0 / 0, as numpy gives
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WallClock {
    /// Number of transfers.
    pub transfers: u64,
    /// Bytes over all transfers.
    pub bytes: u64,
    /// Summed transfer time, in microseconds.
    pub xfer_us: u64,
    /// Length of the union of the transfer intervals, in microseconds: the
    /// time at least one transfer was in flight.
    pub busy_us: u64,
    /// vLLM's `Throughput (MB/s)` over these transfers in this order,
    /// before rounding: MiB summed over summed seconds, both summed as numpy
    /// does (so rounding it as the release does gives the logged value).
    pub pooled_mib_per_s: f64,
}

impl WallClock {
    /// The totals of `transfers`.
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// use nixl_kv_metrics::wallclock::WallClock;
    /// // Disjoint transfers: busy time is the summed time.
    /// let wall = WallClock::of(&[
    ///     XferTelemetry::new(1_000, 10, 1 << 20, 1).starting_at(0),
    ///     XferTelemetry::new(1_000, 10, 1 << 20, 1).starting_at(5_000),
    /// ]);
    /// assert_eq!((wall.xfer_us, wall.busy_us, wall.bytes), (2_000, 2_000, 2 << 20));
    /// assert_eq!(wall.concurrency(), Some(1.0));
    /// ```
    pub fn of(transfers: &[XferTelemetry]) -> WallClock {
        WallClock {
            transfers: transfers.len() as u64,
            bytes: transfers.iter().map(|t| t.total_bytes).sum(),
            xfer_us: transfers.iter().map(|t| t.xfer_duration_us).sum(),
            busy_us: union_us(transfers),
            pooled_mib_per_s: numpy::sum_map(transfers, |t| t.mib())
                / numpy::sum_map(transfers, |t| t.xfer_seconds()),
        }
    }

    /// MiB per second of busy time; `None` when nothing was in flight.
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// use nixl_kv_metrics::wallclock::WallClock;
    /// let wall = WallClock::of(&[XferTelemetry::new(2_000, 10, 1 << 20, 1)]);
    /// assert_eq!(wall.throughput_mib_per_s(), Some(500.0));
    /// ```
    pub fn throughput_mib_per_s(&self) -> Option<f64> {
        (self.busy_us > 0).then(|| self.bytes as f64 / MIB / (self.busy_us as f64 / 1e6))
    }

    /// Average number of transfers in flight while any was: summed time over
    /// busy time; `None` when nothing was in flight.
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// use nixl_kv_metrics::wallclock::WallClock;
    /// // Four identical transfers at once.
    /// let wall = WallClock::of(&[XferTelemetry::new(1_000, 10, 4096, 1); 4]);
    /// assert_eq!(wall.concurrency(), Some(4.0));
    /// ```
    pub fn concurrency(&self) -> Option<f64> {
        (self.busy_us > 0).then(|| self.xfer_us as f64 / self.busy_us as f64)
    }
}

/// The length of the union of the intervals `[start, start + xfer)`, in
/// microseconds.
///
/// ```
/// use nixl_kv_metrics::telemetry::XferTelemetry;
/// use nixl_kv_metrics::wallclock::union_us;
/// let t = |start, xfer| XferTelemetry::new(xfer, 0, 1, 1).starting_at(start);
/// assert_eq!(union_us(&[t(0, 10), t(5, 10), t(30, 5)]), 20);
/// ```
pub fn union_us(transfers: &[XferTelemetry]) -> u64 {
    let mut intervals: Vec<(u64, u64)> = transfers
        .iter()
        .map(|t| (t.start_time_us, t.end_time_us()))
        .collect();
    intervals.sort_unstable();
    let mut total = 0;
    let mut covered_to = 0;
    for (start, end) in intervals {
        let from = start.max(covered_to);
        if end > from {
            total += end - from;
            covered_to = end;
        }
    }
    total
}

/// How long every one of `transfers` was in flight at once, in
/// microseconds: from the latest start to the earliest end, or 0 when some
/// two do not overlap (or there are none).
///
/// `n` transfers that share such a window count it `n` times in their
/// summed time but once in the busy time ([`union_us`]), so summed time ≥
/// busy time + (n − 1) × window. This is why the line's summed transfer
/// time exceeds the wall time when reads run at once: measured with
/// `UCX_TLS=tcp`, eight concurrent 2 MiB reads each report nearly the
/// whole batch's time (tests/golden/realstack, `nixl-telemetry.jsonl`).
///
/// ```
/// use nixl_kv_metrics::telemetry::XferTelemetry;
/// use nixl_kv_metrics::wallclock::{WallClock, common_us};
/// let t = |start, xfer| XferTelemetry::new(xfer, 0, 1, 1).starting_at(start);
/// let batch = [t(0, 100), t(10, 100), t(20, 100)];
/// assert_eq!(common_us(&batch), 80); // from 20 to 100
/// let wall = WallClock::of(&batch);
/// assert!(wall.xfer_us >= wall.busy_us + 2 * 80);
/// assert_eq!(common_us(&[t(0, 10), t(10, 10)]), 0);
/// ```
pub fn common_us(transfers: &[XferTelemetry]) -> u64 {
    let latest_start = transfers.iter().map(|t| t.start_time_us).max();
    let earliest_end = transfers.iter().map(XferTelemetry::end_time_us).min();
    match (latest_start, earliest_end) {
        (Some(start), Some(end)) => end.saturating_sub(start),
        _ => 0,
    }
}

/// [`WallClock`] totals per recording worker, in worker order.
///
/// ```
/// use nixl_kv_metrics::telemetry::XferTelemetry;
/// use nixl_kv_metrics::topology::{Instance, WorkerId};
/// use nixl_kv_metrics::telemetry::{Tag, TaggedTelemetry};
/// use nixl_kv_metrics::wallclock::per_worker;
/// let rank = |rank| WorkerId { instance: Instance::Decode, engine: 0, stage: 0, rank };
/// let tagged = |r, request| TaggedTelemetry {
///     tag: Tag { worker: rank(r), request },
///     telemetry: XferTelemetry::new(1_000, 10, 1 << 20, 1),
/// };
/// let totals = per_worker(&[tagged(1, 0), tagged(0, 0), tagged(1, 1)]);
/// assert_eq!(totals[&rank(1)].transfers, 2);
/// assert_eq!(totals[&rank(1)].busy_us, 1_000); // both at time 0
/// ```
pub fn per_worker(transfers: &[TaggedTelemetry]) -> BTreeMap<WorkerId, WallClock> {
    grouped(transfers, |tag| tag.worker)
}

/// [`WallClock`] totals per request, over every worker that served it.
///
/// ```
/// use nixl_kv_metrics::telemetry::XferTelemetry;
/// use nixl_kv_metrics::topology::{Instance, WorkerId};
/// use nixl_kv_metrics::telemetry::{Tag, TaggedTelemetry};
/// use nixl_kv_metrics::wallclock::per_request;
/// let worker = |rank| WorkerId { instance: Instance::Decode, engine: 0, stage: 0, rank };
/// let tagged = |rank, start| TaggedTelemetry {
///     tag: Tag { worker: worker(rank), request: 7 },
///     telemetry: XferTelemetry::new(1_000, 10, 1 << 20, 1).starting_at(start),
/// };
/// let totals = per_request(&[tagged(0, 0), tagged(1, 500)]);
/// assert_eq!((totals[&7].bytes, totals[&7].busy_us), (2 << 20, 1_500));
/// ```
pub fn per_request(transfers: &[TaggedTelemetry]) -> BTreeMap<RequestId, WallClock> {
    grouped(transfers, |tag| tag.request)
}

/// Groups telemetry by `key` of its tag, keeping the given order inside each
/// group, and totals each group.
fn grouped<K: Ord>(
    transfers: &[TaggedTelemetry],
    key: impl Fn(&Tag) -> K,
) -> BTreeMap<K, WallClock> {
    let mut groups: BTreeMap<K, Vec<XferTelemetry>> = BTreeMap::new();
    for t in transfers {
        groups.entry(key(&t.tag)).or_default().push(t.telemetry);
    }
    groups
        .into_iter()
        .map(|(k, group)| (k, WallClock::of(&group)))
        .collect()
}
