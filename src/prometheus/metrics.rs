//! The NIXL metrics each release family registers with prometheus_client:
//! names, types, HELP texts, bucket bounds, and which stats list feeds each.
//!
//! Read from the `NixlPromMetrics` class of the wheels of vLLM 0.11.1,
//! 0.11.2, 0.12.0, 0.15.0, 0.31.0, 0.33.0 and 0.34.0 (0.11.0 registers none):
//!
//! | metric | type | families | fed by |
//! |---|---|---|---|
//! | `vllm:nixl_xfer_time_seconds` | histogram | F2–F6 | `transfer_duration` |
//! | `vllm:nixl_post_time_seconds` | histogram | F2–F6 | `post_duration` |
//! | `vllm:nixl_bytes_transferred` | histogram | F2–F6 | `bytes_transferred` |
//! | `vllm:nixl_num_descriptors` | histogram | F2–F6 | `num_descriptors` |
//! | `vllm:nixl_num_failed_transfers` | counter | F2–F6 | F2–F4: failed transfers; F5–F6: failed transfers + failed handshakes + failed notifications |
//! | `vllm:nixl_num_failed_notifications` | counter | F2–F6 | failed notifications |
//! | `vllm:nixl_num_kv_expired_reqs` | counter | F4–F6 | expired requests |
//! | `vllm:nixl_num_notifications_after_expiry` | counter | F6 | notifications after expiry |
//!
//! Every series has the labels `model_name` and `engine` (the engine index
//! as a string); no rank or request label. Counters are served with the
//! suffix `_total`. The HELP texts of the two failure counters changed in
//! 0.31 with the grouping of failures.
//!
//! ```
//! use nixl_kv_metrics::prometheus::{FAILED_TRANSFERS, Metric, MetricType};
//! use nixl_kv_metrics::release::{Event, Family};
//!
//! assert!(Metric::of(Family::F1).is_empty());
//! assert_eq!(Metric::of(Family::F3).len(), 6);
//! assert_eq!(Metric::of(Family::F6).len(), 8);
//! let failed = Metric::find(Family::F5, FAILED_TRANSFERS).unwrap();
//! assert_eq!(
//!     failed.kind,
//!     MetricType::Counter {
//!         events: &[Event::FailedTransfer, Event::FailedHandshake, Event::FailedNotification]
//!     }
//! );
//! ```

use crate::release::{Event, Family, Release};
use crate::topology::{Instance, Mode};

/// The first release that registers NIXL Prometheus metrics (0.11.1).
pub const FIRST_RELEASE: Release = Release::new(0, 11, 1);

/// The label names of every NIXL series, as vLLM passes them.
pub const LABEL_NAMES: [&str; 2] = ["model_name", "engine"];

/// `vllm:nixl_xfer_time_seconds`: transfer durations, in seconds.
pub const XFER_TIME: &str = "vllm:nixl_xfer_time_seconds";
/// `vllm:nixl_post_time_seconds`: post durations, in seconds.
pub const POST_TIME: &str = "vllm:nixl_post_time_seconds";
/// `vllm:nixl_bytes_transferred`: bytes per transfer.
pub const BYTES_TRANSFERRED: &str = "vllm:nixl_bytes_transferred";
/// `vllm:nixl_num_descriptors`: descriptors per transfer.
pub const NUM_DESCRIPTORS: &str = "vllm:nixl_num_descriptors";
/// `vllm:nixl_num_failed_transfers` (served as `..._total`).
pub const FAILED_TRANSFERS: &str = "vllm:nixl_num_failed_transfers";
/// `vllm:nixl_num_failed_notifications` (served as `..._total`).
pub const FAILED_NOTIFICATIONS: &str = "vllm:nixl_num_failed_notifications";
/// `vllm:nixl_num_kv_expired_reqs` (served as `..._total`; 0.15 on).
pub const KV_EXPIRED_REQS: &str = "vllm:nixl_num_kv_expired_reqs";
/// `vllm:nixl_num_notifications_after_expiry` (served as `..._total`; 0.32 on).
pub const NOTIFICATIONS_AFTER_EXPIRY: &str = "vllm:nixl_num_notifications_after_expiry";

/// Upper bounds of the transfer-time buckets, in seconds (then `+Inf`).
pub const XFER_TIME_BOUNDS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0,
];
/// Upper bounds of the post-time buckets, in seconds (then `+Inf`).
pub const POST_TIME_BOUNDS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0,
];
/// Upper bounds of the byte buckets: 2¹¹, 2¹³, …, 2³³ (2 KiB to 8 GiB), then `+Inf`.
pub const BYTES_BOUNDS: [f64; 12] = [
    2048.0,
    8192.0,
    32768.0,
    131072.0,
    524288.0,
    2097152.0,
    8388608.0,
    33554432.0,
    134217728.0,
    536870912.0,
    2147483648.0,
    8589934592.0,
];
/// Upper bounds of the descriptor-count buckets (then `+Inf`).
pub const DESCRIPTOR_BOUNDS: [f64; 14] = [
    10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 200.0, 400.0, 1000.0, 2000.0, 4000.0, 10000.0, 20000.0,
    50000.0,
];

/// The per-transfer list a histogram observes, every element of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Observation {
    /// `transfer_duration`, seconds.
    TransferDuration,
    /// `post_duration`, seconds.
    PostDuration,
    /// `bytes_transferred`.
    BytesTransferred,
    /// `num_descriptors`.
    NumDescriptors,
}

/// A metric's type and what feeds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricType {
    /// A histogram with these finite upper bounds (prometheus_client adds
    /// `+Inf`), observing every element of one per-transfer list.
    Histogram {
        /// Finite upper bounds, ascending.
        bounds: &'static [f64],
        /// The list observed.
        observes: Observation,
    },
    /// A counter incremented by every entry (each `1`) of these event lists,
    /// in this order.
    Counter {
        /// The event lists that increment it.
        events: &'static [Event],
    },
}

/// One metric vLLM registers.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Metric, MetricType, Observation, POST_TIME};
/// use nixl_kv_metrics::release::Family;
///
/// let post = Metric::find(Family::F2, POST_TIME).unwrap();
/// assert_eq!(post.help, "Histogram of transfer post time for NIXL KV Cache transfers.");
/// let MetricType::Histogram { bounds, observes } = post.kind else { unreachable!() };
/// assert_eq!((bounds[0], bounds.len(), observes), (0.001, 13, Observation::PostDuration));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metric {
    /// The name given to prometheus_client (without `_total`).
    pub name: &'static str,
    /// The `documentation` string, printed on the `# HELP` lines.
    pub help: &'static str,
    /// Histogram or counter, and its source.
    pub kind: MetricType,
}

impl Metric {
    /// The metrics `family` registers, in registration order (which is the
    /// order of the exposition); empty for F1 (0.11.0), which has none.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{FAILED_NOTIFICATIONS, FAILED_TRANSFERS, KV_EXPIRED_REQS, Metric};
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let names: Vec<&str> = Metric::of(Family::F4).iter().map(|m| m.name).collect();
    /// assert_eq!(names[4..], [FAILED_TRANSFERS, FAILED_NOTIFICATIONS, KV_EXPIRED_REQS]);
    /// ```
    pub fn of(family: Family) -> &'static [Metric] {
        match family {
            Family::F1 => &[],
            Family::F2 | Family::F3 => &BEFORE_GROUPING[..6],
            Family::F4 => &BEFORE_GROUPING[..7],
            Family::F5 => &GROUPED[..7],
            Family::F6 => &GROUPED,
        }
    }

    /// The metric `name` (without `_total`) of `family`, if it registers it.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{KV_EXPIRED_REQS, Metric};
    /// use nixl_kv_metrics::release::Family;
    /// assert!(Metric::find(Family::F3, KV_EXPIRED_REQS).is_none());
    /// assert!(Metric::find(Family::F4, KV_EXPIRED_REQS).is_some());
    /// ```
    pub fn find(family: Family, name: &str) -> Option<&'static Metric> {
        Metric::of(family).iter().find(|metric| metric.name == name)
    }

    /// The first family that registers the metric `name`, if any does.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{Metric, NOTIFICATIONS_AFTER_EXPIRY, XFER_TIME};
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Metric::first_family(NOTIFICATIONS_AFTER_EXPIRY), Some(Family::F6));
    /// assert_eq!(Metric::first_family(XFER_TIME), Some(Family::F2));
    /// ```
    pub fn first_family(name: &str) -> Option<Family> {
        Family::ALL
            .into_iter()
            .find(|&family| Metric::find(family, name).is_some())
    }

    /// `histogram` or `counter`, as on the `# TYPE` line.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{Metric, XFER_TIME};
    /// use nixl_kv_metrics::release::Family;
    /// let m = Metric::find(Family::F6, XFER_TIME).unwrap();
    /// assert_eq!(m.type_name(), "histogram");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            MetricType::Histogram { .. } => "histogram",
            MetricType::Counter { .. } => "counter",
        }
    }

    /// The name the exposition uses for the metric family: with `_total`
    /// for a counter.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{KV_EXPIRED_REQS, Metric};
    /// use nixl_kv_metrics::release::Family;
    /// let m = Metric::find(Family::F6, KV_EXPIRED_REQS).unwrap();
    /// assert_eq!(m.exposed_name(), "vllm:nixl_num_kv_expired_reqs_total");
    /// ```
    pub fn exposed_name(&self) -> String {
        match self.kind {
            MetricType::Histogram { .. } => self.name.to_string(),
            MetricType::Counter { .. } => format!("{}_total", self.name),
        }
    }

    /// The instances of a prefill/decode deployment on which the metric's
    /// series move in `mode`, prefill first. Both instances register every
    /// metric, so the series exist on both; elsewhere they stay at 0.
    ///
    /// A histogram moves where the transfers are issued
    /// ([`Mode::recorder`]); a counter wherever one of its events is
    /// recorded ([`recorded_on`]).
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{FAILED_TRANSFERS, KV_EXPIRED_REQS, Metric, XFER_TIME};
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::topology::{Instance, Mode};
    ///
    /// let on = |family, name, mode| Metric::find(family, name).unwrap().moves_on(mode);
    /// assert_eq!(on(Family::F6, XFER_TIME, Mode::Pull), [Instance::Decode]);
    /// assert_eq!(on(Family::F6, XFER_TIME, Mode::Push), [Instance::Prefill]);
    /// assert_eq!(on(Family::F6, KV_EXPIRED_REQS, Mode::Pull), [Instance::Prefill]);
    /// // In push mode decode's failed registrations are failed notifications,
    /// // which the failed-transfers counter includes from 0.31 on.
    /// assert_eq!(on(Family::F4, FAILED_TRANSFERS, Mode::Push), [Instance::Prefill]);
    /// assert_eq!(on(Family::F5, FAILED_TRANSFERS, Mode::Push),
    ///            [Instance::Prefill, Instance::Decode]);
    /// ```
    pub fn moves_on(&self, mode: Mode) -> Vec<Instance> {
        let mut instances = match self.kind {
            MetricType::Histogram { .. } => vec![mode.recorder()],
            MetricType::Counter { events } => events
                .iter()
                .flat_map(|&event| recorded_on(event, mode).iter().copied())
                .collect(),
        };
        instances.sort();
        instances.dedup();
        instances
    }
}

/// The instances whose workers record `event` in `mode`, prefill first.
///
/// Read from vLLM's NIXL workers (`nixl/worker.py`, `nixl/push_worker.py`):
///
/// * a failed transfer: the instance that issues the transfers, decode
///   (READs) in pull mode, prefill (WRITEs) in push mode;
/// * a failed notification: decode in both modes; in pull mode it tells
///   prefill that a request needs no READ (a full prefix-cache hit), in
///   push mode it sends prefill the registration of its blocks;
/// * a failed handshake (0.31 on): the instance that starts it, decode in
///   pull mode; in push mode both start one (decode to register, prefill
///   before its WRITE);
/// * an expired request: prefill, which holds the KV lease, in both modes.
///   (Decode also counts an expired request in one rare case: when it
///   declines to read back KV, in a later turn, whose lease is about to run
///   out. That is left out here.)
/// * a notification after expiry (0.32 on): the side that gets the
///   completion notification of a request it no longer tracks, prefill in
///   pull mode (decode's "read done" after prefill's lease ran out), decode
///   in push mode (prefill's "write done", `push_worker.py` at 0.32.0 and
///   0.34.0).
///
/// ```
/// use nixl_kv_metrics::prometheus::recorded_on;
/// use nixl_kv_metrics::release::Event;
/// use nixl_kv_metrics::topology::{Instance, Mode};
///
/// assert_eq!(recorded_on(Event::FailedTransfer, Mode::Pull), [Instance::Decode]);
/// assert_eq!(recorded_on(Event::FailedTransfer, Mode::Push), [Instance::Prefill]);
/// assert_eq!(recorded_on(Event::KvExpiredReq, Mode::Push), [Instance::Prefill]);
/// assert_eq!(recorded_on(Event::NotificationAfterExpiry, Mode::Pull), [Instance::Prefill]);
/// assert_eq!(recorded_on(Event::NotificationAfterExpiry, Mode::Push), [Instance::Decode]);
/// ```
pub const fn recorded_on(event: Event, mode: Mode) -> &'static [Instance] {
    match (event, mode) {
        (Event::FailedTransfer, Mode::Pull)
        | (Event::FailedNotification, _)
        | (Event::FailedHandshake, Mode::Pull)
        | (Event::NotificationAfterExpiry, Mode::Push) => &[Instance::Decode],
        (Event::FailedTransfer, Mode::Push)
        | (Event::KvExpiredReq, _)
        | (Event::NotificationAfterExpiry, Mode::Pull) => &[Instance::Prefill],
        (Event::FailedHandshake, Mode::Push) => &[Instance::Prefill, Instance::Decode],
    }
}

const fn histogram(
    name: &'static str,
    help: &'static str,
    bounds: &'static [f64],
    observes: Observation,
) -> Metric {
    Metric {
        name,
        help,
        kind: MetricType::Histogram { bounds, observes },
    }
}

const fn counter(name: &'static str, help: &'static str, events: &'static [Event]) -> Metric {
    Metric {
        name,
        help,
        kind: MetricType::Counter { events },
    }
}

const HISTOGRAMS: [Metric; 4] = [
    histogram(
        XFER_TIME,
        "Histogram of transfer duration for NIXL KV Cache transfers.",
        &XFER_TIME_BOUNDS,
        Observation::TransferDuration,
    ),
    histogram(
        POST_TIME,
        "Histogram of transfer post time for NIXL KV Cache transfers.",
        &POST_TIME_BOUNDS,
        Observation::PostDuration,
    ),
    histogram(
        BYTES_TRANSFERRED,
        "Histogram of bytes transferred per NIXL KV Cache transfers.",
        &BYTES_BOUNDS,
        Observation::BytesTransferred,
    ),
    // Two spaces: vLLM's string literals join as "NIXL" + "  KV".
    histogram(
        NUM_DESCRIPTORS,
        "Histogram of number of descriptors per NIXL  KV Cache transfers.",
        &DESCRIPTOR_BOUNDS,
        Observation::NumDescriptors,
    ),
];

const FAILED_TRANSFERS_UNTIL_F4: Metric = counter(
    FAILED_TRANSFERS,
    "Number of failed NIXL KV Cache transfers.",
    &[Event::FailedTransfer],
);
const FAILED_NOTIFICATIONS_UNTIL_F4: Metric = counter(
    FAILED_NOTIFICATIONS,
    "Number of failed NIXL KV Cache notifications.",
    &[Event::FailedNotification],
);
const FAILED_TRANSFERS_GROUPED: Metric = counter(
    FAILED_TRANSFERS,
    "Number of failed NIXL KV Cache transfers, including handshake and notification \
     failures. NOTE: KV expiry is tracked separately in vllm:nixl_num_kv_expired_reqs.",
    &[
        Event::FailedTransfer,
        Event::FailedHandshake,
        Event::FailedNotification,
    ],
);
const FAILED_NOTIFICATIONS_GROUPED: Metric = counter(
    FAILED_NOTIFICATIONS,
    "Number of failed NIXL KV Cache notifications. Retained for compatibility; these \
     failures are also included in vllm:nixl_num_failed_transfers.",
    &[Event::FailedNotification],
);
const KV_EXPIRED: Metric = counter(
    KV_EXPIRED_REQS,
    "Number of requests that had their KV expire. NOTE: This metric is tracked on the P \
     instance.",
    &[Event::KvExpiredReq],
);
const NOTIFS_AFTER_EXPIRY: Metric = counter(
    NOTIFICATIONS_AFTER_EXPIRY,
    "Number of completion notifications for requests that were no longer tracked, usually \
     because their KV lease expired. The KV blocks may have been reused before the transfer \
     finished. Counted per notification (one per remote rank), not per request.",
    &[Event::NotificationAfterExpiry],
);

/// vLLM's registration order, with the failure counters worded one way:
/// every family registers a prefix of it.
const fn in_order(failed_transfers: Metric, failed_notifications: Metric) -> [Metric; 8] {
    let [xfer, post, bytes, descriptors] = HISTOGRAMS;
    [
        xfer,
        post,
        bytes,
        descriptors,
        failed_transfers,
        failed_notifications,
        KV_EXPIRED,
        NOTIFS_AFTER_EXPIRY,
    ]
}

/// F2–F4 register 6 or 7 of these (the last came with the grouping).
const BEFORE_GROUPING: [Metric; 8] =
    in_order(FAILED_TRANSFERS_UNTIL_F4, FAILED_NOTIFICATIONS_UNTIL_F4);
/// F5 registers 7 of these, F6 all.
const GROUPED: [Metric; 8] = in_order(FAILED_TRANSFERS_GROUPED, FAILED_NOTIFICATIONS_GROUPED);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_bounds_are_odd_powers_of_two() {
        let expected: Vec<f64> = (1..25).step_by(2).map(|i| 2f64.powi(10 + i)).collect();
        assert_eq!(BYTES_BOUNDS.to_vec(), expected);
    }

    #[test]
    fn events_counted_are_the_familys_own() {
        for family in Family::ALL {
            for metric in Metric::of(family) {
                if let MetricType::Counter { events } = metric.kind {
                    for event in events {
                        assert!(family.events().contains(event), "{family} {}", metric.name);
                    }
                }
            }
        }
    }
}
