//! Numbers derived from KV lines, each with the error bound its rounding
//! leaves: per line ([`LineReading`]) and over a run ([`Run`], [`Totals`]).
//!
//! vLLM rounds every average to 3 decimals (descriptors to 1) before
//! printing it, so a printed `Avg MB per transfer=2.25` stands for any value
//! in [2.2495, 2.2505], and the total it implies over `n` transfers for any
//! value in `n ×` that. Every derived number here is a [`Bounded`]: the
//! natural estimate and an interval that certainly holds the value vLLM
//! computed before rounding (interval arithmetic, each step rounded
//! outwards). Only vLLM's printed digits go in; the bounds come only from
//! their rounding.
//!
//! ```
//! use nixl_kv_metrics::logs::parse_line;
//! use nixl_kv_metrics::views::{LineReading, DEFAULT_INTERVAL};
//!
//! let record = parse_line(
//!     "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
//!      P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
//!      Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0",
//! )?
//! .unwrap();
//! let reading = LineReading::new(&record, DEFAULT_INTERVAL).unwrap();
//! assert_eq!(reading.total_mib.value, 9.0);                 // 4 × 2.25 MiB
//! assert_eq!(format!("{:.3}", reading.total_mib), "9.000 [8.998, 9.002]");
//! assert_eq!(format!("{:.3}", reading.xfer_ms), "5.524 [5.522, 5.526]");
//! // 5.524 ms of transfers in a 10 s interval: 0.00055 transfers in flight
//! // on average, and 0.9 MiB/s over the interval.
//! assert_eq!(format!("{:.5}", reading.concurrency.value), "0.00055");
//! assert_eq!(format!("{:.1}", reading.window_mib_s.value), "0.9");
//! # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Add, Div};
use std::time::Duration;

use crate::field::Field;
use crate::logs::{Engine, KvRecord, Level, Shape};
use crate::reduce::Value;

/// vLLM's default logging interval, `VLLM_LOG_STATS_INTERVAL` = 10 s.
///
/// ```
/// use nixl_kv_metrics::views::DEFAULT_INTERVAL;
/// assert_eq!(DEFAULT_INTERVAL.as_secs(), 10);
/// ```
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// A number known within bounds: the estimate `value`, and `min ≤ true ≤
/// max` for the quantity vLLM computed before rounding.
///
/// `Display` prints `value [min, max]` (just `value` when exact), each with
/// the formatter's precision.
///
/// ```
/// use nixl_kv_metrics::views::Bounded;
/// let x = Bounded::new(2.0, 1.5, 2.5);
/// assert_eq!(format!("{x:.1}"), "2.0 [1.5, 2.5]");
/// assert_eq!(Bounded::exact(3.0).to_string(), "3");
/// assert!(x.contains(1.5) && !x.contains(2.6));
/// ```
/// The default is [`Bounded::ZERO`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bounded {
    /// The estimate from the printed digits.
    pub value: f64,
    /// The smallest value consistent with the printed digits.
    pub min: f64,
    /// The largest value consistent with the printed digits.
    pub max: f64,
}

impl Bounded {
    /// Zero, exactly.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::ZERO, Bounded::default());
    /// assert_eq!(Bounded::ZERO.to_string(), "0");
    /// ```
    pub const ZERO: Bounded = Bounded::exact(0.0);

    /// A value with bounds.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::new(1.0, 0.5, 2.0).max, 2.0);
    /// ```
    pub const fn new(value: f64, min: f64, max: f64) -> Bounded {
        Bounded { value, min, max }
    }

    /// A value known exactly.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::exact(4.0).half_width(), 0.0);
    /// ```
    pub const fn exact(value: f64) -> Bounded {
        Bounded {
            value,
            min: value,
            max: value,
        }
    }

    /// What a printed value of `field` stands for: an int exactly (counts,
    /// the zero path's `0`); a float within half a unit of its last rounded
    /// digit (±0.0005 for 3 digits, ±0.05 for the descriptors' 1), widened
    /// by a few units in the last place for numpy's scaled rounding, and not
    /// below 0 (every field is ≥ 0). `inf` stands for anything from
    /// `f64::MAX / 10^digits` up (numpy's scaled rounding overflows there;
    /// a Throughput is `inf` when the summed time was 0); `nan` stays `nan`.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::reduce::Value;
    /// use nixl_kv_metrics::views::Bounded;
    ///
    /// let avg = Bounded::printed(Value::Float(1.381), Field::AvgXferTimeMs);
    /// assert!(avg.contains(1.3805) && avg.contains(1.3815) && !avg.contains(1.3816));
    /// let descriptors = Bounded::printed(Value::Float(72.0), Field::AvgNumberOfDescriptors);
    /// assert!(descriptors.contains(71.95) && !descriptors.contains(71.9));
    /// assert_eq!(Bounded::printed(Value::Int(0), Field::AvgXferTimeMs), Bounded::ZERO);
    /// assert_eq!(Bounded::printed(Value::Float(0.0), Field::AvgMbPerTransfer).min, 0.0);
    /// ```
    pub fn printed(value: Value, field: Field) -> Bounded {
        let x = match value {
            Value::Int(i) => return Bounded::exact(i as f64),
            Value::Float(x) => x,
        };
        let Some(digits) = field.digits() else {
            return Bounded::exact(x);
        };
        if x == f64::INFINITY {
            // numpy's round scales first, so a value above f64::MAX / 10^d
            // overflows to inf; a mean or a sum may also have overflowed.
            return Bounded {
                value: x,
                min: f64::MAX / 10f64.powi(digits as i32) * (1.0 - 1e-12),
                max: x,
            };
        }
        if !x.is_finite() {
            return Bounded::exact(x);
        }
        // Half a unit of the last digit, rounded up, plus 8 ulps of slack.
        let half = (0.5 / 10f64.powi(digits as i32)).next_up();
        let half = up(add(half, x.abs() * 8.0 * f64::EPSILON));
        let min = down(add(x, -half));
        Bounded {
            value: x,
            min: if x >= 0.0 { min.max(0.0) } else { min },
            max: up(add(x, half)),
        }
    }

    /// Half the width of the interval: the "±" of the value when it sits in
    /// the middle.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::new(2.0, 1.0, 3.0).half_width(), 1.0);
    /// ```
    pub fn half_width(&self) -> f64 {
        (self.max - self.min) / 2.0
    }

    /// True when `x` is within the bounds.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert!(Bounded::exact(1.0).contains(1.0));
    /// ```
    pub fn contains(&self, x: f64) -> bool {
        self.min <= x && x <= self.max
    }

    /// Multiplied by `k ≥ 0`.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::new(2.0, 1.0, 3.0).scale(2.0), Bounded::new(4.0, 2.0, 6.0));
    /// ```
    pub fn scale(self, k: f64) -> Bounded {
        Bounded {
            value: self.value * k,
            min: down(mul(self.min, k)),
            max: up(mul(self.max, k)),
        }
    }
}

impl Div for Bounded {
    type Output = Bounded;

    /// The quotient of two quantities ≥ 0: `max` is `∞` when the divisor
    /// may be 0.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// let q = Bounded::new(6.0, 4.0, 8.0) / Bounded::new(2.0, 1.0, 4.0);
    /// assert_eq!(q, Bounded::new(3.0, 1.0, 8.0));
    /// assert_eq!((Bounded::exact(1.0) / Bounded::new(1.0, 0.0, 2.0)).max, f64::INFINITY);
    /// ```
    fn div(self, divisor: Bounded) -> Bounded {
        Bounded {
            value: self.value / divisor.value,
            min: if divisor.max > 0.0 {
                down(quotient(self.min, divisor.max))
            } else {
                f64::INFINITY
            },
            max: if divisor.min > 0.0 {
                up(quotient(self.max, divisor.min))
            } else {
                f64::INFINITY
            },
        }
    }
}

impl Add for Bounded {
    type Output = Bounded;

    /// The sum: bounds add.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// let sum = Bounded::new(1.0, 0.5, 1.5) + Bounded::exact(2.0);
    /// assert_eq!(sum, Bounded::new(3.0, 2.5, 3.5));
    /// ```
    fn add(self, other: Bounded) -> Bounded {
        Bounded {
            value: self.value + other.value,
            min: down(add(self.min, other.min)),
            max: up(add(self.max, other.max)),
        }
    }
}

impl fmt::Display for Bounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |f: &mut fmt::Formatter<'_>, x: f64| match f.precision() {
            Some(p) => write!(f, "{x:.p$}"),
            None => write!(f, "{x}"),
        };
        one(f, self.value)?;
        if self.min != self.max {
            f.write_str(" [")?;
            one(f, self.min)?;
            f.write_str(", ")?;
            one(f, self.max)?;
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// A result of float arithmetic, and on which side of it the exact result
/// lies: it is `result` exactly, or strictly between `result` and the next
/// float in the direction of `error`'s sign.
#[derive(Clone, Copy)]
struct Rounded {
    result: f64,
    error: f64,
}

/// The largest float ≤ the exact result.
fn down(r: Rounded) -> f64 {
    if r.error < 0.0 {
        r.result.next_down()
    } else {
        r.result
    }
}

/// The smallest float ≥ the exact result.
fn up(r: Rounded) -> f64 {
    if r.error > 0.0 {
        r.result.next_up()
    } else {
        r.result
    }
}

/// `a + b` (error by Knuth's TwoSum).
fn add(a: f64, b: f64) -> Rounded {
    let s = a + b;
    if !s.is_finite() {
        return Rounded {
            result: s,
            error: 0.0,
        };
    }
    let b_part = s - a;
    let error = (a - (s - b_part)) + (b - b_part);
    Rounded { result: s, error }
}

/// `a × b` (error by a fused multiply-add).
fn mul(a: f64, b: f64) -> Rounded {
    let p = a * b;
    if !p.is_finite() {
        return Rounded {
            result: p,
            error: 0.0,
        };
    }
    Rounded {
        result: p,
        error: a.mul_add(b, -p),
    }
}

/// `a / b` for `b > 0` (the remainder `a − q·b` by a fused multiply-add has
/// the sign of `a/b − q`).
fn quotient(a: f64, b: f64) -> Rounded {
    let q = a / b;
    if !q.is_finite() {
        return Rounded {
            result: q,
            error: 0.0,
        };
    }
    Rounded {
        result: q,
        error: (-q).mul_add(b, a),
    }
}

/// A range known to hold a quantity, without a best estimate inside it.
///
/// ```
/// use nixl_kv_metrics::views::Range;
/// assert_eq!(format!("{:.1}", Range { min: 1.0, max: 2.25 }), "1.0 – 2.2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The lower bound.
    pub min: f64,
    /// The upper bound.
    pub max: f64,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.p$} – {:.p$}", self.min, self.max),
            None => write!(f, "{} – {}", self.min, self.max),
        }
    }
}

/// What one KV line says once its averages are turned back into totals and
/// set against the logging interval.
///
/// # Totals
///
/// vLLM prints averages over the `n` transfers of the interval; `n ×` each
/// gives the total it averaged, within `n ×` the average's rounding:
/// [`total_mib`](Self::total_mib) (`n × Avg MB`, ± n × 0.0005 MiB),
/// [`xfer_ms`](Self::xfer_ms) (`n × Avg xfer`, the summed transfer time,
/// ± n × 0.0005 ms), [`post_ms`](Self::post_ms), and
/// [`descriptors`](Self::descriptors) (± n × 0.05).
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
    pub transfers: u64,
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
    /// MiB moved: `n × Avg MB`.
    pub total_mib: Bounded,
    /// Summed transfer time in ms: `n × Avg xfer`.
    pub xfer_ms: Bounded,
    /// Summed post time in ms: `n × Avg post`.
    pub post_ms: Bounded,
    /// Descriptors in all: `n × Avg number of descriptors`.
    pub descriptors: Bounded,
    /// Transfers in flight, averaged over the interval: `Σ xfer / I`.
    pub concurrency: Bounded,
    /// MiB/s over the interval: `total / I`.
    pub window_mib_s: Bounded,
    /// Bounds for the time with a transfer in flight (`None` when `n = 0`).
    pub busy: Option<Busy>,
    /// `Num failed transfers`, if printed (0.31 on).
    pub failed_transfers: Option<u64>,
    /// `Num KV expired reqs`, if printed (0.31 on).
    pub kv_expired_reqs: Option<u64>,
    /// `Num notifs after expiry`, if printed (0.32 on).
    pub notifs_after_expiry: Option<u64>,
}

/// Bounds for the time an engine had at least one transfer in flight; see
/// [`LineReading`].
///
/// ```
/// use nixl_kv_metrics::views::{Busy, Range};
/// let busy = Busy {
///     concurrency: Range { min: 1.0, max: 4.0 },
///     mib_s: Range { min: 1629.5, max: 3460.0 },
/// };
/// assert!(busy.concurrency.max <= 4.0);
/// ```
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
            // The parser reads counts of up to 64 bits.
            Some(Value::Int(i)) => u64::try_from(i).ok(),
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
            total_mib,
            xfer_ms,
            post_ms: avg_post_ms.scale(scale),
            descriptors: avg_descriptors.scale(scale),
            concurrency,
            window_mib_s,
            busy,
            failed_transfers: count(Field::NumFailedTransfers),
            kv_expired_reqs: count(Field::NumKvExpiredReqs),
            notifs_after_expiry: count(Field::NumNotifsAfterExpiry),
        })
    }
}

/// What the lines bound about the P90 of a whole run (all the transfers of
/// the lines taken together), which the lines cannot give.
///
/// # The lower bound: the smallest line's P90
///
/// **Theorem.** For multisets `S₁ … S_k` with numpy's default (linear)
/// 90th percentile `Q`, `Q(S₁ ∪ … ∪ S_k) ≥ minᵢ Q(Sᵢ)`.
///
/// *Proof.* Let `m = minᵢ Q(Sᵢ)`, `nᵢ = |Sᵢ|`, `N = Σ nᵢ`, `hᵢ = 0.9(nᵢ−1)`,
/// and `cᵢ` the number of samples of `Sᵢ` below `m`. `Q(Sᵢ)` interpolates
/// between the order statistics of ranks `⌊hᵢ⌋` and `⌈hᵢ⌉` (from 0), so if
/// `cᵢ > ⌈hᵢ⌉` both are below `m`, and so is `Q(Sᵢ)`: impossible. Hence
/// `cᵢ ≤ ⌈hᵢ⌉ = (nᵢ−1) − ⌊(nᵢ−1)/10⌋`. Write `nᵢ − 1 = 10qᵢ + rᵢ` with
/// `0 ≤ rᵢ ≤ 9`. For the union, `H = 0.9(N−1)` and `K = ⌊H⌋ = (N−1) −
/// ⌈(N−1)/10⌉`; the union has `C = Σ cᵢ ≤ N − k − Σ qᵢ` samples below `m`,
/// and since `N − 1 = Σ(10qᵢ + rᵢ) + k − 1 ≤ 10(Σqᵢ + k) − 1`,
/// `⌈(N−1)/10⌉ ≤ Σ qᵢ + k`, so `C ≤ K + 1`.
/// If `C ≤ K`, the order statistic of rank `K` is `≥ m`, and so is the
/// union's P90, which interpolates upwards from it.
/// If `C = K + 1`, every inequality above is tight: each `cᵢ = ⌈hᵢ⌉`, and
/// `Σ(9 − rᵢ) ≤ 8`, so every `rᵢ ≥ 1`, each `hᵢ` has the fraction
/// `fᵢ = (1 + dᵢ)/10` with `dᵢ = 9 − rᵢ`, and `H` the fraction
/// `F = (1 + Σ dⱼ)/10 ≥ fᵢ`. Then each `Sᵢ` has exactly `⌊hᵢ⌋ + 1` samples
/// below `m`, the largest `aᵢ`, and its next order statistic `bᵢ ≥ m`, with
/// `Q(Sᵢ) = aᵢ + fᵢ(bᵢ − aᵢ) ≥ m`. The union's two order statistics are
/// `A = maxᵢ aᵢ` and `B = minᵢ bᵢ = bⱼ`, and its P90 is
/// `A + F(B − A) ≥ aⱼ + F(bⱼ − aⱼ) ≥ aⱼ + fⱼ(bⱼ − aⱼ) = Q(Sⱼ) ≥ m`. ∎
///
/// (numpy computes `h` in floating point; that moves a P90 by a few ulps,
/// far below the printed rounding, which the bound includes.)
///
/// # No upper bound from the P90s
///
/// The largest line's P90 is **not** an upper bound: two lines of samples
/// {0, 10} ms each print P90 = 9.0, and their union {0, 0, 10, 10} has
/// P90 = 10.0 (numpy's linear method sits lower for small `n`). All the lines
/// give above is the largest sample, and no sample exceeds its line's sum:
/// so the run's P90 ≤ maxᵢ(nᵢ × Avgᵢ) — usually far too loose to use. With
/// a single line the run's P90 is that line's.
///
/// ```
/// use nixl_kv_metrics::numpy::percentile;
/// // The counterexample above.
/// assert_eq!(percentile(&[0.0, 10.0], 90.0), 9.0);
/// assert_eq!(percentile(&[0.0, 0.0, 10.0, 10.0], 90.0), 10.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct P90Bounds {
    /// Lines with at least one transfer: the lines that have a P90.
    pub lines: u64,
    /// The smallest printed P90.
    pub smallest_line: f64,
    /// The largest printed P90.
    pub largest_line: f64,
    /// The run's P90 is at least this: the smallest printed P90 less its
    /// rounding.
    pub at_least: f64,
    /// The run's P90 is at most this: with one line, that line's P90 (plus
    /// rounding); with more, [`largest_sample`](Self::largest_sample).
    pub at_most: f64,
    /// No transfer of the lines took longer than this: the largest line
    /// sum `n × Avg` (rounded up), since no sample exceeds its line's sum.
    pub largest_sample: f64,
}

impl P90Bounds {
    /// Bounds from one line's printed P90 and average (with `n > 0`).
    fn line(p90: Bounded, avg: Bounded, n: u64) -> P90Bounds {
        let largest_sample = avg.scale(n as f64).max;
        P90Bounds {
            lines: 1,
            smallest_line: p90.value,
            largest_line: p90.value,
            at_least: p90.min,
            at_most: p90.max.min(largest_sample),
            largest_sample,
        }
    }

    /// The bounds for the union of two sets of lines.
    fn merge(self, other: P90Bounds) -> P90Bounds {
        let largest_sample = self.largest_sample.max(other.largest_sample);
        P90Bounds {
            lines: self.lines + other.lines,
            smallest_line: self.smallest_line.min(other.smallest_line),
            largest_line: self.largest_line.max(other.largest_line),
            at_least: self.at_least.min(other.at_least),
            at_most: largest_sample,
            largest_sample,
        }
    }
}

/// Totals over a set of KV lines (one engine's, or all of a run's).
///
/// Counts and totals add; averages are rebuilt count-weighted
/// (`Avg xfer = Σ(n × avg) / Σ n`, with the same ±0.0005 as one line's);
/// `Throughput` is rebuilt as `Σ MiB / Σ xfer seconds`; the P90s cannot be
/// combined ([`P90Bounds`] says what can be said).
///
/// ```
/// use nixl_kv_metrics::logs::parse_line;
/// use nixl_kv_metrics::views::{Run, DEFAULT_INTERVAL};
///
/// let mut run = Run::new(DEFAULT_INTERVAL);
/// for line in [
///     "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
///      P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
///      Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0",
///     "KV Transfer metrics: Num successful transfers=1, Avg xfer time (ms)=9.862, \
///      P90 xfer time (ms)=9.862, Avg post time (ms)=0.1, P90 post time (ms)=0.1, \
///      Avg MB per transfer=70.0, Throughput (MB/s)=7097.952, Avg number of descriptors=56.0",
/// ] {
///     run.add(&parse_line(line)?.unwrap());
/// }
/// let totals = run.overall();
/// assert_eq!(totals.transfers, 5);
/// assert_eq!(totals.total_mib.value, 79.0);                   // 9 + 70 MiB
/// let avg = totals.avg_xfer_ms().unwrap();                     // (5.524 + 9.862) / 5
/// assert_eq!(format!("{avg:.4}"), "3.0772 [3.0767, 3.0777]");
/// let throughput = totals.throughput_mib_s().unwrap();         // 79 MiB / 15.386 ms
/// assert_eq!(format!("{:.1}", throughput.value), "5134.5");
/// let p90 = totals.p90_xfer_ms.unwrap();
/// assert_eq!((p90.smallest_line, p90.largest_line), (2.601, 9.862));
/// assert!(p90.at_least < 2.601 && p90.at_least > 2.6004);
/// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// KV lines.
    pub lines: u64,
    /// Lines with averages (all but 0.11.0's counter lines), including the
    /// all-zero ones: each stands for one logging interval.
    pub timed_lines: u64,
    /// All-zero lines: intervals with failures or expiries but no successful
    /// transfer.
    pub zero_lines: u64,
    /// Lines vLLM logged at `DEBUG` (idle engine; at the default level such
    /// lines are missing from the log).
    pub debug_lines: u64,
    /// Lines of each shape, in the order of [`Shape::ALL`].
    pub shapes: [u64; 4],
    /// The first line's number.
    pub first_line: Option<u64>,
    /// The last line's number.
    pub last_line: Option<u64>,
    /// The first timestamp seen.
    pub first_timestamp: Option<String>,
    /// The last timestamp seen.
    pub last_timestamp: Option<String>,
    /// Successful transfers, all lines (0.11.0's counters included).
    pub transfers: u64,
    /// Successful transfers of the lines with averages.
    pub timed_transfers: u64,
    /// MiB moved: Σ n × Avg MB.
    pub total_mib: Bounded,
    /// Summed transfer time, ms: Σ n × Avg xfer.
    pub xfer_ms: Bounded,
    /// Summed post time, ms: Σ n × Avg post.
    pub post_ms: Bounded,
    /// Descriptors: Σ n × Avg number of descriptors.
    pub descriptors: Bounded,
    /// Σ `Num failed transfers`, if any line prints it.
    pub failed_transfers: Option<u64>,
    /// Σ `Num KV expired reqs`, if any line prints it.
    pub kv_expired_reqs: Option<u64>,
    /// Σ `Num notifs after expiry`, if any line prints it.
    pub notifs_after_expiry: Option<u64>,
    /// What the lines bound about the run's P90 transfer time (ms).
    pub p90_xfer_ms: Option<P90Bounds>,
    /// What the lines bound about the run's P90 post time (ms).
    pub p90_post_ms: Option<P90Bounds>,
}

impl Totals {
    /// Adds one line.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::parse_line;
    /// use nixl_kv_metrics::views::{Totals, DEFAULT_INTERVAL};
    /// let mut totals = Totals::default();
    /// totals.add(&parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap(), DEFAULT_INTERVAL);
    /// assert_eq!((totals.lines, totals.transfers, totals.timed_transfers), (1, 3, 0));
    /// assert!(totals.avg_xfer_ms().is_none());
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn add(&mut self, record: &KvRecord, interval: Duration) {
        self.add_reading(record, LineReading::new(record, interval).as_ref());
    }

    /// Adds one line, whose reading (if it has one) is `reading`.
    fn add_reading(&mut self, record: &KvRecord, reading: Option<&LineReading>) {
        self.lines += 1;
        self.shapes[record.shape as usize] += 1;
        self.first_line.get_or_insert(record.line);
        self.last_line = Some(record.line);
        if let Some(timestamp) = &record.timestamp {
            self.first_timestamp
                .get_or_insert_with(|| timestamp.clone());
            self.last_timestamp = Some(timestamp.clone());
        }
        if record.level == Some(Level::Debug) {
            self.debug_lines += 1;
        }
        let n = record.transfers();
        self.transfers += n;
        let Some(reading) = reading else {
            return;
        };
        self.timed_lines += 1;
        self.timed_transfers += n;
        if n == 0 {
            self.zero_lines += 1;
        }
        self.total_mib = self.total_mib + reading.total_mib;
        self.xfer_ms = self.xfer_ms + reading.xfer_ms;
        self.post_ms = self.post_ms + reading.post_ms;
        self.descriptors = self.descriptors + reading.descriptors;
        let sum = |total: &mut Option<u64>, count: Option<u64>| {
            if let Some(count) = count {
                *total = Some(total.unwrap_or(0) + count);
            }
        };
        sum(&mut self.failed_transfers, reading.failed_transfers);
        sum(&mut self.kv_expired_reqs, reading.kv_expired_reqs);
        sum(&mut self.notifs_after_expiry, reading.notifs_after_expiry);
        if n > 0 {
            let merge = |bounds: Option<P90Bounds>, p90: Bounded, avg: Bounded| {
                let line = P90Bounds::line(p90, avg, n);
                Some(bounds.map_or(line, |bounds| bounds.merge(line)))
            };
            self.p90_xfer_ms = merge(self.p90_xfer_ms, reading.p90_xfer_ms, reading.avg_xfer_ms);
            self.p90_post_ms = merge(self.p90_post_ms, reading.p90_post_ms, reading.avg_post_ms);
        }
    }

    /// Lines of one shape.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::views::Totals;
    /// assert_eq!(Totals::default().lines_of(Shape::Eleven), 0);
    /// ```
    pub fn lines_of(&self, shape: Shape) -> u64 {
        self.shapes[shape as usize]
    }

    /// The total divided by the timed transfers, if there are any.
    fn per_transfer(&self, total: Bounded) -> Option<Bounded> {
        (self.timed_transfers > 0).then(|| total / Bounded::exact(self.timed_transfers as f64))
    }

    /// `Avg xfer time (ms)` over the run: Σ(n × avg) / Σ n.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().avg_xfer_ms().is_none());
    /// ```
    pub fn avg_xfer_ms(&self) -> Option<Bounded> {
        self.per_transfer(self.xfer_ms)
    }

    /// `Avg post time (ms)` over the run, count-weighted.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().avg_post_ms().is_none());
    /// ```
    pub fn avg_post_ms(&self) -> Option<Bounded> {
        self.per_transfer(self.post_ms)
    }

    /// `Avg MB per transfer` (MiB) over the run, count-weighted.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().avg_mib().is_none());
    /// ```
    pub fn avg_mib(&self) -> Option<Bounded> {
        self.per_transfer(self.total_mib)
    }

    /// `Avg number of descriptors` over the run, count-weighted.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().avg_descriptors().is_none());
    /// ```
    pub fn avg_descriptors(&self) -> Option<Bounded> {
        self.per_transfer(self.descriptors)
    }

    /// `Throughput (MB/s)` over the run, as vLLM would compute it over all
    /// the run's transfers: Σ MiB / Σ xfer seconds (not an average of the
    /// lines' throughputs).
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().throughput_mib_s().is_none());
    /// ```
    pub fn throughput_mib_s(&self) -> Option<Bounded> {
        (self.timed_transfers > 0).then(|| self.total_mib.scale(1e3) / self.xfer_ms)
    }

    /// The logged time: one interval per timed line. Intervals in which the
    /// engine logged nothing (no transfer, failure or expiry) are not in it.
    ///
    /// ```
    /// use nixl_kv_metrics::views::{Totals, DEFAULT_INTERVAL};
    /// assert_eq!(Totals::default().logged_seconds(DEFAULT_INTERVAL), 0.0);
    /// ```
    pub fn logged_seconds(&self, interval: Duration) -> f64 {
        self.timed_lines as f64 * interval.as_secs_f64()
    }

    /// Transfers in flight, averaged over the logged time:
    /// Σ xfer / (timed lines × interval), under [`LineReading`]'s
    /// assumptions. Meaningful for one engine's lines: lines of several
    /// engines cover the same wall-clock time more than once.
    ///
    /// ```
    /// use nixl_kv_metrics::views::{Totals, DEFAULT_INTERVAL};
    /// assert!(Totals::default().mean_concurrency(DEFAULT_INTERVAL).is_none());
    /// ```
    pub fn mean_concurrency(&self, interval: Duration) -> Option<Bounded> {
        let logged_ms = Bounded::exact(self.logged_seconds(interval)).scale(1e3);
        (self.timed_lines > 0).then(|| self.xfer_ms / logged_ms)
    }

    /// MiB/s averaged over the logged time: Σ MiB / (timed lines ×
    /// interval); one engine's lines, as for [`Totals::mean_concurrency`].
    ///
    /// ```
    /// use nixl_kv_metrics::views::{Totals, DEFAULT_INTERVAL};
    /// assert!(Totals::default().mean_window_mib_s(DEFAULT_INTERVAL).is_none());
    /// ```
    pub fn mean_window_mib_s(&self, interval: Duration) -> Option<Bounded> {
        let logged = Bounded::exact(self.logged_seconds(interval));
        (self.timed_lines > 0).then(|| self.total_mib / logged)
    }
}

/// A run summary: [`Totals`] per engine and overall, built line by line.
///
/// ```
/// use nixl_kv_metrics::logs::{Engine, LogParser};
/// use nixl_kv_metrics::views::{Run, DEFAULT_INTERVAL};
///
/// let log = "\
/// Engine 000: Avg prompt throughput: 1.0 tokens/s
/// KV Transfer metrics: num_successful_transfers=3
/// Engine 001: Avg prompt throughput: 1.0 tokens/s
/// KV Transfer metrics: num_successful_transfers=4
/// Engine 000: Avg prompt throughput: 1.0 tokens/s
/// KV Transfer metrics: num_successful_transfers=5
/// ";
/// let mut run = Run::new(DEFAULT_INTERVAL);
/// for record in LogParser::new(log.as_bytes()) {
///     run.add(&record?);
/// }
/// assert_eq!(run.overall().transfers, 12);
/// assert_eq!(run.engines()[&Engine::One(0)].transfers, 8);
/// assert_eq!(run.engines()[&Engine::One(1)].lines, 1);
/// # Ok::<(), nixl_kv_metrics::logs::LogError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    interval: Duration,
    overall: Totals,
    engines: BTreeMap<Engine, Totals>,
}

impl Run {
    /// An empty run whose lines cover `interval` each.
    ///
    /// ```
    /// use nixl_kv_metrics::views::{Run, DEFAULT_INTERVAL};
    /// assert_eq!(Run::new(DEFAULT_INTERVAL).overall().lines, 0);
    /// ```
    pub fn new(interval: Duration) -> Run {
        Run {
            interval,
            overall: Totals::default(),
            engines: BTreeMap::new(),
        }
    }

    /// Adds a line to its engine's totals and to the overall ones.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::{parse_line, Engine};
    /// use nixl_kv_metrics::views::{Run, DEFAULT_INTERVAL};
    /// let mut run = Run::new(DEFAULT_INTERVAL);
    /// run.add(&parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap());
    /// assert_eq!(run.engines()[&Engine::Unknown].transfers, 3);
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn add(&mut self, record: &KvRecord) {
        let reading = LineReading::new(record, self.interval);
        self.overall.add_reading(record, reading.as_ref());
        self.engines
            .entry(record.engine)
            .or_default()
            .add_reading(record, reading.as_ref());
    }

    /// The logging interval each line is taken to cover.
    ///
    /// ```
    /// use nixl_kv_metrics::views::{Run, DEFAULT_INTERVAL};
    /// assert_eq!(Run::new(DEFAULT_INTERVAL).interval(), DEFAULT_INTERVAL);
    /// ```
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Totals over every line.
    ///
    /// ```
    /// use nixl_kv_metrics::views::{Run, DEFAULT_INTERVAL};
    /// assert!(Run::new(DEFAULT_INTERVAL).overall().p90_xfer_ms.is_none());
    /// ```
    pub fn overall(&self) -> &Totals {
        &self.overall
    }

    /// Totals per engine ([`Engine::Unknown`] for lines with no engine
    /// header before them), in engine order.
    ///
    /// ```
    /// use nixl_kv_metrics::views::{Run, DEFAULT_INTERVAL};
    /// assert!(Run::new(DEFAULT_INTERVAL).engines().is_empty());
    /// ```
    pub fn engines(&self) -> &BTreeMap<Engine, Totals> {
        &self.engines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outward_rounding() {
        let third = Bounded::exact(1.0) / Bounded::exact(3.0);
        assert!(third.min < third.max);
        assert!(third.min <= 1.0 / 3.0 && 1.0 / 3.0 <= third.max);
        let exact = Bounded::exact(1.5).scale(4.0) + Bounded::exact(0.25);
        assert_eq!(exact, Bounded::exact(6.25));
        let tenth = Bounded::exact(0.1) + Bounded::exact(0.2);
        assert!(tenth.min < tenth.max && tenth.contains(0.1 + 0.2));
    }

    #[test]
    fn printed_bounds_hold_the_decimal_interval() {
        let x = Bounded::printed(Value::Float(2.25), Field::AvgMbPerTransfer);
        assert!(x.min <= 2.2495 && 2.2505 <= x.max);
        assert!(x.max - x.min < 0.0010001);
        let inf = Bounded::printed(Value::Float(f64::INFINITY), Field::AvgXferTimeMs);
        assert_eq!(inf.max, f64::INFINITY);
        assert!(inf.contains(1e306) && !inf.contains(1e305));
    }
}
