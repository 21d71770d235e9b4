//! Golden fixtures from real vLLM releases: for every case, the crate must
//! print the very line (and reduce dict) that release's own stats class gave.
//!
//! The fixtures are `tests/golden/vllm-<VERSION>.jsonl`, at least one per
//! release family, written by `scripts/golden.py` from the released wheels;
//! each case names the vLLM and numpy versions that produced it. `build.rs`
//! makes one test per fixture file.

use nixl_kv_metrics::input::Interval;
use serde_json::Value;

/// Checks every case of one release's fixture file; returns how many there were.
fn check_release(release: &str) -> usize {
    crate::support::check_golden("golden", "golden.py", release, |name, family, case| {
        let input = case["input"].to_string();
        let summary = Interval::from_json(family, input.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: input refused: {e}"))
            .log(family);
        let line = summary.as_ref().map(ToString::to_string);
        let reduce: Option<Value> = summary.as_ref().map(|s| {
            serde_json::from_str(&nixl_kv_metrics::printer::json::to_string(s))
                .expect("the summary JSON parses")
        });
        let agrees = line.as_deref() == case["line"].as_str()
            && reduce.as_ref() == case["reduce"].as_object().map(|_| &case["reduce"]);
        (!agrees).then(|| {
            format!(
                "\n  vLLM: {}\n  ours: {}",
                case["line"],
                line.as_deref().unwrap_or("(nothing)")
            )
        })
    })
}

/// The test of one fixture file; `build.rs` writes one per file.
fn check_fixture(release: &str) {
    // 0.11.0's one-field line has fewer cases worth telling apart.
    assert!(check_release(release) > 100);
}

include!(concat!(env!("OUT_DIR"), "/golden_wheel.rs"));
