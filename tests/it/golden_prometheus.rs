//! Golden fixtures of vLLM's NIXL Prometheus metrics: for every case, the
//! crate must serve the very exposition the release's own `NixlPromMetrics`,
//! run with the real prometheus_client, served.
//!
//! The fixtures are `tests/golden/prometheus/vllm-<VERSION>.jsonl`, at least
//! one per family that exports NIXL metrics (0.11.0 exports none), written by
//! `scripts/golden_prometheus.py`; each case names the vLLM and
//! prometheus_client versions that produced it; `build.rs` makes one test
//! per file. Only the values of the
//! `_created` gauges (wall-clock times of the fixture run) are not compared.

use std::path::Path;

use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::prometheus::NixlPromMetrics;
use serde_json::Value;

/// The exposition with every `_created` sample's value replaced by a marker.
fn normalise_created(text: &str) -> String {
    text.lines()
        .map(|line| {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            if !line.starts_with('#') && line[..name_end].ends_with("_created") {
                let value_start = line.rfind(' ').map_or(line.len(), |i| i + 1);
                format!("{}<created>\n", &line[..value_start])
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// Checks every case of one release's fixture file; returns how many there were.
fn check_release(release: &str) -> usize {
    crate::support::check_golden(
        "golden/prometheus",
        "golden_prometheus.py",
        release,
        |name, family, case| {
            assert!(
                case["prometheus_client"].as_str().is_some(),
                "{name}: no prometheus_client version"
            );
            let engines = case["engines"].as_array().expect("engines");
            let model_name = case["model_name"].as_str().expect("a model name");
            let indexes = engines
                .iter()
                .map(|e| e["engine"].as_u64().unwrap() as usize);
            let mut metrics = NixlPromMetrics::new(family, model_name, indexes)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            for engine in engines {
                let input = engine["input"].to_string();
                let interval = Interval::from_json(family, input.as_bytes())
                    .unwrap_or_else(|e| panic!("{name}: input refused: {e}"));
                metrics
                    .observe_interval(engine["engine"].as_u64().unwrap() as usize, interval)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            let ours = normalise_created(&metrics.exposition(Some(0.0)));
            let theirs = normalise_created(case["exposition"].as_str().expect("an exposition"));
            (ours != theirs).then(|| {
                ours.lines()
                    .zip(theirs.lines())
                    .find(|(a, b)| a != b)
                    .map_or_else(
                        || {
                            format!(
                                "lengths differ: {} vs {} lines",
                                ours.lines().count(),
                                theirs.lines().count()
                            )
                        },
                        |(a, b)| format!("\n  vLLM: {b}\n  ours: {a}"),
                    )
            })
        },
    )
}

#[test]
fn normalising_keeps_everything_but_created_values() {
    let text = "# HELP a_created x y\n\
                a_created{engine=\"0\",model_name=\"a b\"} 1.7e+09\n\
                a_total{engine=\"0\"} 3.0\n";
    assert_eq!(
        normalise_created(text),
        "# HELP a_created x y\n\
         a_created{engine=\"0\",model_name=\"a b\"} <created>\n\
         a_total{engine=\"0\"} 3.0\n"
    );
}

/// The test of one fixture file; `build.rs` writes one per file.
fn check_fixture(release: &str) {
    assert!(check_release(release) > 250);
}

include!(concat!(env!("OUT_DIR"), "/golden_prometheus.rs"));

/// The exposition without its `_created` gauges.
fn without_created(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let name = match line.strip_prefix("# ") {
                Some(comment) => comment.split(' ').nth(1).unwrap_or(""),
                None => &line[..line.find(['{', ' ']).unwrap_or(line.len())],
            };
            !name.ends_with("_created")
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Runs `nixl-kv-metrics prometheus ARGS` with `stdin`: (status, stdout, stderr).
fn cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    let args: Vec<&str> = std::iter::once("prometheus")
        .chain(args.iter().copied())
        .collect();
    let output = crate::support::run(&args, stdin.as_bytes());
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn cli_serves_the_fixture_exposition() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/prometheus/vllm-0.33.0.jsonl");
    let text = std::fs::read_to_string(path).expect("the 0.33.0 fixture");
    let mut checked = 0;
    for line in text.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap();
        if !name.starts_with("labels-") && !name.starts_with("steps-random-00") {
            continue;
        }
        let engine = &case["engines"][0];
        let (status, stdout, stderr) = cli(
            &[
                "--vllm",
                "0.33.0",
                &format!("--model-name={}", case["model_name"].as_str().unwrap()),
                "--engine",
                &engine["engine"].to_string(),
                "--created",
                "none",
            ],
            &engine["input"].to_string(),
        );
        assert_eq!((status, stderr.as_str()), (0, ""), "{name}");
        assert_eq!(
            stdout,
            without_created(case["exposition"].as_str().unwrap()),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked} cases");
}

#[test]
fn cli_created_gauges_and_errors() {
    let (status, stdout, _) = cli(&["--created", "1700000000", "--vllm", "0.15"], "{}");
    assert_eq!(status, 0);
    assert!(stdout.contains(
        "# TYPE vllm:nixl_num_kv_expired_reqs_created gauge\n\
         vllm:nixl_num_kv_expired_reqs_created{engine=\"0\",model_name=\"model\"} 1.7e+09\n"
    ));
    for (args, input, message) in [
        (
            &["--vllm", "0.11.0"][..],
            "{}",
            "nixl-kv-metrics: error: --vllm: vLLM 0.11.0 (F1) has no NIXL Prometheus metrics: \
             they appeared in 0.11.1\n",
        ),
        (
            &["--created", "yesterday"][..],
            "{}",
            "nixl-kv-metrics: error: --created: \"yesterday\" is not a number of seconds, `now` \
             or `none`\n",
        ),
        (
            &["--vllm", "0.12.0"][..],
            r#"{"num_kv_expired_reqs": [1]}"#,
            "nixl-kv-metrics: error: <stdin>: key \"num_kv_expired_reqs\" is not in the stats of \
             vLLM 0.12.0",
        ),
    ] {
        // One line on stderr, exit status 2, nothing on stdout.
        let (status, stdout, stderr) = cli(args, input);
        assert_eq!((status, stdout.as_str()), (2, ""), "{args:?}");
        assert!(stderr.starts_with(message), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}
