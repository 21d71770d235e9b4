//! A streaming JSON lexer for the few token kinds stats documents use.
//!
//! It reads through a fixed buffer, so a document of any size is read in
//! constant memory, keeps the line and column of every token for error
//! messages, and hands numbers over as [`Number`]s so that each caller can
//! convert them the way Python's `json` module would (integers exactly,
//! floats correctly rounded).
//!
//! **Why not serde_json.** Its streaming reader
//! (`serde_json::Deserializer::from_reader` with a visitor into the same
//! stats, keys from [`Key`](crate::data::Key), signs checked) was measured
//! against this lexer with `cargo bench --bench read`: a 10⁶-transfer
//! document (36 MB, the shape `scripts/speed.py input` writes), criterion's
//! estimate, twice, on a shared 2-core machine under load:
//!
//! | reader | run 1 | run 2 |
//! |---|---|---|
//! | this lexer (`Interval::from_reader`) | 277 ms | 100 ms (343 MiB/s) |
//! | serde_json `from_reader` over a 64 KiB `BufReader` | 405 ms | 184 ms (187 MiB/s) |
//! | serde_json `from_slice` (whole document in memory) | 104 ms | 119 ms (288 MiB/s) |
//!
//! Streaming, serde_json is 1.5–1.8× slower; only over a slice, with the
//! whole document in memory, is it on a par. It would also lose what the
//! tests check: serde_json places an error where it stopped reading, after
//! the token that caused it (this lexer at its first byte: `… at line 1
//! column 50` for the `-4` of `[-4]`), its messages do not name the place in
//! the document (`steps[1]: worker 1: bytes_transferred[0]: …`), and its
//! numbers would still need converting as Python converts them. So: this
//! lexer.

use std::io::Read;

use std::fmt::Display;

use super::InputError;
use super::number::{MAX_NUMBER, Number, is_number_byte, scan_number};
use crate::printer::words::excerpt;

/// Bytes read from the source at a time.
const BUFFER: usize = 64 * 1024;

/// The longest string read, in bytes. Strings are the keys of stats dicts,
/// the longest of which has 30 bytes; reading a longer one whole would cost
/// memory that follows the input.
const MAX_STRING: usize = 128;

/// The longest word read (`null`, `true`, `false`), in bytes.
const MAX_WORD: usize = 16;

/// What the next token is, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    ObjectStart,
    ObjectEnd,
    ListStart,
    ListEnd,
    Comma,
    Colon,
    String,
    Number,
    /// `null`, `true`, `false`, or anything else starting with a letter.
    Word,
    /// A byte no JSON token starts with.
    Other(u8),
    End,
}

impl Next {
    /// The token for an error message: "a string", "the end of the input".
    pub(super) fn describe(self) -> String {
        match self {
            Next::ObjectStart => "an object".into(),
            Next::ObjectEnd => "'}'".into(),
            Next::ListStart => "a list".into(),
            Next::ListEnd => "']'".into(),
            Next::Comma => "','".into(),
            Next::Colon => "':'".into(),
            Next::String => "a string".into(),
            Next::Number => "a number".into(),
            Next::Word => "a word (true, false, null or not JSON)".into(),
            Next::Other(byte) if byte.is_ascii_graphic() => format!("'{}'", byte as char),
            Next::Other(byte) => format!("the byte 0x{byte:02x}"),
            Next::End => "the end of the input".into(),
        }
    }
}

/// The lexer over a byte source.
pub(super) struct Lexer<R> {
    source: R,
    buffer: Vec<u8>,
    pos: usize,
    end: usize,
    /// Bytes consumed before `buffer[0]`.
    offset: usize,
    line: usize,
    /// Absolute offset of the first byte of the current line.
    line_start: usize,
    /// A number's text when it straddles two reads of the buffer.
    scratch: Vec<u8>,
    eof: bool,
}

impl<R: Read> Lexer<R> {
    pub fn new(source: R) -> Lexer<R> {
        Lexer {
            source,
            buffer: vec![0; BUFFER],
            pos: 0,
            end: 0,
            offset: 0,
            line: 1,
            line_start: 0,
            scratch: Vec::new(),
            eof: false,
        }
    }

    /// An error at the lexer's current position.
    pub fn error(&self, message: impl Into<String>) -> InputError {
        let (line, column) = self.position();
        InputError::at(message, line, column)
    }

    /// An error saying what was expected where, and what was found instead.
    pub fn expected(&mut self, place: &str, what: &str) -> InputError {
        match self.peek() {
            Ok(next) => self.error(format!("{place}expected {what}, found {}", next.describe())),
            Err(error) => error,
        }
    }

    /// The line and column (both from 1) of the next byte.
    pub fn position(&self) -> (usize, usize) {
        (self.line, self.offset + self.pos - self.line_start + 1)
    }

    /// Refills the buffer when it is used up; false at the end of input.
    #[inline]
    fn fill(&mut self) -> Result<bool, InputError> {
        if self.pos < self.end {
            return Ok(true);
        }
        self.refill()
    }

    #[cold]
    fn refill(&mut self) -> Result<bool, InputError> {
        if self.eof {
            return Ok(false);
        }
        self.offset += self.end;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.source.read(&mut self.buffer) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(read) => {
                    self.end = read;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(format!("cannot read the input: {e}"))),
            }
        }
    }

    /// Skips white space and says what the next token is, without taking it.
    #[inline]
    pub fn peek(&mut self) -> Result<Next, InputError> {
        loop {
            if !self.fill()? {
                return Ok(Next::End);
            }
            let byte = self.buffer[self.pos];
            match byte {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.offset + self.pos;
                }
                b'{' => return Ok(Next::ObjectStart),
                b'}' => return Ok(Next::ObjectEnd),
                b'[' => return Ok(Next::ListStart),
                b']' => return Ok(Next::ListEnd),
                b',' => return Ok(Next::Comma),
                b':' => return Ok(Next::Colon),
                b'"' => return Ok(Next::String),
                b'-' | b'0'..=b'9' => return Ok(Next::Number),
                b'a'..=b'z' | b'A'..=b'Z' => return Ok(Next::Word),
                other => return Ok(Next::Other(other)),
            }
        }
    }

    /// Takes a one-byte token that `peek` has just reported.
    pub fn bump(&mut self) {
        debug_assert!(self.pos < self.end);
        self.pos += 1;
    }

    /// Takes `token` (after white space), or fails saying what was expected.
    pub fn expect(&mut self, token: Next, expected: &str) -> Result<(), InputError> {
        if self.peek()? == token {
            self.bump();
            Ok(())
        } else {
            Err(self.expected("", expected))
        }
    }

    /// Takes a word such as `null`; false (and nothing taken) if the next
    /// token is not that word.
    pub fn word(&mut self, word: &str) -> Result<bool, InputError> {
        if self.peek()? != Next::Word {
            return Ok(false);
        }
        let mut taken = Vec::new();
        while taken.len() <= MAX_WORD
            && self.fill()?
            && self.buffer[self.pos].is_ascii_alphanumeric()
        {
            taken.push(self.buffer[self.pos]);
            self.pos += 1;
        }
        if taken == word.as_bytes() {
            Ok(true)
        } else {
            Err(self.error(format!(
                "unexpected word {}; expected {word}",
                excerpt(&taken)
            )))
        }
    }

    /// Takes the number token that [`Lexer::peek`] has just reported,
    /// checking JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    pub fn number(&mut self) -> Result<Number<'_>, InputError> {
        debug_assert!(
            self.pos < self.end,
            "number() follows a peek() that saw a number"
        );
        let (line, column) = self.position();
        let start = self.pos;
        let shape = scan_number(&self.buffer[start..self.end]);
        let ends_here = |len: usize| start + len < self.end || self.eof;
        let (text, shape) = match shape {
            // The usual case: the token ends inside the buffer.
            Some(shape)
                if shape.len <= MAX_NUMBER
                    && ends_here(shape.len)
                    && !self.continues_at(start + shape.len) =>
            {
                self.pos += shape.len;
                (&self.buffer[start..start + shape.len], Some(shape))
            }
            _ => {
                // Straddles a refill, is malformed or too long: take the
                // run of number characters (up to one past the longest),
                // then scan it again.
                self.scratch.clear();
                while self.scratch.len() <= MAX_NUMBER
                    && self.fill()?
                    && is_number_byte(self.buffer[self.pos])
                {
                    self.scratch.push(self.buffer[self.pos]);
                    self.pos += 1;
                }
                if self.scratch.len() > MAX_NUMBER {
                    return Err(InputError::at(
                        format!(
                            "a number of more than {MAX_NUMBER} characters, {}: Python's json \
                             prints none so long",
                            excerpt(&self.scratch)
                        ),
                        line,
                        column,
                    ));
                }
                let shape = scan_number(&self.scratch).filter(|s| s.len == self.scratch.len());
                (&self.scratch[..], shape)
            }
        };
        let Some(shape) = shape else {
            return Err(InputError::at(
                format!("{} is not a JSON number", excerpt(text)),
                line,
                column,
            ));
        };
        Ok(Number::new(text, shape))
    }

    /// Reads a list of numbers, `[` to `]`, giving each to `each`; an error
    /// from `each` is reported at the number, as `{at}[{index}]: {error}`.
    ///
    /// Lists of numbers are nearly all of a stats document, so elements that
    /// lie whole in the buffer with a plain separator take a fast path that
    /// scans the buffer directly; anything else (a refill, a newline, a
    /// malformed token) takes the general one.
    pub fn number_list(
        &mut self,
        at: impl Display,
        mut each: impl FnMut(&Number<'_>) -> Result<(), String>,
    ) -> Result<(), InputError> {
        if self.peek()? != Next::ListStart {
            return Err(self.expected(&format!("{at}: "), "a list"));
        }
        self.bump();
        if self.peek()? == Next::ListEnd {
            self.bump();
            return Ok(());
        }
        for index in 0usize.. {
            let last = match self.buffered_element(&mut each) {
                Some(Ok(last)) => last,
                Some(Err((start, message))) => {
                    self.pos = start;
                    return Err(self.error(format!("{at}[{index}]: {message}")));
                }
                None => self.element(&at, index, &mut each)?,
            };
            if last {
                break;
            }
        }
        Ok(())
    }

    /// The fast path of [`Lexer::number_list`]: one element and its
    /// separator, if they lie whole in the buffer. `Some(Ok(true))` after the
    /// last element; `Some(Err((token start, message)))` when `each` refused
    /// the number; `None` (nothing taken) when the general path must decide.
    #[inline]
    fn buffered_element(
        &mut self,
        each: &mut impl FnMut(&Number<'_>) -> Result<(), String>,
    ) -> Option<Result<bool, (usize, String)>> {
        let buffer = &self.buffer[..self.end];
        let spaces = |mut i: usize| {
            while buffer.get(i) == Some(&b' ') {
                i += 1;
            }
            i
        };
        let start = spaces(self.pos);
        let shape = scan_number(buffer.get(start..)?)?;
        let len = shape.len;
        if len > MAX_NUMBER {
            return None;
        }
        let separator = spaces(start + len);
        let last = match buffer.get(separator)? {
            b',' => false,
            b']' => true,
            _ => return None,
        };
        if let Err(message) = each(&Number::new(&buffer[start..start + len], shape)) {
            return Some(Err((start, message)));
        }
        self.pos = separator + 1;
        Some(Ok(last))
    }

    /// The general path of [`Lexer::number_list`]: one element and its
    /// separator; true after the last element.
    fn element(
        &mut self,
        at: &impl Display,
        index: usize,
        each: &mut impl FnMut(&Number<'_>) -> Result<(), String>,
    ) -> Result<bool, InputError> {
        let next = self.peek()?;
        if next != Next::Number {
            return Err(self.error(format!(
                "{at}[{index}]: expected a number, found {}",
                next.describe()
            )));
        }
        let (line, column) = self.position();
        let number = self.number()?;
        each(&number)
            .map_err(|message| InputError::at(format!("{at}[{index}]: {message}"), line, column))?;
        match self.peek()? {
            Next::Comma => {
                self.bump();
                Ok(false)
            }
            Next::ListEnd => {
                self.bump();
                Ok(true)
            }
            other => Err(self.error(format!(
                "{at}: expected ',' or ']', found {}",
                other.describe()
            ))),
        }
    }

    /// True when the byte at `index` of the buffer would continue a number.
    fn continues_at(&self, index: usize) -> bool {
        index < self.end && is_number_byte(self.buffer[index])
    }

    /// Takes a string token (after white space) and decodes its escapes.
    pub fn string(&mut self) -> Result<String, InputError> {
        if self.peek()? != Next::String {
            return Err(self.expected("", "a string"));
        }
        let (line, column) = self.position();
        self.bump();
        let mut bytes = Vec::new();
        loop {
            if bytes.len() > MAX_STRING {
                return Err(InputError::at(
                    format!(
                        "a string of more than {MAX_STRING} bytes, {}: no stats key is so long",
                        excerpt(&bytes)
                    ),
                    line,
                    column,
                ));
            }
            if !self.fill()? {
                return Err(self.error("unterminated string"));
            }
            let byte = self.buffer[self.pos];
            self.pos += 1;
            match byte {
                b'"' => break,
                b'\\' => self.escape(&mut bytes)?,
                0x00..=0x1f => {
                    return Err(self.error("a control character inside a string (escape it)"));
                }
                _ => bytes.push(byte),
            }
        }
        String::from_utf8(bytes).map_err(|_| self.error("a string that is not valid UTF-8"))
    }

    /// Decodes one escape after a backslash into `out`.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), InputError> {
        let simple = match self.next_byte()? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut code = u32::from(self.hex4()?);
                if (0xD800..0xDC00).contains(&code) {
                    // A high surrogate must be followed by \u and a low one.
                    if self.next_byte()? != b'\\' || self.next_byte()? != b'u' {
                        return Err(self.error("a lone surrogate in a \\u escape"));
                    }
                    let low = u32::from(self.hex4()?);
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.error("a lone surrogate in a \\u escape"));
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                }
                let c = char::from_u32(code)
                    .ok_or_else(|| self.error("a lone surrogate in a \\u escape"))?;
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                return Ok(());
            }
            other => {
                return Err(self.error(format!("invalid escape \\{}", other.escape_ascii())));
            }
        };
        out.push(simple);
        Ok(())
    }

    fn next_byte(&mut self) -> Result<u8, InputError> {
        if !self.fill()? {
            return Err(self.error("unterminated string"));
        }
        self.pos += 1;
        Ok(self.buffer[self.pos - 1])
    }

    fn hex4(&mut self) -> Result<u16, InputError> {
        let mut value = 0u16;
        for _ in 0..4 {
            let digit = (self.next_byte()? as char)
                .to_digit(16)
                .ok_or_else(|| self.error("a \\u escape needs four hex digits"))?;
            value = value * 16 + digit as u16;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Trickle;

    #[test]
    fn numbers_across_buffer_reads() {
        // One byte per read splits every token.
        let mut lexer = Lexer::new(Trickle::new(
            b"  0.0013812345678912345\n \"a\\u00e9\\n\"  ",
            1,
        ));
        assert_eq!(lexer.peek().unwrap(), Next::Number);
        assert_eq!(lexer.number().unwrap().to_f64(), 0.0013812345678912345);
        assert_eq!(lexer.string().unwrap(), "a\u{e9}\n");
        assert_eq!(lexer.position(), (2, 13));
        assert_eq!(lexer.peek().unwrap(), Next::End);
    }
}
