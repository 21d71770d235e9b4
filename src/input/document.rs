//! The grammar of stats documents, read straight into stats.
//!
//! Every value is checked as it is read, and an error names its place in the
//! document: `steps[1]: worker 0: bytes_transferred[3]: -4 is negative; …`.
//! Each worker's stats go to a [`Sink`] as soon as its dict (or `null`)
//! ends, so that what the document costs in memory is up to the sink: the
//! pooling sink keeps one step's stats at a time, however many steps and
//! workers the document has.

use std::fmt;
use std::io::Read;

use super::InputError;
use super::lexer::{Lexer, Next};
use super::number::Number;
use crate::data::Key;
use crate::printer::words::excerpt;
use crate::python::Repr;
use crate::release::{Event, Family};
use crate::stats::NixlKvConnectorStats;

/// What the reader hands the document to, piece by piece, in document
/// order.
pub(super) trait Sink {
    /// The stats one worker shipped (`None`: `null`, nothing shipped).
    fn worker(&mut self, stats: Option<NixlKvConnectorStats>);
    /// The end of a step's list of workers.
    fn end_step(&mut self);
}

/// Where in the document a stats dict is, for messages: `steps[1]: worker
/// 0: `, `[2]: `, or nothing for a document that is one dict.
#[derive(Clone, Copy)]
struct Place {
    /// The step, in a `{"steps": ...}` document.
    step: Option<usize>,
    /// The worker, in a list of workers.
    worker: Option<usize>,
}

impl Place {
    const TOP: Place = Place {
        step: None,
        worker: None,
    };
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.step, self.worker) {
            (Some(step), Some(worker)) => write!(f, "steps[{step}]: worker {worker}: "),
            (Some(step), None) => write!(f, "steps[{step}]: "),
            (None, Some(worker)) => write!(f, "[{worker}]: "),
            (None, None) => Ok(()),
        }
    }
}

/// A key of a stats dict at its place, for messages:
/// `steps[1]: worker 0: bytes_transferred`.
#[derive(Clone, Copy)]
struct At<'a> {
    place: Place,
    key: &'a str,
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.place, self.key)
    }
}

/// Reads a document in any of the three shapes into `sink`.
pub(super) fn read_document<R: Read>(
    family: Family,
    source: R,
    sink: &mut impl Sink,
) -> Result<(), InputError> {
    let mut lexer = Lexer::new(source);
    match lexer.peek()? {
        Next::ListStart => read_workers(&mut lexer, family, None, sink)?,
        Next::ObjectStart => {
            lexer.bump();
            if lexer.peek()? == Next::String {
                let key = lexer.string()?;
                lexer.expect(Next::Colon, "':' after a key")?;
                if key == "steps" {
                    read_steps(&mut lexer, family, sink)?;
                } else {
                    let stats = read_entries(&mut lexer, family, Some(key), Place::TOP)?;
                    sink.worker(Some(stats));
                    sink.end_step();
                }
            } else {
                sink.worker(Some(read_entries(&mut lexer, family, None, Place::TOP)?));
                sink.end_step();
            }
        }
        Next::End => {
            return Err(lexer.error(
                "the input is empty; expected a stats dict, a list of them, or {\"steps\": [...]}",
            ));
        }
        other => {
            return Err(lexer.error(format!(
                "expected a stats dict, a list of per-worker stats dicts, or {{\"steps\": [[...], ...]}}; found {}",
                other.describe()
            )));
        }
    }
    expect_end(&mut lexer)
}

/// Reads a document that is one stats dict.
pub(super) fn read_stats<R: Read>(
    family: Family,
    source: R,
) -> Result<NixlKvConnectorStats, InputError> {
    let mut lexer = Lexer::new(source);
    lexer.expect(Next::ObjectStart, "a stats dict")?;
    let stats = read_entries(&mut lexer, family, None, Place::TOP)?;
    expect_end(&mut lexer)?;
    Ok(stats)
}

fn expect_end<R: Read>(lexer: &mut Lexer<R>) -> Result<(), InputError> {
    match lexer.peek()? {
        Next::End => Ok(()),
        other => Err(lexer.error(format!(
            "{} after the end of the document",
            other.describe()
        ))),
    }
}

/// Reads the rest of `{"steps": [...] }` after the colon.
fn read_steps<R: Read>(
    lexer: &mut Lexer<R>,
    family: Family,
    sink: &mut impl Sink,
) -> Result<(), InputError> {
    let place_of = |step| Place {
        step: Some(step),
        worker: None,
    };
    read_each(lexer, "the list of steps", place_of, |lexer, place| {
        if lexer.peek()? != Next::ListStart {
            return Err(lexer.expected(
                &place.to_string(),
                "a step (a list of per-worker stats dicts or nulls)",
            ));
        }
        read_workers(lexer, family, place.step, sink)
    })?;
    match lexer.peek()? {
        Next::ObjectEnd => {
            lexer.bump();
            Ok(())
        }
        Next::Comma => {
            Err(lexer
                .error("another key beside \"steps\": the document is {\"steps\": [...]} alone"))
        }
        other => Err(lexer.error(format!(
            "expected '}}' after the steps, found {}",
            other.describe()
        ))),
    }
}

/// Reads `[dict | null, ...]`, the workers of one step (`step`, in a
/// `{"steps": ...}` document), into `sink`, and ends the step.
fn read_workers<R: Read>(
    lexer: &mut Lexer<R>,
    family: Family,
    step: Option<usize>,
    sink: &mut impl Sink,
) -> Result<(), InputError> {
    let place_of = |worker| Place {
        step,
        worker: Some(worker),
    };
    read_each(
        lexer,
        "a list of per-worker stats dicts",
        place_of,
        |lexer, place| {
            match lexer.peek()? {
                Next::ObjectStart => {
                    lexer.bump();
                    sink.worker(Some(read_entries(lexer, family, None, place)?));
                }
                Next::Word if lexer.word("null")? => sink.worker(None),
                other => {
                    return Err(lexer.error(format!(
                    "{place}expected a stats dict, or null for a worker that shipped nothing; found {}",
                    other.describe()
                )));
                }
            }
            Ok(())
        },
    )?;
    sink.end_step();
    Ok(())
}

/// Reads `[item, ...]` (`what`, for the message when it is not a list),
/// each item by `item` at its place (`place_of` its index), one at a time:
/// a list of any length costs no memory.
fn read_each<R: Read>(
    lexer: &mut Lexer<R>,
    what: &str,
    place_of: impl Fn(usize) -> Place,
    mut item: impl FnMut(&mut Lexer<R>, Place) -> Result<(), InputError>,
) -> Result<(), InputError> {
    lexer.expect(Next::ListStart, what)?;
    if lexer.peek()? == Next::ListEnd {
        lexer.bump();
        return Ok(());
    }
    for index in 0.. {
        let place = place_of(index);
        item(lexer, place)?;
        if !list_continues(lexer, place)? {
            break;
        }
    }
    Ok(())
}

/// After a list element: true on `,` (another element follows), false on `]`.
fn list_continues<R: Read>(lexer: &mut Lexer<R>, place: Place) -> Result<bool, InputError> {
    match lexer.peek()? {
        Next::Comma => {
            lexer.bump();
            Ok(true)
        }
        Next::ListEnd => {
            lexer.bump();
            Ok(false)
        }
        other => Err(lexer.error(format!(
            "{place}expected ',' or ']', found {}",
            other.describe()
        ))),
    }
}

/// The family's keys, for an error message.
fn keys_of(family: Family) -> String {
    Key::of(family)
        .map(Key::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entries of a stats dict, after its `{` (and its first key and colon,
/// if `first_key` is given), up to and including its `}`.
fn read_entries<R: Read>(
    lexer: &mut Lexer<R>,
    family: Family,
    first_key: Option<String>,
    place: Place,
) -> Result<NixlKvConnectorStats, InputError> {
    let mut xfer = Vec::new();
    let mut post = Vec::new();
    let mut bytes = Vec::new();
    let mut descriptors = Vec::new();
    let mut seen: Vec<Key> = Vec::new();
    let mut counter = 0u64;
    let mut events = [0u64; Event::ALL.len()];
    let mut next = match first_key {
        Some(name) => Some(name),
        None => next_key(lexer, place, true)?,
    };
    while let Some(name) = next {
        let Some(key) = Key::find(family, &name) else {
            return Err(lexer.error(format!(
                "{place}key {} is not in the stats of vLLM {} ({family}); its keys are {}",
                excerpt(name.as_bytes()),
                family.releases(),
                keys_of(family)
            )));
        };
        if seen.contains(&key) {
            return Err(lexer.error(format!(
                "{place}key {} appears twice",
                excerpt(name.as_bytes())
            )));
        }
        seen.push(key);
        let at = At {
            place,
            key: key.name(),
        };
        match key {
            Key::NumSuccessfulTransfers => counter = read_count(lexer, at)?,
            Key::TransferDuration => read_list(lexer, at, &mut xfer, seconds)?,
            Key::PostDuration => read_list(lexer, at, &mut post, seconds)?,
            Key::BytesTransferred => read_list(lexer, at, &mut bytes, byte_count)?,
            Key::NumDescriptors => read_list(lexer, at, &mut descriptors, descriptor_count)?,
            Key::Event(event) => {
                let mut marks = 0u64;
                read_list(lexer, at, &mut marks, event_mark)?;
                events[event.index()] = marks;
            }
        }
        next = next_key(lexer, place, false)?;
    }
    let lengths = [xfer.len(), post.len(), bytes.len(), descriptors.len()];
    if lengths.iter().any(|&len| len != lengths[0]) {
        let listed: Vec<String> = Key::TRANSFERS
            .iter()
            .zip(lengths)
            .map(|(key, len)| format!("{} {len}", key.name()))
            .collect();
        return Err(lexer.error(format!(
            "{place}the per-transfer lists differ in length ({}): each transfer has one entry in each",
            listed.join(", ")
        )));
    }
    let mut stats = if family == Family::F1 {
        let mut stats = NixlKvConnectorStats::new(family);
        stats.add_successes(counter);
        stats
    } else {
        NixlKvConnectorStats::from_transfers(family, xfer, post, bytes, descriptors)
    };
    for event in Event::ALL {
        stats
            .record_many(event, events[event.index()])
            .expect("only the family's own event keys are read");
    }
    Ok(stats)
}

/// The next key of a dict and its colon, or `None` at its `}`.
fn next_key<R: Read>(
    lexer: &mut Lexer<R>,
    place: Place,
    first: bool,
) -> Result<Option<String>, InputError> {
    match lexer.peek()? {
        Next::ObjectEnd => {
            lexer.bump();
            return Ok(None);
        }
        Next::Comma if !first => lexer.bump(),
        Next::String if first => {}
        other => {
            let expected = if first { "a key or '}'" } else { "',' or '}'" };
            return Err(lexer.error(format!(
                "{place}expected {expected}, found {}",
                other.describe()
            )));
        }
    }
    if lexer.peek()? != Next::String {
        return Err(lexer.expected(&place.to_string(), "a key"));
    }
    let key = lexer.string()?;
    lexer.expect(Next::Colon, "':' after a key")?;
    Ok(Some(key))
}

/// Something a list's numbers are collected into.
trait Collect<T> {
    fn collect(&mut self, value: T);
}

impl<T> Collect<T> for Vec<T> {
    fn collect(&mut self, value: T) {
        self.push(value);
    }
}

/// Event lists are only counted.
impl Collect<()> for u64 {
    fn collect(&mut self, (): ()) {
        *self += 1;
    }
}

/// Reads a list of numbers, converting and checking each with `convert`.
fn read_list<R: Read, T>(
    lexer: &mut Lexer<R>,
    at: At<'_>,
    out: &mut impl Collect<T>,
    convert: impl Fn(&Number) -> Result<T, String>,
) -> Result<(), InputError> {
    lexer.number_list(at, |number| {
        out.collect(convert(number)?);
        Ok(())
    })
}

/// 0.11.0's counter: a non-negative integer.
fn read_count<R: Read>(lexer: &mut Lexer<R>, at: At<'_>) -> Result<u64, InputError> {
    if lexer.peek()? != Next::Number {
        return Err(lexer.expected(&format!("{at}: "), "a count"));
    }
    let (line, column) = lexer.position();
    let number = lexer.number()?;
    whole(&number, "a count of successful transfers")
        .map_err(|message| InputError::at(format!("{at}: {message}"), line, column))
}

/// A duration in seconds: a number >= 0, read as Python reads it (an
/// integer exactly, then as a float; a float correctly rounded).
fn seconds(number: &Number) -> Result<f64, String> {
    // `-0` is the int 0 in Python, so +0.0; `-0.0` stays -0.0.
    let value = match number.magnitude() {
        Some(0) => 0.0,
        _ => number.to_f64(),
    };
    if value < 0.0 {
        return Err(format!(
            "{} is negative; a duration is a number of seconds >= 0",
            Repr(value)
        ));
    }
    if value.is_infinite() {
        return Err(format!("{} is too large for a float", number.shown()));
    }
    Ok(value)
}

/// A byte count: an integer from 0 to 2⁶⁴ − 1.
fn byte_count(number: &Number) -> Result<u64, String> {
    whole(number, "a byte count")
}

/// A descriptor count: an integer that fits numpy's `uint32`.
fn descriptor_count(number: &Number) -> Result<u32, String> {
    let count = whole(number, "a descriptor count")?;
    u32::try_from(count).map_err(|_| {
        format!("{count} descriptors do not fit in uint32, the type vLLM reads them as")
    })
}

/// One entry of an event list: `1` or `1.0`, one event.
fn event_mark(number: &Number) -> Result<(), String> {
    if number.to_f64() == 1.0 {
        Ok(())
    } else {
        Err(format!(
            "{} is not 1; each entry records one event and vLLM appends 1",
            number.shown()
        ))
    }
}

/// A non-negative integer token (`-0` is 0).
fn whole(number: &Number, what: &str) -> Result<u64, String> {
    match number.magnitude() {
        Some(value) if value == 0 || !number.is_negative() => Ok(value),
        Some(_) => Err(format!("{} is negative; {what} is >= 0", number.shown())),
        None if number.is_integer() => Err(format!(
            "{} is too large; {what} fits in 64 bits",
            number.shown()
        )),
        None => Err(format!(
            "{} is not an integer; {what} is a whole number",
            number.shown()
        )),
    }
}
