//! `reduce()`: from pooled stats to the numbers of the log line.
//!
//! [`NixlKvConnectorStats::reduce`] computes, in vLLM's order, every field the
//! family prints, with numpy's arithmetic and the family's rounding; the
//! [`Summary`] it returns prints as the exact message vLLM logs.
//!
//! ```
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::stats::NixlKvConnectorStats;
//! use nixl_kv_metrics::field::Field;
//!
//! // Two TP ranks, two transfers each: 1, 2, 1 and 4 ms, 1 MiB each.
//! let stats = NixlKvConnectorStats::from_transfers(
//!     Family::F4,
//!     vec![0.001, 0.002, 0.001, 0.004],
//!     vec![0.0005; 4],
//!     vec![1 << 20; 4],
//!     vec![72; 4],
//! );
//! let summary = stats.reduce();
//! assert_eq!(summary.float(Field::P90XferTimeMs), Some(3.4));
//! assert_eq!(summary.float(Field::ThroughputMbS), Some(500.0));
//! assert_eq!(
//!     summary.to_string(),
//!     "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=2.0, \
//!      P90 xfer time (ms)=3.4, Avg post time (ms)=0.5, P90 post time (ms)=0.5, \
//!      Avg MB per transfer=1.0, Throughput (MB/s)=500.0, Avg number of descriptors=72.0"
//! );
//! ```

use std::fmt;

use crate::field::Field;
use crate::numpy;
use crate::python::{self, Repr};
use crate::release::{Event, Family, Rounding};
use crate::stats::NixlKvConnectorStats;
use crate::telemetry::MIB;

/// What vLLM logs before the fields.
///
/// ```
/// use nixl_kv_metrics::reduce::LINE_PREFIX;
/// use nixl_kv_metrics::release::Family;
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
/// assert!(NixlKvConnectorStats::new(Family::F6).reduce().to_string().starts_with(LINE_PREFIX));
/// ```
pub const LINE_PREFIX: &str = "KV Transfer metrics: ";

/// One printed value: Python prints an `int` and a `float` differently.
///
/// ```
/// use nixl_kv_metrics::reduce::Value;
/// assert_eq!(Value::Int(0).to_string(), "0");
/// assert_eq!(Value::Float(0.0).to_string(), "0.0");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// An integer: counts, and every field of the all-zero line. Python's
    /// ints have no limit; 128 bits hold any sum of 64-bit counters.
    Int(u128),
    /// A float, printed as Python's `repr`.
    Float(f64),
}

impl Value {
    /// The value as a float (counts converted).
    ///
    /// ```
    /// use nixl_kv_metrics::reduce::Value;
    /// assert_eq!(Value::Int(4).as_f64(), 4.0);
    /// ```
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Int(i) => i as f64,
            Value::Float(x) => x,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{}", Repr(*x)),
        }
    }
}

/// The result of `reduce()`: the family's fields and values, in order.
///
/// `Display` renders vLLM's log message (`KV Transfer metrics: Name=value, …`,
/// without the logger's prefix).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    family: Family,
    values: Vec<(Field, Value)>,
}

impl Summary {
    /// A summary from fields and values, for a line read back from a log.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::reduce::{Summary, Value};
    /// use nixl_kv_metrics::release::Family;
    /// let summary = Summary::from_values(Family::F1, vec![(Field::NumSuccessfulTransfersCounter, Value::Int(2))]);
    /// assert_eq!(summary.to_string(), "KV Transfer metrics: num_successful_transfers=2");
    /// ```
    pub fn from_values(family: Family, values: Vec<(Field, Value)>) -> Summary {
        Summary { family, values }
    }

    /// The family whose line this is.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// assert_eq!(NixlKvConnectorStats::new(Family::F5).reduce().family(), Family::F5);
    /// ```
    pub fn family(&self) -> Family {
        self.family
    }

    /// The fields and values, in the order vLLM prints them.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// let summary = NixlKvConnectorStats::new(Family::F6).reduce();
    /// let fields: Vec<_> = summary.values().iter().map(|(field, _)| *field).collect();
    /// assert_eq!(fields, Family::F6.fields());
    /// ```
    pub fn values(&self) -> &[(Field, Value)] {
        &self.values
    }

    /// The value of `field`, if the line has it.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::reduce::Value;
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// let summary = NixlKvConnectorStats::new(Family::F4).reduce();
    /// assert_eq!(summary.get(Field::ThroughputMbS), Some(Value::Int(0))); // the zero path
    /// assert_eq!(summary.get(Field::NumFailedTransfers), None); // not printed before 0.31
    /// ```
    pub fn get(&self, field: Field) -> Option<Value> {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, value)| *value)
    }

    /// The value of `field` as a float, if the line has it.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    /// let summary = NixlKvConnectorStats::new(Family::F6).reduce();
    /// assert_eq!(summary.float(Field::AvgXferTimeMs), Some(0.0));
    /// assert_eq!(summary.float(Field::NumSuccessfulTransfersCounter), None);
    /// ```
    pub fn float(&self, field: Field) -> Option<f64> {
        self.get(field).map(Value::as_f64)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(LINE_PREFIX)?;
        for (i, (field, value)) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={value}", field.name())?;
        }
        Ok(())
    }
}

impl NixlKvConnectorStats {
    /// vLLM's `reduce()`: the log line's numbers over everything pooled here.
    ///
    /// With no successful transfer, every timing field is the integer `0`
    /// (the "zero path"); counts of failures follow where the family prints
    /// them. Otherwise, over `n` transfers (see [`Field::formula`]): means
    /// and P90s of the durations in ms, average MiB, MiB over *summed* transfer
    /// time, and the mean descriptor count, each rounded the family's way.
    /// No guard on the throughput's denominator: zero transfer time gives
    /// `inf`, or `nan` with zero bytes, as in vLLM.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// use nixl_kv_metrics::stats::NixlKvConnectorStats;
    ///
    /// let mut stats = NixlKvConnectorStats::new(Family::F5);
    /// stats.record(Event::FailedHandshake)?;
    /// stats.record(Event::KvExpiredReq)?;
    /// assert_eq!(
    ///     stats.reduce().to_string(),
    ///     "KV Transfer metrics: Num successful transfers=0, Avg xfer time (ms)=0, \
    ///      P90 xfer time (ms)=0, Avg post time (ms)=0, P90 post time (ms)=0, \
    ///      Avg MB per transfer=0, Throughput (MB/s)=0, Avg number of descriptors=0, \
    ///      Num failed transfers=1, Num KV expired reqs=1"
    /// );
    /// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
    /// ```
    pub fn reduce(&self) -> Summary {
        let family = self.family();
        let n = self.num_successful_transfers();
        let values = family
            .fields()
            .iter()
            .map(|&field| (field, Value::Int(0)))
            .collect();
        let mut summary = Summary { family, values };
        if family == Family::F1 {
            summary.values[0].1 = Value::Int(self.successes_exact());
            return summary;
        }
        if n > 0 {
            self.fill_transfer_fields(&mut summary);
        }
        for (field, value) in summary.values.iter_mut() {
            if let Some(count) = self.failure_count(*field) {
                *value = Value::Int(count.into());
            }
        }
        summary
    }

    /// Computes the eight fields that describe successful transfers.
    fn fill_transfer_fields(&self, summary: &mut Summary) {
        let family = summary.family;
        let n = self.transfer_duration().len();
        let round = |field: Field, x: f64| {
            let digits = field.digits().expect("a float field has digits");
            Value::Float(match family.rounding(field) {
                Rounding::Numpy => numpy::round(x, digits),
                Rounding::Python => python::round(x, digits),
            })
        };
        let p90_ms = |samples: &[f64]| numpy::percentile(samples, 90.0) * 1e3;
        // `(np.asarray(bytes) / 2**20).sum()`: each count as float64 over 2²⁰.
        let total_mib = numpy::sum_map(self.bytes_transferred(), |b| b as f64 / MIB);
        let xfer = self.transfer_duration();
        let post = self.post_duration();
        let computed = [
            (Field::NumSuccessfulTransfers, Value::Int(n as u128)),
            (
                Field::AvgXferTimeMs,
                round(Field::AvgXferTimeMs, numpy::mean(xfer) * 1e3),
            ),
            (
                Field::P90XferTimeMs,
                round(Field::P90XferTimeMs, p90_ms(xfer)),
            ),
            (
                Field::AvgPostTimeMs,
                round(Field::AvgPostTimeMs, numpy::mean(post) * 1e3),
            ),
            (
                Field::P90PostTimeMs,
                round(Field::P90PostTimeMs, p90_ms(post)),
            ),
            (
                Field::AvgMbPerTransfer,
                round(Field::AvgMbPerTransfer, total_mib / n as f64),
            ),
            (
                Field::ThroughputMbS,
                round(Field::ThroughputMbS, total_mib / numpy::sum(xfer)),
            ),
            (
                Field::AvgNumberOfDescriptors,
                round(
                    Field::AvgNumberOfDescriptors,
                    numpy::mean_u32(self.num_descriptors()),
                ),
            ),
        ];
        for (slot, value) in summary.values.iter_mut().zip(computed) {
            debug_assert_eq!(slot.0, value.0);
            *slot = value;
        }
    }

    /// The count a failure field prints, or `None` for other fields.
    fn failure_count(&self, field: Field) -> Option<u64> {
        let count = |event| self.event_count(event);
        match field {
            Field::NumFailedTransfers => Some(
                count(Event::FailedTransfer)
                    + count(Event::FailedHandshake)
                    + count(Event::FailedNotification),
            ),
            Field::NumKvExpiredReqs => Some(count(Event::KvExpiredReq)),
            Field::NumNotifsAfterExpiry => Some(count(Event::NotificationAfterExpiry)),
            _ => None,
        }
    }
}
