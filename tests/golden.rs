//! Golden fixtures from real vLLM releases: for every case, the crate must
//! print the very line (and reduce dict) that release's own stats class gave.
//!
//! The fixtures are `tests/golden/vllm-<VERSION>.jsonl`, one per release
//! family, written by `scripts/golden.py` from the released wheels; each case
//! names the vLLM and numpy versions that produced it.

use std::path::Path;

use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::{Family, Release};
use serde_json::Value;

/// Checks every case of one release's fixture file; returns how many there were.
fn check_release(family: Family) -> usize {
    let release = family.golden_release();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("vllm-{release}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (regenerate with scripts/golden.py)",
            path.display()
        )
    });
    let mut failures = Vec::new();
    let mut count = 0;
    for (number, line) in text.lines().enumerate() {
        let case: Value = serde_json::from_str(line).expect("a fixture line is JSON");
        let name = case["name"].as_str().expect("a case has a name");
        let produced_by: Release = case["vllm"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            produced_by.family(),
            Ok(family),
            "{name}: fixture from another family"
        );
        let input = case["input"].to_string();
        let summary = Interval::from_json(family, input.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: input refused: {e}"))
            .log(family);
        let line = summary.as_ref().map(ToString::to_string);
        let reduce: Option<Value> = summary
            .as_ref()
            .map(|s| serde_json::from_str(&s.to_json()).expect("the summary JSON parses"));
        if line.as_deref() != case["line"].as_str()
            || reduce.as_ref() != case["reduce"].as_object().map(|_| &case["reduce"])
        {
            failures.push(format!(
                "{}:{}: {name}\n  vLLM: {}\n  ours: {}",
                path.display(),
                number + 1,
                case["line"],
                line.as_deref().unwrap_or("(nothing)")
            ));
        }
        count += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
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
