//! A run of KV lines: what the lines bound about its P90, and its totals
//! per engine and overall.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Bounded, LineReading, Sums};
use crate::logs::{Engine, KvRecord, Level, Shape};

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
    fn line(p90: Bounded, avg: Bounded, n: u128) -> P90Bounds {
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
/// assert_eq!(totals.sums.total_mib.value, 79.0);              // 9 + 70 MiB
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
    pub transfers: u128,
    /// Successful transfers of the lines with averages.
    pub timed_transfers: u128,
    /// The lines' totals and counts, summed over the lines with averages.
    pub sums: Sums,
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
        self.sums += reading.sums;
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
        self.per_transfer(self.sums.xfer_ms)
    }

    /// `Avg post time (ms)` over the run, count-weighted.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().avg_post_ms().is_none());
    /// ```
    pub fn avg_post_ms(&self) -> Option<Bounded> {
        self.per_transfer(self.sums.post_ms)
    }

    /// `Avg MB per transfer` (MiB) over the run, count-weighted.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().avg_mib().is_none());
    /// ```
    pub fn avg_mib(&self) -> Option<Bounded> {
        self.per_transfer(self.sums.total_mib)
    }

    /// `Avg number of descriptors` over the run, count-weighted.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Totals;
    /// assert!(Totals::default().avg_descriptors().is_none());
    /// ```
    pub fn avg_descriptors(&self) -> Option<Bounded> {
        self.per_transfer(self.sums.descriptors)
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
        (self.timed_transfers > 0).then(|| self.sums.total_mib.scale(1e3) / self.sums.xfer_ms)
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
        (self.timed_lines > 0).then(|| self.sums.xfer_ms / logged_ms)
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
        (self.timed_lines > 0).then(|| self.sums.total_mib / logged)
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
