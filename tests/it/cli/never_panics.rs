//! Hostile input for `reduce`, through the library and the binary: never a
//! panic, and the failure contract (exit 2, one line on stderr, nothing on
//! stdout) for whatever is refused.

use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::reduce::Summary;
use nixl_kv_metrics::release::Family;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::support::run;

/// Numbers that stress conversions, as JSON text (many are refused).
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1",
    "1.0",
    "2",
    "1e-06",
    "0.002345",
    "5e-324",
    "1e308",
    "1.7976931348623157e308",
    "1e999",
    "-1",
    "-1e-300",
    "4294967295",
    "4294967296",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1.5",
    "1e0",
];

/// Durations every release accepts, extremes included.
const DURATIONS: &[&str] = &[
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1e-06",
    "0.002345",
    "0.000512",
    "3",
    "5e-324",
    "1e-300",
    "1e308",
    "1.7976931348623157e308",
];

/// Byte counts every release accepts.
const BYTES: &[&str] = &[
    "0",
    "1",
    "4096",
    "2359296",
    "4294967296",
    "9223372036854775808",
    "18446744073709551615",
];

/// Descriptor counts every release accepts.
const DESCRIPTORS: &[&str] = &["0", "1", "72", "2240", "4294967295"];

/// Keys of every release, and some of none.
const KEYS: &[&str] = &[
    "transfer_duration",
    "post_duration",
    "bytes_transferred",
    "num_descriptors",
    "num_failed_transfers",
    "num_failed_notifications",
    "num_failed_handshakes",
    "num_kv_expired_reqs",
    "num_notifications_after_expiry",
    "num_successful_transfers",
    "steps",
    "",
];

/// Fragments a mutation splices in.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "null",
    "nul",
    "true",
    "-",
    ".",
    "e",
    "E+",
    "\\u",
    "\\ud800",
    "\u{e9}",
    "\n",
    " ",
    "18446744073709551615",
    "99999999999999999999",
    "1e999",
    "[[[[[[[[",
    "]]]]",
    r#"{"steps":"#,
    r#""transfer_duration":"#,
];

/// A JSON list of `n` numbers drawn from `pool`.
fn numbers(pool: &'static [&'static str], n: usize) -> impl Strategy<Value = String> {
    vec(proptest::sample::select(pool), n).prop_map(|v| format!("[{}]", v.join(",")))
}

/// One stats dict that `family` accepts: transfers and the family's event
/// lists (0.11.0: a counter), keys in any order.
fn valid_stats(family: Family) -> BoxedStrategy<String> {
    if family == Family::F1 {
        // Counters small enough that eight cannot overflow (see the known
        // bug above); mutations may still make them large.
        return prop_oneof![
            Just("{}".to_string()),
            (0u64..1 << 32).prop_map(|n| format!(r#"{{"num_successful_transfers":{n}}}"#)),
        ]
        .boxed();
    }
    let mark = if family < Family::F4 { "1.0" } else { "1" };
    let events: Vec<&'static str> = family.events().iter().map(|e| e.key()).collect();
    (0usize..6)
        .prop_flat_map(move |n| {
            let events = events.clone();
            (
                numbers(DURATIONS, n),
                numbers(DURATIONS, n),
                numbers(BYTES, n),
                numbers(DESCRIPTORS, n),
                vec(0usize..3, events.len()),
                Just(events),
                any::<bool>(),
            )
        })
        .prop_map(
            move |(xfer, post, bytes, descs, counts, events, reversed)| {
                let mut entries = vec![
                    format!(r#""transfer_duration":{xfer}"#),
                    format!(r#""post_duration":{post}"#),
                    format!(r#""bytes_transferred":{bytes}"#),
                    format!(r#""num_descriptors":{descs}"#),
                ];
                for (key, count) in events.iter().zip(counts) {
                    entries.push(format!(r#""{key}":[{}]"#, vec![mark; count].join(",")));
                }
                if reversed {
                    entries.reverse();
                }
                format!("{{{}}}", entries.join(","))
            },
        )
        .boxed()
}

/// Any dict of lists of numbers under any keys (rarely valid).
fn any_dict() -> impl Strategy<Value = String> {
    let list =
        vec(proptest::sample::select(NUMBERS), 0..6).prop_map(|n| format!("[{}]", n.join(",")));
    vec((proptest::sample::select(KEYS), list), 0..5).prop_map(|entries| {
        let body: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

/// A worker's entry: null, a valid dict, or any dict.
fn stats_json(family: Family) -> BoxedStrategy<String> {
    prop_oneof![
        1 => Just("null".to_string()),
        6 => valid_stats(family),
        1 => any_dict(),
    ]
    .boxed()
}

/// A document in one of the three shapes (valid JSON, mostly valid stats).
fn document(family: Family) -> BoxedStrategy<String> {
    let workers = vec(stats_json(family), 0..5)
        .prop_map(|w| format!("[{}]", w.join(",")))
        .boxed();
    prop_oneof![
        valid_stats(family),
        workers.clone(),
        vec(workers, 0..4).prop_map(|s| format!(r#"{{"steps":[{}]}}"#, s.join(","))),
    ]
    .boxed()
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), proptest::sample::select(TOKENS))
            .prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match *m {
            Mutation::Flip(i, b) if len > 0 => bytes[i % len] = b,
            Mutation::Flip(..) => {}
            Mutation::Delete(i, n) => {
                let start = at(i);
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::Insert(i, t) => {
                let start = at(i);
                bytes.splice(start..start, t.bytes());
            }
            Mutation::Duplicate(i, n) => {
                let start = at(i);
                let piece = bytes[start..(start + n).min(len)].to_vec();
                bytes.splice(start..start, piece);
            }
            Mutation::Truncate(i) => bytes.truncate(at(i)),
        }
    }
    bytes
}

fn family() -> impl Strategy<Value = Family> {
    proptest::sample::select(Family::ALL.to_vec())
}

/// A family, and random bytes or one of its documents, intact or with a
/// few mutations.
fn family_and_input() -> impl Strategy<Value = (Family, Vec<u8>)> {
    family().prop_flat_map(|family| {
        let input = prop_oneof![
            1 => vec(any::<u8>(), 0..64),
            3 => document(family).prop_map(String::into_bytes),
            4 => (document(family), vec(mutation(), 1..4))
                .prop_map(|(doc, ms)| mutate(doc.into_bytes(), &ms)),
        ];
        (Just(family), input)
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Reading and logging any input returns (Ok or Err), never panics.
    #[test]
    fn library_never_panics((family, bytes) in family_and_input()) {
        let outcome = std::panic::catch_unwind(|| {
            Interval::from_json(family, &bytes).map(|interval| interval.log(family).map(|s| (s.to_string(), nixl_kv_metrics::printer::json::to_string(&s))))
        });
        if let Err(payload) = outcome {
            let message = panic_message(payload.as_ref());
            prop_assert!(false, "panicked ({}) on {:?}", message, String::from_utf8_lossy(&bytes));
        }
    }

    /// Pooling steps as they are read gives what reading the whole
    /// document then pooling gives: the same line, or the same error.
    #[test]
    fn pooling_as_read_is_pooling_at_the_end((family, bytes) in family_and_input()) {
        // As text: a NaN is not equal to itself.
        let text = |line: Option<Summary>| line.map(|line| line.to_string());
        let whole = Interval::from_json(family, &bytes).map(|interval| text(interval.log(family)));
        let streamed = Interval::log_stream(family, &bytes[..]).map(text);
        prop_assert_eq!(whole, streamed, "{:?}", String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Through the binary: exit 0 with one line or nothing, or exit 2 with
    /// one line on stderr; never a panic.
    #[test]
    fn binary_never_panics((family, bytes) in family_and_input(), json in any::<bool>()) {
        let release = family.golden_release().to_string();
        let format = if json { "json" } else { "line" };
        let output = run(&["reduce", "--vllm", &release, "--format", format], &bytes);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        prop_assert!(!stderr.contains("panicked"), "{} on {:?}", stderr, String::from_utf8_lossy(&bytes));
        match output.status.code() {
            Some(0) => {
                prop_assert_eq!(stderr.as_ref(), "");
                let prefix = if json { "{" } else { "KV Transfer metrics: " };
                prop_assert!(stdout.is_empty() || stdout.starts_with(prefix) && stdout.matches('\n').count() == 1, "{:?}", stdout);
            }
            Some(2) => {
                prop_assert_eq!(stdout.as_ref(), "");
                prop_assert_eq!(stderr.matches('\n').count(), 1, "{:?}", stderr);
            }
            other => prop_assert!(false, "exit status {:?}: {}", other, stderr),
        }
    }
}
