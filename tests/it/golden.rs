//! Golden fixtures from real vLLM releases: for every case, the crate must
//! print the very line (and reduce dict) that release's own stats class gave.
//!
//! The fixtures are `tests/golden/vllm-<VERSION>.jsonl`, one per release
//! family, written by `scripts/golden.py` from the released wheels; each case
//! names the vLLM and numpy versions that produced it.

use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::Family;
use serde_json::Value;

/// Checks every case of one release's fixture file; returns how many there were.
fn check_release(family: Family) -> usize {
    crate::support::check_golden("golden", "golden.py", family, |name, case| {
        let input = case["input"].to_string();
        let summary = Interval::from_json(family, input.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: input refused: {e}"))
            .log(family);
        let line = summary.as_ref().map(ToString::to_string);
        let reduce: Option<Value> = summary
            .as_ref()
            .map(|s| serde_json::from_str(&s.to_json()).expect("the summary JSON parses"));
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

#[test]
fn golden_vllm_0_11_0() {
    assert!(check_release(Family::F1) > 100);
}

#[test]
fn golden_vllm_0_11_2() {
    assert!(check_release(Family::F2) > 1000);
}

#[test]
fn golden_vllm_0_12_0() {
    assert!(check_release(Family::F3) > 1000);
}

#[test]
fn golden_vllm_0_15_0() {
    assert!(check_release(Family::F4) > 1000);
}

#[test]
fn golden_vllm_0_31_0() {
    assert!(check_release(Family::F5) > 1000);
}

#[test]
fn golden_vllm_0_33_0() {
    assert!(check_release(Family::F6) > 1000);
}
