//! Numbers in prose, tables and charts: trailing zeros trimmed, ratios,
//! percentages, significant digits, thousands grouped. (vLLM's own digits,
//! `repr` exactly, are [`crate::python`]'s; a
//! [`Bounded`](crate::views::Bounded) value prints its own bounds.)

use std::time::Duration;

/// `x` with at most `decimals` decimals and no trailing zeros: `4.5`,
/// `9`, `0.005`.
///
/// ```
/// use nixl_kv_metrics::printer::numbers::trimmed;
///
/// assert_eq!(trimmed(4.5, 3), "4.5");
/// assert_eq!(trimmed(9.0, 3), "9");
/// assert_eq!(trimmed(0.0049, 3), "0.005");
/// ```
pub fn trimmed(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A duration in seconds, as [`trimmed`] to the millisecond: `10`, `2.5`.
///
/// ```
/// use nixl_kv_metrics::printer::numbers::seconds;
/// use std::time::Duration;
///
/// assert_eq!(seconds(Duration::from_secs(10)), "10");
/// assert_eq!(seconds(Duration::from_millis(2500)), "2.5");
/// ```
pub fn seconds(duration: Duration) -> String {
    trimmed(duration.as_secs_f64(), 3)
}

/// A ratio such as a number of requests: a whole number as such, anything
/// else with two decimals (`2`, `1.50`), so that a fraction never passes
/// for a whole number.
///
/// ```
/// use nixl_kv_metrics::printer::numbers::ratio;
///
/// assert_eq!(ratio(2.0), "2");
/// assert_eq!(ratio(1.5), "1.50");
/// assert_eq!(ratio(0.999), "1.00");
/// ```
pub fn ratio(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// `part / whole` as a whole percentage, `49 %`; `–` when `whole` is not
/// above 0.
///
/// ```
/// use nixl_kv_metrics::printer::numbers::percent;
///
/// assert_eq!(percent(0.672, 1.381), "49 %");
/// assert_eq!(percent(1.0, 0.0), "–");
/// ```
pub fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.0} %", part / whole * 100.0)
    } else {
        "–".to_string()
    }
}

/// The decimals that show three significant digits of `x` (0 to 9; 0 for
/// 0, negative and non-finite values): `1629.5` needs 0, `0.000552` needs 6.
///
/// ```
/// use nixl_kv_metrics::printer::numbers::significant;
///
/// assert_eq!(significant(1629.5), 0);
/// assert_eq!(significant(0.9), 3);
/// assert_eq!(significant(0.000552), 6);
/// assert_eq!(significant(f64::INFINITY), 0);
/// ```
pub fn significant(x: f64) -> usize {
    if !(x.is_finite() && x > 0.0) {
        return 0;
    }
    (2 - x.log10().floor() as i64).clamp(0, 9) as usize
}

/// `n` with its digits in groups of three, `separator` between them:
/// `8,589,934,592`, or with a thin space for a chart.
///
/// ```
/// use nixl_kv_metrics::printer::numbers::grouped;
///
/// assert_eq!(grouped(8_589_934_592, ','), "8,589,934,592");
/// assert_eq!(grouped(999, ','), "999");
/// assert_eq!(grouped(6518, '\u{2009}'), "6\u{2009}518");
/// ```
pub fn grouped(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}
