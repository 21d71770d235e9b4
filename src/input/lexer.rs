//! A streaming JSON lexer for the few token kinds stats documents use.
//!
//! It reads through a fixed buffer, so a document of any size is read in
//! constant memory, keeps the line and column of every token for error
//! messages, and hands numbers over as their exact text so that each caller
//! can convert them the way Python's `json` module would (integers exactly,
//! floats correctly rounded).

use std::io::Read;

use super::InputError;

/// Bytes read from the source at a time.
const BUFFER: usize = 64 * 1024;

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

/// A JSON number token: its text, what kind of number it is, and where it
/// starts.
pub(super) struct Number<'a> {
    pub text: &'a [u8],
    pub line: usize,
    pub column: usize,
    negative: bool,
    /// For a token without fraction or exponent: its magnitude, if it fits
    /// in 64 bits.
    magnitude: Option<u64>,
    integer: bool,
}

impl Number<'_> {
    /// True when the token has no fraction and no exponent.
    pub fn is_integer(&self) -> bool {
        self.integer
    }

    /// True when the token starts with a minus sign.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The value of an integer token without its sign, if it fits in 64
    /// bits (`None` too for a token with a fraction or an exponent).
    pub fn magnitude(&self) -> Option<u64> {
        self.magnitude
    }

    /// The value as Python's `float()` reads it: correctly rounded.
    pub fn to_f64(&self) -> f64 {
        match self.magnitude {
            // Exact below 2^53, and correctly rounded (ties to even) above,
            // as Python converts an int.
            Some(magnitude) if self.negative => -(magnitude as f64),
            Some(magnitude) => magnitude as f64,
            // A valid JSON number is always accepted by fast-float.
            None => fast_float2::parse(self.text).unwrap_or(f64::NAN),
        }
    }

    /// The token as text, for messages.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.text).unwrap_or("?")
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
        while self.fill()? && self.buffer[self.pos].is_ascii_alphanumeric() {
            taken.push(self.buffer[self.pos]);
            self.pos += 1;
        }
        if taken == word.as_bytes() {
            Ok(true)
        } else {
            Err(self.error(format!(
                "unexpected word {:?}; expected {word}",
                String::from_utf8_lossy(&taken)
            )))
        }
    }

    /// Takes a number token (after white space), checking JSON's grammar:
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    pub fn number(&mut self) -> Result<Number<'_>, InputError> {
        self.peek()?;
        let (line, column) = self.position();
        let start = self.pos;
        let mut len = 0;
        // Fast path: the whole token is in the buffer.
        while start + len < self.end && is_number_byte(self.buffer[start + len]) {
            len += 1;
        }
        let text: &[u8] = if start + len < self.end || self.eof {
            self.pos += len;
            &self.buffer[start..start + len]
        } else {
            self.scratch.clear();
            self.scratch
                .extend_from_slice(&self.buffer[start..self.end]);
            self.pos = self.end;
            while self.fill()? && is_number_byte(self.buffer[self.pos]) {
                self.scratch.push(self.buffer[self.pos]);
                self.pos += 1;
            }
            &self.scratch
        };
        let Some(shape) = scan_number(text) else {
            return Err(InputError::at(
                format!("{:?} is not a JSON number", String::from_utf8_lossy(text)),
                line,
                column,
            ));
        };
        Ok(Number {
            text,
            line,
            column,
            negative: shape.negative,
            magnitude: shape.magnitude,
            integer: shape.integer,
        })
    }

    /// Takes a string token (after white space) and decodes its escapes.
    pub fn string(&mut self) -> Result<String, InputError> {
        self.expect(Next::String, "a string")?;
        let mut bytes = Vec::new();
        loop {
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

fn is_number_byte(byte: u8) -> bool {
    matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

/// What [`scan_number`] learns about a number token.
struct Shape {
    negative: bool,
    integer: bool,
    magnitude: Option<u64>,
}

/// Checks `text` against JSON's number grammar (RFC 8259, section 6) in one
/// pass, noting its sign, whether it is an integer and, if so, its value.
fn scan_number(text: &[u8]) -> Option<Shape> {
    let (negative, rest) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let whole = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if whole == 0 || (whole > 1 && rest[0] == b'0') {
        return None;
    }
    let mut rest = &rest[whole..];
    let integer = rest.is_empty();
    let magnitude = if integer {
        text[text.len() - whole..].iter().try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    } else {
        None
    };
    if let Some(after) = rest.strip_prefix(b".") {
        let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &after[n..];
    }
    if let Some((b'e' | b'E', after)) = rest.split_first() {
        let after = match after.split_first() {
            Some((b'+' | b'-', signed)) => signed,
            _ => after,
        };
        let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &after[n..];
    }
    rest.is_empty().then_some(Shape {
        negative,
        integer,
        magnitude,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_number_grammar() {
        for good in [
            "0", "-0", "1.5", "1e-06", "1E+3", "123", "0.000001", "-12.5e10",
        ] {
            assert!(scan_number(good.as_bytes()).is_some(), "{good}");
        }
        for bad in [
            "", "-", "01", "-01", "1.", ".5", "1e", "+1", "1e+", "--1", "1-2", "1.5.2",
        ] {
            assert!(scan_number(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn integers_are_exact() {
        let shape = scan_number(b"18446744073709551615").unwrap();
        assert_eq!(shape.magnitude, Some(u64::MAX));
        assert_eq!(
            scan_number(b"18446744073709551616").unwrap().magnitude,
            None
        );
        assert_eq!(scan_number(b"-0").unwrap().magnitude, Some(0));
        assert_eq!(scan_number(b"1.0").unwrap().magnitude, None);
    }

    #[test]
    fn numbers_across_buffer_reads() {
        // A reader that hands over one byte at a time splits every token.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let mut lexer = Lexer::new(Trickle(b"  0.0013812345678912345\n \"a\\u00e9\\n\"  "));
        assert_eq!(lexer.number().unwrap().to_f64(), 0.0013812345678912345);
        assert_eq!(lexer.string().unwrap(), "a\u{e9}\n");
        assert_eq!(lexer.position(), (2, 13));
        assert_eq!(lexer.peek().unwrap(), Next::End);
    }
}
