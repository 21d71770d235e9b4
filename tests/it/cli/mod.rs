//! The `nixl-kv-metrics reduce` command, run as a user runs it.
//!
//! The contract: `reduce [--vllm VERSION] [--format line|json] [FILE|-]`
//! reads one interval in any of three shapes and prints exactly vLLM's line
//! and a newline, or nothing (exit 0) when vLLM would log nothing. Bad input
//! of any kind gives exit status 2, nothing on stdout and exactly one line on
//! stderr naming what is wrong and where. Nothing makes it panic
//! (`never_panics`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::Family;

const BIN: &str = env!("CARGO_BIN_EXE_nixl-kv-metrics");

use crate::support::run;

mod hostile;
mod never_panics;
mod streams;
mod usage;

fn reduce(args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["reduce"];
    all.extend_from_slice(args);
    run(&all, stdin.as_bytes())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

/// Asserts a successful run that printed `expected` and nothing on stderr.
fn assert_prints(output: &Output, expected: &str) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    assert_eq!(text(&output.stdout), expected);
    assert_eq!(text(&output.stderr), "");
}

/// Asserts the failure contract: status 2, nothing on stdout, exactly one
/// line on stderr, which contains every one of `mentions`. Returns the line.
fn assert_refused(output: &Output, mentions: &[&str]) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(text(&output.stdout), "", "stdout must stay empty");
    assert!(
        stderr.ends_with('\n') && stderr.matches('\n').count() == 1,
        "exactly one line on stderr, got {stderr:?}"
    );
    assert!(stderr.starts_with("nixl-kv-metrics: error: "), "{stderr:?}");
    for mention in mentions {
        assert!(
            stderr.contains(mention),
            "{stderr:?} should mention {mention:?}"
        );
    }
    stderr
}

/// A file in Cargo's scratch directory for integration tests.
fn scratch_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

const FOUR: &str = r#"{"transfer_duration": [0.001, 0.002, 0.001, 0.004],
    "post_duration": [0.0005, 0.0005, 0.0005, 0.0005],
    "bytes_transferred": [1048576, 1048576, 1048576, 1048576],
    "num_descriptors": [72, 72, 72, 72]}"#;

const FOUR_LINE_F6: &str = "KV Transfer metrics: Num successful transfers=4, \
    Avg xfer time (ms)=2.0, P90 xfer time (ms)=3.4, Avg post time (ms)=0.5, \
    P90 post time (ms)=0.5, Avg MB per transfer=1.0, Throughput (MB/s)=500.0, \
    Avg number of descriptors=72.0, Num failed transfers=0, Num KV expired reqs=0, \
    Num notifs after expiry=0\n";

const FOUR_LINE_F2: &str = "KV Transfer metrics: Num successful transfers=4, \
    Avg xfer time (ms)=2.0, P90 xfer time (ms)=3.4, Avg post time (ms)=0.5, \
    P90 post time (ms)=0.5, Avg MB per transfer=1.0, Throughput (MB/s)=500.0, \
    Avg number of descriptors=72.0\n";

// --------------------------------------------------------------------------
// The reduce contract

#[test]
fn three_shapes_print_the_same_line() {
    // The four transfers as one dict, as two workers (with a null), and as
    // two steps (with an empty step and a failure-free empty worker).
    let two = |a: &str, b: &str| {
        format!(
            r#"{{"transfer_duration": [{a}, {b}], "post_duration": [0.0005, 0.0005],
                "bytes_transferred": [1048576, 1048576], "num_descriptors": [72, 72]}}"#
        )
    };
    let workers = format!(
        "[{}, null, {}]",
        two("0.001", "0.002"),
        two("0.001", "0.004")
    );
    let steps = format!(
        r#"{{"steps": [[{}], [], [null, {{}}], [{}]]}}"#,
        two("0.001", "0.002"),
        two("0.001", "0.004")
    );
    for input in [FOUR.to_string(), workers, steps] {
        assert_prints(&reduce(&["--vllm", "0.33.0"], &input), FOUR_LINE_F6);
        assert_prints(&reduce(&["--vllm", "0.12.0"], &input), FOUR_LINE_F2);
    }
}

#[test]
fn reads_a_file_a_dash_or_standard_input() {
    let path = scratch_file("four.json", FOUR.as_bytes());
    let path = path.to_str().unwrap();
    assert_prints(&reduce(&[path], ""), FOUR_LINE_F6);
    assert_prints(&reduce(&["--vllm", "0.33.0", path], ""), FOUR_LINE_F6);
    assert_prints(&reduce(&["-"], FOUR), FOUR_LINE_F6);
    assert_prints(&reduce(&[], FOUR), FOUR_LINE_F6);
}

#[test]
fn default_release_is_the_newest() {
    let default = reduce(&[], FOUR);
    assert_prints(&default, FOUR_LINE_F6);
    assert_eq!(default.stdout, reduce(&["--vllm", "0.33.0"], FOUR).stdout);
    // Lenient release spellings name the same releases.
    for (spelling, canonical) in [
        ("v0.33.0", "0.33.0"),
        ("0.32", "0.32.0"),
        ("0.31.0+cu129", "0.31.0"),
        ("0.12", "0.12.0"),
        (" 0.15.1 ", "0.15.0"),
    ] {
        let canonical = reduce(&["--vllm", canonical], FOUR);
        assert_prints(
            &reduce(&["--vllm", spelling], FOUR),
            &text(&canonical.stdout),
        );
    }
}

#[test]
fn newer_release_than_known_works_with_a_note() {
    let output = reduce(&["--vllm", "0.40.0"], FOUR);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), FOUR_LINE_F6);
    let stderr = text(&output.stderr);
    assert_eq!(stderr.matches('\n').count(), 1, "{stderr:?}");
    assert!(
        stderr.contains("note") && stderr.contains("0.40.0"),
        "{stderr:?}"
    );
}

#[test]
fn prints_nothing_when_vllm_logs_nothing() {
    let quiet = [
        ("0.33.0", "{}"),
        ("0.33.0", "[]"),
        ("0.33.0", "[null, null]"),
        ("0.33.0", r#"{"steps": []}"#),
        ("0.33.0", r#"{"steps": [[], [null], [{}]]}"#),
        (
            "0.33.0",
            r#"{"transfer_duration": [], "post_duration": [], "bytes_transferred": [], "num_descriptors": [], "num_failed_transfers": []}"#,
        ),
        // Failure-only stats are empty up to 0.14: nothing is logged.
        ("0.11.2", r#"{"num_failed_transfers": [1.0]}"#),
        (
            "0.12.0",
            r#"[{"num_failed_notifications": [1.0, 1.0]}, null]"#,
        ),
        ("0.11.0", r#"{"num_successful_transfers": 0}"#),
        ("0.11.0", r#"[{}, {"num_successful_transfers": 0}]"#),
    ];
    for (release, input) in quiet {
        assert_prints(&reduce(&["--vllm", release], input), "");
        assert_prints(&reduce(&["--vllm", release, "--format", "json"], input), "");
    }
    // From 0.15 they are kept, and log an all-zero line.
    assert_prints(
        &reduce(&["--vllm", "0.31.0"], r#"{"num_failed_handshakes": [1]}"#),
        "KV Transfer metrics: Num successful transfers=0, Avg xfer time (ms)=0, \
         P90 xfer time (ms)=0, Avg post time (ms)=0, P90 post time (ms)=0, \
         Avg MB per transfer=0, Throughput (MB/s)=0, Avg number of descriptors=0, \
         Num failed transfers=1, Num KV expired reqs=0\n",
    );
    assert_prints(
        &reduce(
            &["--vllm", "0.11.0"],
            r#"[{"num_successful_transfers": 3}, null, {"num_successful_transfers": 4}]"#,
        ),
        "KV Transfer metrics: num_successful_transfers=7\n",
    );
}

/// The JSON summary is the line's fields, in the line's order, with the
/// line's very values (`inf` and `nan` as strings).
fn json_of_line(line: &str) -> String {
    let fields = line
        .trim_end()
        .strip_prefix("KV Transfer metrics: ")
        .expect("a line");
    let entries: Vec<String> = fields
        .split(", ")
        .map(|field| {
            let (name, value) = field.split_once('=').unwrap();
            let value = if value.contains("inf") || value.contains("nan") {
                format!("\"{value}\"")
            } else {
                value.to_string()
            };
            format!("\"{name}\":{value}")
        })
        .collect();
    format!("{{{}}}\n", entries.join(","))
}

#[test]
fn json_format_has_vllms_names_in_order() {
    let inputs = [
        FOUR,
        r#"{"transfer_duration": [0.0], "post_duration": [0.0], "bytes_transferred": [4096], "num_descriptors": [1]}"#,
        r#"{"transfer_duration": [0], "post_duration": [0], "bytes_transferred": [0], "num_descriptors": [0]}"#,
        r#"{"num_failed_transfers": [1], "num_kv_expired_reqs": [1, 1]}"#,
    ];
    for release in ["0.11.2", "0.12.0", "0.15.0", "0.31.0", "0.33.0"] {
        for input in inputs {
            let line = reduce(&["--vllm", release], input);
            if line.stdout.is_empty() {
                continue;
            }
            let json = reduce(&["--vllm", release, "--format", "json"], input);
            assert_prints(&json, &json_of_line(&text(&line.stdout)));
            let value: serde_json::Value =
                serde_json::from_slice(&json.stdout).expect("valid JSON");
            assert!(value.is_object());
        }
    }
    let counter = reduce(
        &["--vllm", "0.11.0", "--format", "json"],
        r#"{"num_successful_transfers": 5}"#,
    );
    assert_prints(&counter, "{\"num_successful_transfers\":5}\n");
}

/// A sample of the golden fixtures, through the binary: vLLM's own lines.
#[test]
fn golden_sample_through_the_binary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut checked = 0;
    for family in Family::ALL {
        let release = family.golden_release().to_string();
        let fixtures = std::fs::read_to_string(dir.join(format!("vllm-{release}.jsonl"))).unwrap();
        for (number, line) in fixtures.lines().enumerate() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let silent = case["line"].is_null();
            if !(silent || number % 40 == 0) {
                continue;
            }
            let expected = case["line"]
                .as_str()
                .map_or(String::new(), |l| format!("{l}\n"));
            let output = reduce(&["--vllm", &release], &case["input"].to_string());
            assert_prints(&output, &expected);
            checked += 1;
        }
    }
    assert!(checked > 200, "{checked}");
}

#[test]
fn large_input_streams_through() {
    // 200 000 transfers (about 8 MB of JSON) through a pipe.
    let n = 200_000;
    let list = |value: &str| vec![value; n].join(",");
    let input = format!(
        r#"{{"transfer_duration": [{}], "post_duration": [{}], "bytes_transferred": [{}], "num_descriptors": [{}]}}"#,
        list("0.002345"),
        list("0.000512"),
        list("2359296"),
        list("72")
    );
    let expected = Interval::from_json(Family::F6, input.as_bytes())
        .unwrap()
        .log(Family::F6)
        .unwrap();
    assert_prints(&reduce(&[], &input), &format!("{expected}\n"));
}

// --------------------------------------------------------------------------
// Bad input: status 2, nothing on stdout, one line on stderr (what and where)

#[test]
fn refuses_what_is_not_json() {
    assert_refused(&reduce(&[], "hello"), &["<stdin>", "line 1 column 1"]);
    assert_refused(&reduce(&[], "{} {}"), &["after the end", "line 1 column 4"]);
    assert_refused(&reduce(&[], "[nul]"), &["nul", "line 1 column"]);
    assert_refused(
        &reduce(&[], r#"{"transfer_duration": [NaN]}"#),
        &["transfer_duration[0]", "line 1 column 24"],
    );
    assert_refused(
        &reduce(&[], "{\n\"post_duration\": [01]}"),
        &["01", "line 2 column 19"],
    );
}

#[test]
fn refuses_truncated_json() {
    for (input, mentions) in [
        (
            r#"{"transfer_duration": [0.1, "#,
            &["transfer_duration[1]", "end of the input"][..],
        ),
        (r#"{"transfer_duration": [0.1]"#, &["end of the input"]),
        (
            r#"[{"bytes_transferred": [1, 2"#,
            &["bytes_transferred", "end of the input"],
        ),
        (r#"{"steps": [[null], [nu"#, &["line 1 column"]),
        (r#"{"transfer_dur"#, &["unterminated string"]),
    ] {
        assert_refused(&reduce(&[], input), mentions);
    }
}

#[test]
fn refuses_wrong_types() {
    assert_refused(
        &reduce(&[], r#"{"transfer_duration": [0.001, "0.002"]}"#),
        &["transfer_duration[1]", "string", "line 1 column 31"],
    );
    assert_refused(
        &reduce(&[], r#"{"post_duration": {"a": 1}}"#),
        &[
            "post_duration",
            "expected a list",
            "object",
            "line 1 column 19",
        ],
    );
    assert_refused(
        &reduce(&[], r#"[{"num_descriptors": [[1]]}]"#),
        &["[0]: num_descriptors[0]", "list"],
    );
    assert_refused(&reduce(&[], r#"[1, 2]"#), &["[0]", "number"]);
    assert_refused(&reduce(&[], r#""text""#), &["string", "line 1 column 1"]);
    assert_refused(
        &reduce(
            &["--vllm", "0.11.0"],
            r#"{"num_successful_transfers": [1]}"#,
        ),
        &["num_successful_transfers", "list"],
    );
}

#[test]
fn refuses_lists_of_different_lengths() {
    assert_refused(
        &reduce(
            &[],
            r#"{"steps": [[null, {"transfer_duration": [0.1, 0.2], "post_duration": [0.1],
                "bytes_transferred": [1, 2], "num_descriptors": [1, 2]}]]}"#,
        ),
        &[
            "steps[0]: worker 1",
            "transfer_duration 2",
            "post_duration 1",
            "line 2 column",
        ],
    );
}

#[test]
fn refuses_bad_numbers() {
    let cases: [(&str, &str, &[&str]); 10] = [
        (
            "0.33.0",
            r#"{"bytes_transferred": [4096, -1]}"#,
            &["bytes_transferred[1]", "-1", "negative", "line 1 column 30"],
        ),
        (
            "0.33.0",
            r#"{"num_descriptors": [1, 4294967296]}"#,
            &["num_descriptors[1]", "4294967296", "uint32"],
        ),
        (
            "0.33.0",
            r#"{"num_descriptors": [1.5]}"#,
            &["num_descriptors[0]", "1.5", "integer"],
        ),
        (
            "0.33.0",
            r#"{"bytes_transferred": [1.0]}"#,
            &["bytes_transferred[0]", "1.0", "integer"],
        ),
        (
            "0.11.0",
            r#"{"num_successful_transfers": 2.5}"#,
            &["num_successful_transfers", "2.5"],
        ),
        (
            "0.33.0",
            r#"{"transfer_duration": [1e999]}"#,
            &["transfer_duration[0]", "1e999", "too large"],
        ),
        (
            "0.33.0",
            r#"{"bytes_transferred": [1e999]}"#,
            &["bytes_transferred[0]", "1e999"],
        ),
        (
            "0.33.0",
            r#"{"bytes_transferred": [18446744073709551616]}"#,
            &["bytes_transferred[0]", "18446744073709551616"],
        ),
        (
            "0.33.0",
            r#"{"post_duration": [-0.5]}"#,
            &["post_duration[0]", "-0.5", "negative"],
        ),
        (
            "0.15.0",
            r#"{"num_failed_transfers": [1, 2]}"#,
            &["num_failed_transfers[1]", "2"],
        ),
    ];
    for (release, input, mentions) in cases {
        assert_refused(&reduce(&["--vllm", release], input), mentions);
    }
}

#[test]
fn refuses_keys_the_release_does_not_have() {
    assert_refused(
        &reduce(&["--vllm", "0.15.0"], r#"{"num_failed_handshakes": []}"#),
        &["num_failed_handshakes", "0.15.0", "line 1 column"],
    );
    assert_refused(
        &reduce(
            &["--vllm", "0.31.0"],
            r#"[null, {"num_notifications_after_expiry": [1]}]"#,
        ),
        &["[1]", "num_notifications_after_expiry"],
    );
    assert_refused(
        &reduce(&["--vllm", "0.12.0"], r#"{"num_kv_expired_reqs": [1.0]}"#),
        &["num_kv_expired_reqs"],
    );
    assert_refused(
        &reduce(&["--vllm", "0.11.0"], r#"{"transfer_duration": []}"#),
        &["transfer_duration", "num_successful_transfers"],
    );
    assert_refused(
        &reduce(&[], r#"{"post_duration": [], "post_duration": []}"#),
        &["post_duration", "twice"],
    );
    assert_refused(&reduce(&[], r#"{"steps": [], "other": 1}"#), &["steps"]);
}

#[test]
fn refuses_unknown_releases() {
    for (release, mentions) in [
        ("0.10.0", &["--vllm", "0.10.0", "0.11.0"][..]),
        ("0.9", &["--vllm", "0.9.0"]),
        ("abc", &["--vllm", "abc"]),
        ("0.12.x", &["--vllm", "0.12.x"]),
        ("", &["--vllm"]),
    ] {
        assert_refused(&reduce(&["--vllm", release], FOUR), mentions);
    }
}

#[test]
fn refuses_missing_files_and_directories() {
    let missing = std::env::temp_dir().join("nixl-kv-metrics-no-such-file.json");
    let missing = missing.to_str().unwrap();
    assert_refused(&reduce(&[missing], ""), &[missing]);
    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    assert_refused(&reduce(&[dir], ""), &[dir]);
}

#[test]
fn refuses_invalid_utf8() {
    let out = run(&["reduce"], b"{\"transfer_duration\xff\": []}");
    assert_refused(&out, &["UTF-8", "line 1 column"]);
    let out = run(&["reduce"], b"\xef\xbb\xbf{}"); // a UTF-8 byte order mark
    assert_refused(&out, &["0xef", "line 1 column 1"]);
    let out = run(&["reduce"], b"[\xff]");
    assert_refused(&out, &["0xff", "line 1 column 2"]);
    let path = scratch_file("latin1.json", b"{\"dur\xe9e\": []}");
    let path = path.to_str().unwrap();
    assert_refused(&reduce(&[path], ""), &[path, "UTF-8"]);
}

#[test]
fn refuses_empty_input() {
    let path = scratch_file("empty.json", b"");
    let path = path.to_str().unwrap();
    assert_refused(&reduce(&[path], ""), &[path, "empty"]);
    assert_refused(&reduce(&[], ""), &["<stdin>", "empty"]);
    assert_refused(&reduce(&["-"], " \n\t "), &["<stdin>", "empty"]);
    // A 0-byte stdin that is not a pipe at all.
    let output = Command::new(BIN)
        .arg("reduce")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_refused(&output, &["<stdin>", "empty"]);
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let deep = "[".repeat(100_000);
    assert_refused(&reduce(&[], &deep), &["line 1 column 2"]);
    let steps = format!("{{\"steps\": {}", "[".repeat(100_000));
    assert_refused(&reduce(&[], &steps), &["steps[0]: worker 0"]);
    let inside = format!("{{\"transfer_duration\": {}", "[".repeat(100_000));
    assert_refused(&reduce(&[], &inside), &["transfer_duration[0]"]);
    let objects = format!("[{}", "{\"a\":".repeat(100_000));
    assert_refused(&reduce(&[], &objects), &["\"a\""]);
}

// --------------------------------------------------------------------------
// Known bugs (run with `cargo test -- --ignored`)

/// vLLM's 0.11.0 counters are Python ints; their sum may pass 2⁶⁴.
#[test]
fn f1_counter_sum_beyond_u64() {
    let output = reduce(
        &["--vllm", "0.11.0"],
        r#"[{"num_successful_transfers": 18446744073709551615}, {"num_successful_transfers": 1}]"#,
    );
    assert_prints(
        &output,
        "KV Transfer metrics: num_successful_transfers=18446744073709551616\n",
    );
}

/// 10000000000000.0625 MiB: Python's repr breaks the 17-digit tie to even.
#[test]
fn repr_tie_prints_like_python() {
    let output = reduce(
        &["--vllm", "0.33.0"],
        r#"{"transfer_duration":[1.0],"post_duration":[0.0],"bytes_transferred":[10485760000000065536],"num_descriptors":[1]}"#,
    );
    assert_prints(
        &output,
        "KV Transfer metrics: Num successful transfers=1, Avg xfer time (ms)=1000.0, \
         P90 xfer time (ms)=1000.0, Avg post time (ms)=0.0, P90 post time (ms)=0.0, \
         Avg MB per transfer=10000000000000.062, Throughput (MB/s)=10000000000000.062, \
         Avg number of descriptors=1.0, Num failed transfers=0, Num KV expired reqs=0, \
         Num notifs after expiry=0\n",
    );
}
