//! Valid stats documents, generated: every one must be accepted, and read
//! back to exactly the stats it was written from.
//!
//! The fuzzer's bytes choose (through `arbitrary`) a family, the document's
//! shape (one dict, a list of workers, or `{"steps": [...]}`), per worker
//! `null` or a dict whose values are all valid for the family (durations
//! finite and >= 0, including -0.0, subnormals and 1e308; any u64 byte
//! count; any u32 descriptor count; event lists of 1s; any u64 counter for
//! 0.11.0), and the spelling: key order, white space, numbers in Rust's
//! `{}` or `{:?}` form (`0.0000001` or `1e-7`), `\u` escapes in keys.
//!
//! Checked: `from_json` accepts the text, and each worker's stats are those
//! written (bit for bit); `log()`, the summary's `Display` and its JSON (`printer::json`)
//! do not panic; and the printed line reads back through the log parser
//! (`logs::parse_line`) to the same fields and values.
#![no_main]

use std::fmt::Write;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nixl_kv_metrics::data::Key;
use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::logs::parse_line;
use nixl_kv_metrics::reduce::Value;
use nixl_kv_metrics::release::{Event, Family};
use nixl_kv_metrics::stats::NixlKvConnectorStats;

#[derive(Arbitrary, Debug)]
struct Document {
    family: u8,
    /// 0: one dict (if there is one step of one worker), 1: a list of
    /// workers (if there is one step), else `{"steps": ...}`.
    shape: u8,
    steps: Vec<Vec<Option<Worker>>>,
    /// Drives the white space and number spelling.
    style: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct Worker {
    transfers: Vec<Transfer>,
    counter: u64,
    /// Per event of the family: how many 1s in its list (`None`: no key).
    events: [Option<u8>; 5],
    /// Rotates the keys.
    rotate: u8,
    /// Writes the per-transfer lists even when empty.
    empty_lists: bool,
    /// Spells one letter of each key as a `\u` escape.
    escape_keys: bool,
}

#[derive(Arbitrary, Debug)]
struct Transfer {
    xfer: f64,
    post: f64,
    bytes: u64,
    descriptors: u32,
}

/// A valid duration: finite and not below zero (-0.0 is kept: it is valid).
fn duration(x: f64) -> f64 {
    if !x.is_finite() {
        0.0
    } else if x < 0.0 {
        -x
    } else {
        x
    }
}

/// The style bytes, cycled.
struct Style<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Style<'_> {
    fn next(&mut self) -> u8 {
        if self.bytes.is_empty() {
            return 0;
        }
        let b = self.bytes[self.at % self.bytes.len()];
        self.at += 1;
        b
    }

    fn space(&mut self, out: &mut String) {
        match self.next() % 8 {
            0 => out.push(' '),
            1 => out.push('\n'),
            2 => out.push_str("\r\n\t "),
            _ => {}
        }
    }

    /// Writes `x`; returns the value Python reads back: `{}` prints -0.0
    /// as `-0`, which is the int 0, so +0.0.
    fn float(&mut self, out: &mut String, x: f64) -> f64 {
        if self.next().is_multiple_of(2) {
            write!(out, "{x}").unwrap();
            if x == 0.0 { 0.0 } else { x }
        } else {
            write!(out, "{x:?}").unwrap();
            x
        }
    }

    fn key(&mut self, out: &mut String, key: &str, escape: bool) {
        out.push('"');
        if escape {
            let at = self.next() as usize % key.len();
            for (i, c) in key.chars().enumerate() {
                if i == at {
                    write!(out, "\\u{:04x}", c as u32).unwrap();
                } else {
                    out.push(c);
                }
            }
        } else {
            out.push_str(key);
        }
        out.push('"');
        self.space(out);
        out.push(':');
        self.space(out);
    }
}

/// The stats a worker stands for, as comparable parts (bit patterns for floats).
type Parts = (u128, Vec<u64>, Vec<u64>, Vec<u64>, Vec<u32>, Vec<u64>);

fn parts(stats: &NixlKvConnectorStats) -> Parts {
    (
        stats.successes_exact(),
        stats
            .transfer_duration()
            .iter()
            .map(|x| x.to_bits())
            .collect(),
        stats.post_duration().iter().map(|x| x.to_bits()).collect(),
        stats.bytes_transferred().to_vec(),
        stats.num_descriptors().to_vec(),
        Event::ALL.iter().map(|&e| stats.event_count(e)).collect(),
    )
}

/// Writes one worker's dict; returns the parts it stands for.
fn write_worker(out: &mut String, style: &mut Style, family: Family, w: &Worker) -> Parts {
    // Each entry is written into its own string, then the entries are rotated.
    let mut entries: Vec<String> = Vec::new();
    let mut events = vec![0u64; Event::ALL.len()];
    let expected_transfers;
    let (mut xfer, mut post, mut bytes, mut descriptors) = (vec![], vec![], vec![], vec![]);
    if family == Family::F1 {
        if w.counter != 0 || w.empty_lists {
            let mut e = String::new();
            style.key(&mut e, Key::NumSuccessfulTransfers.name(), w.escape_keys);
            write!(e, "{}", w.counter).unwrap();
            entries.push(e);
        }
        expected_transfers = u128::from(w.counter);
    } else {
        if !w.transfers.is_empty() || w.empty_lists {
            for key in Key::TRANSFERS {
                let mut e = String::new();
                style.key(&mut e, key.name(), w.escape_keys);
                e.push('[');
                for (i, t) in w.transfers.iter().enumerate() {
                    if i > 0 {
                        e.push(',');
                        style.space(&mut e);
                    }
                    match key {
                        Key::TransferDuration => {
                            xfer.push(style.float(&mut e, duration(t.xfer)).to_bits())
                        }
                        Key::PostDuration => {
                            post.push(style.float(&mut e, duration(t.post)).to_bits())
                        }
                        Key::BytesTransferred => write!(e, "{}", t.bytes).unwrap(),
                        _ => write!(e, "{}", t.descriptors).unwrap(),
                    }
                }
                e.push(']');
                entries.push(e);
            }
        }
        for t in &w.transfers {
            bytes.push(t.bytes);
            descriptors.push(t.descriptors);
        }
        expected_transfers = w.transfers.len() as u128;
        for (i, &event) in family.events().iter().enumerate() {
            let Some(count) = w.events[i] else { continue };
            let mut e = String::new();
            style.key(&mut e, event.key(), w.escape_keys);
            e.push('[');
            for j in 0..count {
                if j > 0 {
                    e.push(',');
                }
                e.push_str(if style.next().is_multiple_of(2) {
                    "1"
                } else {
                    "1.0"
                });
            }
            e.push(']');
            entries.push(e);
            let index = Event::ALL.iter().position(|&x| x == event).unwrap();
            events[index] = u64::from(count);
        }
    }
    if !entries.is_empty() {
        let n = w.rotate as usize % entries.len();
        entries.rotate_left(n);
    }
    out.push('{');
    style.space(out);
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
            style.space(out);
        }
        out.push_str(e);
        style.space(out);
    }
    out.push('}');
    (expected_transfers, xfer, post, bytes, descriptors, events)
}

fn write_workers(
    out: &mut String,
    style: &mut Style,
    family: Family,
    workers: &[Option<Worker>],
) -> Vec<Option<Parts>> {
    let mut parts = Vec::new();
    out.push('[');
    for (i, w) in workers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        style.space(out);
        match w {
            Some(w) => parts.push(Some(write_worker(out, style, family, w))),
            None => {
                out.push_str("null");
                parts.push(None);
            }
        }
    }
    style.space(out);
    out.push(']');
    parts
}

fuzz_target!(|doc: Document| {
    let family = Family::ALL[doc.family as usize % Family::ALL.len()];
    let mut style = Style {
        bytes: &doc.style,
        at: 0,
    };
    let mut text = String::new();
    style.space(&mut text);
    let expected: Vec<Vec<Option<Parts>>> = match (doc.shape % 3, doc.steps.as_slice()) {
        (0, [step]) if matches!(step.as_slice(), [Some(_)]) => {
            let Some(w) = &step[0] else { unreachable!() };
            vec![vec![Some(write_worker(&mut text, &mut style, family, w))]]
        }
        (1, [step]) => vec![write_workers(&mut text, &mut style, family, step)],
        _ => {
            text.push('{');
            style.space(&mut text);
            style.key(&mut text, "steps", false);
            text.push('[');
            let mut steps = Vec::new();
            for (i, step) in doc.steps.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                    style.space(&mut text);
                }
                steps.push(write_workers(&mut text, &mut style, family, step));
            }
            text.push(']');
            style.space(&mut text);
            text.push('}');
            steps
        }
    };
    style.space(&mut text);

    let interval = match Interval::from_json(family, text.as_bytes()) {
        Ok(interval) => interval,
        Err(error) => panic!("{family:?}: a valid document refused: {error}\n{text}"),
    };
    let read: Vec<Vec<Option<Parts>>> = interval
        .steps
        .iter()
        .map(|step| step.iter().map(|w| w.as_ref().map(parts)).collect())
        .collect();
    assert_eq!(read, expected, "{family:?}: read back differently\n{text}");

    let Some(summary) = interval.log(family) else {
        return;
    };
    let line = summary.to_string();
    let json = nixl_kv_metrics::printer::json::to_string(&summary);
    if let Err(error) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("{family:?}: printer::json is not JSON ({error}): {json}");
    }
    // The line the model prints must read back through the log parser.
    let record = match parse_line(&line) {
        Ok(Some(record)) => record,
        Ok(None) => panic!("{family:?}: the log parser skips the printed line: {line}"),
        Err(error) => {
            panic!("{family:?}: the log parser refuses the printed line ({error}): {line}")
        }
    };
    assert!(
        record.families().contains(family),
        "{family:?}: the line reads back as {}: {line}",
        record.families()
    );
    let printed: Vec<_> = summary
        .values()
        .iter()
        .map(|(f, v)| (*f, bits(*v)))
        .collect();
    let parsed: Vec<_> = record
        .fields
        .iter()
        .map(|p| (p.field, bits(p.value)))
        .collect();
    assert_eq!(
        printed, parsed,
        "{family:?}: the line reads back to other values: {line}"
    );
});

/// A value with its float as bits, so NaN compares equal to itself.
fn bits(value: Value) -> (bool, u128) {
    match value {
        Value::Int(i) => (false, i),
        Value::Float(x) => (
            true,
            if x.is_nan() {
                u128::MAX
            } else {
                u128::from(x.to_bits())
            },
        ),
    }
}
