//! A faithful model of vLLM's NIXL KV-transfer statistics, release by release.
//!
//! vLLM's NIXL connector logs lines like
//!
//! ```text
//! KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0
//! ```
//!
//! This crate models every stage behind such a line, from NIXL's telemetry
//! to the printed digits, closely enough that for the same observations it
//! prints the very line a given vLLM release prints:
//!
//! * [`release`]: vLLM releases and the [`Family`](release::Family) of
//!   behaviour each belongs to; [`field`]: the line's fields, units, formulas;
//! * [`telemetry`]: NIXL's per-transfer telemetry, in NIXL's units;
//! * [`stats`]: the stats container (`NixlKVConnectorStats`) and its
//!   recorders, `is_empty`, `aggregate`, `clone_and_reset`; [`data`]: its
//!   JSON `data` dict;
//! * [`reduce`]: `reduce()` and the line, with [`numpy`]'s and [`python`]'s
//!   arithmetic reproduced bit for bit;
//! * [`pipeline`]: worker hand-off, output aggregator, interval logger, and
//!   data-parallel engines; [`input`]: the JSON documents the CLI reads.
//!
//! ```
//! use nixl_kv_metrics::release::Release;
//! use nixl_kv_metrics::stats::NixlKvConnectorStats;
//!
//! let family = "0.33.0".parse::<Release>()?.family()?;
//! let stats = NixlKvConnectorStats::from_transfers(
//!     family,
//!     vec![0.001, 0.002, 0.001, 0.004],
//!     vec![0.0005; 4],
//!     vec![1 << 20; 4],
//!     vec![72; 4],
//! );
//! assert_eq!(
//!     stats.reduce().to_string(),
//!     "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=2.0, \
//!      P90 xfer time (ms)=3.4, Avg post time (ms)=0.5, P90 post time (ms)=0.5, \
//!      Avg MB per transfer=1.0, Throughput (MB/s)=500.0, Avg number of descriptors=72.0, \
//!      Num failed transfers=0, Num KV expired reqs=0, Num notifs after expiry=0"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod data;
pub mod field;
pub mod input;
pub mod numpy;
pub mod pipeline;
pub mod python;
pub mod reduce;
pub mod release;
pub mod simulation;
pub mod stats;
pub mod telemetry;
pub mod topology;
pub mod wallclock;

