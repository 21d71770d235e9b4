//! The numbers of a KV line, read exactly as Python can print them.
//!
//! vLLM builds the line with an f-string, so a count is `str(int)` and
//! every other value `repr(float)` ([`crate::python::Repr`]): `4`, `1.381`,
//! `72.0`, `1e-05`, `1.5e+16`, `inf`, `nan`. Every value vLLM computes is
//! non-negative (counts, durations, sizes, and their averages, quantiles and
//! ratios), so no sign is printed, but for `-0.0`: a negative zero is not
//! below 0, and a duration of `-0.0` handed to vLLM's stats is averaged and
//! printed as one (the golden fixtures hold such lines). [`python_number`]
//! accepts exactly
//! those texts and refuses every other spelling of a number, `01.381`,
//! `1.3810`, `-1.381`, `+1`, `.5`, `1.`, `1e5`, or a mantissa of 400 digits,
//! since Python cannot have printed it: such a line was edited or corrupted.
//!
//! The check is a grammar plus, for the rare values it cannot settle alone,
//! the formatter itself: a text of up to 15 significant digits, in the
//! layout `repr` gives its exponent, is the `repr` of the float it reads as
//! (15-digit decimals are further apart than floats, so no shorter text
//! reads back to the same float); with 16 or 17 digits, or outside the
//! normal floats, the text must be what [`Repr`] prints for its value.

use super::scan::digits_value;
use crate::python::Repr;
use crate::reduce::Value;

/// The most significant digits `repr` ever prints (a float needs 17).
const MAX_DIGITS: usize = 17;

/// Up to this many significant digits, a text in `repr`'s layout is the
/// `repr` of the float it reads as.
const SAFE_DIGITS: usize = 15;

/// A number as Python prints a non-negative `int` (`str`) or a float not
/// below 0 (`repr`); `None` for any other text.
pub(super) fn python_number(text: &[u8]) -> Option<Value> {
    match text {
        b"inf" => return Some(Value::Float(f64::INFINITY)),
        b"nan" => return Some(Value::Float(f64::NAN)),
        b"-0.0" => return Some(Value::Float(-0.0)),
        _ => {}
    }
    let whole = digits(text);
    if whole == 0 || (whole > 1 && text[0] == b'0') {
        return None;
    }
    if whole == text.len() {
        return digits_value(text).map(Value::Int);
    }
    let (layout, significant) = float_layout(text, whole)?;
    let value = fast_float2::parse::<f64, _>(text).ok()?;
    let exact = significant <= SAFE_DIGITS && (value == 0.0 || value >= f64::MIN_POSITIVE);
    let fits = match layout {
        Layout::Zero => true,
        _ if value == 0.0 || value.is_infinite() => false,
        _ if exact => true,
        _ => Repr(value).to_string().as_bytes() == text,
    };
    fits.then_some(Value::Float(value))
}

/// How `repr` lays a float out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `0.0`.
    Zero,
    /// `1.381`, `0.0001`, `1000000000000000.0`: from 1e-4 to below 1e16.
    Positional,
    /// `1e-05`, `1.5e+16`: below 1e-4 and from 1e16.
    Scientific,
}

/// The number of ASCII digits at the start of `text`.
fn digits(text: &[u8]) -> usize {
    text.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Checks the text of a float, whose first `whole` bytes are its integer
/// digits (not empty, no leading zero but in `0`), against the layout
/// `repr` gives a float of that size; gives the layout and the number of
/// significant digits.
fn float_layout(text: &[u8], whole: usize) -> Option<(Layout, usize)> {
    let integer = &text[..whole];
    let mut rest = &text[whole..];
    let mut fraction = None;
    if let Some(after) = rest.strip_prefix(b".") {
        let (digits, after) = after.split_at(digits(after));
        // No trailing zero after the point, but the lone `0` of `72.0`.
        if digits.is_empty() || digits.len() > 1 && digits.ends_with(b"0") {
            return None;
        }
        fraction = Some(digits);
        rest = after;
    }
    let (layout, significant) = if rest.is_empty() {
        positional(integer, fraction?)?
    } else {
        scientific(integer, fraction.unwrap_or_default(), rest)?
    };
    (significant <= MAX_DIGITS).then_some((layout, significant))
}

/// `0.0`, `0.000123`, `1.381`, `72.0`: the layout of 0 and of 1e-4 up to
/// 1e16; the number of significant digits.
fn positional(integer: &[u8], fraction: &[u8]) -> Option<(Layout, usize)> {
    if integer == b"0" {
        if fraction == b"0" {
            return Some((Layout::Zero, 0));
        }
        // From 1e-4 (`0.0001`): at most three zeros after the point.
        let zeros = fraction.iter().take_while(|&&b| b == b'0').count();
        return (zeros <= 3).then_some((Layout::Positional, fraction.len() - zeros));
    }
    // Below 1e16: at most 16 integer digits.
    if integer.len() > 16 {
        return None;
    }
    let significant = if fraction == b"0" {
        integer.len() - integer.iter().rev().take_while(|&&b| b == b'0').count()
    } else {
        integer.len() + fraction.len()
    };
    Some((Layout::Positional, significant))
}

/// `1e-05`, `1.5e+16`, `5e-324`: the layout below 1e-4 and from 1e16, one
/// digit from 1 to 9, a fraction without trailing zeros, `e`, a sign, and
/// at least two exponent digits; the number of significant digits.
fn scientific(integer: &[u8], fraction: &[u8], rest: &[u8]) -> Option<(Layout, usize)> {
    if integer.len() != 1 || integer == b"0" || fraction.ends_with(b"0") {
        return None;
    }
    let (negative, exponent) = match rest.strip_prefix(b"e")?.split_first()? {
        (b'-', exponent) => (true, exponent),
        (b'+', exponent) => (false, exponent),
        _ => return None,
    };
    let well_formed = digits(exponent) == exponent.len()
        && (exponent.len() == 2 || exponent.len() == 3 && exponent[0] != b'0');
    if !well_formed {
        return None;
    }
    let value = exponent
        .iter()
        .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
    let in_range = if negative { value >= 5 } else { value >= 16 };
    in_range.then_some((Layout::Scientific, 1 + fraction.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What Python can print for a non-negative number: the oracle the
    /// parser must agree with.
    fn printable(text: &str) -> bool {
        let int = text.parse::<u128>().is_ok_and(|n| n.to_string() == text);
        let float = text
            .parse::<f64>()
            .is_ok_and(|x| x >= 0.0 && Repr(x).to_string() == text);
        int || float
    }

    #[test]
    fn what_python_prints() {
        for (text, value) in [
            ("4", Value::Int(4)),
            ("0", Value::Int(0)),
            ("72.0", Value::Float(72.0)),
            ("1.381", Value::Float(1.381)),
            ("0.0", Value::Float(0.0)),
            ("-0.0", Value::Float(-0.0)),
            ("0.0001", Value::Float(1e-4)),
            ("1e-05", Value::Float(1e-5)),
            ("1.5e+16", Value::Float(1.5e16)),
            ("1000000000000000.0", Value::Float(1e15)),
            ("9999999999999998.0", Value::Float(9999999999999998.0)),
            ("0.30000000000000004", Value::Float(0.1 + 0.2)),
            ("5e-324", Value::Float(5e-324)),
            ("1.7976931348623157e+308", Value::Float(f64::MAX)),
            ("inf", Value::Float(f64::INFINITY)),
        ] {
            assert_eq!(python_number(text.as_bytes()), Some(value), "{text}");
        }
        assert!(matches!(python_number(b"nan"), Some(Value::Float(x)) if x.is_nan()));
        assert_eq!(
            python_number(b"18446744073709551616"),
            Some(Value::Int(1 << 64))
        );
    }

    #[test]
    fn what_python_never_prints() {
        let long = format!("0.{}1", "0".repeat(400));
        let huge = format!("1{}.0", "0".repeat(400));
        for bad in [
            "",
            "01.381",
            "1.3810",
            "-1.381",
            "-0",
            "-0.00",
            "-1e-05",
            "-inf",
            "+1",
            ".5",
            "1.",
            "01",
            "00",
            "1e5",
            "1e-5",
            "1.0e-05",
            "1e+15",
            "1e-04",
            "0.00001",
            "10e+16",
            "1e+016",
            "1E+16",
            "1e-400",
            "1e+400",
            "3e-324",
            "1.38100000000000001",
            "Infinity",
            "NaN",
            "0x10",
            "1,5",
            "4 ",
            " 4",
            "1.0.0",
            "1e",
            "1.5e+",
            "12345678901234567.0",
            "340282366920938463463374607431768211456",
            &long,
            &huge,
        ] {
            assert_eq!(python_number(bad.as_bytes()), None, "{bad:?}");
            assert!(!printable(bad) || bad.is_empty(), "{bad:?}");
        }
    }

    /// Edits that can turn a printed number into one Python never prints.
    fn mutate(text: &str, at: usize, edit: u8) -> String {
        let mut bytes = text.as_bytes().to_vec();
        let at = at % (bytes.len() + 1);
        match edit % 8 {
            0 => bytes.insert(at, b'0'),
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, b'0' + edit % 10),
            3 => bytes.insert(0, b'-'),
            4 => bytes.push(b'0'),
            5 if at < bytes.len() => bytes[at] = b'0' + (bytes[at] % 10),
            6 => bytes.insert(at, b'.'),
            _ => bytes.insert(at, b"e+-"[usize::from(edit) % 3]),
        }
        String::from_utf8(bytes).expect("ASCII edits of ASCII")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The `repr` of any non-negative float reads back to that float.
        #[test]
        fn repr_reads_back(bits in any::<u64>()) {
            let x = f64::from_bits(bits & !(1 << 63));
            let text = Repr(x).to_string();
            match python_number(text.as_bytes()) {
                Some(Value::Float(y)) => prop_assert!(y.to_bits() == x.to_bits() || x.is_nan() && y.is_nan(), "{text}"),
                other => prop_assert!(false, "{text}: {other:?}"),
            }
        }

        /// An edited text is read exactly when Python could print it.
        #[test]
        fn edits_are_read_exactly_when_printable(
            bits in any::<u64>(),
            small in 0u32..100_000,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..3),
        ) {
            // Floats of every size, and the durations vLLM prints.
            let x = if bits % 2 == 0 { f64::from_bits(bits & !(1 << 63)) } else { f64::from(small) / 1000.0 };
            let mut text = Repr(x).to_string();
            for (at, edit) in edits {
                text = mutate(&text, at, edit);
            }
            prop_assert_eq!(python_number(text.as_bytes()).is_some(), printable(&text), "{}", text);
        }
    }
}
