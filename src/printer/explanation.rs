//! An explained KV line as `explain` prints it: a heading, the deployment
//! assumed, then the fields, the derived numbers and the notes, wrapped at
//! 80 columns.
//!
//! ```
//! use nixl_kv_metrics::explain::Context;
//! use nixl_kv_metrics::logs::parse_line;
//! use nixl_kv_metrics::printer::explanation::Text;
//!
//! let record = parse_line("INFO 10-01 01:02:03 [m.py:1] KV Transfer metrics: num_successful_transfers=6")?
//!     .unwrap();
//! let text = Text(&Context::tp(2)?.explain(&record)).to_string();
//! assert!(text.starts_with(
//!     "line 1: engine unknown, 1 field (F1: vLLM 0.11.0), 10-01 01:02:03, INFO\n\
//!      deployment: TP 2 on both instances, pull (decode READs), standard attention\n\
//!      interval: 10 s (VLLM_LOG_STATS_INTERVAL)\n\
//!      per request: 2 READs, one per decode rank (decode TP 2 = prefill TP 2)\n\
//!      \n\
//!      fields\n\
//!      \x20 num_successful_transfers=6\n"
//! ));
//! assert!(text.contains("\n  requests  3\n      6 READs / 2 per request\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::{self, Display, Formatter};

use super::numbers::{ratio, seconds, significant};
use super::words::plural;
use crate::explain::{Context, Explanation, Figure};
use crate::topology::Mode;

/// The width text is wrapped at.
pub const WIDTH: usize = 80;

/// An explanation as text.
pub struct Text<'a>(pub &'a Explanation);

impl Display for Text<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let explanation = self.0;
        let record = &explanation.record;
        let families = record.families();
        write!(
            f,
            "line {}: engine {}, {} ({families}: vLLM {})",
            record.line,
            record.engine,
            plural(record.fields.len() as u64, "field"),
            families.releases()
        )?;
        if let Some(timestamp) = &record.timestamp {
            write!(f, ", {timestamp}")?;
        }
        if let Some(level) = record.level {
            write!(f, ", {}", level.as_str())?;
        }
        f.write_str("\n")?;
        let context = &explanation.context;
        wrap(f, "", "  ", &deployment(context))?;
        let interval = seconds(context.interval());
        wrap(
            f,
            "",
            "  ",
            &format!("interval: {interval} s (VLLM_LOG_STATS_INTERVAL)"),
        )?;
        if let (Some(k), Some(why)) = (explanation.per_request, &explanation.why_per_request) {
            let per_request = plural(k, context.mode().operation());
            wrap(f, "", "  ", &format!("per request: {per_request}, {why}"))?;
        }
        f.write_str("\nfields\n")?;
        for note in &explanation.fields {
            writeln!(f, "  {}", note.label)?;
            wrap(f, "      ", "      ", &note.meaning)?;
        }
        if !explanation.derived.is_empty() {
            f.write_str("\nderived (in brackets: the bounds the printed rounding leaves)\n")?;
            let width = explanation
                .derived
                .iter()
                .map(|d| d.label.len())
                .max()
                .unwrap_or(0);
            for row in &explanation.derived {
                writeln!(f, "  {:<width$}  {}", row.label, figure(row.value))?;
                wrap(f, "      ", "      ", &row.how)?;
            }
        }
        if !explanation.notes.is_empty() {
            f.write_str("\nnotes\n")?;
            for note in &explanation.notes {
                wrap(f, "  * ", "    ", &note.text)?;
            }
        }
        Ok(())
    }
}

/// `deployment: …`: what the context says of the deployment.
fn deployment(context: &Context) -> String {
    let mode = match context.mode() {
        Mode::Pull => "pull (decode READs)",
        Mode::Push => "push (prefill WRITEs)",
    };
    let tp = match context.tp_sizes() {
        Some(tp) if tp.prefill == tp.decode => format!("TP {} on both instances", tp.decode),
        Some(tp) => format!("prefill TP {}, decode TP {}", tp.prefill, tp.decode),
        None => "TP unknown".to_string(),
    };
    let attention = if context.mla() {
        "MLA model"
    } else {
        "standard attention"
    };
    format!("deployment: {tp}, {mode}, {attention}")
}

/// A derived number as precisely as it is worth: requests as a ratio,
/// totals to the printed averages' 3 decimals, averages and ranges to three
/// significant digits; bounds where they show.
fn figure(value: Figure) -> String {
    match value {
        Figure::Requests(Some(requests)) => ratio(requests),
        Figure::Requests(None) => "TP unknown".to_string(),
        Figure::Total(x) => format!("{x:.3}"),
        Figure::Average(x) => format!("{x:.d$}", d = significant(x.value)),
        Figure::Between(range) => format!("{range:.d$}", d = significant(range.max).max(1)),
    }
}

/// True for a unit that must stay on the line of the number before it.
fn is_unit(word: &str) -> bool {
    // Most words start with none of the units' first bytes: answered there.
    matches!(
        word.as_bytes().first(),
        Some(b's' | b'm' | b'M' | b'%' | 0xc2)
    ) && matches!(
        word.trim_end_matches(['.', ',', ';', ':', ')']),
        "s" | "ms" | "µs" | "MiB" | "MiB/s" | "%"
    )
}

/// Writes `text` wrapped at [`WIDTH`], the first line after `first`, the
/// others after `rest`; a unit is never wrapped away from its number.
///
/// Words are split at ASCII white space (the prose has no other), and each
/// line is put together in a buffer and written whole: `explain` writes a
/// few kilobytes of it per line of a log.
pub(super) fn wrap(f: &mut impl fmt::Write, first: &str, rest: &str, text: &str) -> fmt::Result {
    let width_of = |text: &str| {
        if text.is_ascii() {
            text.len()
        } else {
            text.chars().count()
        }
    };
    let mut words = text.split_ascii_whitespace().peekable();
    let mut group: Vec<&str> = Vec::new();
    let mut line = String::with_capacity(2 * WIDTH);
    line.push_str(first);
    let mut width = width_of(first);
    let mut empty = true;
    while let Some(word) = words.next() {
        // A word, and the units that follow it.
        group.clear();
        group.push(word);
        while let Some(unit) = words.next_if(|next| is_unit(next)) {
            group.push(unit);
        }
        let group_width = group.iter().map(|w| width_of(w)).sum::<usize>() + group.len() - 1;
        if !empty && width + 1 + group_width > WIDTH {
            line.push('\n');
            f.write_str(&line)?;
            line.clear();
            line.push_str(rest);
            width = width_of(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
            width += 1;
        }
        line.push_str(word);
        for unit in &group[1..] {
            line.push(' ');
            line.push_str(unit);
        }
        width += group_width;
        empty = false;
    }
    line.push('\n');
    f.write_str(&line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::ISSUE_LINE;
    use crate::logs::parse_line;
    use crate::views::{Bounded, Range};

    #[test]
    fn no_line_is_wider_than_the_width() {
        let record = parse_line(ISSUE_LINE).unwrap().unwrap();
        for context in [
            Context::unknown(),
            Context::tp(1).unwrap(),
            Context::tp(2).unwrap(),
        ] {
            let text = Text(&context.explain(&record)).to_string();
            assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        }
    }

    #[test]
    fn figures() {
        assert_eq!(figure(Figure::Requests(Some(1.5))), "1.50");
        assert_eq!(figure(Figure::Average(Bounded::exact(0.9))), "0.900");
        let range = Range {
            min: 1629.5,
            max: 3461.6,
        };
        assert_eq!(figure(Figure::Between(range)), "1629.5 – 3461.6");
    }

    #[test]
    fn wrapping() {
        let mut out = String::new();
        wrap(&mut out, "* ", "  ", &"word ".repeat(40)).unwrap();
        assert!(out.lines().all(|l| l.len() <= WIDTH));
        assert!(out.lines().skip(1).all(|l| l.starts_with("  word")));
        let mut out = String::new();
        wrap(&mut out, "", "", &format!("{} 10 s.", "x".repeat(75))).unwrap();
        assert_eq!(out, format!("{}\n10 s.\n", "x".repeat(75)));
    }
}
