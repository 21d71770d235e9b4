//! Words around numbers, and input quoted back in messages.

use std::fmt::Write;

/// `count` and `noun`, with an `s` unless there is exactly one. Any unsigned
/// count: Python's ints, and so a line's counts, have no limit.
///
/// ```
/// use nixl_kv_metrics::printer::words::plural;
///
/// assert_eq!(plural(1_u64, "READ"), "1 READ");
/// assert_eq!(plural(0_u32, "line"), "0 lines");
/// assert_eq!(plural(u64::MAX as u128 + 1, "line"), "18446744073709551616 lines");
/// ```
pub fn plural(count: impl Into<u128>, noun: &str) -> String {
    let count = count.into();
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Alternatives in running text: `a`, `a or b`, `a, b or c`.
///
/// ```
/// use nixl_kv_metrics::printer::words::join_or;
///
/// let tp = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
/// assert_eq!(join_or(&tp(&[])), "");
/// assert_eq!(join_or(&tp(&["1"])), "1");
/// assert_eq!(join_or(&tp(&["1", "2", "4"])), "1, 2 or 4");
/// ```
pub fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// `k` as an ordinal: `1st`, `2nd`, `3rd`, `11th`, `22nd`.
///
/// ```
/// use nixl_kv_metrics::printer::words::ordinal;
///
/// let ordinals: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 22, 103].map(ordinal).into();
/// assert_eq!(ordinals, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "22nd", "103rd"]);
/// ```
pub fn ordinal(k: u64) -> String {
    let suffix = match (k % 10, k % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{k}{suffix}")
}

/// The most characters of input a message quotes back.
pub const EXCERPT_CHARS: usize = 40;

/// Input quoted back in a message: in double quotes, at most
/// [`EXCERPT_CHARS`] characters of it followed by `…` when there is more,
/// with quotes, backslashes, control characters and bytes that are not
/// UTF-8 escaped, so that a message is always one short line and never
/// carries a terminal escape sequence from a log to the terminal.
///
/// ```
/// use nixl_kv_metrics::printer::words::excerpt;
///
/// assert_eq!(excerpt(b"1.381"), r#""1.381""#);
/// assert_eq!(excerpt(b"\x1b[2J\"x\"\t\xff"), r#""\u{1b}[2J\"x\"\t\xff""#);
/// assert_eq!(excerpt("é".repeat(50).as_bytes()), format!("\"{}…\"", "é".repeat(40)));
/// ```
pub fn excerpt(input: &[u8]) -> String {
    format!("\"{}\"", escaped(input, EXCERPT_CHARS))
}

/// The text of an [`excerpt`] without its quotes, for a message that
/// quotes it its own way: at most `max_chars` characters of `input`, then
/// `…` when there is more, escaped as [`excerpt`] escapes them.
///
/// ```
/// use nixl_kv_metrics::printer::words::escaped;
///
/// assert_eq!(escaped(b"vllm.log", 4096), "vllm.log");
/// assert_eq!(escaped(b"\x1b[2J.log", 4096), "\\u{1b}[2J.log");
/// assert_eq!(escaped(b"abcdef", 3), "abc…");
/// ```
pub fn escaped(input: &[u8], max_chars: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            if shown == max_chars {
                out.push('…');
                return out;
            }
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => write!(out, "\\u{{{:x}}}", c as u32).expect("a String"),
                c => out.push(c),
            }
            shown += 1;
        }
        for byte in chunk.invalid() {
            if shown == max_chars {
                out.push('…');
                return out;
            }
            write!(out, "\\x{byte:02x}").expect("a String");
            shown += 1;
        }
    }
    out
}
