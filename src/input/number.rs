//! JSON number tokens: where one ends, and its value read as Python's
//! `json` reads it.
//!
//! Numbers are nearly all of a stats document, so the scan that checks a
//! token's grammar also accumulates its digits (eight at a time where it
//! can) and, for the usual durations, computes the float itself; the rest
//! goes to fast-float. The lexer ([`super::lexer`]) finds the tokens and
//! hands each over as a [`Number`].

use crate::printer::words::{EXCERPT_CHARS, escaped};

/// The most characters a number token may have: Python's `json` prints a
/// float in at most 24 and refuses to print an int of more than 4300
/// digits (`sys.int_info.default_max_str_digits`, Python 3.11 on), so
/// a longer token is not a document vLLM's side wrote, and reading it
/// whole would cost memory that follows the input.
pub(super) const MAX_NUMBER: usize = 4301;

/// A JSON number token: its text, and what kind of number it is.
pub(super) struct Number<'a> {
    text: &'a [u8],
    negative: bool,
    /// For a token without fraction or exponent: its magnitude, if it fits
    /// in 64 bits.
    magnitude: Option<u64>,
    integer: bool,
    /// The value, when the scan could compute it exactly (see [`scan_number`]).
    exact: Option<f64>,
}

impl<'a> Number<'a> {
    pub(super) fn new(text: &'a [u8], shape: Shape) -> Number<'a> {
        Number {
            text,
            negative: shape.negative,
            magnitude: shape.magnitude,
            integer: shape.integer,
            exact: shape.exact,
        }
    }

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
            None => self.exact.unwrap_or_else(|| {
                // A valid JSON number is always accepted by fast-float.
                fast_float2::parse(self.text).unwrap_or(f64::NAN)
            }),
        }
    }

    /// The token as text, for messages: at most
    /// [`EXCERPT_CHARS`](crate::printer::words::EXCERPT_CHARS) characters
    /// of it, then `…` (a token is only digits, signs, `.`, `e` and `E`).
    pub fn shown(&self) -> String {
        escaped(self.text, EXCERPT_CHARS)
    }
}

/// Powers of ten as integers, for appending up to 8 digits at once.
const INTEGER_POWERS_OF_TEN: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Counts the decimal digits at the start of `text` and appends their value
/// to `mantissa` (wrapping: exact for up to 19 digits in all).
///
/// Eight bytes at a time where the text allows ("SWAR"): one subtraction
/// turns ASCII into digit values, a carry trick marks the bytes that are not
/// digits, and three multiplications combine up to eight digits.
#[inline]
fn digit_run(text: &[u8], mantissa: &mut u64) -> usize {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut len = 0;
    while let Some(chunk) = text.get(len..len + 8) {
        let values = u64::from_le_bytes(chunk.try_into().expect("eight bytes")).wrapping_sub(ZEROS);
        // A byte's high bit ends up set when its value is not 0..=9. Borrows
        // and carries only run towards later bytes, past the first non-digit.
        let not_digit = (values.wrapping_add(0x7676_7676_7676_7676) | values) & HIGH_BITS;
        let count = if not_digit == 0 {
            8
        } else {
            (not_digit.trailing_zeros() / 8) as usize
        };
        if count > 0 {
            // Keep the `count` digits as the high bytes: leading zero digits.
            let kept = values << (8 * (8 - count));
            *mantissa = mantissa
                .wrapping_mul(INTEGER_POWERS_OF_TEN[count])
                .wrapping_add(eight_digits(kept));
        }
        len += count;
        if count < 8 {
            return len;
        }
    }
    while let Some(d) = text
        .get(len)
        .map(|b| b.wrapping_sub(b'0'))
        .filter(|&d| d <= 9)
    {
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        len += 1;
    }
    len
}

/// The number written by eight digit values, the first in the lowest byte.
#[inline]
fn eight_digits(values: u64) -> u64 {
    let pairs = values.wrapping_mul(10).wrapping_add(values >> 8);
    let low = (pairs & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
    let high = ((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
    low.wrapping_add(high) >> 32
}

/// True for the bytes a number token can hold.
pub(super) fn is_number_byte(byte: u8) -> bool {
    matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

/// Exact powers of ten: every one up to 10²² is a float.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// What [`scan_number`] learns about a number token.
pub(super) struct Shape {
    /// Bytes the token takes.
    pub(super) len: usize,
    negative: bool,
    integer: bool,
    magnitude: Option<u64>,
    exact: Option<f64>,
}

/// Scans the JSON number at the start of `text` (RFC 8259, section 6) in one
/// pass: its length, its sign, whether it is an integer and, if so, its
/// value; `None` when the grammar is broken.
///
/// It also computes the value when that is exact by Clinger's fast path: at
/// most 19 digits forming an integer `m ≤ 2⁵³` and a power of ten
/// `|e| ≤ 22`, both exact floats, so one multiplication or division is
/// correctly rounded. vLLM's durations (whole microseconds / 10⁶, e.g.
/// `0.001381`) always qualify; anything else goes to fast-float.
#[inline(always)]
pub(super) fn scan_number(text: &[u8]) -> Option<Shape> {
    let negative = text.first() == Some(&b'-');
    let mut i = usize::from(negative);
    // Digits accumulate with wrapping arithmetic: the result is only used
    // when there are at most 19 digits, which cannot overflow.
    let digits = |i: &mut usize, mantissa: &mut u64| {
        let start = *i;
        *i += digit_run(&text[*i..], mantissa);
        *i - start
    };
    let mut mantissa = 0u64;
    let int_start = i;
    let int_len = digits(&mut i, &mut mantissa);
    if int_len == 0 || (int_len > 1 && text[int_start] == b'0') {
        return None;
    }
    let mut frac_len = 0;
    if text.get(i) == Some(&b'.') {
        i += 1;
        frac_len = digits(&mut i, &mut mantissa);
        if frac_len == 0 {
            return None;
        }
    }
    let mut written = 0i32;
    let has_exponent = matches!(text.get(i), Some(b'e' | b'E'));
    if has_exponent {
        i += 1;
        let negative_exponent = text.get(i) == Some(&b'-');
        i += usize::from(matches!(text.get(i), Some(b'-' | b'+')));
        let mut value = 0u64;
        let len = digits(&mut i, &mut value);
        if len == 0 {
            return None;
        }
        let value = if len > 6 { 1_000_000 } else { value as i32 };
        written = if negative_exponent { -value } else { value };
    }
    let integer = frac_len == 0 && !has_exponent;
    let magnitude = match int_len {
        _ if !integer => None,
        0..=19 => Some(mantissa),
        20 => text[int_start..int_start + 20]
            .iter()
            .try_fold(0u64, |m, &b| {
                m.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            }),
        _ => None,
    };
    let exponent = written - frac_len as i32;
    let exact =
        (int_len + frac_len <= 19 && mantissa <= 1 << 53 && exponent.abs() <= 22).then(|| {
            let m = mantissa as f64;
            let power = POWERS_OF_TEN[exponent.unsigned_abs() as usize];
            let value = if exponent < 0 { m / power } else { m * power };
            if negative { -value } else { value }
        });
    Some(Shape {
        len: i,
        negative,
        integer,
        magnitude,
        exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_number_grammar() {
        let whole = |text: &str| scan_number(text.as_bytes()).filter(|s| s.len == text.len());
        for good in [
            "0", "-0", "1.5", "1e-06", "1E+3", "123", "0.000001", "-12.5e10",
        ] {
            assert!(whole(good).is_some(), "{good}");
        }
        for bad in [
            "", "-", "01", "-01", "1.", ".5", "1e", "+1", "1e+", "--1", "1-2", "1.5.2",
        ] {
            assert!(whole(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn fast_path_agrees_with_fast_float() {
        let texts = [
            "0.001381",
            "1e-06",
            "0.0013812345678912345",
            "123456789012345678901",
            "4.5e-22",
            "9007199254740993",
            "0.1",
            "2.5e22",
            "1e23",
            "-0.0",
            "0.000000000000000000000001",
            "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        ];
        for text in texts {
            let shape = scan_number(text.as_bytes()).unwrap();
            let expected: f64 = fast_float2::parse(text).unwrap();
            if let Some(exact) = shape.exact {
                assert_eq!(exact.to_bits(), expected.to_bits(), "{text}");
            }
        }
        assert!(scan_number(b"0.001381").unwrap().exact.is_some());
    }

    #[test]
    fn digit_runs_match_a_bytewise_reading() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let text: Vec<u8> = (0..len)
                .map(|k| match (state >> (k % 60)) % 14 {
                    0 => b',',
                    1 => b'.',
                    2 => b'/',
                    3 => b':',
                    d => b'0' + (d - 4) as u8,
                })
                .collect();
            let mut fast = 7u64;
            let fast_len = digit_run(&text, &mut fast);
            let mut slow = 7u64;
            let slow_len = text.iter().take_while(|b| b.is_ascii_digit()).count();
            for &b in &text[..slow_len] {
                slow = slow.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            }
            assert_eq!(
                (fast_len, fast),
                (slow_len, slow),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
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
}
