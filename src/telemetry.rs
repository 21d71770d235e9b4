//! NIXL's per-transfer telemetry, in NIXL's own units.
//!
//! When a transfer handle completes, vLLM asks NIXL for its telemetry
//! (`get_xfer_telemetry`) and records it. NIXL reports durations in whole
//! microseconds and a start time on the monotonic clock; vLLM keeps the
//! durations (converted to seconds), the bytes and the descriptor count, and
//! drops the start time. This crate keeps the start time so that wall-clock
//! views (bandwidth over the union of transfer intervals, concurrency) can be
//! computed where vLLM cannot, and tags each transfer with the worker that
//! recorded it and the request it served ([`TaggedTelemetry`]) where the
//! simulator knows them.
//!
//! ```
//! use nixl_kv_metrics::telemetry::XferTelemetry;
//!
//! // One 2.25 MiB READ of 72 descriptors that took 1.381 ms end to end.
//! let t = XferTelemetry::new(1_381, 672, 2_359_296, 72);
//! assert_eq!(t.xfer_seconds(), 0.001381);
//! assert_eq!(t.mib(), 2.25);
//! ```
//!
//! How many descriptors a transfer reports, from its two descriptor lists,
//! is NIXL's merging ([`desc_count`]); whether telemetry is captured at all
//! is NIXL's switch ([`captures_telemetry`]).

use crate::topology::WorkerId;

mod descriptors;

pub use descriptors::{Descriptor, MakeXfer, Prepared, desc_count, total_bytes};

/// The telemetry of one completed NIXL transfer (`nixlXferTelemetry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct XferTelemetry {
    /// When posting started, in microseconds of NIXL's monotonic clock
    /// (`startTime`). vLLM never reads it.
    pub start_time_us: u64,
    /// Time spent inside the post call, in microseconds (`postDuration`).
    pub post_duration_us: u64,
    /// From the start of posting until a status poll first saw completion, in
    /// microseconds (`xferDuration`). It includes the post time and the delay
    /// until vLLM's next poll.
    pub xfer_duration_us: u64,
    /// Bytes moved, summed over the descriptors (`totalBytes`).
    pub total_bytes: u64,
    /// Descriptors after NIXL merged contiguous runs (`descCount`). vLLM reads
    /// them as `uint32`, so this crate keeps them as `u32`.
    pub desc_count: u32,
}

impl XferTelemetry {
    /// Telemetry with a start time of zero: transfer and post durations in
    /// microseconds, then bytes and descriptors, in the order vLLM reads
    /// them (see the [module](crate::telemetry) example).
    pub const fn new(
        xfer_duration_us: u64,
        post_duration_us: u64,
        total_bytes: u64,
        desc_count: u32,
    ) -> XferTelemetry {
        XferTelemetry {
            start_time_us: 0,
            post_duration_us,
            xfer_duration_us,
            total_bytes,
            desc_count,
        }
    }

    /// The same telemetry, started at `start_time_us`.
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// let t = XferTelemetry::new(1_000, 100, 4096, 2).starting_at(5_000);
    /// assert_eq!(t.end_time_us(), 6_000);
    /// ```
    pub const fn starting_at(self, start_time_us: u64) -> XferTelemetry {
        XferTelemetry {
            start_time_us,
            ..self
        }
    }

    /// When a poll saw the transfer complete, in microseconds (see
    /// [`XferTelemetry::starting_at`] for an example).
    pub const fn end_time_us(&self) -> u64 {
        self.start_time_us.saturating_add(self.xfer_duration_us)
    }

    /// The transfer time in seconds, as vLLM stores it (`xferDuration / 1e6`).
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// assert_eq!(XferTelemetry::new(9_862, 1_000, 0, 0).xfer_seconds(), 0.009862);
    /// ```
    pub fn xfer_seconds(&self) -> f64 {
        self.xfer_duration_us as f64 / 1e6
    }

    /// The post time in seconds, as vLLM stores it (`postDuration / 1e6`).
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// assert_eq!(XferTelemetry::new(1_381, 672, 0, 0).post_seconds(), 0.000672);
    /// ```
    pub fn post_seconds(&self) -> f64 {
        self.post_duration_us as f64 / 1e6
    }

    /// The bytes in MiB, as vLLM's "MB" (`totalBytes / 2**20`).
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::XferTelemetry;
    /// assert_eq!(XferTelemetry::new(0, 0, 73_400_320, 56).mib(), 70.0);
    /// ```
    pub fn mib(&self) -> f64 {
        self.total_bytes as f64 / MIB
    }
}

/// Whether a NIXL agent captures telemetry, from `NIXL_TELEMETRY_ENABLE`
/// (`Some(true)` for `y`, `Some(false)` for `n`, `None` when unset) and the
/// agent config's `capture_telemetry`: the variable, when set, wins (NIXL
/// 1.3 on; 1.5.1 measured). Without telemetry, reading a transfer's
/// telemetry raises `nixlNoTelemetryError` while the transfer itself
/// succeeds, which vLLM's worker counts as a failed transfer
/// ([`Worker::transfer_done`](crate::pipeline::Worker::transfer_done)).
/// vLLM 0.12 on creates its agent with `capture_telemetry=True`, so only
/// `NIXL_TELEMETRY_ENABLE=n` turns it off.
///
/// ```
/// use nixl_kv_metrics::telemetry::captures_telemetry;
/// assert!(captures_telemetry(None, true));
/// assert!(!captures_telemetry(Some(false), true));
/// assert!(captures_telemetry(Some(true), false));
/// ```
pub const fn captures_telemetry(env: Option<bool>, capture_telemetry: bool) -> bool {
    match env {
        Some(enabled) => enabled,
        None => capture_telemetry,
    }
}

/// A request's id (the simulator numbers requests in arrival order).
pub type RequestId = u64;

/// Who recorded a transfer (a [`WorkerId`]: instance, engine, pipeline
/// stage, rank), and for which request. vLLM's stats drop both; the
/// simulator keeps them so that totals can be taken per worker and per
/// request ([`per_worker`](crate::wallclock::per_worker),
/// [`per_request`](crate::wallclock::per_request)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    /// The worker that recorded the transfer.
    pub worker: WorkerId,
    /// The request the transfer served.
    pub request: RequestId,
}

/// One transfer's [`XferTelemetry`] with its [`Tag`], as the simulator
/// records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaggedTelemetry {
    /// Who recorded it, for which request.
    pub tag: Tag,
    /// What NIXL reported.
    pub telemetry: XferTelemetry,
}

/// Bytes in one MiB, 2²⁰, the "MB" of vLLM's log line: 72 descriptors of
/// 32 KiB (2,359,296 bytes) are printed as 2.25 MB.
pub const MIB: f64 = 1_048_576.0;
