//! Reading a log line by line: one KV line ([`parse_line`]), or a stream
//! of any size in constant memory ([`LogParser`]).

use std::io::{self, BufRead};

use super::{
    Engine, ErrorKind, KvRecord, LineError, LogError, MAX_LINE, MAX_RUN_ON, line, prefix, scan,
};
use crate::reduce::LINE_PREFIX;

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
    /// Bytes of the current line consumed so far.
    line_bytes: u64,
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
                self.state.line_bytes += len as u64;
                if self.state.line_bytes > MAX_RUN_ON {
                    self.done = true;
                    let line = self.state.line + 1;
                    return Some(Err(LogError::RunOn { line }));
                }
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
            self.state.line_bytes = 0;
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
    fn a_line_without_end_stops_the_reading() {
        /// `/dev/zero`: NUL bytes, no line end, ever.
        struct Zeros;
        impl io::Read for Zeros {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(0);
                Ok(buf.len())
            }
        }
        let log = io::Read::chain(
            &b"KV Transfer metrics: num_successful_transfers=1\n"[..],
            Zeros,
        );
        let mut parser = LogParser::new(BufReader::with_capacity(1 << 16, log));
        assert_eq!(parser.next().unwrap().unwrap().transfers(), 1);
        let error = parser.next().unwrap().unwrap_err();
        assert!(matches!(error, LogError::RunOn { line: 2 }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "line 2: no line end in 256 MiB: not a text log"
        );
        assert!(parser.next().is_none());
        assert!(parser.bytes_read() <= MAX_RUN_ON + (1 << 17));
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
