//! The fields of vLLM's `KV Transfer metrics:` line: names, units, formulas.
//!
//! This is data the book prints as its field reference, so it lives here, next
//! to the code that computes each field, and cannot drift from it.
//!
//! ```
//! use nixl_kv_metrics::field::Field;
//!
//! let field = Field::ThroughputMbS;
//! assert_eq!(field.name(), "Throughput (MB/s)");
//! assert_eq!(field.anchor(), "throughput-mbs");
//! assert_eq!(field.unit(), "MiB/s");
//! assert_eq!(Field::from_name("Avg MB per transfer"), Some(Field::AvgMbPerTransfer));
//! ```

use crate::release::Family;

/// One field of the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// 0.11.0's only field, printed in snake case: `num_successful_transfers=N`.
    NumSuccessfulTransfersCounter,
    /// `Num successful transfers`.
    NumSuccessfulTransfers,
    /// `Avg xfer time (ms)`.
    AvgXferTimeMs,
    /// `P90 xfer time (ms)`.
    P90XferTimeMs,
    /// `Avg post time (ms)`.
    AvgPostTimeMs,
    /// `P90 post time (ms)`.
    P90PostTimeMs,
    /// `Avg MB per transfer`.
    AvgMbPerTransfer,
    /// `Throughput (MB/s)`.
    ThroughputMbS,
    /// `Avg number of descriptors`.
    AvgNumberOfDescriptors,
    /// `Num failed transfers` (0.31 on).
    NumFailedTransfers,
    /// `Num KV expired reqs` (0.31 on).
    NumKvExpiredReqs,
    /// `Num notifs after expiry` (0.32 on).
    NumNotifsAfterExpiry,
}

impl Field {
    /// Every field, in the order a line prints them (the 0.11.0 counter first).
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// assert_eq!(Field::ALL.iter().filter(|f| f.digits() == Some(3)).count(), 6);
    /// ```
    pub const ALL: [Field; 12] = [
        Field::NumSuccessfulTransfersCounter,
        Field::NumSuccessfulTransfers,
        Field::AvgXferTimeMs,
        Field::P90XferTimeMs,
        Field::AvgPostTimeMs,
        Field::P90PostTimeMs,
        Field::AvgMbPerTransfer,
        Field::ThroughputMbS,
        Field::AvgNumberOfDescriptors,
        Field::NumFailedTransfers,
        Field::NumKvExpiredReqs,
        Field::NumNotifsAfterExpiry,
    ];

    /// The name exactly as vLLM prints it before `=`.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// assert_eq!(Field::NumKvExpiredReqs.name(), "Num KV expired reqs");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Field::NumSuccessfulTransfersCounter => "num_successful_transfers",
            Field::NumSuccessfulTransfers => "Num successful transfers",
            Field::AvgXferTimeMs => "Avg xfer time (ms)",
            Field::P90XferTimeMs => "P90 xfer time (ms)",
            Field::AvgPostTimeMs => "Avg post time (ms)",
            Field::P90PostTimeMs => "P90 post time (ms)",
            Field::AvgMbPerTransfer => "Avg MB per transfer",
            Field::ThroughputMbS => "Throughput (MB/s)",
            Field::AvgNumberOfDescriptors => "Avg number of descriptors",
            Field::NumFailedTransfers => "Num failed transfers",
            Field::NumKvExpiredReqs => "Num KV expired reqs",
            Field::NumNotifsAfterExpiry => "Num notifs after expiry",
        }
    }

    /// The field whose printed name is `name`.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// assert_eq!(Field::from_name("P90 xfer time (ms)"), Some(Field::P90XferTimeMs));
    /// assert_eq!(Field::from_name("p90 xfer time (ms)"), None); // exact names only
    /// ```
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.name() == name)
    }

    /// The pinned heading id of the field's section in the book.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// // 0.11.0's counter and the later field share a section.
    /// assert_eq!(Field::NumSuccessfulTransfersCounter.anchor(), Field::NumSuccessfulTransfers.anchor());
    /// ```
    pub const fn anchor(self) -> &'static str {
        match self {
            Field::NumSuccessfulTransfersCounter | Field::NumSuccessfulTransfers => {
                "num-successful-transfers"
            }
            Field::AvgXferTimeMs => "avg-xfer-time-ms",
            Field::P90XferTimeMs => "p90-xfer-time-ms",
            Field::AvgPostTimeMs => "avg-post-time-ms",
            Field::P90PostTimeMs => "p90-post-time-ms",
            Field::AvgMbPerTransfer => "avg-mb-per-transfer",
            Field::ThroughputMbS => "throughput-mbs",
            Field::AvgNumberOfDescriptors => "avg-number-of-descriptors",
            Field::NumFailedTransfers => "num-failed-transfers",
            Field::NumKvExpiredReqs => "num-kv-expired-reqs",
            Field::NumNotifsAfterExpiry => "num-notifs-after-expiry",
        }
    }

    /// The unit of the printed value. "MB" in vLLM's names is MiB (2²⁰ bytes).
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// assert_eq!(Field::AvgMbPerTransfer.unit(), "MiB");
    /// assert_eq!(Field::P90PostTimeMs.unit(), "ms");
    /// ```
    pub const fn unit(self) -> &'static str {
        match self {
            Field::AvgXferTimeMs
            | Field::P90XferTimeMs
            | Field::AvgPostTimeMs
            | Field::P90PostTimeMs => "ms",
            Field::AvgMbPerTransfer => "MiB",
            Field::ThroughputMbS => "MiB/s",
            Field::AvgNumberOfDescriptors => "descriptors",
            _ => "count",
        }
    }

    /// Digits after the decimal point vLLM rounds the field to (None: an integer).
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// assert_eq!(Field::AvgNumberOfDescriptors.digits(), Some(1));
    /// assert_eq!(Field::NumFailedTransfers.digits(), None);
    /// ```
    pub const fn digits(self) -> Option<usize> {
        match self {
            Field::AvgXferTimeMs
            | Field::P90XferTimeMs
            | Field::AvgPostTimeMs
            | Field::P90PostTimeMs
            | Field::AvgMbPerTransfer
            | Field::ThroughputMbS => Some(3),
            Field::AvgNumberOfDescriptors => Some(1),
            _ => None,
        }
    }

    /// The exact formula, over the pooled samples of one logging interval
    /// (`n` successful transfers; `xfer`, `post` in seconds).
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// assert_eq!(Field::ThroughputMbS.formula(), "round(Σ(bytes / 2²⁰) / Σxfer, 3)");
    /// ```
    pub const fn formula(self) -> &'static str {
        match self {
            Field::NumSuccessfulTransfersCounter => "sum of the workers' counters",
            Field::NumSuccessfulTransfers => "n = len(transfer_duration)",
            Field::AvgXferTimeMs => "round(mean(xfer) × 1000, 3)",
            Field::P90XferTimeMs => "round(percentile(xfer, 90, linear) × 1000, 3)",
            Field::AvgPostTimeMs => "round(mean(post) × 1000, 3)",
            Field::P90PostTimeMs => "round(percentile(post, 90, linear) × 1000, 3)",
            Field::AvgMbPerTransfer => "round(Σ(bytes / 2²⁰) / n, 3)",
            Field::ThroughputMbS => "round(Σ(bytes / 2²⁰) / Σxfer, 3)",
            Field::AvgNumberOfDescriptors => "round(mean(descriptors as uint32), 1)",
            Field::NumFailedTransfers => {
                "len(failed transfers) + len(failed handshakes) + len(failed notifications)"
            }
            Field::NumKvExpiredReqs => "len(num_kv_expired_reqs)",
            Field::NumNotifsAfterExpiry => "len(num_notifications_after_expiry)",
        }
    }

    /// What one sample behind the field is.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// assert!(Field::AvgXferTimeMs.sample().starts_with("one NIXL transfer handle"));
    /// ```
    pub const fn sample(self) -> &'static str {
        match self {
            Field::NumSuccessfulTransfersCounter
            | Field::NumSuccessfulTransfers
            | Field::AvgXferTimeMs
            | Field::P90XferTimeMs
            | Field::AvgPostTimeMs
            | Field::P90PostTimeMs
            | Field::AvgMbPerTransfer
            | Field::ThroughputMbS
            | Field::AvgNumberOfDescriptors => {
                "one NIXL transfer handle: one request × one reading rank × one remote rank"
            }
            Field::NumFailedTransfers => "one failed transfer, handshake or notification",
            Field::NumKvExpiredReqs => "one expired request on one worker",
            Field::NumNotifsAfterExpiry => "one late notification on one worker",
        }
    }

    /// The families whose line prints the field.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::release::Family;
    /// let families: Vec<Family> = Field::NumKvExpiredReqs.families().collect();
    /// assert_eq!(families, [Family::F5, Family::F6]);
    /// ```
    pub fn families(self) -> impl Iterator<Item = Family> {
        Family::ALL
            .into_iter()
            .filter(move |family| family.fields().contains(&self))
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
