//! The stats container: vLLM's `NixlKVConnectorStats`, family by family.
//!
//! Each worker (one per TP rank and PP stage) records into one of these. It
//! holds one list per key of vLLM's `data` dict: four per-transfer lists
//! (durations in seconds, bytes, descriptor counts) and one list per failure or
//! expiry event. Nothing identifies a rank or a request: pooling workers or
//! steps is list concatenation ([`NixlKvConnectorStats::aggregate`]), and
//! every number of the log line is computed over the pooled lists
//! ([`NixlKvConnectorStats::reduce`]).
//!
//! ```
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::stats::NixlKvConnectorStats;
//! use nixl_kv_metrics::telemetry::XferTelemetry;
//!
//! let mut rank0 = NixlKvConnectorStats::new(Family::F6);
//! let mut rank1 = NixlKvConnectorStats::new(Family::F6);
//! rank0.record_transfer(&XferTelemetry::new(1_000, 500, 1 << 20, 72));
//! rank1.record_transfer(&XferTelemetry::new(3_000, 500, 1 << 20, 72));
//! rank0.aggregate(&rank1);
//! assert_eq!(rank0.num_successful_transfers(), 2); // one request at TP=2
//! ```

use crate::release::{Event, Family};
use crate::telemetry::XferTelemetry;

/// The transfer statistics one worker records between two hand-offs, or the
/// pooled statistics of several workers and steps.
#[derive(Clone, Debug, PartialEq)]
pub struct NixlKvConnectorStats {
    family: Family,
    /// 0.11.0 kept only a counter of successful transfers (a Python int:
    /// workers' counters may sum past 2⁶⁴).
    successes: u128,
    transfer_duration: Vec<f64>,
    post_duration: Vec<f64>,
    bytes_transferred: Vec<u64>,
    num_descriptors: Vec<u32>,
    /// Length of each event list, indexed by [`Event::index`].
    events: [u64; Event::ALL.len()],
}

impl NixlKvConnectorStats {
    /// Empty stats with the keys and rules of `family`.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// let stats = NixlKvConnectorStats::new(Family::F4);
    /// assert!(stats.is_empty());
    /// assert_eq!(stats.family(), Family::F4);
    /// ```
    pub fn new(family: Family) -> NixlKvConnectorStats {
        NixlKvConnectorStats {
            family,
            successes: 0,
            transfer_duration: Vec::new(),
            post_duration: Vec::new(),
            bytes_transferred: Vec::new(),
            num_descriptors: Vec::new(),
            events: [0; Event::ALL.len()],
        }
    }

    /// Stats built directly from the four per-transfer lists (durations in
    /// seconds), as vLLM's `data` dict holds them.
    ///
    /// The lists must have the same length (this is checked when parsing
    /// JSON; here it is the caller's promise, checked in debug builds). In
    /// 0.11.0 only the length is kept.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// let stats = NixlKvConnectorStats::from_transfers(
    ///     Family::F6,
    ///     vec![0.001, 0.002],
    ///     vec![0.0005, 0.0005],
    ///     vec![1 << 20, 1 << 20],
    ///     vec![72, 72],
    /// );
    /// assert_eq!(stats.reduce().to_string(), "KV Transfer metrics: Num successful transfers=2, \
    ///     Avg xfer time (ms)=1.5, P90 xfer time (ms)=1.9, Avg post time (ms)=0.5, \
    ///     P90 post time (ms)=0.5, Avg MB per transfer=1.0, Throughput (MB/s)=666.667, \
    ///     Avg number of descriptors=72.0, Num failed transfers=0, Num KV expired reqs=0, \
    ///     Num notifs after expiry=0");
    /// ```
    pub fn from_transfers(
        family: Family,
        transfer_duration: Vec<f64>,
        post_duration: Vec<f64>,
        bytes_transferred: Vec<u64>,
        num_descriptors: Vec<u32>,
    ) -> NixlKvConnectorStats {
        debug_assert!(
            post_duration.len() == transfer_duration.len()
                && bytes_transferred.len() == transfer_duration.len()
                && num_descriptors.len() == transfer_duration.len(),
            "per-transfer lists of different lengths"
        );
        let mut stats = NixlKvConnectorStats::new(family);
        if family == Family::F1 {
            stats.successes = transfer_duration.len() as u128;
        } else {
            stats.transfer_duration = transfer_duration;
            stats.post_duration = post_duration;
            stats.bytes_transferred = bytes_transferred;
            stats.num_descriptors = num_descriptors;
        }
        stats
    }

    /// Adds `count` to 0.11.0's counter (read from its `data` dict).
    pub(crate) fn add_successes(&mut self, count: u64) {
        debug_assert_eq!(self.family, Family::F1);
        self.successes += u128::from(count);
    }

    /// The family whose rules these stats follow.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// assert_eq!(NixlKvConnectorStats::new(Family::F2).family(), Family::F2);
    /// ```
    pub fn family(&self) -> Family {
        self.family
    }

    /// Records one completed transfer (`record_transfer`).
    ///
    /// From 0.11.1 on, vLLM appends `xferDuration / 1e6`,
    /// `postDuration / 1e6`, `totalBytes` and `descCount`. 0.11.0 read no
    /// telemetry and only counted.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    ///
    /// let mut stats = NixlKvConnectorStats::new(Family::F3);
    /// stats.record_transfer(&XferTelemetry::new(1_381, 672, 2_359_296, 72));
    /// assert_eq!(stats.transfer_duration(), &[0.001381]);
    /// assert_eq!(stats.bytes_transferred(), &[2_359_296]);
    /// ```
    pub fn record_transfer(&mut self, telemetry: &XferTelemetry) {
        if self.family == Family::F1 {
            self.successes += 1;
            return;
        }
        self.transfer_duration.push(telemetry.xfer_seconds());
        self.post_duration.push(telemetry.post_seconds());
        self.bytes_transferred.push(telemetry.total_bytes);
        self.num_descriptors.push(telemetry.desc_count);
    }

    /// `record_transfer(None)`: what vLLM does for a completed transfer whose
    /// telemetry could not be read. From 0.32.0 it is ignored; before, vLLM
    /// would fail reading attributes of `None`, which the worker turns into a
    /// failed transfer, so that is what is recorded here.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// let mut newest = NixlKvConnectorStats::new(Family::F6);
    /// newest.record_transfer_without_telemetry();
    /// assert!(newest.is_empty());
    ///
    /// let mut older = NixlKvConnectorStats::new(Family::F5);
    /// older.record_transfer_without_telemetry();
    /// assert_eq!(older.event_count(Event::FailedTransfer), 1);
    /// ```
    pub fn record_transfer_without_telemetry(&mut self) {
        match self.family {
            Family::F6 => {}
            Family::F1 => self.successes += 1,
            _ => self.events[Event::FailedTransfer.index()] += 1,
        }
    }

    /// Records one event (`record_failed_transfer`, `record_kv_expired_req`,
    /// ...), or returns an error when the family has no list for it.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// let mut stats = NixlKvConnectorStats::new(Family::F4);
    /// stats.record(Event::KvExpiredReq)?;
    /// assert_eq!(stats.event_count(Event::KvExpiredReq), 1);
    /// assert!(stats.record(Event::FailedHandshake).is_err()); // 0.31 on
    /// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
    /// ```
    pub fn record(&mut self, event: Event) -> Result<(), NotInRelease> {
        if !self.family.events().contains(&event) {
            return Err(NotInRelease {
                event,
                family: self.family,
            });
        }
        self.events[event.index()] += 1;
        Ok(())
    }

    /// Records `count` events at once (for building stats from counts).
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// let mut stats = NixlKvConnectorStats::new(Family::F6);
    /// stats.record_many(Event::NotificationAfterExpiry, 3)?;
    /// assert_eq!(stats.event_count(Event::NotificationAfterExpiry), 3);
    /// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
    /// ```
    pub fn record_many(&mut self, event: Event, count: u64) -> Result<(), NotInRelease> {
        if count > 0 {
            self.record(event)?;
            self.events[event.index()] += count - 1;
        }
        Ok(())
    }

    /// The number of successful transfers (`num_successful_transfers`): the
    /// length of the duration list, or 0.11.0's counter.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// for family in [Family::F1, Family::F6] {
    ///     let mut stats = NixlKvConnectorStats::new(family);
    ///     stats.record_transfer(&XferTelemetry::new(1_000, 100, 4096, 1));
    ///     assert_eq!(stats.num_successful_transfers(), 1);
    /// }
    /// ```
    pub fn num_successful_transfers(&self) -> u64 {
        u64::try_from(self.successes_exact()).unwrap_or(u64::MAX)
    }

    /// [`NixlKvConnectorStats::num_successful_transfers`] without the 64-bit
    /// limit: 0.11.0's counters are Python ints, so pooled workers may
    /// count past 2⁶⁴ − 1 (only in synthetic input), and vLLM prints the
    /// exact sum.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::input::Interval;
    /// let text = br#"[{"num_successful_transfers": 18446744073709551615}, {"num_successful_transfers": 1}]"#;
    /// let line = Interval::from_json(Family::F1, text)?.log(Family::F1).unwrap();
    /// assert_eq!(line.to_string(), "KV Transfer metrics: num_successful_transfers=18446744073709551616");
    /// # Ok::<(), nixl_kv_metrics::input::InputError>(())
    /// ```
    pub fn successes_exact(&self) -> u128 {
        match self.family {
            Family::F1 => self.successes,
            _ => self.transfer_duration.len() as u128,
        }
    }

    /// How many `event`s are recorded (the length of its list).
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// let mut stats = NixlKvConnectorStats::new(Family::F5);
    /// stats.record(Event::FailedHandshake)?;
    /// assert_eq!(stats.event_count(Event::FailedHandshake), 1);
    /// assert_eq!(stats.event_count(Event::FailedTransfer), 0);
    /// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
    /// ```
    pub fn event_count(&self, event: Event) -> u64 {
        self.events[event.index()]
    }

    /// Transfer durations in seconds, one per successful transfer.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// let mut stats = NixlKvConnectorStats::new(Family::F6);
    /// stats.record_transfer(&XferTelemetry::new(1_381, 672, 2_359_296, 72));
    /// assert_eq!(stats.transfer_duration(), &[0.001381]);
    /// assert_eq!(stats.post_duration(), &[0.000672]);
    /// assert_eq!(stats.bytes_transferred(), &[2_359_296]);
    /// assert_eq!(stats.num_descriptors(), &[72]);
    /// ```
    pub fn transfer_duration(&self) -> &[f64] {
        &self.transfer_duration
    }

    /// Post durations in seconds, one per successful transfer (see
    /// [`NixlKvConnectorStats::transfer_duration`] for an example).
    pub fn post_duration(&self) -> &[f64] {
        &self.post_duration
    }

    /// Bytes, one entry per successful transfer (see
    /// [`NixlKvConnectorStats::transfer_duration`] for an example).
    pub fn bytes_transferred(&self) -> &[u64] {
        &self.bytes_transferred
    }

    /// Descriptor counts, one per successful transfer (see
    /// [`NixlKvConnectorStats::transfer_duration`] for an example).
    pub fn num_descriptors(&self) -> &[u32] {
        &self.num_descriptors
    }

    /// vLLM's `is_empty()`, by family.
    ///
    /// Up to 0.14.x only successes count, so stats holding only failures are
    /// empty: a worker does not ship them and `aggregate` skips them. From
    /// 0.15.0 failures and expiries count too.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// for (family, empty) in [(Family::F3, true), (Family::F4, false)] {
    ///     let mut stats = NixlKvConnectorStats::new(family);
    ///     stats.record(Event::FailedTransfer)?;
    ///     assert_eq!(stats.is_empty(), empty);
    /// }
    /// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        // F4's test names the three lists it had, which are all its lists;
        // F5 and F6 test every list. So "no event of the family" covers all.
        self.num_successful_transfers() == 0
            && (!self.family.keeps_failure_only_stats() || self.events.iter().all(|&c| c == 0))
    }

    /// vLLM's `aggregate(other)`: when `other` is not empty, append each of
    /// its lists to this one's. Returns `self` for chaining.
    ///
    /// # Panics
    ///
    /// If the two stats follow different families (vLLM never mixes classes).
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    ///
    /// let mut pooled = NixlKvConnectorStats::new(Family::F2);
    /// pooled.record_transfer(&XferTelemetry::new(1_000, 500, 4096, 2));
    /// let mut failures_only = NixlKvConnectorStats::new(Family::F2);
    /// failures_only.record(Event::FailedTransfer)?;
    /// pooled.aggregate(&failures_only); // empty in 0.11.x: skipped
    /// assert_eq!(pooled.event_count(Event::FailedTransfer), 0);
    /// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
    /// ```
    pub fn aggregate(&mut self, other: &NixlKvConnectorStats) -> &mut NixlKvConnectorStats {
        assert_eq!(
            self.family, other.family,
            "aggregating stats of two release families"
        );
        if other.is_empty() {
            return self;
        }
        self.successes += other.successes;
        self.transfer_duration
            .extend_from_slice(&other.transfer_duration);
        self.post_duration.extend_from_slice(&other.post_duration);
        self.bytes_transferred
            .extend_from_slice(&other.bytes_transferred);
        self.num_descriptors
            .extend_from_slice(&other.num_descriptors);
        for (mine, theirs) in self.events.iter_mut().zip(other.events) {
            *mine += theirs;
        }
        self
    }

    /// vLLM's `clone_and_reset()`: hands over what was recorded and starts
    /// afresh.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    ///
    /// let mut live = NixlKvConnectorStats::new(Family::F6);
    /// live.record_transfer(&XferTelemetry::new(1_000, 500, 4096, 2));
    /// let shipped = live.clone_and_reset();
    /// assert_eq!(shipped.num_successful_transfers(), 1);
    /// assert!(live.is_empty());
    /// ```
    pub fn clone_and_reset(&mut self) -> NixlKvConnectorStats {
        std::mem::replace(self, NixlKvConnectorStats::new(self.family))
    }
}

/// A recorder the release does not have (for example failed handshakes
/// before 0.31).
///
/// ```
/// use nixl_kv_metrics::release::{Event, Family};
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
/// let error = NixlKvConnectorStats::new(Family::F4).record(Event::FailedHandshake).unwrap_err();
/// assert_eq!(error.to_string(), r#"vLLM 0.15.0 – 0.30.x (F4) has no "num_failed_handshakes" list"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotInRelease {
    /// The event that was to be recorded.
    pub event: Event,
    /// The family without a list for it.
    pub family: Family,
}

impl std::fmt::Display for NotInRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "vLLM {} ({}) has no {:?} list",
            self.family.releases(),
            self.family,
            self.event.key()
        )
    }
}

impl std::error::Error for NotInRelease {}
