//! One KV line in plain words, for a given deployment.
//!
//! A `KV Transfer metrics:` line counts rank-level transfers, pooled over
//! every TP rank of an engine and every engine step of the logging interval.
//! What its numbers mean for *requests* depends on the deployment: the TP
//! sizes of the prefill and decode instances, pull or push mode, and whether
//! the model uses multi-head latent attention (MLA). A [`Context`] holds what
//! is known of that, and [`Context::explain`] turns a parsed line
//! ([`KvRecord`]) into an [`Explanation`]:
//!
//! * a reading of every printed field ([`FieldNote`]);
//! * transfers per request, from the [`topology`](crate::topology) model, and
//!   the number of requests the line stands for;
//! * the numbers [`LineReading`] derives with the bounds the printed rounding
//!   leaves ([`Derived`]): MiB moved, summed transfer time, transfers in flight
//!   by Little's law, the interval's MiB/s, and what the rate while busy can be;
//! * the caveats that apply to this line ([`Note`], by [`Topic`]).
//!
//! The explanation is data, words and numbers; [`printer::explanation`]
//! lays it out as text, which is what the CLI's `explain` command prints.
//!
//! [`printer::explanation`]: crate::printer::explanation
//!
//! ```
//! use nixl_kv_metrics::explain::{Context, Topic};
//! use nixl_kv_metrics::field::Field;
//! use nixl_kv_metrics::logs::parse_line;
//!
//! let record = parse_line(
//!     "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
//!      P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
//!      Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0",
//! )?
//! .unwrap();
//!
//! // Decode and prefill at TP = 2, pull mode (the default).
//! let explanation = Context::tp(2)?.explain(&record);
//! assert_eq!(explanation.per_request, Some(2)); // one READ per decode rank
//! assert_eq!(explanation.requests(), Some(2.0)); // 4 READs
//! assert_eq!(explanation.request_mib(), Some(4.5)); // 2.25 MiB × 2
//! assert!(explanation.has(Topic::PooledP90));
//! let count = &explanation.field(Field::NumSuccessfulTransfers).unwrap().meaning;
//! assert!(count.ends_with("At 2 READs per request that is 2 requests."));
//!
//! // Not knowing the TP, the same line reads as 4, 2 or 1 requests.
//! let unknown = Context::unknown().explain(&record);
//! assert_eq!(unknown.requests(), None);
//! assert_eq!(unknown.candidates(), vec![(1, 4), (2, 2), (4, 1)]);
//! assert!(unknown.has(Topic::TpUnknown));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod caveats;
mod context;
mod prose;

pub use context::{Context, TpSizes};

use crate::field::Field;
use crate::logs::KvRecord;
use crate::views::{Bounded, LineReading, Range};

/// The line of vLLM issue #41230, which the unit tests explain.
#[cfg(test)]
pub(crate) const ISSUE_LINE: &str = "KV Transfer metrics: Num successful transfers=4, \
    Avg xfer time (ms)=1.381, P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, \
    P90 post time (ms)=0.801, Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, \
    Avg number of descriptors=72.0";

/// What a caveat is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Which instance's log the line can come from (pull or push mode).
    Instance,
    /// The TP sizes are not known: counts cannot be turned into requests.
    TpUnknown,
    /// The count is not a whole number of requests.
    NotWhole,
    /// The P90s are over pooled rank-level samples.
    PooledP90,
    /// The rates assume the transfers ran within one logging interval.
    Interval,
    /// An all-zero line: failures or expiries, no successful transfer.
    ZeroLine,
    /// `Throughput (MB/s)=inf`: the summed transfer time was 0.
    Infinite,
    /// `Throughput (MB/s)=nan`: no bytes over no time.
    NotANumber,
    /// The line has no failure or expiry counts (before 0.31).
    NoCounts,
    /// `Num failed transfers` is above 0.
    Failures,
    /// `Num KV expired reqs` is above 0.
    Expiry,
    /// `Num notifs after expiry` is above 0.
    NotifsAfterExpiry,
    /// 0.11.0's single counter: no telemetry on the line.
    CounterOnly,
    /// Logged at `DEBUG`: the engine was idle.
    Debug,
    /// One line pooling several data-parallel engines.
    Aggregated,
    /// The NIXL entry of a MultiConnector line.
    MultiConnector,
}

/// One caveat that applies to the line: its [`Topic`], and the caveat in
/// words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// What it is about.
    pub topic: Topic,
    /// The caveat, in words.
    pub text: String,
}

/// The reading of one printed field (or, for the all-zero line, of the
/// timing fields together): the field as printed, `Avg MB per transfer=2.25`,
/// and what it means for the deployment, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldNote {
    /// The field (the first of a group).
    pub field: Field,
    /// The field as printed, `Name=value`.
    pub label: String,
    /// What it means here.
    pub meaning: String,
}

/// One derived number: what it is, its value, and how it follows from the
/// line, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    /// What it is.
    pub label: &'static str,
    /// The value.
    pub value: Figure,
    /// How it follows from the line.
    pub how: String,
}

/// The value of a [`Derived`] number, by kind (which says how precisely it
/// is worth printing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Figure {
    /// Requests: transfers over transfers per request, whole or not; `None`
    /// when the TP sizes are unknown.
    Requests(Option<f64>),
    /// A total rebuilt from the printed averages (`n × Avg`), with the
    /// bounds their rounding to 3 decimals leaves.
    Total(Bounded),
    /// An average over the logging interval, with its bounds.
    Average(Bounded),
    /// A quantity known only to lie in a range.
    Between(Range),
}

/// A KV line explained for a [`Context`];
/// [`printer::explanation::Text`](crate::printer::explanation::Text) prints
/// it in full.
///
/// ```
/// use nixl_kv_metrics::explain::{Context, Topic};
/// use nixl_kv_metrics::logs::parse_line;
///
/// let zero = parse_line(
///     "KV Transfer metrics: Num successful transfers=0, Avg xfer time (ms)=0, \
///      P90 xfer time (ms)=0, Avg post time (ms)=0, P90 post time (ms)=0, \
///      Avg MB per transfer=0, Throughput (MB/s)=0, Avg number of descriptors=0, \
///      Num failed transfers=0, Num KV expired reqs=8",
/// )?
/// .unwrap();
/// let explanation = Context::tp(4)?.explain(&zero);
/// assert!(explanation.has(Topic::ZeroLine) && explanation.has(Topic::Expiry));
/// // Counted once per prefill worker: 8 records at prefill TP 4 are 2 requests.
/// assert_eq!(explanation.expired_requests(), Some(2.0));
/// assert!(explanation.note(Topic::Instance).unwrap().text.contains("prefill instance"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The line explained.
    pub record: KvRecord,
    /// The deployment assumed.
    pub context: Context,
    /// `Num successful transfers` (or 0.11.0's counter).
    pub transfers: u128,
    /// Transfers per request, when the TP sizes are known.
    pub per_request: Option<u64>,
    /// Why a request takes that many transfers, in words, when the TP sizes
    /// are known.
    pub why_per_request: Option<String>,
    /// The derived numbers with their bounds; `None` for 0.11.0's counter.
    pub reading: Option<LineReading>,
    /// A reading of every printed field, in the line's order.
    pub fields: Vec<FieldNote>,
    /// The numbers derived from the line, each with how.
    pub derived: Vec<Derived>,
    /// The caveats that apply.
    pub notes: Vec<Note>,
}

impl Explanation {
    /// The requests the line stands for: transfers over transfers per
    /// request (not always whole); `None` when the TP is unknown.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// assert_eq!(Context::tp(4)?.explain(&record).requests(), Some(1.5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn requests(&self) -> Option<f64> {
        self.per_request.map(|k| self.transfers as f64 / k as f64)
    }

    /// What one request moved, in MiB: `Avg MB per transfer` × transfers
    /// per request; `None` when the TP is unknown or the line has no sizes.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// assert_eq!(Context::tp(2)?.explain(&record).request_mib(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_mib(&self) -> Option<f64> {
        let reading = self.reading.as_ref()?;
        let k = self.per_request?;
        (self.transfers > 0).then_some(reading.avg_mib.value * k as f64)
    }

    /// With the TP unknown, and prefill and decode at the same TP: the
    /// readings `(TP, requests)` for TP 1, 2, 4 and 8 that give a whole
    /// number of requests.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// assert_eq!(Context::unknown().explain(&record).candidates(), vec![(1, 6), (2, 3)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn candidates(&self) -> Vec<(u32, u128)> {
        if self.transfers == 0 {
            return Vec::new();
        }
        [1u32, 2, 4, 8]
            .into_iter()
            .filter(|&tp| self.transfers.is_multiple_of(u128::from(tp)))
            .map(|tp| (tp, self.transfers / u128::from(tp)))
            .collect()
    }

    /// Requests expired on prefill: `Num KV expired reqs` over the prefill
    /// workers (each counts every expired request); `None` when the line has
    /// no such field or the TP is unknown.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// assert_eq!(Context::tp(2)?.explain(&record).expired_requests(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expired_requests(&self) -> Option<f64> {
        let expired = self.reading.as_ref()?.sums.kv_expired_reqs?;
        let workers = self.context.expiry_records_per_request()?;
        Some(expired as f64 / workers as f64)
    }

    /// The caveat about `topic`, if it applies.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::{Context, Topic};
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// assert!(Context::tp(2)?.explain(&record).note(Topic::ZeroLine).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn note(&self, topic: Topic) -> Option<&Note> {
        self.notes.iter().find(|note| note.topic == topic)
    }

    /// True when the caveat about `topic` applies.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::{Context, Topic};
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// assert!(Context::tp(2)?.explain(&record).has(Topic::Instance));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has(&self, topic: Topic) -> bool {
        self.note(topic).is_some()
    }

    /// The reading of `field`, if the line prints it (for the all-zero
    /// line, the timing fields share the note of `Avg xfer time (ms)`).
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// let note = Context::tp(2)?.explain(&record).field(Field::NumSuccessfulTransfersCounter).cloned();
    /// assert!(note.unwrap().meaning.starts_with("6 READs completed"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn field(&self, field: Field) -> Option<&FieldNote> {
        self.fields.iter().find(|note| note.field == field)
    }
}
