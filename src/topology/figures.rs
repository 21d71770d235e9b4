//! The figures an operator checks a deployment against: what one request
//! costs ([`RequestFigures`]), the line a steady rate of such requests makes
//! ([`ExpectedLine`]), and, the other way round, what a logged line's
//! averages say of its requests ([`LineFit`]).

use super::{BlockLayout, Deployment, Instance, TopologyError};
use crate::field::Field;
use crate::reduce::Value;
use crate::release::Family;
use crate::stats::NixlKvConnectorStats;
use crate::telemetry::MIB;
use crate::views::{Bounded, Range};

/// Descriptors of one transfer, as NIXL's `descCount` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Descriptors {
    /// When the request's blocks are adjacent on both sides: the fewest.
    pub adjacent: u32,
    /// When no two of them are: the most.
    pub scattered: u32,
    /// In the list vLLM posts, before NIXL merges any.
    pub posted: u32,
}

/// One request of a deployment, in the numbers its transfers record.
///
/// ```
/// use nixl_kv_metrics::topology::*;
///
/// // Llama-3.1-8B, TP 2 on both sides, a 640-token prompt.
/// let d = Deployment::new(ModelGeometry::LLAMA_3_1_8B, Parallelism::tp(2),
///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
/// let figures = d.figures(640)?;
/// assert_eq!((figures.blocks, figures.transfers, figures.per_recording_rank), (40, 2, 1));
/// assert_eq!(figures.recorder, Instance::Decode);
/// assert_eq!(figures.bytes, 40 << 20);
/// assert_eq!(figures.descriptors, Descriptors { adjacent: 32, scattered: 1280, posted: 1280 });
/// assert_eq!(figures.total_bytes(), 80 << 20);
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestFigures {
    /// Prompt tokens.
    pub tokens: u32,
    /// Blocks moved, `ceil(tokens / block_size)`.
    pub blocks: u32,
    /// Transfers per request (summed over the recording instance's ranks
    /// and pipeline stages).
    pub transfers: u32,
    /// The instance that issues and records them.
    pub recorder: Instance,
    /// Transfers each of the recorder's workers records.
    pub per_recording_rank: u32,
    /// Prefill ranks only notified, without data (MLA, pull, `P_TP > D_TP`).
    pub notifications: u32,
    /// Bytes per transfer (every transfer of a request moves the same).
    pub bytes: u64,
    /// Descriptors per transfer.
    pub descriptors: Descriptors,
}

impl RequestFigures {
    /// MiB (2²⁰ bytes) per transfer, exact.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.figures(16)?.mib(), 2.25);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn mib(&self) -> f64 {
        self.bytes as f64 / MIB
    }

    /// Bytes over all of the request's transfers.
    pub fn total_bytes(&self) -> u64 {
        self.bytes * u64::from(self.transfers)
    }

    /// The size fields of the line the recording instance logs when
    /// `requests` such requests complete in one interval, for a release of
    /// `family` (vLLM's own arithmetic and rounding, [`NixlKvConnectorStats::reduce`]).
    ///
    /// Every transfer of these requests has the same bytes and descriptors,
    /// so their means, and the printed digits, are those of one request's
    /// transfers, however many requests the interval holds. Timings depend
    /// on the link and the load and are not predicted.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// use nixl_kv_metrics::topology::*;
    ///
    /// let d = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(2),
    ///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
    /// let line = d.figures(32)?.line(Family::F6, 2.0);
    /// assert_eq!(line.transfers, 4.0);
    /// assert_eq!(line.avg_mb.unwrap().to_string(), "2.25");
    /// let (adjacent, scattered) = line.avg_descriptors.unwrap();
    /// assert_eq!((adjacent.to_string(), scattered.to_string()), ("36.0".into(), "72.0".into()));
    /// // 0.11.0 logs a count and nothing else.
    /// assert_eq!(d.figures(32)?.line(Family::F1, 2.0).avg_mb, None);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn line(&self, family: Family, requests: f64) -> ExpectedLine {
        let printed = |descriptors: u32| {
            let n = self.transfers as usize;
            let stats = NixlKvConnectorStats::from_transfers(
                family,
                vec![0.0; n],
                vec![0.0; n],
                vec![self.bytes; n],
                vec![descriptors; n],
            )
            .reduce();
            (
                stats.get(Field::AvgMbPerTransfer),
                stats.get(Field::AvgNumberOfDescriptors),
            )
        };
        let (avg_mb, adjacent) = printed(self.descriptors.adjacent);
        let (_, scattered) = printed(self.descriptors.scattered);
        ExpectedLine {
            requests,
            transfers: requests * f64::from(self.transfers),
            avg_mb,
            avg_descriptors: adjacent.zip(scattered),
        }
    }
}

/// The line to expect from a steady rate of like requests: the fields that
/// follow from sizes alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpectedLine {
    /// Requests completing per interval, on average.
    pub requests: f64,
    /// `Num successful transfers` on average: requests × transfers per request.
    pub transfers: f64,
    /// `Avg MB per transfer` as printed; `None` where the line has no such
    /// field (0.11.0).
    pub avg_mb: Option<Value>,
    /// `Avg number of descriptors` as printed when every request's blocks
    /// are adjacent, and when none are; `None` where the line has no such field.
    pub avg_descriptors: Option<(Value, Value)>,
}

/// What a line's averages say of its requests, for a known deployment:
/// `Avg MB per transfer` is the mean blocks per request times one block's
/// bytes per transfer, and the descriptors that many blocks can have.
///
/// ```
/// use nixl_kv_metrics::topology::*;
/// use nixl_kv_metrics::views::Bounded;
///
/// // The line of vLLM issue #41230 (2.25 MiB, 72.0 descriptors) against a
/// // 36-layer, 8-KV-head model at TP 1 as vLLM 0.34.0 registers it.
/// let d = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(1),
///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
/// let fit = d.fit(Bounded::new(2.25, 2.2495, 2.2505))?;
/// assert_eq!(fit.block_bytes, 2_359_296);
/// assert!(fit.blocks.min < 1.0 && fit.blocks.max > 1.0);
/// assert_eq!((fit.tokens.min, fit.tokens.max), (1.0, 16.0 * fit.blocks.max));
/// assert_eq!(fit.descriptors.min, 36.0); // so 72.0 is not this registration
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFit {
    /// Bytes one block adds to one transfer.
    pub block_bytes: u64,
    /// Mean blocks per request (of the line's requests), with the bounds
    /// the printed `Avg MB per transfer` leaves.
    pub blocks: Bounded,
    /// Mean tokens moved per request: each request of `n` blocks moved
    /// from `(n − 1) × block_size + 1` to `n × block_size` tokens.
    pub tokens: Range,
    /// The mean descriptors per transfer those blocks can have: all
    /// adjacent at the fewest blocks, all scattered at the most (at least
    /// one block each).
    pub descriptors: Range,
}

impl LineFit {
    /// True when a line's `Avg number of descriptors` (with its rounding
    /// bounds) can come from these requests: it overlaps
    /// [`LineFit::descriptors`].
    ///
    /// ```
    /// use nixl_kv_metrics::topology::*;
    /// use nixl_kv_metrics::views::Bounded;
    /// let d = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let fit = d.fit(Bounded::new(2.25, 2.2495, 2.2505))?;
    /// assert!(fit.admits(Bounded::new(36.0, 35.95, 36.05)));
    /// assert!(!fit.admits(Bounded::new(72.0, 71.95, 72.05)));
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn admits(&self, avg_descriptors: Bounded) -> bool {
        avg_descriptors.max >= self.descriptors.min && avg_descriptors.min <= self.descriptors.max
    }
}

impl Deployment {
    /// The [`RequestFigures`] of a request of `tokens` prompt tokens, none
    /// of them already held by decode.
    pub fn figures(&self, tokens: u32) -> Result<RequestFigures, TopologyError> {
        let adjacent = self.with_layout(BlockLayout::Contiguous).plan(tokens, 0)?;
        let scattered = self.with_layout(BlockLayout::Scattered).plan(tokens, 0)?;
        let first = adjacent.transfers[0];
        let recorder = first.recorder;
        let per_recording_rank = adjacent
            .transfers
            .iter()
            .filter(|t| t.stage == 0 && t.recorder_rank() == 0)
            .count();
        let count = |n: usize| u32::try_from(n).map_err(|_| TopologyError::Overflow);
        Ok(RequestFigures {
            tokens,
            blocks: adjacent.blocks,
            transfers: count(adjacent.transfers.len())?,
            recorder,
            per_recording_rank: count(per_recording_rank)?,
            notifications: count(adjacent.notifications.len())?,
            bytes: first.bytes,
            descriptors: Descriptors {
                adjacent: first.descriptors,
                scattered: scattered.transfers[0].descriptors,
                posted: first.descriptors_unmerged,
            },
        })
    }

    /// The [`LineFit`] of a line whose `Avg MB per transfer` reads
    /// `avg_mib` (with its rounding bounds).
    ///
    /// Descriptor counts grow linearly with the blocks (or not at all), so
    /// the mean over requests of different sizes is the count at the mean
    /// size; this holds for every registration under NIXL 1.4's merge rule.
    pub fn fit(&self, avg_mib: Bounded) -> Result<LineFit, TopologyError> {
        let block_size = self.model().block_size;
        let one = self.figures(block_size)?;
        let two = self.figures(block_size.checked_mul(2).ok_or(TopologyError::Overflow)?)?;
        let blocks = avg_mib / Bounded::exact(one.mib());
        // Every transfer carries at least one block: counts below one block
        // mean nothing.
        let at = |pick: fn(&Descriptors) -> u32, n: f64| {
            let (d1, d2) = (
                f64::from(pick(&one.descriptors)),
                f64::from(pick(&two.descriptors)),
            );
            d1 + (d2 - d1) * (n.max(1.0) - 1.0)
        };
        let size = f64::from(block_size);
        Ok(LineFit {
            block_bytes: one.bytes,
            blocks,
            tokens: Range {
                min: ((blocks.min - 1.0) * size + 1.0).max(1.0),
                max: blocks.max * size,
            },
            descriptors: Range {
                min: at(|d| d.adjacent, blocks.min),
                max: at(|d| d.scattered, blocks.max),
            },
        })
    }
}
