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
//! `Display` prints all of it; the CLI's `explain` command prints exactly that.
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

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::field::Field;
use crate::logs::{Engine, KvRecord, Level, Shape};
use crate::printer::numbers::{percent, ratio, significant, trimmed};
use crate::printer::words::{join_or, ordinal, plural};
use crate::reduce::Value;
use crate::topology::{
    BlockLayout, Deployment, Instance, Mode, ModelGeometry, Parallelism, TopologyError,
};
use crate::views::{Bounded, DEFAULT_INTERVAL, LineReading, Range};

/// The tensor-parallel sizes of the two instances.
///
/// ```
/// use nixl_kv_metrics::explain::TpSizes;
/// let tp = TpSizes { prefill: 4, decode: 2 };
/// assert!(tp.prefill > tp.decode);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TpSizes {
    /// Prefill TP (`--tensor-parallel-size` of the prefill instance).
    pub prefill: u32,
    /// Decode TP.
    pub decode: u32,
}

/// What is known about the deployment that printed a line, and the logging
/// interval.
///
/// The TP sizes may be unknown ([`Context::unknown`]); the mode defaults to
/// pull (vLLM's default `NixlConnector`), the model to standard attention,
/// the interval to vLLM's 10 s. Pipeline parallelism is taken to be 1: with
/// `PP` stages every count below is `PP` times larger.
///
/// ```
/// use nixl_kv_metrics::explain::{Context, TpSizes};
/// use nixl_kv_metrics::topology::{Mode, TopologyError};
/// use std::time::Duration;
///
/// let context = Context::hetero(4, 2)?.with_mode(Mode::Push).with_interval(Duration::from_secs(5));
/// assert_eq!(context.tp_sizes(), Some(TpSizes { prefill: 4, decode: 2 }));
/// assert_eq!(context.mode(), Mode::Push);
/// assert_eq!(Context::hetero(2, 3), Err(TopologyError::TpRatio { prefill: 2, decode: 3 }));
/// assert_eq!(Context::tp(0), Err(TopologyError::Zero("prefill TP")));
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Context {
    tp: Option<TpSizes>,
    mode: Mode,
    mla: bool,
    interval: Duration,
}

impl Default for Context {
    fn default() -> Context {
        Context::unknown()
    }
}

impl Context {
    /// TP unknown, pull mode, standard attention, a 10 s interval.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::unknown().tp_sizes(), None);
    /// assert_eq!(Context::unknown().interval().as_secs(), 10);
    /// ```
    pub const fn unknown() -> Context {
        Context {
            tp: None,
            mode: Mode::Pull,
            mla: false,
            interval: DEFAULT_INTERVAL,
        }
    }

    /// Prefill and decode at the same TP.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::tp(2)?.transfers_per_request(), Some(2));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn tp(tp: u32) -> Result<Context, TopologyError> {
        Context::hetero(tp, tp)
    }

    /// Prefill at TP `prefill`, decode at TP `decode`; the smaller must
    /// divide the larger, as vLLM requires.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// // Each decode rank READs from two prefill ranks.
    /// assert_eq!(Context::hetero(4, 2)?.transfers_per_request(), Some(4));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn hetero(prefill: u32, decode: u32) -> Result<Context, TopologyError> {
        let context = Context {
            tp: Some(TpSizes { prefill, decode }),
            ..Context::unknown()
        };
        context.stand_in()?;
        Ok(context)
    }

    /// The same context in `mode`.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::topology::Mode;
    /// // Push: each of the 2 prefill ranks WRITEs to its 2 decode ranks.
    /// assert_eq!(Context::hetero(2, 4)?.with_mode(Mode::Push).transfers_per_request(), Some(4));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub const fn with_mode(self, mode: Mode) -> Context {
        Context { mode, ..self }
    }

    /// The same context for an MLA model (`true`) or standard attention.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// // MLA: one READ per decode rank, however many prefill ranks.
    /// assert_eq!(Context::hetero(8, 2)?.with_mla(true).transfers_per_request(), Some(2));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub const fn with_mla(self, mla: bool) -> Context {
        Context { mla, ..self }
    }

    /// The same context with another logging interval
    /// (`VLLM_LOG_STATS_INTERVAL`). A zero interval makes every per-second
    /// figure infinite.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use std::time::Duration;
    /// assert_eq!(Context::unknown().with_interval(Duration::from_secs(5)).interval().as_secs(), 5);
    /// ```
    pub const fn with_interval(self, interval: Duration) -> Context {
        Context { interval, ..self }
    }

    /// The TP sizes, if known.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::{Context, TpSizes};
    /// assert_eq!(Context::tp(8)?.tp_sizes(), Some(TpSizes { prefill: 8, decode: 8 }));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub const fn tp_sizes(&self) -> Option<TpSizes> {
        self.tp
    }

    /// Pull or push.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::topology::Mode;
    /// assert_eq!(Context::unknown().mode(), Mode::Pull);
    /// ```
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// True for an MLA model.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert!(Context::unknown().with_mla(true).mla());
    /// ```
    pub const fn mla(&self) -> bool {
        self.mla
    }

    /// The logging interval.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::unknown().interval(), nixl_kv_metrics::views::DEFAULT_INTERVAL);
    /// ```
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// A deployment with these TP sizes and mode, and a model with at least
    /// one KV head per rank (so that no prefill rank is dropped as a
    /// duplicate head): the topology the counts below come from.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// let deployment = Context::hetero(4, 2)?.stand_in()?.unwrap();
    /// assert_eq!((deployment.prefill().tp, deployment.decode().tp), (4, 2));
    /// assert_eq!(Context::unknown().stand_in()?, None);
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn stand_in(&self) -> Result<Option<Deployment>, TopologyError> {
        let Some(tp) = self.tp else {
            return Ok(None);
        };
        let model = if self.mla {
            ModelGeometry::DEEPSEEK_V3
        } else {
            ModelGeometry::attention(1, tp.prefill.max(tp.decode).max(1), 128)
        };
        Deployment::new(
            model,
            Parallelism::tp(tp.prefill),
            Parallelism::tp(tp.decode),
            self.mode,
            BlockLayout::Contiguous,
        )
        .map(Some)
    }

    /// Transfers one request produces, if the TP sizes are known: the
    /// number of transfers [`Deployment::plan`] gives for one request.
    ///
    /// Pull mode: `D_TP` when decode's TP is at least prefill's, and for
    /// MLA; `P_TP` when prefill's is larger (fewer when GQA de-duplication
    /// drops prefill ranks that hold the same KV head, which this does not
    /// assume). Push mode: `P_TP` when prefill's TP is at least decode's,
    /// else `D_TP`.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::hetero(2, 8)?.transfers_per_request(), Some(8));
    /// assert_eq!(Context::unknown().transfers_per_request(), None);
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn transfers_per_request(&self) -> Option<u64> {
        let deployment = self.stand_in().ok()??;
        let block = deployment.model().block_size;
        let plan = deployment.plan(block, 0).ok()?;
        Some(plan.transfers.len() as u64)
    }

    /// The TP of the instance that records the transfers (decode in pull
    /// mode, prefill in push mode), if known.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::topology::Mode;
    /// assert_eq!(Context::hetero(4, 2)?.recording_tp(), Some(2));
    /// assert_eq!(Context::hetero(4, 2)?.with_mode(Mode::Push).recording_tp(), Some(4));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn recording_tp(&self) -> Option<u32> {
        self.tp.map(|tp| match self.mode.recorder() {
            Instance::Prefill => tp.prefill,
            Instance::Decode => tp.decode,
        })
    }

    /// The reading of `record` in this context.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::{Context, Topic};
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// let explanation = Context::tp(2)?.explain(&record);
    /// assert_eq!(explanation.requests(), Some(3.0));
    /// assert!(explanation.reading.is_none()); // 0.11.0: a count and nothing else
    /// assert!(explanation.has(Topic::CounterOnly));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn explain(&self, record: &KvRecord) -> Explanation {
        Explainer::new(*self, record).run()
    }
}

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

/// One caveat that applies to the line.
///
/// ```
/// use nixl_kv_metrics::explain::{Note, Topic};
/// let note = Note { topic: Topic::Debug, text: "logged at DEBUG".to_string() };
/// assert_eq!(note.topic, Topic::Debug);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// What it is about.
    pub topic: Topic,
    /// The caveat, in words.
    pub text: String,
}

/// The reading of one printed field (or, for the all-zero line, of the
/// timing fields together).
///
/// ```
/// use nixl_kv_metrics::explain::FieldNote;
/// use nixl_kv_metrics::field::Field;
/// let note = FieldNote {
///     field: Field::AvgMbPerTransfer,
///     label: "Avg MB per transfer=2.25".to_string(),
///     meaning: "MiB per READ".to_string(),
/// };
/// assert_eq!(note.field, Field::AvgMbPerTransfer);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldNote {
    /// The field (the first of a group).
    pub field: Field,
    /// The field as printed, `Name=value`.
    pub label: String,
    /// What it means here.
    pub meaning: String,
}

/// One derived number: a label, its value with bounds, and how it is
/// derived.
///
/// ```
/// use nixl_kv_metrics::explain::Derived;
/// let row = Derived { label: "MiB moved", value: "9.000".to_string(), how: "n × Avg MB".to_string() };
/// assert_eq!(row.label, "MiB moved");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    /// What it is.
    pub label: &'static str,
    /// The value, with `[min, max]` bounds where rounding leaves any.
    pub value: String,
    /// How it follows from the line.
    pub how: String,
}

/// A KV line explained for a [`Context`]; `Display` prints it in full.
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
    pub transfers: u64,
    /// Transfers per request, when the TP sizes are known.
    pub per_request: Option<u64>,
    /// The derived numbers with their bounds; `None` for 0.11.0's counter.
    pub reading: Option<LineReading>,
    /// A reading of every printed field, in the line's order.
    pub fields: Vec<FieldNote>,
    /// Derived numbers, for printing.
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
    pub fn candidates(&self) -> Vec<(u32, u64)> {
        if self.transfers == 0 {
            return Vec::new();
        }
        [1u32, 2, 4, 8]
            .into_iter()
            .filter(|&tp| self.transfers.is_multiple_of(u64::from(tp)))
            .map(|tp| (tp, self.transfers / u64::from(tp)))
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
        let workers = self.context.stand_in().ok()??.expiry_records_per_request();
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

/// Text width of [`Explanation`]'s `Display`.
const WIDTH: usize = 80;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = &self.record;
        let families = record.families();
        let mut heading = format!(
            "line {}: engine {}, {} ({families}: vLLM {})",
            record.line,
            record.engine,
            plural(record.fields.len() as u64, "field"),
            families.releases()
        );
        if let Some(timestamp) = &record.timestamp {
            write!(heading, ", {timestamp}")?;
        }
        if let Some(level) = record.level {
            write!(heading, ", {}", level.as_str())?;
        }
        writeln!(f, "{heading}")?;
        for line in deployment_line(&self.context).lines() {
            wrap(f, "", "  ", line)?;
        }
        if let Some(per_request) = per_request_line(&self.context) {
            wrap(f, "", "  ", &per_request)?;
        }
        f.write_str("\nfields\n")?;
        for note in &self.fields {
            writeln!(f, "  {}", note.label)?;
            wrap(f, "      ", "      ", &note.meaning)?;
        }
        if !self.derived.is_empty() {
            f.write_str("\nderived (in brackets: the bounds the printed rounding leaves)\n")?;
            let label = self
                .derived
                .iter()
                .map(|d| d.label.len())
                .max()
                .unwrap_or(0);
            for row in &self.derived {
                writeln!(f, "  {:<label$}  {}", row.label, row.value)?;
                wrap(f, "      ", "      ", &row.how)?;
            }
        }
        if !self.notes.is_empty() {
            f.write_str("\nnotes\n")?;
            for note in &self.notes {
                wrap(f, "  * ", "    ", &note.text)?;
            }
        }
        Ok(())
    }
}

/// `deployment: …`: what the context says.
fn deployment_line(context: &Context) -> String {
    let mode = match context.mode {
        Mode::Pull => "pull (decode READs)",
        Mode::Push => "push (prefill WRITEs)",
    };
    let tp = match context.tp {
        Some(tp) if tp.prefill == tp.decode => format!("TP {} on both instances", tp.decode),
        Some(tp) => format!("prefill TP {}, decode TP {}", tp.prefill, tp.decode),
        None => "TP unknown".to_string(),
    };
    let attention = if context.mla {
        "MLA model"
    } else {
        "standard attention"
    };
    format!(
        "deployment: {tp}, {mode}, {attention}\ninterval: {} s (VLLM_LOG_STATS_INTERVAL)",
        seconds(context.interval)
    )
}

/// `per request: …`, when the TP sizes are known.
fn per_request_line(context: &Context) -> Option<String> {
    let k = context.transfers_per_request()?;
    let verb = context.mode.operation();
    Some(format!(
        "per request: {}, {}",
        plural(k, verb),
        per_request_reason(context)?
    ))
}

/// Why a request takes the transfers it does.
fn per_request_reason(context: &Context) -> Option<String> {
    let TpSizes { prefill, decode } = context.tp?;
    Some(match (context.mode, context.mla) {
        (Mode::Pull, true) if prefill > decode => format!(
            "one per decode rank: MLA keeps the whole latent on every rank, so each of the \
             {decode} decode ranks READs one prefill rank and only notifies the other {}",
            match prefill / decode - 1 {
                1 => "one".to_string(),
                others => others.to_string(),
            }
        ),
        (Mode::Pull, _) if decode == prefill => {
            format!("one per decode rank (decode TP {decode} = prefill TP {prefill})")
        }
        (Mode::Pull, true) => format!(
            "one per decode rank (decode TP {decode} > prefill TP {prefill}; MLA: each READs \
             the whole latent)"
        ),
        (Mode::Pull, false) if decode > prefill => format!(
            "one per decode rank (decode TP {decode} > prefill TP {prefill}): each READs its \
             own head slice from one prefill rank"
        ),
        (Mode::Pull, false) => format!(
            "each of the {decode} decode ranks READs from {} prefill ranks (prefill TP \
             {prefill} > decode TP {decode}); fewer if prefill ranks holding the same KV head \
             are skipped (GQA de-duplication)",
            prefill / decode
        ),
        (Mode::Push, _) if prefill >= decode => {
            format!("one per prefill rank (prefill TP {prefill} ≥ decode TP {decode})")
        }
        (Mode::Push, _) => format!(
            "each of the {prefill} prefill ranks WRITEs to {} decode ranks (decode TP {decode} \
             > prefill TP {prefill})",
            decode / prefill
        ),
    })
}

/// Builds an [`Explanation`].
struct Explainer<'a> {
    context: Context,
    record: &'a KvRecord,
    reading: Option<LineReading>,
    n: u64,
    per_request: Option<u64>,
    /// `READ` or `WRITE`.
    verb: &'static str,
    /// `decode` or `prefill`: the instance that records transfers.
    recorder: Instance,
}

impl<'a> Explainer<'a> {
    fn new(context: Context, record: &'a KvRecord) -> Explainer<'a> {
        Explainer {
            context,
            record,
            reading: LineReading::new(record, context.interval),
            n: record.transfers(),
            per_request: context.transfers_per_request(),
            verb: context.mode.operation(),
            recorder: context.mode.recorder(),
        }
    }

    fn run(self) -> Explanation {
        let fields = self.fields();
        let derived = self.derived();
        let notes = self.notes();
        Explanation {
            record: self.record.clone(),
            context: self.context,
            transfers: self.n,
            per_request: self.per_request,
            reading: self.reading,
            fields,
            derived,
            notes,
        }
    }

    /// `4 READs`.
    fn transfers(&self, n: u64) -> String {
        plural(n, self.verb)
    }

    /// The recording ranks: `the 2 decode ranks of this engine`.
    fn ranks(&self) -> String {
        let ranks = match self.context.recording_tp() {
            Some(1) => format!("the single {} rank", self.recorder),
            Some(tp) => format!("the {tp} {} ranks", self.recorder),
            None => format!("every {} rank", self.recorder),
        };
        match self.record.engine {
            Engine::Aggregated(engines) => format!("{ranks} of each of its {engines} engines"),
            _ => format!("{ranks} of this engine"),
        }
    }

    fn fields(&self) -> Vec<FieldNote> {
        let record = self.record;
        let label = |field: Field| {
            let text = record.text(field).unwrap_or_default();
            format!("{}={text}", field.name())
        };
        let note = |field: Field, meaning: String| FieldNote {
            field,
            label: label(field),
            meaning,
        };
        let mut notes = vec![note(record.fields[0].field, self.count_meaning())];
        let Some(reading) = &self.reading else {
            return notes;
        };
        if record.is_zero() {
            let timing: Vec<&str> = record.fields[1..]
                .iter()
                .filter(|p| p.field <= Field::AvgNumberOfDescriptors)
                .map(|p| p.field.name())
                .collect();
            notes.push(FieldNote {
                field: Field::AvgXferTimeMs,
                label: format!("{} … {}=0", timing[0], timing[timing.len() - 1]),
                meaning: "The integer 0, vLLM's zero path: nothing succeeded, so nothing was \
                          timed or sized. These are not measurements of fast or empty \
                          transfers."
                    .to_string(),
            });
        } else {
            let n = self.n;
            let verb = self.verb;
            notes.push(note(
                Field::AvgXferTimeMs,
                format!(
                    "The mean time of one {verb}, from the start of its post to the first \
                     poll that saw it complete: post time and up to one engine step of \
                     polling delay are included. The {} took {:.3} ms in all.",
                    self.transfers(n),
                    reading.sums.xfer_ms.value
                ),
            ));
            notes.push(note(
                Field::P90XferTimeMs,
                self.p90_meaning("durations", true),
            ));
            notes.push(note(
                Field::AvgPostTimeMs,
                format!(
                    "The mean time to hand one {verb} to the NIXL backend; it is part of the \
                     xfer time. {:.3} ms in all, {} of the xfer time.",
                    reading.sums.post_ms.value,
                    percent(reading.avg_post_ms.value, reading.avg_xfer_ms.value)
                ),
            ));
            notes.push(note(
                Field::P90PostTimeMs,
                self.p90_meaning("post times", false),
            ));
            notes.push(note(Field::AvgMbPerTransfer, self.mib_meaning(reading)));
            notes.push(note(Field::ThroughputMbS, self.throughput_meaning(reading)));
            notes.push(note(
                Field::AvgNumberOfDescriptors,
                format!(
                    "NIXL descriptors per {verb}, counted after NIXL merged runs that are \
                     contiguous on both sides: about one per {} when a request's blocks are \
                     contiguous, up to that times the blocks read when they are scattered{}. \
                     {} in all.",
                    if self.context.mla {
                        "layer (MLA: one latent region per layer)"
                    } else {
                        "K or V region (2 per layer)"
                    },
                    if self.head_sliced() {
                        " or, as here, head slices of blocks (prefill and decode hold \
                         different heads per rank), which never merge across blocks"
                    } else {
                        ""
                    },
                    trimmed(reading.sums.descriptors.value, 3)
                ),
            ));
        }
        for printed in &record.fields {
            let meaning = match printed.field {
                Field::NumFailedTransfers => self.failures_meaning(),
                Field::NumKvExpiredReqs => self.expiry_meaning(),
                Field::NumNotifsAfterExpiry => format!(
                    "Notifications from decode that reached prefill after prefill had \
                     already expired the request and released its blocks (0.32 on); \
                     counted on prefill, per prefill worker: {}.",
                    printed.value
                ),
                _ => continue,
            };
            notes.push(note(printed.field, meaning));
        }
        notes
    }

    /// True when descriptors are head slices (standard attention, prefill
    /// and decode at different TP).
    fn head_sliced(&self) -> bool {
        !self.context.mla && self.context.tp.is_some_and(|tp| tp.prefill != tp.decode)
    }

    fn count_meaning(&self) -> String {
        let n = self.n;
        if n == 0 {
            return "No transfer succeeded in this interval.".to_string();
        }
        let pooled = format!(
            "{} completed in this interval, pooled over {} and every engine step since the \
             previous line: rank-level transfers, not requests.",
            self.transfers(n),
            self.ranks()
        );
        let requests = match self.per_request {
            Some(k) => {
                let r = n as f64 / k as f64;
                if n.is_multiple_of(k) {
                    format!(
                        " At {} per request that is {}.",
                        self.transfers(k),
                        plural(n / k, "request")
                    )
                } else {
                    format!(
                        " At {} per request that is {} requests: not a whole number (see the \
                         notes).",
                        self.transfers(k),
                        ratio(r)
                    )
                }
            }
            None => {
                let readings: Vec<String> = [1u64, 2, 4, 8]
                    .into_iter()
                    .filter(|&tp| n.is_multiple_of(tp))
                    .map(|tp| format!("{} at TP {tp}", plural(n / tp, "request")))
                    .collect();
                format!(
                    " A request takes one {} per decode rank (more when prefill's TP is \
                     larger), so with the same TP on both instances this is {}.",
                    self.verb,
                    join_or(&readings)
                )
            }
        };
        pooled + &requests
    }

    fn p90_meaning(&self, what: &str, per_request: bool) -> String {
        let n = self.n;
        let h = 0.9 * (n.saturating_sub(1)) as f64;
        let low = h.floor() as u64;
        let frac = ((h - h.floor()) * 100.0).round();
        let position = if n == 1 {
            "With one sample it is that sample.".to_string()
        } else if frac == 0.0 {
            format!("With {n} samples it is the {} smallest.", ordinal(low + 1))
        } else {
            format!(
                "With {n} samples it lies {frac:.0} % of the way from the {} to the {} \
                 smallest.",
                ordinal(low + 1),
                ordinal(low + 2)
            )
        };
        let request = match (per_request, self.per_request) {
            (false, _) | (true, Some(1)) => String::new(),
            (true, Some(k)) => format!(
                " A request waits for the slowest of its {}, and that one is a single sample \
                 here.",
                self.transfers(k)
            ),
            (true, None) => " A request waits for the slowest of its transfers, one sample \
                             among the pooled ones."
                .to_string(),
        };
        format!(
            "numpy's linear 90th percentile of the {n} {} {what} pooled from {}: \
             rank-level, not per request. {position}{request}",
            self.verb,
            self.ranks()
        )
    }

    fn mib_meaning(&self, reading: &LineReading) -> String {
        let verb = self.verb;
        let m = reading.avg_mib.value;
        let slice = match (self.context.tp, self.context.mode, self.context.mla) {
            (None, _, true) => "here the whole latent of the blocks moved (MLA replicates it on \
                                every rank, so a request's KV is about this at any TP, sent once \
                                per transfer)"
                .to_string(),
            (None, _, false) => {
                "one rank's share of a request's KV cache (the whole request only at TP 1)"
                    .to_string()
            }
            (Some(_), _, true) => "here the whole latent of the blocks moved (MLA replicates it \
                                   on every rank, so each transfer of a request carries the same \
                                   bytes)"
                .to_string(),
            (Some(tp), _, false) if tp.prefill == 1 && tp.decode == 1 => {
                "the whole request's KV cache for the blocks moved (TP 1: one transfer per \
                 request)"
                    .to_string()
            }
            (Some(tp), Mode::Pull, false) if tp.prefill > tp.decode => format!(
                "a 1/{} share of one decode rank's slice of a request's KV cache (each decode \
                 rank gets its heads from {} prefill ranks)",
                tp.prefill / tp.decode,
                tp.prefill / tp.decode
            ),
            (Some(tp), Mode::Push, false) if tp.decode > tp.prefill => format!(
                "a 1/{} share of one prefill rank's slice of a request's KV cache (each prefill \
                 rank sends its heads to {} decode ranks)",
                tp.decode / tp.prefill,
                tp.decode / tp.prefill
            ),
            (Some(tp), _, false) => format!(
                "one {} rank's slice of a request's KV cache (the 1/{} of the KV heads it \
                 holds, every layer, every block moved)",
                self.recorder,
                tp.prefill.max(tp.decode)
            ),
        };
        let request = match self.per_request {
            Some(k) => format!(
                " A request moved about {} MiB × {k} = {} MiB{}",
                trimmed(m, 3),
                trimmed(m * k as f64, 3),
                if self.context.mla && k > 1 {
                    " (the same latent, once per transfer)."
                } else {
                    "."
                }
            ),
            None if self.context.mla => String::new(),
            None => format!(
                " A request moved about {} MiB × its transfers per request: {} MiB at TP 1, {} \
                 at TP 2, {} at TP 4.",
                trimmed(m, 3),
                trimmed(m, 3),
                trimmed(2.0 * m, 3),
                trimmed(4.0 * m, 3)
            ),
        };
        format!(
            "MiB (2^20 bytes) per {verb}, {slice}.{request} The {} moved {} MiB in all.",
            self.transfers(self.n),
            trimmed(reading.sums.total_mib.value, 3)
        )
    }

    fn throughput_meaning(&self, reading: &LineReading) -> String {
        let verb = self.verb;
        let t = reading.throughput_mib_s.value;
        if t.is_nan() {
            return format!(
                "nan: no bytes over no time. Every {verb} of the interval reported 0 bytes and \
                 0 µs (see the notes)."
            );
        }
        if t.is_infinite() {
            return format!(
                "inf: the {} moved {} MiB, but NIXL reported 0 µs for every one of them, and \
                 vLLM divides by the summed time without a guard (see the notes).",
                self.transfers(self.n),
                trimmed(reading.sums.total_mib.value, 3)
            );
        }
        let overlap = match self.context.recording_tp() {
            Some(1) | None => "several requests in flight".to_string(),
            Some(tp) => format!("the {tp} {} ranks at once, several requests in flight", {
                self.recorder
            }),
        };
        format!(
            "MiB over the summed {verb} time ({} MiB / {:.3} ms), the same as Avg MB / Avg \
             xfer time: a per-{verb} rate weighted by duration, not bandwidth. {verb}s that \
             overlap ({overlap}) each count their whole duration, so it falls as concurrency \
             grows. Over the {} s interval the engine moved {:.d$} MiB/s.",
            trimmed(reading.sums.total_mib.value, 3),
            reading.sums.xfer_ms.value,
            seconds(self.context.interval),
            reading.window_mib_s,
            d = significant(reading.window_mib_s.value)
        )
    }

    fn failures_meaning(&self) -> String {
        let value = self
            .record
            .get(Field::NumFailedTransfers)
            .map_or_else(String::new, |value| value.to_string());
        let issuer = match self.context.mode {
            Mode::Pull => "decode, which issues the READs and the handshakes",
            Mode::Push => "prefill, which issues the WRITEs",
        };
        let per_handle = match self.per_request {
            Some(k) if k > 1 => {
                format!(" A request whose {} all fail adds {k}.", self.transfers(k))
            }
            _ => String::new(),
        };
        format!(
            "Failed transfers, failed handshakes and failed notifications together (0.31 on): \
             {value}. Each is counted by the worker that saw it, per handle, mostly on \
             {issuer}.{per_handle}"
        )
    }

    fn expiry_meaning(&self) -> String {
        let expired = match self.record.get(Field::NumKvExpiredReqs) {
            Some(Value::Int(e)) => e,
            _ => 0,
        };
        let per_worker = match self.context.tp {
            Some(tp) if tp.prefill > 1 => {
                let p = u128::from(tp.prefill);
                if expired % p == 0 {
                    format!(
                        " At prefill TP {p}, {expired} is {}.",
                        plural((expired / p) as u64, "request")
                    )
                } else {
                    format!(
                        " At prefill TP {p}, {expired} is not a multiple of {p}: some workers \
                         expired a request in another interval (or PP > 1)."
                    )
                }
            }
            Some(_) => " At prefill TP 1 each expired request counts once.".to_string(),
            None => " Divide by prefill TP × PP for requests.".to_string(),
        };
        format!(
            "Requests whose KV lease ran out before decode read them: {expired}. Counted on \
             prefill, once by every prefill worker holding the request.{per_worker}"
        )
    }

    fn derived(&self) -> Vec<Derived> {
        let mut rows = Vec::new();
        let n = self.n;
        let verb = self.verb;
        if n > 0 {
            match self.per_request {
                Some(k) => rows.push(Derived {
                    label: "requests",
                    value: ratio(n as f64 / k as f64),
                    how: format!("{} / {k} per request", self.transfers(n)),
                }),
                None => rows.push(Derived {
                    label: "requests",
                    value: "TP unknown".to_string(),
                    how: format!("{} / transfers per request", self.transfers(n)),
                }),
            }
        }
        let Some(reading) = self.reading.as_ref().filter(|_| n > 0) else {
            return rows;
        };
        let interval = seconds(self.context.interval);
        rows.push(Derived {
            label: "MiB moved",
            value: format!("{:.3}", reading.sums.total_mib),
            how: format!("{n} × Avg MB per transfer"),
        });
        if let Some(k) = self.per_request {
            rows.push(Derived {
                label: "MiB per request",
                value: format!("{:.3}", reading.avg_mib.scale(k as f64)),
                how: format!("Avg MB per transfer × {k}"),
            });
        }
        rows.push(Derived {
            label: "xfer time, summed (ms)",
            value: format!("{:.3}", reading.sums.xfer_ms),
            how: format!("{n} × Avg xfer time"),
        });
        rows.push(Derived {
            label: "post time, summed (ms)",
            value: format!("{:.3}", reading.sums.post_ms),
            how: format!("{n} × Avg post time"),
        });
        rows.push(Derived {
            label: "in flight, average",
            value: three_digits(reading.concurrency),
            how: format!(
                "{verb}s in flight over the {interval} s interval: summed xfer time / \
                 interval (Little's law: {n} per {interval} s × Avg xfer time)"
            ),
        });
        rows.push(Derived {
            label: "MiB/s over the interval",
            value: three_digits(reading.window_mib_s),
            how: format!(
                "MiB moved / {interval} s: the wall-clock rate, idle time included; \
                 = Throughput × in flight"
            ),
        });
        if let Some(busy) = reading.busy {
            rows.push(Derived {
                label: "MiB/s while busy",
                value: range(busy.mib_s),
                how: format!(
                    "while at least one {verb} was in flight: at least Throughput (as if \
                     they ran one at a time), at most MiB moved / the longest {verb} (which \
                     lasted at least the P90 and the average)"
                ),
            });
            rows.push(Derived {
                label: "in flight while busy",
                value: range(busy.concurrency),
                how: format!(
                    "at least 1, at most summed xfer time / the longest {verb} (and at most \
                     {n})"
                ),
            });
        }
        rows
    }

    fn notes(&self) -> Vec<Note> {
        let mut notes = Vec::new();
        let mut add = |topic: Topic, text: String| notes.push(Note { topic, text });
        let record = self.record;
        let n = self.n;
        let verb = self.verb;
        add(Topic::Instance, self.instance_note());
        if self.context.tp.is_none() {
            add(
                Topic::TpUnknown,
                "TP unknown: the counts are rank-level transfers, and turning them into \
                 requests and request sizes needs the TP sizes of both instances."
                    .to_string(),
            );
        }
        if let Some(k) = self.per_request.filter(|k| !n.is_multiple_of(*k)) {
            add(
                Topic::NotWhole,
                format!(
                    "{} is not a multiple of {k} per request. A request's {verb}s can complete \
                     on either side of a log call (a slow rank's lands in the next line); a \
                     failed {verb} is counted as a failure instead; or the TP sizes differ \
                     from those assumed.",
                    self.transfers(n)
                ),
            );
        }
        if record.shape == Shape::Counter {
            add(
                Topic::CounterOnly,
                "vLLM 0.11.0 counts successful transfers and prints nothing else: no \
                 telemetry, no sizes, no failures."
                    .to_string(),
            );
        }
        if n > 0 && self.reading.is_some() {
            add(
                Topic::PooledP90,
                format!(
                    "The P90s are over rank-level samples pooled from {} and every step of \
                     the interval. They are not per-request latencies, and the P90s of \
                     several lines cannot be combined into one (summarize gives the bound \
                     they allow).",
                    self.ranks()
                ),
            );
            add(
                Topic::Interval,
                format!(
                    "The per-interval figures assume the line's {verb}s ran within one {} s \
                     interval. The first line after a start or an idle spell covers less \
                     time, so its in-flight and MiB/s figures are then lower bounds; a {verb} \
                     is counted whole in the interval it completes in.",
                    seconds(self.context.interval)
                ),
            );
        }
        if record.is_zero() {
            let eight = record.shape == Shape::Eight;
            add(
                Topic::ZeroLine,
                format!(
                    "An all-zero line is not an idle engine (an idle interval prints no line): \
                     the interval recorded failures or expiries and no successful transfer{}",
                    if eight {
                        ". vLLM 0.15 – 0.30 print no counts, so see which in Prometheus: \
                         vllm:nixl_num_failed_transfers_total, \
                         vllm:nixl_num_kv_expired_reqs_total."
                    } else {
                        "; the counts at the end of the line say which."
                    }
                ),
            );
        }
        if let Some(reading) = &self.reading
            && n > 0
        {
            let t = reading.throughput_mib_s.value;
            if t.is_nan() {
                add(
                    Topic::NotANumber,
                    "Throughput nan: 0 MiB over 0 s. NIXL reported zero bytes and zero \
                     durations, which points at telemetry that is not really captured."
                        .to_string(),
                );
            } else if t.is_infinite() {
                add(
                    Topic::Infinite,
                    "Throughput inf: every transfer reported 0 µs (NIXL's durations are whole \
                     microseconds, and vLLM does not guard the division). Treat the timing \
                     fields as missing."
                        .to_string(),
                );
            }
        }
        if record.shape == Shape::Eight && n > 0 {
            add(
                Topic::NoCounts,
                "vLLM before 0.31 prints no failure or expiry counts: find them in Prometheus \
                 (vllm:nixl_num_failed_transfers_total, vllm:nixl_num_kv_expired_reqs_total)."
                    .to_string(),
            );
        }
        let count = |field| match record.get(field) {
            Some(Value::Int(c)) => c,
            _ => 0,
        };
        if count(Field::NumFailedTransfers) > 0 {
            add(
                Topic::Failures,
                format!(
                    "Failures: {} counted, per handle, by the instance that issued them. \
                     A failed {verb} invalidates the request's blocks; check the log for \
                     \"transfer_failed\" lines, and whether NIXL telemetry is available \
                     (without it, completed transfers have been counted as failures).",
                    count(Field::NumFailedTransfers)
                ),
            );
        }
        if count(Field::NumKvExpiredReqs) > 0 {
            let requests = self
                .context
                .stand_in()
                .ok()
                .flatten()
                .map(|d| d.expiry_records_per_request());
            add(
                Topic::Expiry,
                format!(
                    "Expiry: prefill released KV that decode had not read in time (its lease \
                     ran out). Each prefill worker counts it, so divide by {} for requests; \
                     raising the lease (kv_lease_duration) or fixing a slow or absent decode \
                     are the remedies.",
                    requests.map_or("prefill TP × PP".to_string(), |w| w.to_string())
                ),
            );
        }
        if count(Field::NumNotifsAfterExpiry) > 0 {
            add(
                Topic::NotifsAfterExpiry,
                "Notifications after expiry: decode did read (or tried to) after prefill had \
                 released the blocks; those requests' KV may have been overwritten."
                    .to_string(),
            );
        }
        if record.level == Some(Level::Debug) {
            add(
                Topic::Debug,
                "Logged at DEBUG: vLLM does that when the engine had no prompt or generation \
                 throughput in this interval and the one before; at the default level such \
                 lines are missing from the log."
                    .to_string(),
            );
        }
        if let Engine::Aggregated(engines) = record.engine {
            add(
                Topic::Aggregated,
                format!(
                    "This line pools {engines} data-parallel engines \
                     (--aggregate-engine-logging): its counts are theirs together, and its \
                     in-flight figures cover all of them."
                ),
            );
        }
        if let Some(connector) = &record.connector {
            add(
                Topic::MultiConnector,
                format!(
                    "Read from the {connector} entry of a MultiConnector line; the other \
                     connectors' entries are not explained."
                ),
            );
        }
        notes
    }

    fn instance_note(&self) -> String {
        let record = self.record;
        let count = |field| match record.get(field) {
            Some(Value::Int(c)) => c,
            _ => 0,
        };
        match self.context.mode {
            Mode::Pull if self.n > 0 => "Pull mode: decode issues the READs and records them, \
                                         so this line is from the decode instance's log. \
                                         Prefill records no transfers; it counts expired \
                                         requests, in lines of its own."
                .to_string(),
            Mode::Pull => {
                let (failed, expired) = (
                    count(Field::NumFailedTransfers),
                    count(Field::NumKvExpiredReqs) + count(Field::NumNotifsAfterExpiry),
                );
                let which = match (failed > 0, expired > 0) {
                    (false, true) => {
                        "most likely the prefill instance's log (prefill counts \
                                      expiries and records no transfers)"
                    }
                    (true, false) => {
                        "most likely the decode instance's log (decode issues the \
                                      READs whose failures are counted)"
                    }
                    _ => {
                        "from either instance: decode counts failed READs, prefill counts \
                          expiries"
                    }
                };
                format!("Pull mode: with no transfer, this line is {which}.")
            }
            Mode::Push => "Push mode: prefill issues the WRITEs and records them, and also \
                           counts expiries, so this line is from the prefill instance's log; \
                           decode records no transfers."
                .to_string(),
        }
    }
}

/// Seconds without a needless fraction: `10`, `2.5`.
fn seconds(interval: Duration) -> String {
    trimmed(interval.as_secs_f64(), 3)
}

/// A bounded value to three significant digits, with its bounds where they
/// show at that precision.
fn three_digits(x: Bounded) -> String {
    format!("{x:.d$}", d = significant(x.value))
}

/// A range to three significant digits of its upper end (at least one
/// decimal).
fn range(r: Range) -> String {
    format!("{r:.d$}", d = significant(r.max).max(1))
}

/// True for a unit that must stay on the line of the number before it.
fn is_unit(word: &str) -> bool {
    matches!(
        word.trim_end_matches(['.', ',', ';', ':', ')']),
        "s" | "ms" | "µs" | "MiB" | "MiB/s" | "%"
    )
}

/// Writes `text` wrapped at [`WIDTH`], the first line after `first`, the
/// others after `rest`; a unit is never wrapped away from its number.
fn wrap(f: &mut impl fmt::Write, first: &str, rest: &str, text: &str) -> fmt::Result {
    let mut words: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if is_unit(word) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
    }
    let mut line = String::from(first);
    let mut empty = true;
    for word in &words {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            writeln!(f, "{line}")?;
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(f, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::parse_line;

    const LINE: &str = "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
        P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
        Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0";

    fn record(line: &str) -> KvRecord {
        parse_line(line).unwrap().unwrap()
    }

    #[test]
    fn transfers_per_request_follow_the_topology() {
        let pull = |p, d| Context::hetero(p, d).unwrap();
        for (p, d, k) in [(1, 1, 1), (2, 2, 2), (2, 8, 8), (8, 2, 8), (4, 1, 4)] {
            assert_eq!(pull(p, d).transfers_per_request(), Some(k), "{p} {d}");
            // MLA: always D_TP.
            assert_eq!(
                pull(p, d).with_mla(true).transfers_per_request(),
                Some(u64::from(d))
            );
            // Push: the larger TP.
            let push = pull(p, d).with_mode(Mode::Push);
            assert_eq!(push.transfers_per_request(), Some(u64::from(p.max(d))));
        }
    }

    #[test]
    fn every_field_is_explained_once() {
        for tp in [None, Some(1), Some(2)] {
            let context = tp.map_or(Context::unknown(), |tp| Context::tp(tp).unwrap());
            let explanation = context.explain(&record(LINE));
            let fields: Vec<Field> = explanation.fields.iter().map(|n| n.field).collect();
            assert_eq!(fields, Shape::Eight.fields());
            let text = explanation.to_string();
            assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        }
    }

    #[test]
    fn p90_position() {
        let explanation = Context::tp(2).unwrap().explain(&record(LINE));
        let p90 = &explanation.field(Field::P90XferTimeMs).unwrap().meaning;
        assert!(
            p90.contains("70 % of the way from the 3rd to the 4th smallest"),
            "{p90}"
        );
    }

    #[test]
    fn not_whole() {
        let line = LINE.replace("transfers=4", "transfers=3");
        let explanation = Context::tp(2).unwrap().explain(&record(&line));
        assert_eq!(explanation.requests(), Some(1.5));
        assert!(explanation.has(Topic::NotWhole));
        let count = &explanation
            .field(Field::NumSuccessfulTransfers)
            .unwrap()
            .meaning;
        assert!(
            count.contains("1.50 requests: not a whole number"),
            "{count}"
        );
    }

    #[test]
    fn infinite_and_nan_throughput() {
        let inf = LINE.replace("1629.549", "inf");
        let explanation = Context::unknown().explain(&record(&inf));
        assert!(explanation.has(Topic::Infinite) && !explanation.has(Topic::NotANumber));
        let nan = LINE.replace("1629.549", "nan");
        let explanation = Context::unknown().explain(&record(&nan));
        assert!(explanation.has(Topic::NotANumber));
        assert!(!explanation.to_string().contains("NaN"));
    }

    #[test]
    fn wrapping() {
        assert_eq!(three_digits(Bounded::exact(0.9)), "0.900");
        let mut out = String::new();
        wrap(&mut out, "* ", "  ", &"word ".repeat(40)).unwrap();
        assert!(out.lines().all(|l| l.len() <= WIDTH));
        assert!(out.lines().skip(1).all(|l| l.starts_with("  word")));
        let mut out = String::new();
        wrap(&mut out, "", "", &format!("{} 10 s.", "x".repeat(75))).unwrap();
        assert_eq!(out, format!("{}\n10 s.\n", "x".repeat(75)));
    }
}
