//! Arbitrary bytes as a vLLM log file, through the streaming parser and
//! every view of its records.
//!
//! Must not panic: `LogParser` over the bytes; for each record, its
//! accessors (`get`, `text`, `printed` of every field, `transfers`,
//! `is_zero`, `families`, `summary` of every family and that summary's
//! `Display` and its JSON), `views::LineReading` (at 10 s and at an
//! interval taken from the input), `views::Run` over all records and its
//! `Totals`' derived numbers; every error's `Display`.
//!
//! Also checked:
//! * the same bytes read through a `BufReader` of a few bytes' capacity over
//!   a reader that hands them over a few at a time (so lines straddle buffer
//!   fills) give the same records and errors;
//! * `bytes_read()` is the input's length at the end, `lines_read()` its
//!   number of lines;
//! * `parse_line` of each line gives the record the stream gave (up to the
//!   line number, engine and `unterminated`, which only the stream knows).
#![no_main]

use std::io::BufReader;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::logs::{Engine, KvRecord, LogError, LogParser, parse_line};
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::testing::Trickle;
use nixl_kv_metrics::views::{DEFAULT_INTERVAL, LineReading, Run, Totals};

fn describe(item: &Result<KvRecord, LogError>) -> String {
    match item {
        Ok(record) => format!("{record:?}"),
        Err(error) => format!("error: {error}"),
    }
}

fn exercise(record: &KvRecord, interval: Duration) {
    for field in Field::ALL {
        let _ = record.get(field);
        let _ = record.text(field);
        let _ = record.printed(field);
    }
    let _ = (record.transfers(), record.is_zero());
    let families = record.families();
    let _ = (
        families.to_string(),
        families.releases(),
        families.first(),
        families.last(),
    );
    let _ = families.iter().count();
    let _ = record.shape.families().to_string();
    let _ = record.engine.to_string();
    let _ = record.engine.index();
    if let Some(level) = record.level {
        let _ = level.as_str();
    }
    for family in Family::ALL {
        if let Some(summary) = record.summary(family) {
            let _ = summary.to_string();
            let json = nixl_kv_metrics::printer::json::to_string(&summary);
            if let Err(error) = serde_json::from_str::<serde_json::Value>(&json) {
                panic!("printer::json is not JSON ({error}): {json}");
            }
        }
    }
    for interval in [DEFAULT_INTERVAL, interval] {
        if let Some(reading) = LineReading::new(record, interval) {
            let _ = format!("{reading:?}");
            let _ = format!(
                "{} {:.3} {} {}",
                reading.sums.total_mib, reading.sums.xfer_ms, reading.concurrency, reading.window_mib_s
            );
        }
    }
}

fn totals(totals: &Totals, interval: Duration) {
    let _ = format!("{totals:?}");
    for bounded in [
        totals.avg_xfer_ms(),
        totals.avg_post_ms(),
        totals.avg_mib(),
        totals.avg_descriptors(),
        totals.throughput_mib_s(),
        totals.mean_concurrency(interval),
        totals.mean_window_mib_s(interval),
    ]
    .into_iter()
    .flatten()
    {
        let _ = format!("{bounded} {bounded:.2}");
        let _ = (bounded.half_width(), bounded.contains(bounded.value));
    }
    let _ = totals.logged_seconds(interval);
}

fuzz_target!(|data: &[u8]| {
    // An interval from the first bytes (0 s included: a division by zero
    // must not panic either); the log is all of the bytes.
    let millis = data
        .iter()
        .take(4)
        .fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let interval = Duration::from_millis(millis);

    let mut whole = LogParser::new(data);
    let items: Vec<_> = whole.by_ref().collect();
    assert_eq!(whole.bytes_read(), data.len() as u64, "bytes_read");
    let lines = if data.is_empty() {
        0
    } else {
        data.split(|&b| b == b'\n').count() as u64 - u64::from(data.ends_with(b"\n"))
    };
    assert_eq!(whole.lines_read(), lines, "lines_read");

    // At most 1, 2, … 5 bytes per read, cycling, through a 3-byte buffer.
    let mut small = LogParser::new(BufReader::with_capacity(3, Trickle::cycling(data, 5)));
    let trickled: Vec<_> = small.by_ref().collect();
    let a: Vec<_> = items.iter().map(describe).collect();
    let b: Vec<_> = trickled.iter().map(describe).collect();
    assert_eq!(
        a, b,
        "a whole buffer and a trickling 3-byte BufReader disagree"
    );
    assert_eq!(small.bytes_read(), data.len() as u64);

    let all_lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut run = Run::new(interval);
    for item in &items {
        match item {
            Ok(record) => {
                exercise(record, interval);
                run.add(record);
                // The same line alone.
                let line = all_lines[record.line as usize - 1];
                let alone = parse_line(line);
                let Ok(Some(mut alone)) = alone else {
                    panic!(
                        "line {}: the stream gives a record, parse_line {alone:?}",
                        record.line
                    );
                };
                alone.line = record.line;
                alone.engine = record.engine;
                alone.unterminated = record.unterminated;
                assert_eq!(
                    format!("{alone:?}"),
                    format!("{record:?}"),
                    "parse_line differs"
                );
            }
            Err(error) => {
                let _ = (error.to_string(), error.line());
                if let LogError::Malformed(line_error) = error {
                    let _ = line_error.kind.to_string();
                    let line = all_lines[line_error.line as usize - 1];
                    match parse_line(line) {
                        Err(kind) => assert_eq!(kind, line_error.kind, "parse_line differs"),
                        other => panic!(
                            "line {}: the stream gives {:?}, parse_line {other:?}",
                            line_error.line, line_error.kind
                        ),
                    }
                }
            }
        }
    }
    totals(run.overall(), interval);
    for (engine, engine_totals) in run.engines() {
        let _: &Engine = engine;
        totals(engine_totals, interval);
    }
});
