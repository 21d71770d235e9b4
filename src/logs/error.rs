//! What can go wrong reading a log: a KV line vLLM cannot have printed
//! (skipped), or an I/O error (the end of the stream).

use std::fmt;
use std::io;

use super::{MAX_LINE, MAX_RUN_ON};
use crate::field::Field;
use crate::printer::words::excerpt;

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
            ErrorKind::MissingEquals { text } => {
                write!(f, "no '=' in {}", excerpt(text.as_bytes()))
            }
            ErrorKind::UnknownField { name } => {
                write!(
                    f,
                    "unknown field {} (not a NIXL stats line?)",
                    excerpt(name.as_bytes())
                )
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
            } => write!(
                f,
                "{}={}: expected {expected}",
                field.name(),
                excerpt(text.as_bytes())
            ),
            ErrorKind::Inconsistent { field, text } => write!(
                f,
                "{}={} does not fit {}: vLLM prints every timing field as the integer 0 \
                 when no transfer succeeded, and as a float otherwise",
                field.name(),
                excerpt(text.as_bytes()),
                Field::NumSuccessfulTransfers.name()
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
/// an I/O error or a line with no end (reading stops).
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
    /// The given 1-based line ran on past [`MAX_RUN_ON`] bytes without a
    /// line end: the input is not a text log; nothing more is read.
    RunOn {
        /// The line.
        line: u64,
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
            LogError::Io { line, .. } | LogError::RunOn { line } => *line,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Malformed(error) => error.fmt(f),
            LogError::Io { line, error } => write!(f, "line {line}: cannot read: {error}"),
            LogError::RunOn { line } => write!(
                f,
                "line {line}: no line end in {} MiB: not a text log",
                MAX_RUN_ON >> 20
            ),
        }
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogError::Malformed(error) => Some(error),
            LogError::Io { error, .. } => Some(error),
            LogError::RunOn { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::logs::parse_line;

    #[test]
    fn input_is_quoted_short_and_escaped() {
        let line = format!("KV Transfer metrics: \x1b[2J{}=1", "x".repeat(1000));
        let error = parse_line(line).unwrap_err().to_string();
        assert!(
            error.starts_with("unknown field \"\\u{1b}[2Jxxx"),
            "{error}"
        );
        assert!(error.len() < 120 && !error.contains('\x1b'), "{error}");
        let error = parse_line("KV Transfer metrics: Avg").unwrap_err();
        assert_eq!(error.to_string(), "no '=' in \"Avg\"");
    }
}
