//! Reading vLLM logs: every `KV Transfer metrics:` line, exactly as printed.
//!
//! [`LogParser`] reads a log of any size from any [`BufRead`], line by line
//! in constant memory, and yields one [`KvRecord`] per NIXL stats line: its
//! 1-based line number, its fields with their values as printed
//! ([`Printed`]: the [`Value`] and the original text), the [`Shape`] of the
//! line and the release [`Families`] that print that shape, the [`Engine`]
//! whose logger printed it, and the level and time of the logger's prefix.
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

mod line;
mod prefix;
mod scan;

use std::fmt;
use std::io::{self, BufRead};

use crate::field::Field;
use crate::reduce::{LINE_PREFIX, Summary, Value};
use crate::release::Family;

/// The longest line kept whole, 1 MiB. A longer line is read through without
/// being stored; if it is a KV line it is reported as
/// [`ErrorKind::TooLong`]. vLLM's KV lines are under 1 KiB.
///
/// ```
/// assert_eq!(nixl_kv_metrics::logs::MAX_LINE, 1_048_576);
/// ```
pub const MAX_LINE: usize = 1 << 20;

/// The shape of a KV line: how many fields it has, which tells the family
/// of releases that printed it (up to the three families with eight fields,
/// which print the same fields).
///
/// ```
/// use nixl_kv_metrics::logs::Shape;
/// use nixl_kv_metrics::release::Family;
///
/// assert_eq!(Shape::Eight.fields().len(), 8);
/// assert_eq!(Shape::Eight.families().to_string(), "F2-F4");
/// assert!(Shape::Eight.families().contains(Family::F3));
/// assert_eq!(Shape::Eleven.families().to_string(), "F6");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    /// 0.11.0: the one snake-case counter, `num_successful_transfers=N`.
    Counter,
    /// 0.11.1 – 0.30.x (families F2, F3, F4): eight fields.
    Eight,
    /// 0.31.x (F5): ten fields, with `Num failed transfers` and
    /// `Num KV expired reqs`.
    Ten,
    /// 0.32.0 and newer (F6): eleven fields, with `Num notifs after expiry`.
    Eleven,
}

impl Shape {
    /// Every shape, oldest first.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// let fields: Vec<usize> = Shape::ALL.iter().map(|s| s.fields().len()).collect();
    /// assert_eq!(fields, [1, 8, 10, 11]);
    /// ```
    pub const ALL: [Shape; 4] = [Shape::Counter, Shape::Eight, Shape::Ten, Shape::Eleven];

    /// The families whose lines have this shape.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// let families: Vec<Family> = Shape::Eight.families().iter().collect();
    /// assert_eq!(families, [Family::F2, Family::F3, Family::F4]);
    /// ```
    pub fn families(self) -> Families {
        match self {
            Shape::Counter => Families::one(Family::F1),
            Shape::Eight => Families::range(Family::F2, Family::F4),
            Shape::Ten => Families::one(Family::F5),
            Shape::Eleven => Families::one(Family::F6),
        }
    }

    /// The fields of the line, in the order vLLM prints them.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::logs::Shape;
    /// assert_eq!(Shape::Counter.fields(), [Field::NumSuccessfulTransfersCounter]);
    /// assert_eq!(Shape::Ten.fields()[9], Field::NumKvExpiredReqs);
    /// ```
    pub fn fields(self) -> &'static [Field] {
        self.families().first().fields()
    }
}

/// A contiguous range of release families, `F2-F4` or a single `F6`.
///
/// `Display` gives the stable labels the CLI prints: `F1`, `F2-F4`, `F4`,
/// `F5`, `F6`.
///
/// ```
/// use nixl_kv_metrics::logs::Families;
/// use nixl_kv_metrics::release::Family;
///
/// let eight = Families::range(Family::F2, Family::F4);
/// assert_eq!(eight.to_string(), "F2-F4");
/// assert_eq!(eight.releases(), "0.11.1 – 0.30.x");
/// assert_eq!(Families::one(Family::F5).releases(), "0.31.x");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Families {
    first: Family,
    last: Family,
}

impl Families {
    /// One family.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Families;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Families::one(Family::F4).to_string(), "F4");
    /// ```
    pub const fn one(family: Family) -> Families {
        Families {
            first: family,
            last: family,
        }
    }

    /// The families from `first` to `last`, in release order (swapped if
    /// given the other way round).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Families;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Families::range(Family::F4, Family::F2), Families::range(Family::F2, Family::F4));
    /// ```
    pub fn range(first: Family, last: Family) -> Families {
        Families {
            first: first.min(last),
            last: first.max(last),
        }
    }

    /// The oldest family of the range.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Shape::Eight.families().first(), Family::F2);
    /// ```
    pub fn first(self) -> Family {
        self.first
    }

    /// The newest family of the range.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Shape::Eight.families().last(), Family::F4);
    /// ```
    pub fn last(self) -> Family {
        self.last
    }

    /// True when `family` is in the range.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// use nixl_kv_metrics::release::Family;
    /// assert!(!Shape::Eight.families().contains(Family::F5));
    /// ```
    pub fn contains(self, family: Family) -> bool {
        (self.first..=self.last).contains(&family)
    }

    /// The families, oldest first.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// assert_eq!(Shape::Eight.families().iter().count(), 3);
    /// ```
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |&f| self.contains(f))
    }

    /// The vLLM releases of the range, in words (from [`Family::releases`]).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Shape;
    /// assert_eq!(Shape::Counter.families().releases(), "0.11.0");
    /// assert_eq!(Shape::Eleven.families().releases(), "0.32.0 – 0.34.0 and newer");
    /// ```
    pub fn releases(self) -> String {
        self.first
            .releases()
            .through(self.last.releases())
            .to_string()
    }
}

impl fmt::Display for Families {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// The engine whose stats logger printed a KV line.
///
/// `Display`: `0` for one engine, `aggregated(4)` for four engines pooled by
/// `--aggregate-engine-logging`, `unknown`.
///
/// ```
/// use nixl_kv_metrics::logs::Engine;
/// assert_eq!(Engine::One(1).to_string(), "1");
/// assert_eq!(Engine::Aggregated(4).to_string(), "aggregated(4)");
/// assert_eq!(Engine::One(3).index(), Some(3));
/// assert!(Engine::Unknown < Engine::One(0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    /// No engine header came between the previous KV line and this one.
    #[default]
    Unknown,
    /// One engine (data-parallel rank), from `Engine 000: …`.
    One(u32),
    /// The given number of engines pooled into one line, from
    /// `4 Engines Aggregated: …`.
    Aggregated(u32),
}

impl Engine {
    /// The engine's index, for a single engine.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Engine;
    /// assert_eq!(Engine::Aggregated(2).index(), None);
    /// ```
    pub fn index(self) -> Option<u32> {
        match self {
            Engine::One(index) => Some(index),
            _ => None,
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Unknown => f.write_str("unknown"),
            Engine::One(index) => write!(f, "{index}"),
            Engine::Aggregated(count) => write!(f, "aggregated({count})"),
        }
    }
}

/// The level of vLLM's logger prefix.
///
/// vLLM logs the KV line at `DEBUG` when the engine was idle (no prompt or
/// generation tokens in this interval or the one before), so at the default
/// level those lines are missing from the log.
///
/// ```
/// use nixl_kv_metrics::logs::Level;
/// assert_eq!(Level::from_word("DEBUG"), Some(Level::Debug));
/// assert_eq!(Level::Info.as_str(), "INFO");
/// assert_eq!(Level::from_word("info"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARNING`.
    Warning,
    /// `ERROR`.
    Error,
    /// `CRITICAL`.
    Critical,
}

impl Level {
    /// The level Python's logging names `word`.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Level;
    /// assert_eq!(Level::from_word("WARNING"), Some(Level::Warning));
    /// assert_eq!(Level::from_word("WARN"), None);
    /// ```
    pub fn from_word(word: &str) -> Option<Level> {
        Some(match word {
            "DEBUG" => Level::Debug,
            "INFO" => Level::Info,
            "WARNING" => Level::Warning,
            "ERROR" => Level::Error,
            "CRITICAL" => Level::Critical,
            _ => return None,
        })
    }

    /// The level's name as Python's logging prints it.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::Level;
    /// assert_eq!(Level::Critical.as_str(), "CRITICAL");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }
}

/// One field of a KV line as printed: the value, and the text it was read
/// from (`72.0`, `inf`, or in the MultiConnector form `np.float64(72.0)`).
///
/// ```
/// use nixl_kv_metrics::logs::parse_line;
/// use nixl_kv_metrics::reduce::Value;
///
/// let record = parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap();
/// assert_eq!(record.fields[0].value, Value::Int(3));
/// assert_eq!(record.fields[0].text, "3");
/// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Printed {
    /// The field.
    pub field: Field,
    /// Its value: an int for counts and the zero path's `0`, else a float.
    pub value: Value,
    /// The value's text in the log.
    pub text: String,
}

/// One `KV Transfer metrics:` line of a log.
///
/// ```
/// use nixl_kv_metrics::logs::{parse_line, Engine, Shape};
/// use nixl_kv_metrics::release::Family;
///
/// let record = parse_line(
///     "DEBUG 07-13 16:34:08 [metrics.py:103] KV Transfer metrics: Num successful transfers=0, \
///      Avg xfer time (ms)=0, P90 xfer time (ms)=0, Avg post time (ms)=0, P90 post time (ms)=0, \
///      Avg MB per transfer=0, Throughput (MB/s)=0, Avg number of descriptors=0, \
///      Num failed transfers=2, Num KV expired reqs=0, Num notifs after expiry=0",
/// )?
/// .unwrap();
/// assert_eq!(record.shape, Shape::Eleven);
/// assert!(record.is_zero());
/// assert_eq!(record.transfers(), 0);
/// assert_eq!(record.engine, Engine::Unknown);
/// assert_eq!(record.families().first(), Family::F6);
/// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct KvRecord {
    /// The 1-based number of the line in the log.
    pub line: u64,
    /// How many fields, and so which families print it.
    pub shape: Shape,
    /// The fields in the order printed (which is vLLM's order).
    pub fields: Vec<Printed>,
    /// The engine whose logger printed the line.
    pub engine: Engine,
    /// The time of the line: vLLM's `MM-DD HH:MM:SS` when the logger's
    /// prefix is there, else a container runtime's timestamp at the start of
    /// the line (`2025-07-13T16:33:58.123Z`), else `None`.
    pub timestamp: Option<String>,
    /// The level of the logger's prefix, if any.
    pub level: Option<Level>,
    /// The process tag, e.g. `APIServer pid=428`, if any.
    pub process: Option<String>,
    /// The MultiConnector entry the fields come from (`NixlConnector`), or
    /// `None` for the plain form.
    pub connector: Option<String>,
    /// True when this is the last line of the log and no line end follows
    /// it: the log may have been cut while the line was written, so its last
    /// value may be cut short.
    pub unterminated: bool,
}

impl KvRecord {
    /// The value of `field`, if the line prints it.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::logs::parse_line;
    /// use nixl_kv_metrics::reduce::Value;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap();
    /// assert_eq!(record.get(Field::NumSuccessfulTransfersCounter), Some(Value::Int(3)));
    /// assert_eq!(record.get(Field::AvgXferTimeMs), None);
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn get(&self, field: Field) -> Option<Value> {
        self.printed(field).map(|p| p.value)
    }

    /// The text of `field`'s value as printed, if the line prints it.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap();
    /// assert_eq!(record.text(Field::NumSuccessfulTransfersCounter), Some("3"));
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn text(&self, field: Field) -> Option<&str> {
        self.printed(field).map(|p| p.text.as_str())
    }

    /// The field as printed, if the line prints it.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap();
    /// assert_eq!(record.printed(Field::NumSuccessfulTransfersCounter).unwrap().text, "3");
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn printed(&self, field: Field) -> Option<&Printed> {
        self.fields.iter().find(|p| p.field == field)
    }

    /// The number of successful transfers: `Num successful transfers`, or
    /// 0.11.0's counter.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap();
    /// assert_eq!(record.transfers(), 3);
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn transfers(&self) -> u64 {
        match self.fields[0].value {
            // The parser reads counts of up to 64 bits.
            Value::Int(n) => u64::try_from(n).unwrap_or(u64::MAX),
            // Validation accepts only ints for counts.
            Value::Float(x) => x as u64,
        }
    }

    /// True for the all-zero line vLLM prints for an interval with failures
    /// or expiries but no successful transfer (0.15.0 on; or a
    /// MultiConnector's idle NIXL entry).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=3")?.unwrap();
    /// assert!(!record.is_zero());
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn is_zero(&self) -> bool {
        self.shape != Shape::Counter && self.transfers() == 0
    }

    /// The families that can have printed this line.
    ///
    /// The shape's families ([`Shape::families`]), narrowed where the
    /// content allows: an all-zero eight-field line in the plain form comes
    /// from F4 (0.15.0 – 0.30.x), because F2 and F3 never log one: their
    /// stats count as empty without a successful transfer, and an empty
    /// accumulator is not logged. (In the MultiConnector form an idle NIXL
    /// entry prints zeros in every family, so no narrowing there.)
    ///
    /// ```
    /// use nixl_kv_metrics::logs::parse_line;
    /// let zero = parse_line(
    ///     "KV Transfer metrics: Num successful transfers=0, Avg xfer time (ms)=0, \
    ///      P90 xfer time (ms)=0, Avg post time (ms)=0, P90 post time (ms)=0, \
    ///      Avg MB per transfer=0, Throughput (MB/s)=0, Avg number of descriptors=0",
    /// )?
    /// .unwrap();
    /// assert_eq!(zero.families().to_string(), "F4");
    /// assert_eq!(zero.shape.families().to_string(), "F2-F4");
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn families(&self) -> Families {
        if self.shape == Shape::Eight && self.connector.is_none() && self.is_zero() {
            Families::one(Family::F4)
        } else {
            self.shape.families()
        }
    }

    /// The line as a [`Summary`] of `family`, if the family prints this
    /// shape; its `Display` is the message again (in the plain form).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::parse_line;
    /// use nixl_kv_metrics::release::Family;
    /// let line = "KV Transfer metrics: num_successful_transfers=3";
    /// let record = parse_line(line)?.unwrap();
    /// assert_eq!(record.summary(Family::F1).unwrap().to_string(), line);
    /// assert!(record.summary(Family::F2).is_none());
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn summary(&self, family: Family) -> Option<Summary> {
        self.families().contains(family).then(|| {
            Summary::from_values(
                family,
                self.fields.iter().map(|p| (p.field, p.value)).collect(),
            )
        })
    }
}

/// What is wrong with a KV line.
///
/// ```
/// use nixl_kv_metrics::logs::{parse_line, ErrorKind};
/// let error = parse_line("KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.3")
///     .unwrap_err();
/// assert_eq!(error, ErrorKind::WrongCount { count: 2 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing after `KV Transfer metrics: `.
    Empty,
    /// A part between `, ` separators without `=`.
    MissingEquals {
        /// The part.
        text: String,
    },
    /// A name that is not one of vLLM's fields.
    UnknownField {
        /// The name.
        name: String,
    },
    /// A known field where vLLM prints another (or nothing).
    OutOfOrder {
        /// The field found.
        field: Field,
        /// Its 1-based position in the line.
        position: usize,
        /// The field vLLM prints there, if any.
        expected: Option<Field>,
    },
    /// A number of fields that no release prints (they print 1, 8, 10, 11).
    WrongCount {
        /// The number of fields.
        count: usize,
    },
    /// A value that is not a number as Python prints it, or a float where
    /// vLLM prints an int.
    BadNumber {
        /// The field.
        field: Field,
        /// The value's text.
        text: String,
        /// What vLLM prints there.
        expected: &'static str,
    },
    /// A timing field that does not fit `Num successful transfers`: vLLM
    /// prints every timing field as the int `0` when no transfer succeeded
    /// and as a float otherwise.
    Inconsistent {
        /// The field.
        field: Field,
        /// The value's text.
        text: String,
    },
    /// A malformed MultiConnector dict.
    Dict {
        /// What is wrong.
        message: String,
    },
    /// A line longer than [`MAX_LINE`].
    TooLong,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Empty => f.write_str("no fields after \"KV Transfer metrics:\""),
            ErrorKind::MissingEquals { text } => write!(f, "no '=' in {text:?}"),
            ErrorKind::UnknownField { name } => {
                write!(f, "unknown field {name:?} (not a NIXL stats line?)")
            }
            ErrorKind::OutOfOrder {
                field,
                position,
                expected: Some(expected),
            } => write!(
                f,
                "field {position} is {:?}, where vLLM prints {:?}",
                field.name(),
                expected.name()
            ),
            ErrorKind::OutOfOrder {
                field, position, ..
            } => write!(
                f,
                "field {position} is {:?}, after the last field vLLM prints",
                field.name()
            ),
            ErrorKind::WrongCount { count } => write!(
                f,
                "{count} fields: vLLM prints 8 (0.11.1 – 0.30.x), 10 (0.31.x) or 11 (0.32.0 on), \
                 or 0.11.0's single counter (truncated line?)"
            ),
            ErrorKind::BadNumber {
                field,
                text,
                expected,
            } => write!(f, "{}={text}: expected {expected}", field.name()),
            ErrorKind::Inconsistent { field, text } => write!(
                f,
                "{}={text} does not fit Num successful transfers: vLLM prints every timing \
                 field as the integer 0 when no transfer succeeded, and as a float otherwise",
                field.name()
            ),
            ErrorKind::Dict { message } => write!(f, "MultiConnector entry: {message}"),
            ErrorKind::TooLong => write!(f, "line longer than {MAX_LINE} bytes"),
        }
    }
}

impl std::error::Error for ErrorKind {}

/// A malformed KV line: where, and what is wrong.
///
/// ```
/// use nixl_kv_metrics::logs::{LogError, LogParser};
/// let log = "KV Transfer metrics: Num successful transfers=4, Avg";
/// let Some(Err(LogError::Malformed(error))) = LogParser::new(log.as_bytes()).next() else {
///     panic!("expected an error")
/// };
/// assert_eq!(error.line, 1);
/// assert!(error.unterminated);
/// assert_eq!(error.to_string(), "line 1: no '=' in \"Avg\" (the last line, with no line end: cut off?)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// The 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub kind: ErrorKind,
    /// True when the line is the last of the log and has no line end.
    pub unterminated: bool,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)?;
        if self.unterminated {
            f.write_str(" (the last line, with no line end: cut off?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for LineError {}

/// An error while reading a log: a malformed KV line (reading goes on), or
/// an I/O error (reading stops).
///
/// ```
/// use nixl_kv_metrics::logs::LogParser;
/// let mut parser = LogParser::new(&b"KV Transfer metrics: x=1\n"[..]);
/// let error = parser.next().unwrap().unwrap_err();
/// assert_eq!(error.line(), 1);
/// assert!(error.to_string().starts_with("line 1: unknown field \"x\""));
/// ```
#[derive(Debug)]
pub enum LogError {
    /// A KV line that vLLM cannot have printed; it is skipped.
    Malformed(LineError),
    /// Reading failed at the given 1-based line; nothing more is read.
    Io {
        /// The line being read.
        line: u64,
        /// The error.
        error: io::Error,
    },
}

impl LogError {
    /// The 1-based line the error is about.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::LogParser;
    /// let log = b"hello\nKV Transfer metrics: num_successful_transfers=x\n";
    /// assert_eq!(LogParser::new(&log[..]).next().unwrap().unwrap_err().line(), 2);
    /// ```
    pub fn line(&self) -> u64 {
        match self {
            LogError::Malformed(error) => error.line,
            LogError::Io { line, .. } => *line,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Malformed(error) => error.fmt(f),
            LogError::Io { line, error } => write!(f, "line {line}: cannot read: {error}"),
        }
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogError::Malformed(error) => Some(error),
            LogError::Io { error, .. } => Some(error),
        }
    }
}

/// Reads one line (without its line end) as a KV line, if it is one.
///
/// `Ok(None)` for a line without `KV Transfer metrics: `, or a MultiConnector
/// line with no NIXL entry. The record has line number 1 and an unknown
/// engine; a trailing `\n` or `\r\n` is ignored.
///
/// ```
/// use nixl_kv_metrics::field::Field;
/// use nixl_kv_metrics::logs::parse_line;
///
/// let record = parse_line(
///     "KV Transfer metrics: NixlConnector={'Num successful transfers': 1, \
///      'Avg xfer time (ms)': np.float64(9.862), 'P90 xfer time (ms)': 9.862, \
///      'Avg post time (ms)': np.float64(0.1), 'P90 post time (ms)': 0.1, \
///      'Avg MB per transfer': np.float64(70.0), 'Throughput (MB/s)': np.float64(7097.952), \
///      'Avg number of descriptors': np.float64(56.0)}, LMCacheConnector={'hits': 3}",
/// )?
/// .unwrap();
/// assert_eq!(record.connector.as_deref(), Some("NixlConnector"));
/// assert_eq!(record.text(Field::ThroughputMbS), Some("np.float64(7097.952)"));
/// assert_eq!(record.get(Field::ThroughputMbS).unwrap().as_f64(), 7097.952);
/// assert_eq!(parse_line("INFO hello")?, None);
/// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
/// ```
pub fn parse_line(line: impl AsRef<[u8]>) -> Result<Option<KvRecord>, ErrorKind> {
    let line = line.as_ref();
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match scan::find(line, LINE_PREFIX.as_bytes()) {
        Some(at) => record(line, at, 1, Engine::Unknown, false),
        None => Ok(None),
    }
}

/// The record of the KV line `line` whose marker starts at `at`.
fn record(
    line: &[u8],
    at: usize,
    number: u64,
    engine: Engine,
    unterminated: bool,
) -> Result<Option<KvRecord>, ErrorKind> {
    let Some(payload) = line::parse_payload(&line[at + LINE_PREFIX.len()..])? else {
        return Ok(None);
    };
    let prefix = prefix::parse(&line[..at]);
    Ok(Some(KvRecord {
        line: number,
        shape: payload.shape,
        fields: payload.fields,
        engine,
        timestamp: prefix.timestamp,
        level: prefix.level,
        process: prefix.process,
        connector: payload.connector,
        unterminated,
    }))
}

/// A streaming reader of a vLLM log: an iterator over its KV lines.
///
/// Each item is a [`KvRecord`], or a [`LogError`]: a malformed KV line
/// (skipped; reading goes on) or an I/O error (the last item). Memory stays
/// constant: lines are examined in the reader's buffer, and only a line that
/// straddles two fills of the buffer is copied (up to [`MAX_LINE`] bytes).
/// Use a large buffer (e.g. `BufReader::with_capacity(1 << 16, file)`).
///
/// ```
/// use nixl_kv_metrics::logs::{Engine, LogParser};
///
/// let log = b"INFO [loggers.py:1] 2 Engines Aggregated: Avg prompt throughput: 1.0 tokens/s\r\n\
///             \xff\xfe not UTF-8\r\n\
///             INFO [metrics.py:1] KV Transfer metrics: num_successful_transfers=7\r\n";
/// let mut parser = LogParser::new(&log[..]);
/// let record = parser.next().unwrap()?;
/// assert_eq!((record.line, record.engine, record.transfers()), (3, Engine::Aggregated(2), 7));
/// assert!(parser.next().is_none());
/// assert_eq!(parser.lines_read(), 3);
/// assert_eq!(parser.bytes_read(), log.len() as u64);
/// # Ok::<(), nixl_kv_metrics::logs::LogError>(())
/// ```
pub struct LogParser<R> {
    reader: R,
    state: State,
    /// The start of a line that straddles buffer fills.
    carry: Vec<u8>,
    /// True when the line in `carry` was longer than [`MAX_LINE`].
    overflow: bool,
    done: bool,
}

/// What the parser knows between lines.
#[derive(Default)]
struct State {
    /// Lines finished so far.
    line: u64,
    /// Bytes consumed so far.
    bytes: u64,
    /// The engine named by the last header since the last KV line.
    engine: Option<Engine>,
}

impl State {
    /// Handles one whole line (without its `\n`).
    fn line_end(
        &mut self,
        line: &[u8],
        overflow: bool,
        terminated: bool,
    ) -> Option<Result<KvRecord, LogError>> {
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let at = find_marker(line, &mut self.engine)?;
        let engine = self.engine.take().unwrap_or_default();
        let result = if overflow {
            Err(ErrorKind::TooLong)
        } else {
            record(line, at, self.line, engine, !terminated)
        };
        match result {
            Ok(record) => record.map(Ok),
            Err(kind) => Some(Err(LogError::Malformed(LineError {
                line: self.line,
                kind,
                unterminated: !terminated,
            }))),
        }
    }
}

/// The start of `KV Transfer metrics: ` in `line`; for a line without it,
/// records the engine the line names, if it is an engine's stats line.
///
/// One pass over the line looks for both markers' first letters.
fn find_marker(line: &[u8], engine: &mut Option<Engine>) -> Option<usize> {
    let marker = LINE_PREFIX.as_bytes();
    let mut header = None;
    let mut from = 0;
    while let Some(i) = scan::find_either(&line[from..], marker[0], b'E') {
        let at = from + i;
        if line[at..].starts_with(marker) {
            return Some(at);
        }
        if header.is_none() {
            header = prefix::engine_header_at(line, at);
        }
        from = at + 1;
    }
    if header.is_some() {
        *engine = header;
    }
    None
}

impl<R: BufRead> LogParser<R> {
    /// A parser reading `reader` from its current position (line 1).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::LogParser;
    /// assert_eq!(LogParser::new(&b""[..]).count(), 0);
    /// ```
    pub fn new(reader: R) -> LogParser<R> {
        LogParser {
            reader,
            state: State::default(),
            carry: Vec::new(),
            overflow: false,
            done: false,
        }
    }

    /// The number of lines read so far (a last line without a line end
    /// counts).
    ///
    /// ```
    /// use nixl_kv_metrics::logs::LogParser;
    /// let mut parser = LogParser::new(&b"a\nb\nc"[..]);
    /// assert!(parser.next().is_none());
    /// assert_eq!(parser.lines_read(), 3);
    /// ```
    pub fn lines_read(&self) -> u64 {
        self.state.line
    }

    /// The number of bytes read so far.
    ///
    /// ```
    /// use nixl_kv_metrics::logs::LogParser;
    /// let mut parser = LogParser::new(&b"a\nb\n"[..]);
    /// assert!(parser.next().is_none());
    /// assert_eq!(parser.bytes_read(), 4);
    /// ```
    pub fn bytes_read(&self) -> u64 {
        self.state.bytes
    }
}

/// Appends `bytes` to the straddling line, up to [`MAX_LINE`].
fn keep(carry: &mut Vec<u8>, overflow: &mut bool, bytes: &[u8]) {
    let room = MAX_LINE.saturating_sub(carry.len());
    if bytes.len() > room {
        *overflow = true;
    }
    carry.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

impl<R: BufRead> Iterator for LogParser<R> {
    type Item = Result<KvRecord, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let buffer = match self.reader.fill_buf() {
                Ok(buffer) => buffer,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.done = true;
                    let line = self.state.line + 1;
                    return Some(Err(LogError::Io { line, error }));
                }
            };
            if buffer.is_empty() {
                self.done = true;
                if self.carry.is_empty() && !self.overflow {
                    return None;
                }
                let line = std::mem::take(&mut self.carry);
                return self.state.line_end(&line, self.overflow, false);
            }
            let Some(end) = scan::find_byte(buffer, b'\n') else {
                let len = buffer.len();
                keep(&mut self.carry, &mut self.overflow, buffer);
                self.reader.consume(len);
                self.state.bytes += len as u64;
                continue;
            };
            let result = if self.carry.is_empty() && !self.overflow {
                self.state.line_end(&buffer[..end], false, true)
            } else {
                keep(&mut self.carry, &mut self.overflow, &buffer[..end]);
                let result = self.state.line_end(&self.carry, self.overflow, true);
                self.carry.clear();
                self.overflow = false;
                result
            };
            self.reader.consume(end + 1);
            self.state.bytes += end as u64 + 1;
            if result.is_some() {
                return result;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// A reader that hands out a few bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_straddling_buffer_fills() {
        let line = "INFO 07-13 16:33:58 [metrics.py:103] KV Transfer metrics: num_successful_transfers=12\n";
        let log = format!("Engine 003: x\n{line}hello\n{line}");
        for chunk in [1, 3, 7, 64] {
            for capacity in [8, 16, 1024] {
                let reader = BufReader::with_capacity(capacity, Trickle(log.as_bytes(), chunk));
                let mut parser = LogParser::new(reader);
                let records: Vec<KvRecord> = parser.by_ref().map(Result::unwrap).collect();
                assert_eq!(records.len(), 2);
                assert_eq!((records[0].line, records[1].line), (2, 4));
                assert_eq!(records[0].engine, Engine::One(3));
                assert_eq!(records[1].engine, Engine::Unknown);
                assert_eq!(records[1].timestamp.as_deref(), Some("07-13 16:33:58"));
                assert_eq!(parser.bytes_read(), log.len() as u64);
            }
        }
    }

    #[test]
    fn overlong_lines() {
        let mut log = vec![b'x'; MAX_LINE + 10];
        log.extend_from_slice(b"\n");
        log.extend_from_slice(b"KV Transfer metrics: num_successful_transfers=1\n");
        let mut long_kv = b"KV Transfer metrics: num_successful_transfers=1".to_vec();
        long_kv.resize(MAX_LINE + 10, b' ');
        log.extend_from_slice(&long_kv);
        log.extend_from_slice(b"\nKV Transfer metrics: num_successful_transfers=2\n");
        let reader = BufReader::with_capacity(4096, &log[..]);
        let items: Vec<_> = LogParser::new(reader).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap().line, 2);
        let Err(LogError::Malformed(error)) = &items[1] else {
            panic!("{:?}", items[1])
        };
        assert_eq!((error.line, &error.kind), (3, &ErrorKind::TooLong));
        assert_eq!(items[2].as_ref().unwrap().transfers(), 2);
    }

    #[test]
    fn io_errors_end_the_stream() {
        struct Failing(u8);
        impl io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                match self.0 {
                    1 => {
                        let text = b"a\nb\n";
                        buf[..text.len()].copy_from_slice(text);
                        Ok(text.len())
                    }
                    2 => Err(io::Error::new(io::ErrorKind::Interrupted, "again")),
                    _ => Err(io::Error::other("disk on fire")),
                }
            }
        }
        let mut parser = LogParser::new(BufReader::new(Failing(0)));
        let error = parser.next().unwrap().unwrap_err();
        assert_eq!(error.line(), 3);
        assert!(error.to_string().contains("disk on fire"));
        assert!(parser.next().is_none());
    }
}
