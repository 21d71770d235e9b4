//! Reading vLLM logs: every `KV Transfer metrics:` line, exactly as printed.
//!
//! [`LogParser`] reads a log of any size from any [`BufRead`], line by line
//! in constant memory, and yields one [`KvRecord`] per NIXL stats line: its
//! 1-based line number, its fields with their values as printed
//! ([`Printed`]: the [`Value`] and the original text), the [`Shape`] of the
//! line and the release [`Families`] that print that shape, the [`Engine`]
//! whose logger printed it, and the level and time of the logger's prefix.
//!
//! [`BufRead`]: std::io::BufRead
//! [`Value`]: crate::reduce::Value
//!
//! It recognises
//!
//! * every family's line: 0.11.0's `num_successful_transfers=N`; the eight
//!   fields of 0.11.1 – 0.30.x; the ten of 0.31.x; the eleven of 0.32.0 on;
//!   the all-zero line (`Num successful transfers=0, Avg xfer time (ms)=0, …`);
//!   `inf` and `nan`;
//! * any prefix before the message: vLLM's `INFO 07-13 16:33:58
//!   [metrics.py:103] ` (or `DEBUG`), a process tag such as
//!   `(APIServer pid=428) `, colour codes, a container runtime's timestamp;
//! * the MultiConnector form, `KV Transfer metrics: NixlConnector={'Num
//!   successful transfers': 4, …}, LMCacheConnector={…}`, from which it reads
//!   the NIXL entry (values may be printed as `np.float64(1.381)`); a
//!   MultiConnector line without a NIXL entry is skipped silently;
//! * `\n` and `\r\n` line ends, bytes that are not UTF-8 anywhere in the log.
//!
//! A KV line that vLLM cannot have printed — an unknown field, a field out of
//! vLLM's order, a missing `=`, a value that is not a number as Python prints
//! it, a float count, a count of fields no release prints, a timing field
//! that disagrees with the zero path — is reported as a [`LineError`] with
//! its line number and skipped; the stream goes on. Only an I/O error ends it.
//!
//! # Which engine printed a line
//!
//! vLLM's stats logger prints, every logging interval and for each engine,
//! the engine's stats line (`Engine 000: Avg prompt throughput: …`, or with
//! `--aggregate-engine-logging` one `4 Engines Aggregated: …` line) and then,
//! in the same call, that engine's KV line (other lines, such as speculative
//! decoding metrics, may come between). So a KV line belongs to the engine
//! named by the last such header since the previous KV line; with no header
//! in between (a log filtered with `grep`, say) the engine is
//! [`Engine::Unknown`].
//!
//! ```
//! use nixl_kv_metrics::field::Field;
//! use nixl_kv_metrics::logs::{Engine, LogParser, Shape};
//! use nixl_kv_metrics::reduce::Value;
//!
//! let log = "\
//! (APIServer pid=428) INFO 07-13 16:33:58 [loggers.py:215] Engine 000: Avg prompt throughput: 0.0 tokens/s
//! (APIServer pid=428) INFO 07-13 16:33:58 [metrics.py:103] KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0
//! KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=oops
//! ";
//! let mut parser = LogParser::new(log.as_bytes());
//! let record = parser.next().unwrap()?;
//! assert_eq!(record.line, 2);
//! assert_eq!(record.shape, Shape::Eight);
//! assert_eq!(record.engine, Engine::One(0));
//! assert_eq!(record.timestamp.as_deref(), Some("07-13 16:33:58"));
//! assert_eq!(record.get(Field::ThroughputMbS), Some(Value::Float(1629.549)));
//! assert_eq!(record.text(Field::AvgNumberOfDescriptors), Some("72.0"));
//! let error = parser.next().unwrap().unwrap_err();
//! assert_eq!(error.line(), 3);
//! assert!(parser.next().is_none());
//! # Ok::<(), nixl_kv_metrics::logs::LogError>(())
//! ```

mod error;
mod line;
mod number;
mod parser;
mod prefix;
mod record;
mod scan;
mod shape;

pub use error::{ErrorKind, LineError, LogError};
pub use parser::{LogParser, parse_line};
pub use record::{Engine, KvRecord, Level, Printed};
pub use shape::{Families, Shape};

/// The longest line kept whole, 1 MiB. A longer line is read through without
/// being stored; if it is a KV line it is reported as
/// [`ErrorKind::TooLong`]. vLLM's KV lines are under 1 KiB.
pub const MAX_LINE: usize = 1 << 20;

/// The longest line read through, 256 MiB: a line that runs on past it
/// without a line end ends the reading ([`LogError::RunOn`]). No log line
/// is that long (a vLLM line that logs a whole prompt is at most a few
/// MiB), and the limit keeps a reading of `/dev/zero` or of binary data
/// short: it stops within a fraction of a second instead of never.
pub const MAX_RUN_ON: u64 = 1 << 28;
