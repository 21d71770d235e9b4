//! Python's float rounding and printing, as vLLM's log line uses them.
//!
//! vLLM builds the line with an f-string, `f"{k}={v}"`, which prints a float
//! as `repr` does: the shortest digits that read back to the same float,
//! `72.0` rather than `72`, scientific notation below `1e-4` and from `1e16`,
//! and `inf` / `nan`. Python's `round(x, d)` rounds the exact binary value of
//! `x`, half to even.
//!
//! ```
//! use nixl_kv_metrics::python::{round, Repr};
//!
//! assert_eq!(Repr(72.0).to_string(), "72.0");
//! assert_eq!(Repr(1e-5).to_string(), "1e-05");
//! assert_eq!(Repr(f64::INFINITY).to_string(), "inf");
//! assert_eq!(round(792.2965, 3), 792.297); // numpy's round gives 792.296
//! ```

use std::fmt;

/// Python's `round(x, digits)` for a float.
///
/// Correctly rounded: the decimal nearest the *exact* binary value of `x`,
/// ties to even, read back as the nearest float. Non-finite values pass
/// through.
///
/// ```
/// use nixl_kv_metrics::python::round;
/// assert_eq!(round(0.125, 2), 0.12);   // an exact tie: to even
/// assert_eq!(round(0.375, 2), 0.38);
/// assert_eq!(round(2.675, 2), 2.67);   // 2.675 is stored as 2.67499999…
/// assert!(round(f64::NAN, 3).is_nan());
/// ```
pub fn round(x: f64, digits: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Rust's fixed-precision formatting is exact and rounds ties to even,
    // which is what Python's dtoa does in mode 3.
    format!("{x:.digits$}")
        .parse()
        .expect("a formatted float reads back")
}

/// A float printed as Python's `repr` (and so an f-string) prints it.
///
/// ```
/// use nixl_kv_metrics::python::Repr;
/// let cases = [
///     (0.0, "0.0"), (-0.0, "-0.0"), (1629.549, "1629.549"), (2.25, "2.25"),
///     (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"),
///     (1e15, "1000000000000000.0"), (1e16, "1e+16"), (1.5e300, "1.5e+300"),
///     (f64::NAN, "nan"), (f64::NEG_INFINITY, "-inf"),
/// ];
/// for (x, text) in cases {
///     assert_eq!(Repr(x).to_string(), text);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Repr(pub f64);

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_nan() {
            return f.write_str("nan");
        }
        if x.is_infinite() {
            return f.write_str(if x > 0.0 { "inf" } else { "-inf" });
        }
        // `{:e}` gives the fewest digits that read back to `x`; Python's repr
        // uses as many, but picks the nearest such decimal, ties to even,
        // where `{:e}` may round an exact tie up (1e13 + 0.0625 must print
        // …0.062, not …0.063). Fixed precision formatting is exact and
        // rounds ties to even, so print that many digits with it.
        //
        // Near a power of two the values that read back to `x` lie unevenly
        // around it, and the nearest decimal of that length may not read
        // back (2^710 is …535e213 in Python; the nearest 16 digits, …534,
        // is a different float): then the shortest form's digits stand.
        let shortest = format!("{x:e}");
        let significant = shortest
            .split_once('e')
            .map_or(1, |(m, _)| m.bytes().filter(u8::is_ascii_digit).count());
        let nearest = format!("{x:.*e}", significant - 1);
        let scientific = if nearest.parse::<f64>() == Ok(x) {
            nearest
        } else {
            shortest
        };
        let (mantissa, exponent) = scientific
            .split_once('e')
            .expect("LowerExp always writes an exponent");
        let exponent: i32 = exponent.parse().expect("LowerExp exponent is an integer");
        let (sign, mantissa) = match mantissa.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", mantissa),
        };
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        f.write_str(sign)?;
        // Python's repr: positional when -4 <= exponent < 16.
        if (-4..16).contains(&exponent) {
            write_positional(f, &digits, exponent)
        } else {
            let (first, rest) = digits.split_at(1);
            f.write_str(first)?;
            if !rest.is_empty() {
                write!(f, ".{rest}")?;
            }
            let exponent_sign = if exponent < 0 { '-' } else { '+' };
            write!(f, "e{exponent_sign}{:02}", exponent.unsigned_abs())
        }
    }
}

/// `digits` (no point, first digit non-zero unless the value is zero) scaled
/// by 10^`exponent`, in plain notation with at least one digit after the point.
fn write_positional(f: &mut fmt::Formatter<'_>, digits: &str, exponent: i32) -> fmt::Result {
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return write!(f, "0.{zeros}{digits}");
    }
    let point = exponent as usize + 1;
    if digits.len() <= point {
        let zeros = "0".repeat(point - digits.len());
        write!(f, "{digits}{zeros}.0")
    } else {
        let (whole, fraction) = digits.split_at(point);
        write!(f, "{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_around_the_switch_points() {
        assert_eq!(Repr(9999999999999998.0).to_string(), "9999999999999998.0");
        assert_eq!(Repr(0.000123).to_string(), "0.000123");
        assert_eq!(Repr(0.0000999).to_string(), "9.99e-05");
        assert_eq!(Repr(123.0).to_string(), "123.0");
        assert_eq!(Repr(5e-324).to_string(), "5e-324");
        assert_eq!(Repr(f64::MAX).to_string(), "1.7976931348623157e+308");
        // An exact tie between two 17-digit decimals: Python rounds to even.
        assert_eq!(Repr(1e13 + 0.0625).to_string(), "10000000000000.062");
        assert_eq!(Repr(1e13 + 0.1875).to_string(), "10000000000000.188");
        // A power of two whose nearest 16-digit decimal is another float.
        assert_eq!(Repr(2f64.powi(710)).to_string(), "5.386379163185535e+213");
        assert_eq!(Repr(2f64.powi(-24)).to_string(), "5.960464477539063e-08");
    }

    #[test]
    fn round_is_exact() {
        assert_eq!(round(1.0005, 3), 1.0); // 1.000499999…
        assert_eq!(round(-0.0004, 3), -0.0);
        assert!(round(-0.0004, 3).is_sign_negative());
        assert_eq!(round(1e300, 3), 1e300);
    }
}
