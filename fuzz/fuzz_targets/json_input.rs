//! Arbitrary bytes as a stats document, for every release family.
//!
//! Must not panic: `Interval::from_json`, and when it accepts the input,
//! `log()`, the summary's `Display` and its JSON (`printer::json`).
//!
//! Also checked:
//! * reading the same bytes through a reader that hands them over a few at a
//!   time (so every token can straddle two reads of the lexer's buffer) gives
//!   the same interval, or the same error at the same line and column;
//! * the JSON `printer::json` writes is JSON (non-finite values are quoted strings);
//! * the `Display` is `KV Transfer metrics: ` and the fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::testing::Trickle;

fuzz_target!(|data: &[u8]| {
    for family in Family::ALL {
        let whole = Interval::from_json(family, data);
        // At most 1, 2, … 7 bytes per read, cycling.
        let trickled = Interval::from_reader(family, Trickle::cycling(data, 7));
        // Debug, not ==: a NaN would make equal intervals differ.
        assert_eq!(
            format!("{whole:?}"),
            format!("{trickled:?}"),
            "{family:?}: from_json and a trickling from_reader disagree"
        );
        match whole {
            Ok(interval) => {
                if let Some(summary) = interval.log(family) {
                    let line = summary.to_string();
                    assert!(line.starts_with("KV Transfer metrics: "), "{line}");
                    let json = nixl_kv_metrics::printer::json::to_string(&summary);
                    if let Err(error) = serde_json::from_str::<serde_json::Value>(&json) {
                        panic!("{family:?}: printer::json is not JSON ({error}): {json}");
                    }
                }
            }
            Err(error) => {
                // The message and position must be printable.
                let _ = error.to_string();
                let _ = (error.line(), error.column());
            }
        }
    }
});
