//! One KV line read from a log: its fields as printed, its shape, and what
//! the logger's prefix and the engine headers before it say.

use std::fmt;

use super::line::numpy_scalar;
use super::{Families, Shape};
use crate::field::Field;
use crate::reduce::{Summary, Value};
use crate::release::Family;

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

impl Printed {
    /// The value's digits as printed: the text, without the
    /// `np.float64(…)` around it in the MultiConnector form. (A value is
    /// only read when Python prints it so, so this is its `repr`, or its
    /// `str` for an int.)
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line(
    ///     "KV Transfer metrics: NixlConnector={'Num successful transfers': 1, \
    ///      'Avg xfer time (ms)': np.float64(9.862), 'P90 xfer time (ms)': 9.862, \
    ///      'Avg post time (ms)': np.float64(0.1), 'P90 post time (ms)': 0.1, \
    ///      'Avg MB per transfer': np.float64(70.0), 'Throughput (MB/s)': np.float64(7097.952), \
    ///      'Avg number of descriptors': np.float64(56.0)}",
    /// )?
    /// .unwrap();
    /// assert_eq!(record.printed(Field::AvgXferTimeMs).unwrap().digits(), "9.862");
    /// assert_eq!(record.printed(Field::P90XferTimeMs).unwrap().digits(), "9.862");
    /// # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
    /// ```
    pub fn digits(&self) -> &str {
        &self.text[numpy_scalar(self.text.as_bytes())]
    }
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
    pub fn transfers(&self) -> u128 {
        match self.fields[0].value {
            Value::Int(n) => n,
            // Validation accepts only ints for counts.
            Value::Float(x) => x as u128,
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
