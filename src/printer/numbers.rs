//! Numbers in prose, tables and charts: trailing zeros trimmed, thousands
//! grouped. (vLLM's own digits, `repr` exactly, are [`crate::python`]'s; a
//! [`Bounded`](crate::views::Bounded) value prints its own bounds.)

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
