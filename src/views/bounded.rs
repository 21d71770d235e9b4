//! Interval arithmetic: a number with the bounds vLLM's rounding leaves,
//! carried through sums, products and quotients, each step rounded outwards.

use std::fmt;
use std::ops::{Add, Div};

use crate::field::Field;
use crate::reduce::Value;

/// A number known within bounds: the estimate `value`, and `min ≤ true ≤
/// max` for the quantity vLLM computed before rounding.
///
/// `Display` prints `value [min, max]`, each with the formatter's precision,
/// and just `value` when the bounds do not show at that precision (without
/// a precision: when they equal the value). The default is
/// [`Bounded::ZERO`].
///
/// ```
/// use nixl_kv_metrics::views::Bounded;
/// let x = Bounded::new(2.0, 1.5, 2.5);
/// assert_eq!(format!("{x:.1}"), "2.0 [1.5, 2.5]");
/// assert_eq!(x.to_string(), "2 [1.5, 2.5]");
/// assert_eq!(Bounded::exact(3.0).to_string(), "3");
/// // ± 0.0004 does not show with 2 decimals.
/// assert_eq!(format!("{:.2}", Bounded::new(0.9, 0.8996, 0.9004)), "0.90");
/// assert!(x.contains(1.5) && !x.contains(2.6));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bounded {
    /// The estimate from the printed digits.
    pub value: f64,
    /// The smallest value consistent with the printed digits.
    pub min: f64,
    /// The largest value consistent with the printed digits.
    pub max: f64,
}

impl Bounded {
    /// Zero, exactly.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::ZERO, Bounded::default());
    /// assert_eq!(Bounded::ZERO.to_string(), "0");
    /// ```
    pub const ZERO: Bounded = Bounded::exact(0.0);

    /// `value`, known to lie in `[min, max]`.
    pub const fn new(value: f64, min: f64, max: f64) -> Bounded {
        Bounded { value, min, max }
    }

    /// A value known exactly.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::exact(4.0).half_width(), 0.0);
    /// ```
    pub const fn exact(value: f64) -> Bounded {
        Bounded {
            value,
            min: value,
            max: value,
        }
    }

    /// What a printed value of `field` stands for: an int exactly (counts,
    /// the zero path's `0`); a float within half a unit of its last rounded
    /// digit (±0.0005 for 3 digits, ±0.05 for the descriptors' 1), widened
    /// by a few units in the last place for numpy's scaled rounding, and not
    /// below 0 (every field is ≥ 0). `inf` stands for anything from
    /// `f64::MAX / 10^digits` up (numpy's scaled rounding overflows there;
    /// a Throughput is `inf` when the summed time was 0); `nan` stays `nan`.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::reduce::Value;
    /// use nixl_kv_metrics::views::Bounded;
    ///
    /// let avg = Bounded::printed(Value::Float(1.381), Field::AvgXferTimeMs);
    /// assert!(avg.contains(1.3805) && avg.contains(1.3815) && !avg.contains(1.3816));
    /// let descriptors = Bounded::printed(Value::Float(72.0), Field::AvgNumberOfDescriptors);
    /// assert!(descriptors.contains(71.95) && !descriptors.contains(71.9));
    /// assert_eq!(Bounded::printed(Value::Int(0), Field::AvgXferTimeMs), Bounded::ZERO);
    /// assert_eq!(Bounded::printed(Value::Float(0.0), Field::AvgMbPerTransfer).min, 0.0);
    /// ```
    pub fn printed(value: Value, field: Field) -> Bounded {
        let x = match value {
            Value::Int(i) => return Bounded::exact(i as f64),
            Value::Float(x) => x,
        };
        let Some(digits) = field.digits() else {
            return Bounded::exact(x);
        };
        if x == f64::INFINITY {
            // numpy's round scales first, so a value above f64::MAX / 10^d
            // overflows to inf; a mean or a sum may also have overflowed.
            return Bounded {
                value: x,
                min: f64::MAX / 10f64.powi(digits as i32) * (1.0 - 1e-12),
                max: x,
            };
        }
        if !x.is_finite() {
            return Bounded::exact(x);
        }
        // Half a unit of the last digit, rounded up, plus 8 ulps of slack.
        let half = (0.5 / 10f64.powi(digits as i32)).next_up();
        let half = up(add(half, x.abs() * 8.0 * f64::EPSILON));
        let min = down(add(x, -half));
        Bounded {
            value: x,
            min: if x >= 0.0 { min.max(0.0) } else { min },
            max: up(add(x, half)),
        }
    }

    /// Half the width of the interval: the "±" of the value when it sits in
    /// the middle.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::new(2.0, 1.0, 3.0).half_width(), 1.0);
    /// ```
    pub fn half_width(&self) -> f64 {
        (self.max - self.min) / 2.0
    }

    /// True when `x` is within the bounds.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert!(Bounded::exact(1.0).contains(1.0));
    /// ```
    pub fn contains(&self, x: f64) -> bool {
        self.min <= x && x <= self.max
    }

    /// Multiplied by `k ≥ 0`.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// assert_eq!(Bounded::new(2.0, 1.0, 3.0).scale(2.0), Bounded::new(4.0, 2.0, 6.0));
    /// ```
    pub fn scale(self, k: f64) -> Bounded {
        Bounded {
            value: self.value * k,
            min: down(mul(self.min, k)),
            max: up(mul(self.max, k)),
        }
    }
}

impl Div for Bounded {
    type Output = Bounded;

    /// The quotient of two quantities ≥ 0: `max` is `∞` when the divisor
    /// may be 0.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// let q = Bounded::new(6.0, 4.0, 8.0) / Bounded::new(2.0, 1.0, 4.0);
    /// assert_eq!(q, Bounded::new(3.0, 1.0, 8.0));
    /// assert_eq!((Bounded::exact(1.0) / Bounded::new(1.0, 0.0, 2.0)).max, f64::INFINITY);
    /// ```
    fn div(self, divisor: Bounded) -> Bounded {
        Bounded {
            value: self.value / divisor.value,
            min: if divisor.max > 0.0 {
                down(quotient(self.min, divisor.max))
            } else {
                f64::INFINITY
            },
            max: if divisor.min > 0.0 {
                up(quotient(self.max, divisor.min))
            } else {
                f64::INFINITY
            },
        }
    }
}

impl Add for Bounded {
    type Output = Bounded;

    /// The sum: bounds add.
    ///
    /// ```
    /// use nixl_kv_metrics::views::Bounded;
    /// let sum = Bounded::new(1.0, 0.5, 1.5) + Bounded::exact(2.0);
    /// assert_eq!(sum, Bounded::new(3.0, 2.5, 3.5));
    /// ```
    fn add(self, other: Bounded) -> Bounded {
        Bounded {
            value: self.value + other.value,
            min: down(add(self.min, other.min)),
            max: up(add(self.max, other.max)),
        }
    }
}

impl fmt::Display for Bounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |x: f64| match f.precision() {
            Some(p) => format!("{x:.p$}"),
            None => x.to_string(),
        };
        let (value, min, max) = (text(self.value), text(self.min), text(self.max));
        if min == value && max == value {
            f.write_str(&value)
        } else {
            write!(f, "{value} [{min}, {max}]")
        }
    }
}

/// A result of float arithmetic, and on which side of it the exact result
/// lies: it is `result` exactly, or strictly between `result` and the next
/// float in the direction of `error`'s sign.
#[derive(Clone, Copy)]
struct Rounded {
    result: f64,
    error: f64,
}

/// The largest float ≤ the exact result.
fn down(r: Rounded) -> f64 {
    if r.error < 0.0 {
        r.result.next_down()
    } else {
        r.result
    }
}

/// The smallest float ≥ the exact result.
fn up(r: Rounded) -> f64 {
    if r.error > 0.0 {
        r.result.next_up()
    } else {
        r.result
    }
}

impl Rounded {
    /// `result`, with `error` the sign of the exact result's offset from it;
    /// a result that is not finite is taken as it is.
    fn new(result: f64, error: impl FnOnce() -> f64) -> Rounded {
        let error = if result.is_finite() { error() } else { 0.0 };
        Rounded { result, error }
    }
}

/// `a + b` (error by Knuth's TwoSum).
fn add(a: f64, b: f64) -> Rounded {
    let s = a + b;
    Rounded::new(s, || {
        let b_part = s - a;
        (a - (s - b_part)) + (b - b_part)
    })
}

/// `a × b` (error by a fused multiply-add).
fn mul(a: f64, b: f64) -> Rounded {
    let p = a * b;
    Rounded::new(p, || a.mul_add(b, -p))
}

/// `a / b` for `b > 0` (the remainder `a − q·b` by a fused multiply-add has
/// the sign of `a/b − q`).
fn quotient(a: f64, b: f64) -> Rounded {
    let q = a / b;
    Rounded::new(q, || (-q).mul_add(b, a))
}

/// A range known to hold a quantity, without a best estimate inside it.
///
/// ```
/// use nixl_kv_metrics::views::Range;
/// assert_eq!(format!("{:.1}", Range { min: 1.0, max: 2.25 }), "1.0 – 2.2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The lower bound.
    pub min: f64,
    /// The upper bound.
    pub max: f64,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.p$} – {:.p$}", self.min, self.max),
            None => write!(f, "{} – {}", self.min, self.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outward_rounding() {
        let third = Bounded::exact(1.0) / Bounded::exact(3.0);
        assert!(third.min < third.max);
        assert!(third.min <= 1.0 / 3.0 && 1.0 / 3.0 <= third.max);
        let exact = Bounded::exact(1.5).scale(4.0) + Bounded::exact(0.25);
        assert_eq!(exact, Bounded::exact(6.25));
        let tenth = Bounded::exact(0.1) + Bounded::exact(0.2);
        assert!(tenth.min < tenth.max && tenth.contains(0.1 + 0.2));
    }

    #[test]
    fn printed_bounds_hold_the_decimal_interval() {
        let x = Bounded::printed(Value::Float(2.25), Field::AvgMbPerTransfer);
        assert!(x.min <= 2.2495 && 2.2505 <= x.max);
        assert!(x.max - x.min < 0.0010001);
        let inf = Bounded::printed(Value::Float(f64::INFINITY), Field::AvgXferTimeMs);
        assert_eq!(inf.max, f64::INFINITY);
        assert!(inf.contains(1e306) && !inf.contains(1e305));
    }
}
