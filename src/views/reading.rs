//! One KV line read back: its averages turned into totals, and set against
//! the logging interval.

use std::ops::AddAssign;
use std::time::Duration;

use super::{Bounded, Range};
use crate::field::Field;
use crate::logs::{Engine, KvRecord, Shape};
use crate::reduce::Value;

/// What one KV line says once its averages are turned back into totals and
/// set against the logging interval.
///
/// # Totals
///
/// vLLM prints averages over the `n` transfers of the interval; `n ×` each
/// gives the total it averaged, within `n ×` the average's rounding: the
/// line's [`sums`](Self::sums).
///
/// # Against the interval
///
/// Let `I` be the logging interval and assume that **every transfer the line
/// counts ran inside one window of length `I`**: vLLM logs every `I` seconds
/// what it pooled since the previous log call. Transfers are counted when
/// they complete, so one that started before the window still counts whole
/// (a boundary effect, small when transfers are much shorter than `I`); the
/// sleep between log calls makes real windows a little longer than `I`; and
/// the first line after a start or an idle spell counts transfers from only
/// the end of its window. Then:
///
/// * [`concurrency`](Self::concurrency) = Σ xfer / `I`: the number of the
///   engine's transfers in flight, averaged over the window (the integral of
///   the in-flight count over the window is the summed durations; Little's
///   law `L = λW` with `λ = n/I`, `W` = Avg xfer says the same). It counts
///   transfer handles across all TP ranks of the engine (and all engines of
///   an aggregated line).
/// * [`window_mib_s`](Self::window_mib_s) = total MiB / `I`: the mean
///   wall-clock transfer rate over the window, idle time included — the
///   engine's system bandwidth as a window average. It equals
///   `Throughput × concurrency`: vLLM's `Throughput (MB/s)` divides by the
///   summed busy time of the transfers instead.
/// * [`busy`](Self::busy): bounds for the time the engine had at least one
///   transfer in flight (the union of the transfers' spans, `B`). Since
///   `max xfer ≤ B ≤ min(Σ xfer, I)`, and the longest transfer lasts at
///   least the average and at least the P90, the mean rate while busy,
///   total / `B`, lies between `max(Throughput, total / I)` and
///   total / max(Avg xfer, P90 xfer); the mean in-flight count while busy,
///   Σ xfer / `B`, between `max(1, concurrency)` and
///   `min(n, Σ xfer / max(Avg xfer, P90 xfer))`. So the window rate is a
///   lower bound on the busy-time rate, and so is `Throughput`.
///
/// ```
/// use nixl_kv_metrics::logs::parse_line;
/// use nixl_kv_metrics::views::LineReading;
/// use std::time::Duration;
///
/// // One transfer of 70 MiB in 9.862 ms, in a 5 s interval.
/// let record = parse_line(
///     "KV Transfer metrics: Num successful transfers=1, Avg xfer time (ms)=9.862, \
///      P90 xfer time (ms)=9.862, Avg post time (ms)=0.1, P90 post time (ms)=0.1, \
///      Avg MB per transfer=70.0, Throughput (MB/s)=7097.952, Avg number of descriptors=56.0",
/// )?
/// .unwrap();
/// let reading = LineReading::new(&record, Duration::from_secs(5)).unwrap();
/// assert_eq!(reading.window_mib_s.value, 14.0);
/// let busy = reading.busy.unwrap();
/// // One transfer: busy exactly while it ran, so the busy rate is the
/// // Throughput, within rounding.
/// assert!(busy.mib_s.min > 7097.95 && busy.mib_s.max < 7098.5);
/// assert_eq!((busy.concurrency.min, busy.concurrency.max), (1.0, 1.0));
/// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LineReading {
    /// The line's 1-based number in the log.
    pub line: u64,
    /// The engine that printed it.
    pub engine: Engine,
    /// The logging interval assumed.
    pub interval: Duration,
    /// `Num successful transfers`: `n`.
    pub transfers: u128,
    /// `Avg xfer time (ms)` and its rounding.
    pub avg_xfer_ms: Bounded,
    /// `P90 xfer time (ms)` and its rounding.
    pub p90_xfer_ms: Bounded,
    /// `Avg post time (ms)` and its rounding.
    pub avg_post_ms: Bounded,
    /// `P90 post time (ms)` and its rounding.
    pub p90_post_ms: Bounded,
    /// `Avg MB per transfer` (MiB) and its rounding.
    pub avg_mib: Bounded,
    /// `Throughput (MB/s)` (MiB/s) and its rounding (`inf` when the summed
    /// transfer time was 0).
    pub throughput_mib_s: Bounded,
    /// `Avg number of descriptors` and its rounding.
    pub avg_descriptors: Bounded,
    /// The totals the averages stand for, and the line's counts.
    pub sums: Sums,
    /// Transfers in flight, averaged over the interval: `Σ xfer / I`.
    pub concurrency: Bounded,
    /// MiB/s over the interval: `total / I`.
    pub window_mib_s: Bounded,
    /// Bounds for the time with a transfer in flight (`None` when `n = 0`).
    pub busy: Option<Busy>,
}

/// What transfers add up to: the totals that `n ×` each printed average
/// stands for, and the failure and expiry counts. One line's
/// ([`LineReading::sums`]), or summed over lines ([`Totals`](super::Totals)),
/// which is why it adds.
///
/// Each total is known within `n ×` its average's rounding: MiB ± n ×
/// 0.0005, ms ± n × 0.0005, descriptors ± n × 0.05. A count is `None` when
/// no line prints it (before 0.31; `Num notifs after expiry` before 0.32).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sums {
    /// MiB moved: `Σ n × Avg MB`.
    pub total_mib: Bounded,
    /// Summed transfer time in ms: `Σ n × Avg xfer`.
    pub xfer_ms: Bounded,
    /// Summed post time in ms: `Σ n × Avg post`.
    pub post_ms: Bounded,
    /// Descriptors in all: `Σ n × Avg number of descriptors`.
    pub descriptors: Bounded,
    /// `Num failed transfers`, summed.
    pub failed_transfers: Option<u128>,
    /// `Num KV expired reqs`, summed.
    pub kv_expired_reqs: Option<u128>,
    /// `Num notifs after expiry`, summed.
    pub notifs_after_expiry: Option<u128>,
}

impl AddAssign for Sums {
    /// Adds another line's (or run's) sums: bounds add, and a count is known
    /// once either side prints it.
    fn add_assign(&mut self, other: Sums) {
        self.total_mib = self.total_mib + other.total_mib;
        self.xfer_ms = self.xfer_ms + other.xfer_ms;
        self.post_ms = self.post_ms + other.post_ms;
        self.descriptors = self.descriptors + other.descriptors;
        let add = |a: Option<u128>, b: Option<u128>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.failed_transfers = add(self.failed_transfers, other.failed_transfers);
        self.kv_expired_reqs = add(self.kv_expired_reqs, other.kv_expired_reqs);
        self.notifs_after_expiry = add(self.notifs_after_expiry, other.notifs_after_expiry);
    }
}

/// Bounds for the time an engine had at least one transfer in flight: the
/// mean number in flight, and the mean MiB/s, while any was. [`LineReading`]
/// derives them (see its `busy`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Busy {
    /// Transfers in flight on average while any was.
    pub concurrency: Range,
    /// MiB/s on average while any transfer was in flight.
    pub mib_s: Range,
}

impl LineReading {
    /// The reading of `record` for a logging interval of `interval`; `None`
    /// for 0.11.0's counter line, which has no averages.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::parse_line;
    /// use nixl_kv_metrics::views::{LineReading, DEFAULT_INTERVAL};
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap();
    /// assert!(LineReading::new(&record, DEFAULT_INTERVAL).is_none());
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn new(record: &KvRecord, interval: Duration) -> Option<LineReading> {
        if record.shape == Shape::Counter {
            return None;
        }
        let printed = |field: Field| {
            record
                .get(field)
                .map_or(Bounded::ZERO, |value| Bounded::printed(value, field))
        };
        let count = |field: Field| match record.get(field) {
            Some(Value::Int(i)) => Some(i),
            _ => None,
        };
        let n = record.transfers();
        let scale = n as f64;
        let avg_xfer_ms = printed(Field::AvgXferTimeMs);
        let p90_xfer_ms = printed(Field::P90XferTimeMs);
        let avg_post_ms = printed(Field::AvgPostTimeMs);
        let avg_mib = printed(Field::AvgMbPerTransfer);
        let throughput_mib_s = printed(Field::ThroughputMbS);
        let avg_descriptors = printed(Field::AvgNumberOfDescriptors);
        let total_mib = avg_mib.scale(scale);
        let xfer_ms = avg_xfer_ms.scale(scale);
        let interval_s = Bounded::exact(interval.as_secs_f64());
        let interval_ms = Bounded::exact(interval.as_secs_f64()).scale(1e3);
        let concurrency = xfer_ms / interval_ms;
        let window_mib_s = total_mib / interval_s;
        let busy = (n > 0).then(|| {
            // The longest transfer lasted at least this long (ms).
            let longest_ms = avg_xfer_ms.min.max(p90_xfer_ms.min);
            let longest = Bounded::exact(longest_ms);
            let throughput_floor = if throughput_mib_s.min.is_nan() {
                0.0
            } else {
                throughput_mib_s.min
            };
            Busy {
                concurrency: Range {
                    min: concurrency.min.max(1.0),
                    max: (xfer_ms / longest).max.min(scale),
                },
                mib_s: Range {
                    min: window_mib_s.min.max(throughput_floor),
                    max: (total_mib.scale(1e3) / longest).max,
                },
            }
        });
        Some(LineReading {
            line: record.line,
            engine: record.engine,
            interval,
            transfers: n,
            avg_xfer_ms,
            p90_xfer_ms,
            avg_post_ms,
            p90_post_ms: printed(Field::P90PostTimeMs),
            avg_mib,
            throughput_mib_s,
            avg_descriptors,
            sums: Sums {
                total_mib,
                xfer_ms,
                post_ms: avg_post_ms.scale(scale),
                descriptors: avg_descriptors.scale(scale),
                failed_transfers: count(Field::NumFailedTransfers),
                kv_expired_reqs: count(Field::NumKvExpiredReqs),
                notifs_after_expiry: count(Field::NumNotifsAfterExpiry),
            },
            concurrency,
            window_mib_s,
            busy,
        })
    }
}
