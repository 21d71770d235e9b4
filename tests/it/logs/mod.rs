//! Reading vLLM logs (`logs`) and what their lines imply (`views`); the
//! `parse` and `summarize` subcommands, run as a user runs them, in `cli`.
//!
//! The fixtures in `tests/fixtures/logs` are written by
//! `scripts/log_fixtures.py`, around KV lines that real vLLM releases printed
//! (the golden fixtures of `tests/golden`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::logs::{
    Engine, ErrorKind, KvRecord, Level, LineError, LogError, LogParser, Shape, parse_line,
};
use nixl_kv_metrics::numpy;
use nixl_kv_metrics::reduce::Value;
use nixl_kv_metrics::release::{Event, Family};
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::views::{DEFAULT_INTERVAL, LineReading, Run};
use proptest::collection::vec;
use proptest::prelude::*;

mod cli;

/// The line of vLLM issue #41230 (facts.md section 6).
const ISSUE_LINE: &str = "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
    P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
    Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name)
}

/// The records and the malformed lines of a fixture.
fn read(name: &str) -> (Vec<KvRecord>, Vec<LineError>) {
    let bytes = std::fs::read(fixture(name)).expect("the fixture exists");
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for item in LogParser::new(&bytes[..]) {
        match item {
            Ok(record) => records.push(record),
            Err(LogError::Malformed(error)) => errors.push(error),
            Err(error) => panic!("{name}: {error}"),
        }
    }
    (records, errors)
}

/// True when two values are the same number printed the same way (`nan`
/// equals `nan`).
fn same(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => {
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
        }
        _ => false,
    }
}

#[test]
fn the_issue_line_reads_as_printed() {
    let record = parse_line(ISSUE_LINE).unwrap().unwrap();
    assert_eq!(record.shape, Shape::Eight);
    assert_eq!(record.families().to_string(), "F2-F4");
    let expected = [
        (Field::NumSuccessfulTransfers, Value::Int(4), "4"),
        (Field::AvgXferTimeMs, Value::Float(1.381), "1.381"),
        (Field::P90XferTimeMs, Value::Float(2.601), "2.601"),
        (Field::AvgPostTimeMs, Value::Float(0.672), "0.672"),
        (Field::P90PostTimeMs, Value::Float(0.801), "0.801"),
        (Field::AvgMbPerTransfer, Value::Float(2.25), "2.25"),
        (Field::ThroughputMbS, Value::Float(1629.549), "1629.549"),
        (Field::AvgNumberOfDescriptors, Value::Float(72.0), "72.0"),
    ];
    assert_eq!(record.fields.len(), expected.len());
    for (printed, (field, value, text)) in record.fields.iter().zip(expected) {
        assert_eq!(
            (printed.field, printed.value, printed.text.as_str()),
            (field, value, text)
        );
    }
    // The line prints back unchanged as any of the three families.
    for family in [Family::F2, Family::F3, Family::F4] {
        assert_eq!(record.summary(family).unwrap().to_string(), ISSUE_LINE);
    }
    assert!(record.summary(Family::F5).is_none());
}

#[test]
fn the_issue_line_in_views() {
    let record = parse_line(ISSUE_LINE).unwrap().unwrap();
    let reading = LineReading::new(&record, DEFAULT_INTERVAL).unwrap();
    // peers.md 4.3: 9 MiB in all; summed xfer time 9 / 1629.549 s = 5.523 ms
    // (n × Avg gives 5.524 ± 0.002), Σ descriptors 288.
    assert_eq!(reading.sums.total_mib.value, 9.0);
    assert!(reading.sums.total_mib.contains(9.0) && reading.sums.total_mib.half_width() < 0.0021);
    assert!(reading.sums.xfer_ms.contains(9.0 / 1629.549 * 1e3));
    assert!(reading.sums.descriptors.contains(288.0));
    assert!(reading.throughput_mib_s.contains(1629.549));
    let busy = reading.busy.unwrap();
    // Busy rate at least the Throughput; at most 9 MiB over the longest
    // transfer (≥ P90 2.601 ms).
    assert!(busy.mib_s.min > 1629.548 && busy.mib_s.min <= 1629.549);
    assert!((busy.mib_s.max - 9.002 / 2.6005e-3).abs() < 1.0);
    assert_eq!(busy.concurrency.min, 1.0);
    assert!(busy.concurrency.max <= 4.0 && busy.concurrency.max > 2.12);
}

#[test]
fn the_pull_request_line_is_consistent() {
    // Quoted in part in vLLM PR #25388: one transfer, 9.862 ms, 70 MiB,
    // 7097.952 MB/s, 56 descriptors (the other fields filled in).
    let record = parse_line(
        "KV Transfer metrics: Num successful transfers=1, Avg xfer time (ms)=9.862, \
         P90 xfer time (ms)=9.862, Avg post time (ms)=0.1, P90 post time (ms)=0.1, \
         Avg MB per transfer=70.0, Throughput (MB/s)=7097.952, Avg number of descriptors=56.0",
    )
    .unwrap()
    .unwrap();
    let reading = LineReading::new(&record, DEFAULT_INTERVAL).unwrap();
    let rebuilt = reading.sums.total_mib.scale(1e3) / reading.sums.xfer_ms;
    assert!(rebuilt.contains(7097.952), "{rebuilt}");
    assert_eq!(
        record.get(Field::AvgNumberOfDescriptors),
        Some(Value::Float(56.0))
    );
}

/// The transfers pooled into a golden case's line: every list of every
/// stats dict in its input.
#[derive(Default)]
struct Samples {
    xfer: Vec<f64>,
    post: Vec<f64>,
    bytes: Vec<u64>,
    descriptors: Vec<u64>,
}

impl Samples {
    fn collect(&mut self, input: &serde_json::Value) {
        match input {
            serde_json::Value::Array(items) => items.iter().for_each(|item| self.collect(item)),
            serde_json::Value::Object(map) => {
                if let Some(list) = map.get("transfer_duration").and_then(|v| v.as_array()) {
                    self.xfer.extend(list.iter().map(|x| x.as_f64().unwrap()));
                    let post = map["post_duration"].as_array().unwrap();
                    self.post.extend(post.iter().map(|x| x.as_f64().unwrap()));
                    let bytes = map["bytes_transferred"].as_array().unwrap();
                    self.bytes.extend(bytes.iter().map(|x| x.as_u64().unwrap()));
                    let descriptors = map["num_descriptors"].as_array().unwrap();
                    self.descriptors
                        .extend(descriptors.iter().map(|x| x.as_u64().unwrap()));
                }
                map.values().for_each(|value| self.collect(value));
            }
            _ => {}
        }
    }

    fn mib(&self) -> f64 {
        numpy::sum_map(&self.bytes, |b| b as f64 / 1_048_576.0)
    }
}

/// Every golden case that logged a line: (family, case).
fn golden_cases() -> Vec<(Family, serde_json::Value)> {
    let mut cases = Vec::new();
    for family in Family::ALL {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("vllm-{}.jsonl", family.golden_release()));
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            if case["line"].is_string() {
                cases.push((family, case));
            }
        }
    }
    cases
}

#[test]
fn every_golden_line_reads_back_exactly() {
    let mut count = 0;
    for (family, case) in golden_cases() {
        let name = case["name"].as_str().unwrap();
        let line = case["line"].as_str().unwrap();
        let record = parse_line(line)
            .unwrap_or_else(|e| panic!("{family} {name}: {e}"))
            .unwrap();
        assert!(record.families().contains(family), "{family} {name}");
        assert_eq!(record.shape.fields(), family.fields(), "{family} {name}");
        assert_eq!(
            record.summary(family).unwrap().to_string(),
            line,
            "{family} {name}"
        );
        let reduce = case["reduce"].as_object().unwrap();
        assert_eq!(reduce.len(), record.fields.len(), "{family} {name}");
        for printed in &record.fields {
            let key = printed.field.name();
            let expected = match &reduce[key] {
                serde_json::Value::String(text) if text == "inf" => Value::Float(f64::INFINITY),
                serde_json::Value::String(text) if text == "nan" => Value::Float(f64::NAN),
                number if number.is_u64() => Value::Int(number.as_u64().unwrap().into()),
                number => Value::Float(number.as_f64().unwrap()),
            };
            assert!(
                same(printed.value, expected),
                "{family} {name} {key}: {:?}",
                printed.value
            );
            // What CSV writes, the digits as printed, is the value's repr.
            assert_eq!(
                printed.digits(),
                printed.value.to_string(),
                "{family} {name} {key}"
            );
        }
        count += 1;
    }
    assert!(count > 5000, "{count} golden lines");
}

#[test]
fn golden_views_bound_the_true_values() {
    let mut runs: Vec<(Run, Samples)> = Vec::new();
    for (family, case) in golden_cases() {
        if family == Family::F1 {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let record = parse_line(case["line"].as_str().unwrap()).unwrap().unwrap();
        let mut samples = Samples::default();
        samples.collect(&case["input"]);
        assert_eq!(
            samples.xfer.len() as u128,
            record.transfers(),
            "{family} {name}"
        );
        let reading = LineReading::new(&record, DEFAULT_INTERVAL).unwrap();
        let check = |what: &str, bounds: nixl_kv_metrics::views::Bounded, truth: f64| {
            assert!(
                bounds.contains(truth),
                "{family} {name} {what}: {truth} not in {bounds}"
            );
        };
        check("MiB", reading.sums.total_mib, samples.mib());
        check(
            "xfer",
            reading.sums.xfer_ms,
            numpy::sum(&samples.xfer) * 1e3,
        );
        check(
            "post",
            reading.sums.post_ms,
            numpy::sum(&samples.post) * 1e3,
        );
        let descriptors: u64 = samples.descriptors.iter().map(|&d| d % (1 << 32)).sum();
        check("descriptors", reading.sums.descriptors, descriptors as f64);
        if !samples.xfer.is_empty() {
            check(
                "P90",
                reading.p90_xfer_ms,
                numpy::percentile(&samples.xfer, 90.0) * 1e3,
            );
        }
        // Runs of a few dozen lines each, per family.
        if runs.last().is_none_or(|(run, _)| run.overall().lines >= 37) {
            runs.push((Run::new(DEFAULT_INTERVAL), Samples::default()));
        }
        let (run, all) = runs.last_mut().unwrap();
        run.add(&record);
        all.collect(&case["input"]);
    }
    assert!(runs.len() > 100);
    for (run, all) in runs {
        let totals = run.overall();
        if all.xfer.is_empty() {
            continue;
        }
        let xfer_ms = numpy::sum(&all.xfer) * 1e3;
        assert!(totals.sums.total_mib.contains(all.mib()));
        assert!(totals.sums.xfer_ms.contains(xfer_ms));
        let avg = totals.avg_xfer_ms().unwrap();
        assert!(avg.contains(xfer_ms / all.xfer.len() as f64), "{avg}");
        if xfer_ms > 0.0 {
            let throughput = totals.throughput_mib_s().unwrap();
            assert!(
                throughput.contains(all.mib() / xfer_ms * 1e3),
                "{throughput}"
            );
        }
        let p90 = totals.p90_xfer_ms.unwrap();
        let truth = numpy::percentile(&all.xfer, 90.0) * 1e3;
        assert!(
            p90.at_least <= truth && truth <= p90.at_most,
            "{p90:?} vs {truth}"
        );
        let post = totals.p90_post_ms.unwrap();
        let truth = numpy::percentile(&all.post, 90.0) * 1e3;
        assert!(
            post.at_least <= truth && truth <= post.at_most,
            "{post:?} vs {truth}"
        );
    }
}

/// Stats of `family` with the given transfers (µs, µs, bytes, descriptors)
/// and failure events.
fn stats(
    family: Family,
    transfers: &[(u64, u64, u64, u32)],
    failures: u64,
) -> NixlKvConnectorStats {
    let mut stats = NixlKvConnectorStats::from_transfers(
        family,
        transfers.iter().map(|t| t.0 as f64 / 1e6).collect(),
        transfers.iter().map(|t| t.1 as f64 / 1e6).collect(),
        transfers.iter().map(|t| t.2).collect(),
        transfers.iter().map(|t| t.3).collect(),
    );
    for (i, &event) in family.events().iter().enumerate() {
        stats.record_many(event, failures * (i as u64 % 2)).unwrap();
    }
    stats
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Every family's line, as `reduce()` prints it, reads back field for
    /// field, value for value, text for text.
    #[test]
    fn reduce_lines_round_trip(
        family in prop::sample::select(Family::ALL.to_vec()),
        transfers in vec((0u64..50_000, 0u64..3_000, 0u64..(1 << 34), 0u32..5_000), 0..60),
        failures in 0u64..4,
    ) {
        let stats = stats(family, &transfers, failures);
        let summary = stats.reduce();
        let line = summary.to_string();
        let record = parse_line(&line).unwrap().unwrap();
        prop_assert!(record.shape.families().contains(family));
        prop_assert_eq!(record.fields.len(), summary.values().len());
        for (printed, (field, value)) in record.fields.iter().zip(summary.values()) {
            prop_assert_eq!(printed.field, *field);
            prop_assert!(same(printed.value, *value), "{}: {:?} vs {:?}", field, printed.value, value);
            prop_assert_eq!(&printed.text, &value.to_string());
        }
        // What vLLM logs (stats that are not empty) narrows to the family.
        if !stats.is_empty() {
            prop_assert!(record.families().contains(family));
            prop_assert_eq!(record.summary(family).unwrap().to_string(), line);
        }
    }

    /// The theorem of `views::P90Bounds`: the P90 of a union is at least the
    /// smallest P90 of its parts (numpy's linear method).
    #[test]
    fn union_p90_is_at_least_the_smallest_part(
        parts in vec(vec(0u32..40, 1..25), 1..6),
    ) {
        let sets: Vec<Vec<f64>> = parts
            .iter()
            .map(|part| part.iter().map(|&x| f64::from(x) * 0.25).collect())
            .collect();
        let union: Vec<f64> = sets.concat();
        let smallest = sets
            .iter()
            .map(|set| numpy::percentile(set, 90.0))
            .fold(f64::INFINITY, f64::min);
        prop_assert!(numpy::percentile(&union, 90.0) >= smallest - 1e-12);
    }
}

#[test]
fn the_largest_line_p90_is_not_an_upper_bound() {
    let line = |samples: &[u64]| {
        let transfers: Vec<_> = samples
            .iter()
            .map(|&ms| (ms * 1000, 100, 4096, 1))
            .collect();
        stats(Family::F6, &transfers, 0).reduce().to_string()
    };
    let mut run = Run::new(DEFAULT_INTERVAL);
    for _ in 0..2 {
        let text = line(&[0, 10]);
        assert!(text.contains("P90 xfer time (ms)=9.0,"), "{text}");
        run.add(&parse_line(&text).unwrap().unwrap());
    }
    let union = numpy::percentile(&[0.0, 0.0, 0.01, 0.01], 90.0) * 1e3;
    assert_eq!(union, 10.0);
    let p90 = run.overall().p90_xfer_ms.unwrap();
    assert_eq!((p90.smallest_line, p90.largest_line), (9.0, 9.0));
    assert!(p90.at_least <= union && union <= p90.at_most);
    assert!(union > p90.largest_line);
}

/// A prefix, and the level, time and process read from it.
type Case<'a> = (&'a str, Option<Level>, Option<&'a str>, Option<&'a str>);

#[test]
fn prefixes() {
    let cases: [Case; 6] = [
        (
            "(APIServer pid=428) INFO 07-13 16:33:58 [metrics.py:103] ",
            Some(Level::Info),
            Some("07-13 16:33:58"),
            Some("APIServer pid=428"),
        ),
        (
            "DEBUG 07-13 16:34:08 [metrics.py:103] ",
            Some(Level::Debug),
            Some("07-13 16:34:08"),
            None,
        ),
        (
            "(EngineCore_DP0 pid=1) INFO 10-02 03:04:05 [metrics.py:103] ",
            Some(Level::Info),
            Some("10-02 03:04:05"),
            Some("EngineCore_DP0 pid=1"),
        ),
        (
            "2025-07-13T16:33:58.123456789Z (APIServer pid=1) INFO 07-13 16:33:58 [metrics.py:103] ",
            Some(Level::Info),
            Some("07-13 16:33:58"),
            Some("APIServer pid=1"),
        ),
        (
            "2025-07-13T16:33:58.123456789Z ",
            None,
            Some("2025-07-13T16:33:58.123456789Z"),
            None,
        ),
        ("", None, None, None),
    ];
    for (prefix, level, timestamp, process) in cases {
        let record = parse_line(format!("{prefix}{ISSUE_LINE}"))
            .unwrap()
            .unwrap();
        assert_eq!(record.level, level, "{prefix:?}");
        assert_eq!(record.timestamp.as_deref(), timestamp, "{prefix:?}");
        assert_eq!(record.process.as_deref(), process, "{prefix:?}");
        assert_eq!(
            record.get(Field::ThroughputMbS),
            Some(Value::Float(1629.549))
        );
    }
}

#[test]
fn engines_of_a_per_engine_log() {
    let (records, errors) = read("dp2.log");
    assert!(errors.is_empty(), "{errors:?}");
    let seen: Vec<(u64, Engine, Option<Level>)> = records
        .iter()
        .map(|r| (r.line, r.engine, r.level))
        .collect();
    assert_eq!(
        seen,
        [
            (4, Engine::One(0), Some(Level::Info)),
            (7, Engine::One(1), Some(Level::Info)),
            // Engine 0 logged no KV line at 16:33:58: the line is engine 1's.
            (10, Engine::One(1), Some(Level::Info)),
            (12, Engine::One(0), Some(Level::Debug)),
            // No engine line since the previous KV line.
            (13, Engine::Unknown, Some(Level::Info)),
        ]
    );
    assert!(records.iter().all(|r| r.shape == Shape::Eleven));
    assert!(records[3].is_zero());
    assert_eq!(
        records[3].get(Field::NumFailedTransfers),
        Some(Value::Int(2))
    );

    let mut run = Run::new(DEFAULT_INTERVAL);
    records.iter().for_each(|r| run.add(r));
    let engines = run.engines();
    assert_eq!(engines.len(), 3);
    assert_eq!(engines[&Engine::One(0)].lines, 2);
    assert_eq!(engines[&Engine::One(0)].debug_lines, 1);
    assert_eq!(engines[&Engine::One(0)].zero_lines, 1);
    assert_eq!(engines[&Engine::One(1)].transfers, 2 + 3);
    // 1 + 2 + 3, the all-zero line's 0, and 4.
    assert_eq!(run.overall().transfers, 10);
    assert_eq!(run.overall().sums.failed_transfers, Some(2));
    assert_eq!(run.overall().sums.kv_expired_reqs, Some(1));
}

#[test]
fn engines_aggregated_with_container_timestamps_and_colours() {
    let (records, errors) = read("aggregated.log");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].engine, Engine::Aggregated(2));
    assert_eq!(records[0].shape, Shape::Ten);
    assert_eq!(records[0].level, Some(Level::Info));
    assert_eq!(records[0].timestamp.as_deref(), Some("07-13 16:33:48"));
    // No vLLM prefix: the container's timestamp.
    assert_eq!(records[1].engine, Engine::Aggregated(2));
    assert_eq!(
        records[1].timestamp.as_deref(),
        Some("2025-07-13T16:33:58.121100200Z")
    );
    assert_eq!(records[1].level, None);
}

#[test]
fn multiconnector_lines() {
    let (records, errors) = read("multiconnector.log");
    assert!(errors.is_empty(), "{errors:?}");
    // Line 3 has no NIXL entry: skipped without an error.
    let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 4, 5]);
    assert!(
        records
            .iter()
            .all(|r| r.connector.as_deref() == Some("NixlConnector"))
    );
    let issue = parse_line(ISSUE_LINE).unwrap().unwrap();
    let first = &records[0];
    assert_eq!(first.shape, Shape::Eight);
    for (a, b) in first.fields.iter().zip(&issue.fields) {
        assert!(same(a.value, b.value), "{a:?} vs {b:?}");
    }
    assert_eq!(first.text(Field::AvgXferTimeMs), Some("np.float64(1.381)"));
    assert_eq!(first.text(Field::P90XferTimeMs), Some("2.601"));
    // After another connector's entry; inf.
    assert_eq!(records[1].shape, Shape::Eleven);
    assert_eq!(
        records[1].get(Field::ThroughputMbS),
        Some(Value::Float(f64::INFINITY))
    );
    // An idle NIXL entry prints zeros in every family: no narrowing to F4.
    assert!(records[2].is_zero());
    assert_eq!(records[2].families().to_string(), "F2-F4");
    assert_eq!(records[3].shape, Shape::Counter);
    assert_eq!(records[3].transfers(), 6);
}

#[test]
fn malformed_lines_are_reported_and_skipped() {
    let (records, errors) = read("malformed.log");
    let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 13]);
    let found: Vec<(u64, &ErrorKind)> = errors.iter().map(|e| (e.line, &e.kind)).collect();
    assert_eq!(found.len(), 10, "{found:?}");
    assert!(
        matches!(found[0], (2, ErrorKind::UnknownField { name }) if name == "Avg MiB per transfer")
    );
    assert!(matches!(found[1], (3, ErrorKind::MissingEquals { .. })));
    assert!(matches!(
        found[2],
        (4, ErrorKind::BadNumber { field: Field::ThroughputMbS, text, .. }) if text == "1,629.549"
    ));
    assert!(matches!(
        found[3],
        (
            5,
            ErrorKind::OutOfOrder {
                field: Field::P90XferTimeMs,
                position: 2,
                expected: Some(Field::AvgXferTimeMs)
            }
        )
    ));
    assert!(matches!(found[4], (6, ErrorKind::WrongCount { count: 9 })));
    assert!(matches!(
        found[5],
        (
            7,
            ErrorKind::BadNumber {
                field: Field::NumSuccessfulTransfers,
                ..
            }
        )
    ));
    assert!(matches!(
        found[6],
        (
            8,
            ErrorKind::Inconsistent {
                field: Field::AvgXferTimeMs,
                ..
            }
        )
    ));
    assert!(matches!(found[7], (9, ErrorKind::Empty)));
    assert!(matches!(found[8], (10, ErrorKind::Dict { .. })));
    assert!(matches!(
        found[9],
        (11, ErrorKind::BadNumber { field: Field::AvgNumberOfDescriptors, text, .. }) if text == "nan%"
    ));
    assert!(errors.iter().all(|e| !e.unterminated));
    assert!(
        errors[0]
            .to_string()
            .starts_with("line 2: unknown field \"Avg MiB per transfer\"")
    );
}

#[test]
fn a_truncated_last_line() {
    let (records, errors) = read("truncated.log");
    assert_eq!(records.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 2);
    assert!(errors[0].unterminated);
    assert!(
        errors[0]
            .to_string()
            .ends_with("(the last line, with no line end: cut off?)")
    );
    // A last line without a line end that reads as a whole line is kept,
    // flagged.
    let (records, errors) = read("unterminated.log");
    assert!(errors.is_empty());
    assert_eq!(records.len(), 1);
    assert!(records[0].unterminated);
    assert_eq!(records[0].text(Field::AvgNumberOfDescriptors), Some("72.0"));
}

#[test]
fn crlf_line_ends() {
    let (lf, _) = read("dp2.log");
    let (crlf, errors) = read("crlf.log");
    assert!(errors.is_empty());
    assert_eq!(crlf, lf);
    assert!(
        crlf.iter()
            .all(|r| r.fields.iter().all(|p| !p.text.contains('\r')))
    );
}

#[test]
fn bytes_that_are_not_utf8() {
    let (records, errors) = read("nonutf8.log");
    assert!(errors.is_empty());
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].line, 2);
    assert_eq!(records[0].timestamp.as_deref(), Some("07-13 16:33:48"));
    assert_eq!(
        records[0].get(Field::ThroughputMbS),
        Some(Value::Float(1629.549))
    );
}

#[test]
fn one_line_of_every_family() {
    let (records, errors) = read("families.log");
    assert!(errors.is_empty(), "{errors:?}");
    let families: Vec<String> = records.iter().map(|r| r.families().to_string()).collect();
    assert_eq!(families, ["F1", "F2-F4", "F2-F4", "F2-F4", "F5", "F6"]);
    assert_eq!(records[0].transfers(), 7);
    assert_eq!(
        records[2].get(Field::ThroughputMbS),
        Some(Value::Float(f64::INFINITY))
    );
    assert!(matches!(records[3].get(Field::ThroughputMbS), Some(Value::Float(x)) if x.is_nan()));
    assert_eq!(records[3].text(Field::ThroughputMbS), Some("nan"));
}

#[test]
fn an_all_zero_eight_field_line_is_f4() {
    let mut stats = NixlKvConnectorStats::new(Family::F4);
    stats.record(Event::FailedTransfer).unwrap();
    let record = parse_line(stats.reduce().to_string()).unwrap().unwrap();
    assert_eq!(record.families().to_string(), "F4");
    assert_eq!(record.families().releases(), "0.15.0 – 0.30.x");
}

#[test]
fn the_default_interval_is_vllms() {
    assert_eq!(DEFAULT_INTERVAL, Duration::from_secs(10));
}

/// 0.11.0's pooled counter is a Python int and can print past 2^64 − 1
/// (found by fuzzing): the line the crate prints must read back.
#[test]
fn counter_beyond_64_bits_reads_back() {
    use nixl_kv_metrics::input::Interval;
    use nixl_kv_metrics::release::Family;
    let text =
        br#"[{"num_successful_transfers": 18446744073709551615}, {"num_successful_transfers": 1}]"#;
    let line = Interval::from_json(Family::F1, text)
        .unwrap()
        .log(Family::F1)
        .unwrap();
    let record = nixl_kv_metrics::logs::parse_line(line.to_string())
        .unwrap()
        .unwrap();
    assert_eq!(
        record.get(nixl_kv_metrics::field::Field::NumSuccessfulTransfersCounter),
        Some(nixl_kv_metrics::reduce::Value::Int(1 << 64))
    );
}
