//! The laws vLLM's stats model obeys, checked on random stats of every family.
//!
//! The golden fixtures pin the exact line for chosen inputs; these properties
//! pin the structure around it, for inputs nobody chose: pooling is list
//! concatenation, empty stats are skipped by the family's own rule, the JSON
//! `data` dict round-trips exactly, the printed line reads back to the very
//! values `reduce()` computed, its fields agree with each other within their
//! rounding, and the pipeline does not care how workers are spread over steps.
//!
//! Stats are generated realistic (whole microseconds, 32 KiB blocks) and
//! adversarial (any non-negative float, zeros, subnormals, bytes up to 2⁶³,
//! descriptor counts up to `u32::MAX`, event lists from empty to thousands).

use approx::assert_relative_eq;
use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::numpy;
use nixl_kv_metrics::pipeline::{KvConnectorLogging, KvOutputAggregator, Worker};
use nixl_kv_metrics::reduce::{LINE_PREFIX, Summary, Value};
use nixl_kv_metrics::release::{Event, Family};
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use proptest::collection::vec;
use proptest::prelude::*;

// --------------------------------------------------------------------------
// Strategies

/// The largest duration generated: sums of a few hundred stay finite, so
/// that summing in another order cannot overflow on one side only.
const MAX_DURATION: f64 = 1e300;

/// The largest 0.11.0 counter generated: eight workers' sum fits in `u64`
/// (beyond that, see `f1_counters_beyond_u64_add_like_python_ints`).
const MAX_COUNTER: u64 = 1 << 59;

/// One successful transfer: (xfer seconds, post seconds, bytes, descriptors).
type Transfer = (f64, f64, u64, u32);

/// Whole microseconds as vLLM stores them: `us / 1e6`.
fn micros(us: u64) -> f64 {
    us as f64 / 1e6
}

/// A duration in seconds: mostly whole microseconds (NIXL's unit), else any
/// non-negative float up to [`MAX_DURATION`], zero, or one microsecond.
fn duration() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        6 => (0u64..=20_000).prop_map(micros),
        2 => (0u64..=u64::from(u32::MAX)).prop_map(micros),
        1 => Just(0.0),
        1 => Just(1e-6),
        1 => 0.0f64..1.0,
        2 => (POSITIVE | NORMAL | SUBNORMAL | ZERO).prop_map(|x| x.min(MAX_DURATION)),
    ]
}

/// A byte count: whole 32 KiB blocks, or anything up to 2⁶³ (log-uniform).
fn bytes() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => (1u64..=8960).prop_map(|blocks| blocks * 32768),
        2 => (0u32..=63).prop_flat_map(|bits| 0..=(1u64 << bits)),
        1 => Just(0),
        1 => Just(1u64 << 63),
    ]
}

/// A descriptor count: realistic, or any `u32`.
fn descriptors() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 1u32..=2240,
        2 => any::<u32>(),
        1 => Just(0),
        1 => Just(u32::MAX),
    ]
}

fn transfer() -> impl Strategy<Value = Transfer> {
    (duration(), duration(), bytes(), descriptors())
}

/// Transfers of one worker: mostly a handful, sometimes a few hundred.
fn transfers(max_n: usize) -> impl Strategy<Value = Vec<Transfer>> {
    prop_oneof![3 => vec(transfer(), 0..=12), 1 => vec(transfer(), 0..=max_n)]
}

/// How many events of one kind: none, a few, or up to `max`.
fn count(max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![3 => Just(0u64), 3 => 1u64..=3, 1 => 0..=max]
}

/// Stats of `family` holding `transfers`, then `counts[i]` events of the
/// family's `i`-th event (recorded with `record_many`).
fn build(family: Family, transfers: &[Transfer], counts: &[u64]) -> NixlKvConnectorStats {
    let mut stats = NixlKvConnectorStats::from_transfers(
        family,
        transfers.iter().map(|t| t.0).collect(),
        transfers.iter().map(|t| t.1).collect(),
        transfers.iter().map(|t| t.2).collect(),
        transfers.iter().map(|t| t.3).collect(),
    );
    for (&event, &count) in family.events().iter().zip(counts) {
        if count <= 3 {
            for _ in 0..count {
                stats.record(event).expect("the family's own event");
            }
        } else {
            stats
                .record_many(event, count)
                .expect("the family's own event");
        }
    }
    stats
}

/// 0.11.0 stats with a given counter (only its `data` dict can set one).
fn counter(count: u64) -> NixlKvConnectorStats {
    let json = format!(r#"{{"num_successful_transfers": {count}}}"#);
    NixlKvConnectorStats::from_data_json(Family::F1, json.as_bytes()).expect("a counter reads")
}

/// Random stats of `family`: empty, failures (or expiries) only, or
/// transfers with or without events. `max_count` bounds the event counts
/// (a JSON `data` dict holds one entry per event).
fn stats(family: Family, max_n: usize, max_count: u64) -> BoxedStrategy<NixlKvConnectorStats> {
    if family == Family::F1 {
        return prop_oneof![Just(0u64), 1u64..=50, 0..=MAX_COUNTER]
            .prop_map(counter)
            .boxed();
    }
    let events = family.events().len();
    let failure_only =
        vec(count(max_count), events).prop_map(move |counts| build(family, &[], &counts));
    let general = (transfers(max_n), vec(count(max_count), events))
        .prop_map(move |(transfers, counts)| build(family, &transfers, &counts));
    prop_oneof![
        1 => Just(NixlKvConnectorStats::new(family)),
        2 => failure_only,
        6 => general,
    ]
    .boxed()
}

/// Stats that are empty by `family`'s rule: a zero counter (F1), failures
/// only (F2, F3: `is_empty` looks at successes alone), or nothing (F4 on).
fn empty_stats(family: Family) -> BoxedStrategy<NixlKvConnectorStats> {
    match family {
        Family::F1 => Just(counter(0)).boxed(),
        Family::F2 | Family::F3 => vec(count(1000), family.events().len())
            .prop_map(move |counts| build(family, &[], &counts))
            .boxed(),
        _ => Just(NixlKvConnectorStats::new(family)).boxed(),
    }
}

fn family() -> impl Strategy<Value = Family> {
    proptest::sample::select(Family::ALL.to_vec())
}

/// A family and one stats object of it.
fn one() -> impl Strategy<Value = (Family, NixlKvConnectorStats)> {
    family().prop_flat_map(|f| (Just(f), stats(f, 200, 200)))
}

/// A family and two stats objects of it, with large event counts.
fn two() -> impl Strategy<Value = (Family, NixlKvConnectorStats, NixlKvConnectorStats)> {
    family().prop_flat_map(|f| (Just(f), stats(f, 200, 1 << 40), stats(f, 200, 1 << 40)))
}

// --------------------------------------------------------------------------
// Helpers

fn event_counts(stats: &NixlKvConnectorStats) -> Vec<u64> {
    Event::ALL.iter().map(|&e| stats.event_count(e)).collect()
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|x| x.to_bits()).collect()
}

fn concat<T: Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().chain(b).cloned().collect()
}

/// vLLM's `is_empty()` by family, spelled out from facts.md's table.
fn empty_by_rule(stats: &NixlKvConnectorStats) -> bool {
    let no_successes = stats.num_successful_transfers() == 0;
    match stats.family() {
        Family::F1 | Family::F2 | Family::F3 => no_successes,
        _ => no_successes && Event::ALL.iter().all(|&e| stats.event_count(e) == 0),
    }
}

/// The stats every worker's stats pool into when none is skipped: transfers
/// in worker order, counters and event counts summed.
fn concatenation<'a>(
    family: Family,
    workers: impl IntoIterator<Item = &'a NixlKvConnectorStats>,
) -> NixlKvConnectorStats {
    let mut counter_total = 0u64;
    let (mut xfer, mut post, mut bytes, mut descs) = (vec![], vec![], vec![], vec![]);
    let mut counts = [0u64; Event::ALL.len()];
    for w in workers {
        counter_total += w.num_successful_transfers();
        xfer.extend_from_slice(w.transfer_duration());
        post.extend_from_slice(w.post_duration());
        bytes.extend_from_slice(w.bytes_transferred());
        descs.extend_from_slice(w.num_descriptors());
        for event in Event::ALL {
            counts[event.index()] += w.event_count(event);
        }
    }
    if family == Family::F1 {
        return counter(counter_total);
    }
    let mut pooled = NixlKvConnectorStats::from_transfers(family, xfer, post, bytes, descs);
    for event in Event::ALL {
        pooled
            .record_many(event, counts[event.index()])
            .expect("only the family's events were recorded");
    }
    pooled
}

/// A printed value read back: an int has no point, exponent, inf or nan.
fn read_value(text: &str) -> Value {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        Value::Int(text.parse().expect("digits read as u64"))
    } else {
        Value::Float(text.parse().expect("a float reads back"))
    }
}

fn same_value(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || x.is_nan() && y.is_nan()
        }
        _ => false,
    }
}

/// A JSON object's entries in document order (serde_json's map sorts keys).
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ordered, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The line `summary` prints, split into fields and read back, must give
/// exactly its fields and values; its JSON must hold the same, in order.
fn check_reads_back(summary: &Summary) -> Result<(), TestCaseError> {
    let family = summary.family();
    let line = summary.to_string();
    let rest = line
        .strip_prefix(LINE_PREFIX)
        .ok_or_else(|| TestCaseError::fail(format!("no prefix: {line}")))?;
    let parts: Vec<&str> = rest.split(", ").collect();
    prop_assert_eq!(parts.len(), family.fields().len(), "{}", line);
    prop_assert_eq!(summary.values().len(), family.fields().len());
    for ((part, &field), &(value_field, value)) in
        parts.iter().zip(family.fields()).zip(summary.values())
    {
        let (name, text) = part
            .split_once('=')
            .ok_or_else(|| TestCaseError::fail(format!("no '=' in {part:?}")))?;
        prop_assert_eq!(name, field.name());
        prop_assert_eq!(value_field, field);
        let read = read_value(text);
        prop_assert!(
            same_value(read, value),
            "{}: printed {:?}, read back {:?}, reduce() gave {:?}",
            name,
            text,
            read,
            value
        );
    }
    let json = nixl_kv_metrics::printer::json::to_string(summary);
    let Ordered(entries) = serde_json::from_str(&json)
        .map_err(|e| TestCaseError::fail(format!("the printed JSON is not JSON ({e}): {json}")))?;
    let names: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let expected: Vec<&str> = family.fields().iter().map(|f| f.name()).collect();
    prop_assert_eq!(names, expected);
    for ((_, json_value), &(_, value)) in entries.iter().zip(summary.values()) {
        let read = match json_value {
            serde_json::Value::Number(n) if n.is_u64() => Value::Int(n.as_u64().unwrap().into()),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap()),
            serde_json::Value::String(s) => Value::Float(s.parse().expect("inf or nan")),
            other => return Err(TestCaseError::fail(format!("unexpected {other}"))),
        };
        prop_assert!(
            same_value(read, value),
            "{}: {} vs {:?}",
            json,
            json_value,
            value
        );
    }
    Ok(())
}

/// Runs one interval through vLLM's pipeline as `Interval::log` does, and
/// returns the interval logger's accumulator before `log()`.
fn pending(
    family: Family,
    steps: &[Vec<Option<NixlKvConnectorStats>>],
) -> Option<NixlKvConnectorStats> {
    let mut logging = KvConnectorLogging::new(family);
    for workers in steps {
        if let Some(pooled) = KvOutputAggregator::aggregate(workers.iter().cloned()) {
            logging.observe(pooled);
        }
    }
    logging.pending().cloned()
}

/// The workers of one interval cut into steps before each `true` in
/// `cuts`, with empty and all-null steps slipped in where `extra` says.
fn split_into_steps(
    workers: &[Option<NixlKvConnectorStats>],
    cuts: &[bool],
    extra: &[u8],
) -> Vec<Vec<Option<NixlKvConnectorStats>>> {
    let mut steps: Vec<Vec<Option<NixlKvConnectorStats>>> = vec![vec![]];
    for (i, worker) in workers.iter().enumerate() {
        if i > 0 && cuts[i] {
            match extra[i] % 4 {
                0 => steps.push(vec![]),
                1 => steps.push(vec![None, None]),
                _ => {}
            }
            steps.push(vec![]);
        }
        steps.last_mut().unwrap().push(worker.clone());
    }
    steps
}

// --------------------------------------------------------------------------
// Laws

proptest! {
    /// `aggregate` is list concatenation: counts add, each per-transfer list
    /// is self's then other's, bit for bit; unless other is empty by the
    /// family's rule, when nothing changes.
    #[test]
    fn aggregate_is_concatenation((family, a, b) in two()) {
        let mut pooled = a.clone();
        pooled.aggregate(&b);
        if b.is_empty() {
            prop_assert_eq!(&pooled, &a);
            return Ok(());
        }
        prop_assert_eq!(
            pooled.num_successful_transfers(),
            a.num_successful_transfers() + b.num_successful_transfers()
        );
        for event in Event::ALL {
            prop_assert_eq!(pooled.event_count(event), a.event_count(event) + b.event_count(event));
        }
        prop_assert_eq!(
            bits(pooled.transfer_duration()),
            bits(&concat(a.transfer_duration(), b.transfer_duration()))
        );
        prop_assert_eq!(
            bits(pooled.post_duration()),
            bits(&concat(a.post_duration(), b.post_duration()))
        );
        prop_assert_eq!(
            pooled.bytes_transferred(),
            &concat(a.bytes_transferred(), b.bytes_transferred())[..]
        );
        prop_assert_eq!(
            pooled.num_descriptors(),
            &concat(a.num_descriptors(), b.num_descriptors())[..]
        );
        prop_assert_eq!(pooled, concatenation(family, [&a, &b]));
    }

    /// `is_empty` follows facts.md's table: F1 counter 0; F2, F3 no
    /// successes (failures ignored); F4 on no successes and no events.
    #[test]
    fn is_empty_by_family((_family, s) in one()) {
        prop_assert_eq!(s.is_empty(), empty_by_rule(&s));
    }

    /// Recording an event the family has no list for is refused and
    /// changes nothing; one it has adds exactly one (or `count`).
    #[test]
    fn recording_follows_the_familys_lists((family, s) in one(), count in 0u64..1000) {
        for event in Event::ALL {
            let mut once = s.clone();
            let mut many = s.clone();
            if family.events().contains(&event) {
                once.record(event).unwrap();
                many.record_many(event, count).unwrap();
                prop_assert_eq!(once.event_count(event), s.event_count(event) + 1);
                prop_assert_eq!(many.event_count(event), s.event_count(event) + count);
            } else {
                prop_assert!(once.record(event).is_err());
                prop_assert!(many.record_many(event, count.max(1)).is_err());
                prop_assert_eq!(&once, &s);
                prop_assert_eq!(&many, &s);
            }
        }
    }

    /// Aggregating stats that are empty by the family's rule changes
    /// nothing, even when (F2, F3) they hold failures; a fresh accumulator
    /// that absorbs non-empty stats becomes them.
    #[test]
    fn aggregating_empty_changes_nothing(
        (family, s, empty) in family().prop_flat_map(|f| (Just(f), stats(f, 200, 1 << 40), empty_stats(f)))
    ) {
        prop_assert!(empty.is_empty());
        let mut pooled = s.clone();
        pooled.aggregate(&empty);
        prop_assert_eq!(&pooled, &s);
        let mut fresh = NixlKvConnectorStats::new(family);
        fresh.aggregate(&s);
        let expected = if s.is_empty() { NixlKvConnectorStats::new(family) } else { s.clone() };
        prop_assert_eq!(fresh, expected);
        if family.keeps_failure_only_stats() || family == Family::F1 {
            // Nothing is lost by skipping: empty means no content at all.
            prop_assert_eq!(event_counts(&empty), vec![0; Event::ALL.len()]);
            prop_assert_eq!(empty.num_successful_transfers(), 0);
        }
    }

    /// Pooling the workers of a step in another order keeps the count, the
    /// sums (within rounding: numpy sums pairwise), the byte total, and the
    /// P90s exactly (a percentile depends on the multiset alone). Event counts
    /// follow the first-present rule, so they are kept too, except in F2/F3
    /// where a failure-only worker's failures survive only when it happens to
    /// come first (it is then the accumulator).
    #[test]
    fn pooling_order_keeps_counts_sums_percentiles(
        (family, workers, shuffled) in family().prop_flat_map(|f| {
            vec(stats(f, 80, 1 << 40), 1..=6)
                .prop_flat_map(move |w| (Just(f), Just(w.clone()), Just(w).prop_shuffle()))
        })
    ) {
        let pool = |ws: &[NixlKvConnectorStats]| {
            KvOutputAggregator::aggregate(ws.iter().cloned().map(Some)).expect("at least one worker")
        };
        let (a, b) = (pool(&workers), pool(&shuffled));
        prop_assert_eq!(a.num_successful_transfers(), b.num_successful_transfers());
        // The first worker is the accumulator and keeps all it has; a later
        // one adds its events only if it is not empty by the family's rule.
        let first_present_rule = |ws: &[NixlKvConnectorStats]| {
            let mut counts = event_counts(&ws[0]);
            for w in ws[1..].iter().filter(|w| !w.is_empty()) {
                for (c, e) in counts.iter_mut().zip(event_counts(w)) {
                    *c += e;
                }
            }
            counts
        };
        prop_assert_eq!(event_counts(&a), first_present_rule(&workers));
        prop_assert_eq!(event_counts(&b), first_present_rule(&shuffled));
        let all_shipped = workers.iter().all(|w| !w.is_empty());
        if family.keeps_failure_only_stats() || all_shipped {
            prop_assert_eq!(event_counts(&a), event_counts(&b));
        }
        let total_bytes = |s: &NixlKvConnectorStats| s.bytes_transferred().iter().map(|&x| u128::from(x)).sum::<u128>();
        prop_assert_eq!(total_bytes(&a), total_bytes(&b));
        let total_descs = |s: &NixlKvConnectorStats| s.num_descriptors().iter().map(|&x| u64::from(x)).sum::<u64>();
        prop_assert_eq!(total_descs(&a), total_descs(&b));
        if a.num_successful_transfers() == 0 || family == Family::F1 {
            return Ok(());
        }
        for (x, y) in [(a.transfer_duration(), b.transfer_duration()), (a.post_duration(), b.post_duration())] {
            assert_relative_eq!(numpy::sum(x), numpy::sum(y), max_relative = 1e-12);
            assert_relative_eq!(numpy::mean(x), numpy::mean(y), max_relative = 1e-12);
            prop_assert_eq!(numpy::percentile(x, 90.0), numpy::percentile(y, 90.0));
            prop_assert_eq!(numpy::percentile(x, 50.0), numpy::percentile(y, 50.0));
        }
        let mib = |s: &NixlKvConnectorStats| s.bytes_transferred().iter().map(|&x| x as f64 / 1_048_576.0).collect::<Vec<_>>();
        assert_relative_eq!(numpy::sum(&mib(&a)), numpy::sum(&mib(&b)), max_relative = 1e-12);
        assert_relative_eq!(
            numpy::mean_u32(a.num_descriptors()),
            numpy::mean_u32(b.num_descriptors()),
            max_relative = 1e-12
        );
        // The line's two P90s and its count print the same in any order.
        let (sa, sb) = (a.reduce(), b.reduce());
        for field in [Field::NumSuccessfulTransfers, Field::P90XferTimeMs, Field::P90PostTimeMs] {
            prop_assert!(same_value(sa.get(field).unwrap(), sb.get(field).unwrap()), "{}", field);
        }
    }

    /// numpy's "linear" percentile, against a plain reference on the sorted
    /// samples: virtual index (n - 1) q, neighbours below and above, and
    /// numpy's two-sided interpolation. Exact, and so are the line's P90s.
    #[test]
    fn percentile_is_numpys_linear_method(
        samples in vec(duration(), 1..=150),
        q in prop_oneof![Just(90.0), Just(0.0), Just(100.0), Just(50.0), 0.0f64..=100.0],
    ) {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let h = (n - 1) as f64 * (q / 100.0);
        let below = (h.floor() as usize).min(n - 1);
        let (a, b) = (sorted[below], sorted[(below + 1).min(n - 1)]);
        let t = h - h.floor();
        let reference = if t >= 0.5 { b - (b - a) * (1.0 - t) } else { a + (b - a) * t };
        prop_assert_eq!(numpy::percentile(&samples, q).to_bits(), reference.to_bits());
        if q == 90.0 {
            for family in [Family::F2, Family::F5] {
                let n = samples.len();
                let stats = NixlKvConnectorStats::from_transfers(
                    family, samples.clone(), samples.clone(), vec![1; n], vec![1; n],
                );
                let p90 = stats.reduce().get(Field::P90XferTimeMs).unwrap();
                let ms = reference * 1e3;
                let expected = match family.rounding(Field::P90XferTimeMs) {
                    nixl_kv_metrics::release::Rounding::Numpy => numpy::round(ms, 3),
                    nixl_kv_metrics::release::Rounding::Python => nixl_kv_metrics::python::round(ms, 3),
                };
                prop_assert!(same_value(p90, Value::Float(expected)), "{:?} vs {}", p90, expected);
            }
        }
    }

    /// The `data` dict's JSON reads back to the very same stats.
    #[test]
    fn data_json_round_trips_exactly((family, s) in one()) {
        let json = s.to_data_json();
        let back = NixlKvConnectorStats::from_data_json(family, json.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
        prop_assert_eq!(bits(back.transfer_duration()), bits(s.transfer_duration()));
        prop_assert_eq!(bits(back.post_duration()), bits(s.post_duration()));
        prop_assert_eq!(back, s);
    }

    /// Throughput = Avg MB / Avg xfer (s), within the rounding of the three
    /// printed values: some unrounded triple within half a unit of the third
    /// decimal of each (plus float slack) satisfies it exactly.
    #[test]
    fn throughput_is_avg_mb_over_avg_xfer((_family, s) in one()) {
        let summary = s.reduce();
        let (Some(avg_mb), Some(avg_ms), Some(throughput)) = (
            summary.get(Field::AvgMbPerTransfer),
            summary.get(Field::AvgXferTimeMs),
            summary.get(Field::ThroughputMbS),
        ) else {
            return Ok(()); // F1 prints none of them
        };
        let (a, x, t) = (avg_mb.as_f64(), avg_ms.as_f64(), throughput.as_f64());
        if x == 0.0 || !(a.is_finite() && x.is_finite() && t.is_finite()) {
            return Ok(());
        }
        // Half a unit of the last printed digit, plus what binary rounding
        // adds where a float has fewer than three decimals to spare.
        let half_unit = |v: f64| 0.0005 + v.abs() * 1e-12;
        let (a_lo, a_hi) = ((a - half_unit(a)).max(0.0), a + half_unit(a));
        let (x_lo, x_hi) = (x - half_unit(x), x + half_unit(x));
        prop_assert!(x_lo > 0.0);
        // MiB / ms x 1000 = MiB/s over the box of unrounded pairs.
        let lo = 1000.0 * a_lo / x_hi * (1.0 - 1e-12);
        let hi = 1000.0 * a_hi / x_lo * (1.0 + 1e-12);
        prop_assert!(
            t + half_unit(t) >= lo && t - half_unit(t) <= hi,
            "Throughput {} outside [{}, {}] from Avg MB {} and Avg xfer {} ms",
            t, lo, hi, a, x
        );
        // And the other identities of facts.md: n x Avg MB is the total.
        let n = s.num_successful_transfers() as f64;
        let total: f64 = numpy::sum(&s.bytes_transferred().iter().map(|&b| b as f64 / 1_048_576.0).collect::<Vec<_>>());
        prop_assert!((n * a - total).abs() <= n * half_unit(a) + total * 1e-12);
    }

    /// The line reads back, field by field in the family's order, to exactly
    /// the values `reduce()` computed (ints as ints, floats bit for bit);
    /// its JSON (`printer::json`) has the same names, in the same order.
    #[test]
    fn line_reads_back_to_reduce((_family, s) in one()) {
        check_reads_back(&s.reduce())?;
    }

    /// `clone_and_reset` hands everything over and leaves fresh stats; a
    /// worker ships exactly the stats that are not empty by the family's rule.
    #[test]
    fn clone_and_reset_hands_over((family, s) in one()) {
        let mut live = s.clone();
        let shipped = live.clone_and_reset();
        prop_assert_eq!(&shipped, &s);
        prop_assert_eq!(&live, &NixlKvConnectorStats::new(family));
        prop_assert!(live.is_empty());

        let mut worker = Worker::new(family);
        worker.stats_mut().aggregate(&s);
        let before = worker.stats().clone();
        match worker.get_kv_connector_stats() {
            Some(out) => {
                prop_assert!(!before.is_empty());
                prop_assert_eq!(out, before);
                prop_assert!(worker.stats().is_empty());
            }
            None => {
                prop_assert!(before.is_empty());
                prop_assert_eq!(worker.stats(), &before);
            }
        }
    }

    /// However one interval's workers are spread over steps (with empty and
    /// all-null steps in between), the line is the one of a single step with
    /// every worker: the reduce() of all transfers in worker order, or nothing
    /// when there are none (F1: the summed counters; F4 on: any event).
    ///
    /// This holds in every family and with any workers: the transfers of a
    /// non-empty worker are always appended, and an empty worker has no
    /// transfers (F2, F3: failures, but their line prints no failure count).
    #[test]
    fn steps_do_not_change_the_line(
        (family, workers, cuts, extra) in family().prop_flat_map(|f| {
            vec(prop_oneof![1 => Just(None), 5 => stats(f, 60, 20).prop_map(Some)], 0..=8)
                .prop_flat_map(move |w| {
                    let n = w.len();
                    (Just(f), Just(w), vec(any::<bool>(), n), vec(any::<u8>(), n))
                })
        })
    ) {
        let split = split_into_steps(&workers, &cuts, &extra);
        let single = vec![workers.clone()];
        let model = concatenation(family, workers.iter().flatten());
        let expected = (!model.is_empty()).then(|| model.reduce());
        let line = |steps: Vec<Vec<Option<NixlKvConnectorStats>>>| {
            Interval { steps }.log(family).map(|s| s.to_string())
        };
        let expected = expected.map(|s| s.to_string());
        prop_assert_eq!(line(split.clone()), expected.clone());
        prop_assert_eq!(line(single.clone()), expected);
        // The pooled stats (what a later interval would see) agree too when
        // no worker is skipped, or when skipping loses nothing (F1, F4 on).
        let skipped_with_content = workers.iter().flatten().any(|w| w.is_empty() && !event_counts(w).iter().all(|&c| c == 0));
        if !skipped_with_content {
            prop_assert_eq!(pending(family, &split), pending(family, &single));
        }
    }
}

/// Steps do change the pooled stats in F2 and F3, if not the line: a
/// failure-only worker that comes first in its step becomes that step's
/// accumulator and keeps its failures, while in the middle of one big step
/// it is skipped as empty.
#[test]
fn steps_change_pooled_failures_in_f2_f3() {
    for family in [Family::F2, Family::F3] {
        let real = |us: u64| build(family, &[(micros(us), micros(5), 32768, 1)], &[]);
        let failure = build(family, &[], &[1]);
        let split = vec![
            vec![Some(real(1000))],
            vec![Some(failure.clone()), Some(real(2000))],
        ];
        let single = vec![vec![Some(real(1000)), Some(failure), Some(real(2000))]];
        let split_failures = pending(family, &split)
            .unwrap()
            .event_count(Event::FailedTransfer);
        let single_failures = pending(family, &single)
            .unwrap()
            .event_count(Event::FailedTransfer);
        assert_eq!((split_failures, single_failures), (1, 0), "{family}");
        let line = |steps| Interval { steps }.log(family).unwrap().to_string();
        assert_eq!(line(split), line(single), "{family}");
    }
}

/// The example line of facts.md and a zero-path line read back exactly.
#[test]
fn known_lines_read_back() {
    let stats = NixlKvConnectorStats::from_transfers(
        Family::F6,
        vec![0.001, 0.002, 0.001, 0.004],
        vec![0.0005; 4],
        vec![1 << 20; 4],
        vec![72; 4],
    );
    check_reads_back(&stats.reduce()).unwrap();
    let mut failures = NixlKvConnectorStats::new(Family::F5);
    failures.record_many(Event::FailedHandshake, 3).unwrap();
    let summary = failures.reduce();
    check_reads_back(&summary).unwrap();
    assert_eq!(summary.get(Field::AvgXferTimeMs), Some(Value::Int(0)));
    // inf and nan: zero transfer time, with and without bytes.
    for bytes in [4096, 0] {
        let s = NixlKvConnectorStats::from_transfers(
            Family::F4,
            vec![0.0],
            vec![0.0],
            vec![bytes],
            vec![1],
        );
        check_reads_back(&s.reduce()).unwrap();
    }
}

/// 0.11.0's counters are Python ints: pooling two whose sum exceeds 2⁶⁴
/// prints the exact sum in vLLM. Here `aggregate` overflows `u64` (a panic
/// in debug builds, a silently wrapped count, or no line at all, in release).
#[test]
fn f1_counters_beyond_u64_add_like_python_ints() {
    let input =
        br#"[{"num_successful_transfers": 18446744073709551615}, {"num_successful_transfers": 1}]"#;
    let result = std::panic::catch_unwind(|| {
        Interval::from_json(Family::F1, input)
            .unwrap()
            .log(Family::F1)
            .map(|s| s.to_string())
    });
    assert_eq!(
        result.ok().flatten().as_deref(),
        Some("KV Transfer metrics: num_successful_transfers=18446744073709551616")
    );
}

/// Python's repr picks the even digit when two shortest round-trip strings
/// are equally near (`repr(10000000000000.0625)` is `10000000000000.062`).
#[test]
fn repr_breaks_shortest_digit_ties_to_even() {
    use nixl_kv_metrics::python::Repr;
    // Both values are exact in binary; written as sums so that the literals
    // do not carry more digits than the float's shortest form.
    assert_eq!(Repr(1e13 + 0.0625).to_string(), "10000000000000.062");
    assert_eq!(
        Repr(1533093705817986.0 + 0.25).to_string(),
        "1533093705817986.2"
    );
    // Python's round leaves them alone: they have no third decimal to spare.
    assert_eq!(
        nixl_kv_metrics::python::round(1e13 + 0.0625, 3),
        1e13 + 0.0625
    );
}
