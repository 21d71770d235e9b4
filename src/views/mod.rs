//! Numbers derived from KV lines, each with the error bound its rounding
//! leaves: per line ([`LineReading`]) and over a run ([`Run`], [`Totals`]),
//! by interval arithmetic ([`Bounded`]).
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
//! assert_eq!(reading.sums.total_mib.value, 9.0);            // 4 × 2.25 MiB
//! assert_eq!(format!("{:.3}", reading.sums.total_mib), "9.000 [8.998, 9.002]");
//! assert_eq!(format!("{:.3}", reading.sums.xfer_ms), "5.524 [5.522, 5.526]");
//! // 5.524 ms of transfers in a 10 s interval: 0.00055 transfers in flight
//! // on average, and 0.9 MiB/s over the interval.
//! assert_eq!(format!("{:.5}", reading.concurrency.value), "0.00055");
//! assert_eq!(format!("{:.1}", reading.window_mib_s.value), "0.9");
//! # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
//! ```

mod bounded;
mod reading;
mod run;

use std::time::Duration;

pub use bounded::{Bounded, Range};
pub use reading::{Busy, LineReading, Sums};
pub use run::{P90Bounds, Run, Totals};

/// vLLM's default logging interval, `VLLM_LOG_STATS_INTERVAL` = 10 s: the
/// one default of every interval in the crate and its command line.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
