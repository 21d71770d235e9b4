//! The `parse` and `summarize` subcommands, run as a user runs them: the
//! records and summaries they print, their warnings and refusals, and
//! output streamed while the input is still being read.

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nixl_kv_metrics::release::Family;

use super::fixture;
use crate::support::run as run_cli;

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 output")
}

#[test]
fn cli_parse_json_lines() {
    let output = run_cli(&["parse", fixture("dp2.log").to_str().unwrap()], b"");
    assert!(output.status.success());
    assert!(output.stderr.is_empty(), "{}", text(&output.stderr));
    let lines: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 5);
    let first = &lines[0];
    assert_eq!(first["line"], 4);
    assert_eq!(first["release"], "F6");
    assert_eq!(first["vllm"], "0.32.0 – 0.34.0 and newer");
    assert_eq!(first["engine"], 0);
    assert_eq!(first["timestamp"], "07-13 16:33:48");
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["fields"]["Throughput (MB/s)"], 59398.973);
    assert_eq!(first["fields"]["Num successful transfers"], 1);
    assert!(first["fields"]["Avg number of descriptors"].is_f64());
    assert!(lines[4].get("engine").is_none());
    // Fields in vLLM's order.
    let raw = text(&output.stdout).lines().next().unwrap();
    let order: Vec<usize> = Family::F6
        .fields()
        .iter()
        .map(|f| raw.find(f.name()).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));

    let output = run_cli(&["parse", fixture("families.log").to_str().unwrap()], b"");
    let lines: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["release"], "F1");
    assert_eq!(lines[0]["fields"]["num_successful_transfers"], 7);
    assert_eq!(lines[1]["release"], "F2-F4");
    assert_eq!(lines[1]["vllm"], "0.11.1 – 0.30.x");
    assert_eq!(lines[2]["fields"]["Throughput (MB/s)"], "inf");
    assert_eq!(lines[3]["fields"]["Throughput (MB/s)"], "nan");

    let output = run_cli(&["parse", fixture("aggregated.log").to_str().unwrap()], b"");
    let first: serde_json::Value =
        serde_json::from_str(text(&output.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["aggregated_engines"], 2);
    assert!(first.get("engine").is_none());
}

#[test]
fn cli_parse_csv() {
    let output = run_cli(
        &["parse", "--format", "csv", "-"],
        &std::fs::read(fixture("families.log")).unwrap(),
    );
    assert!(output.status.success());
    let rows: Vec<&str> = text(&output.stdout).lines().collect();
    assert_eq!(rows.len(), 7);
    let header: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(&header[..3], ["line", "release", "engine"]);
    let fields: Vec<&str> = Family::F6.fields().iter().map(|f| f.name()).collect();
    assert_eq!(&header[3..14], &fields[..]);
    assert_eq!(header[14], "num_successful_transfers");
    assert_eq!(rows[1], "1,F1,,,,,,,,,,,,,7");
    assert!(rows.iter().all(|row| row.split(',').count() == 15));
    assert!(rows[3].contains(",inf,"));
    assert!(rows[4].contains(",nan,"));
}

#[test]
fn cli_parse_warns_about_malformed_lines_and_succeeds() {
    let output = run_cli(&["parse", fixture("malformed.log").to_str().unwrap()], b"");
    assert!(output.status.success());
    assert_eq!(text(&output.stdout).lines().count(), 2);
    let warnings: Vec<&str> = text(&output.stderr).lines().collect();
    assert_eq!(warnings.len(), 10, "{warnings:?}");
    assert!(warnings[0].starts_with("nixl-kv-metrics: warning: "));
    assert!(warnings[0].contains("malformed.log: line 2: unknown field"));
    assert!(warnings.iter().all(|w| w.ends_with("; line skipped")));
}

#[test]
fn cli_missing_file_is_one_error_line_and_status_2() {
    for command in ["parse", "summarize"] {
        let output = run_cli(&[command, "/nonexistent/vllm.log"], b"");
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty());
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("nixl-kv-metrics: error: /nonexistent/vllm.log: cannot read"));
    }
}

#[test]
fn cli_parse_notes_a_log_without_kv_lines() {
    let output = run_cli(&["parse"], b"INFO hello\nINFO world\n");
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("no \"KV Transfer metrics:\" line in 2 lines"));
}

#[test]
fn cli_summarize() {
    let path = fixture("dp2.log");
    let output = run_cli(&["summarize", path.to_str().unwrap()], b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = text(&output.stdout);
    for expected in [
        "5 KV lines (lines 4 – 13), 07-13 16:33:48 – 07-13 16:34:09",
        "engine 0: 2 lines (1 all-zero, 1 at DEBUG)",
        "engine 1: 2 lines",
        "engine unknown",
        "all engines: 5 lines",
        "P90s cannot be combined",
        "Num failed transfers",
    ] {
        assert!(
            summary.contains(expected),
            "{expected:?} not in:\n{summary}"
        );
    }

    let output = run_cli(
        &[
            "summarize",
            "--format",
            "json",
            "--interval",
            "5",
            path.to_str().unwrap(),
        ],
        b"",
    );
    let json: serde_json::Value = serde_json::from_str(text(&output.stdout)).unwrap();
    assert_eq!(json["interval_s"], 5.0);
    assert_eq!(json["overall"]["transfers"], 10);
    assert_eq!(json["engines"][1]["engine"], 0);
    assert_eq!(json["engines"][1]["logged_seconds"], 10.0);
    assert!(json["overall"].get("mean_concurrency").is_none());
    let avg = &json["overall"]["avg_xfer_ms"];
    assert!(avg["min"].as_f64().unwrap() <= avg["value"].as_f64().unwrap());

    for interval in ["0", "1e30", "0.0001", "x"] {
        let output = run_cli(
            &["summarize", "--interval", interval, path.to_str().unwrap()],
            b"",
        );
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty());
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with(&format!(
                "nixl-kv-metrics: error: --interval: \"{interval}\" "
            )) && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
}

/// `parse` prints each record as it reads it: the first record arrives
/// while the input is still being written, and a reader that stops after
/// it (`| head -1`) ends the run quietly, with the exit status a shell
/// gives a tool that SIGPIPE killed, 141.
#[test]
fn cli_parse_streams_and_stops_quietly_when_the_reader_goes() {
    let mut child = crate::support::spawn(&["parse", "-"]);
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let seen = Arc::new(AtomicBool::new(false));
    let limit = 256 << 20;
    let writer = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let lines = "KV Transfer metrics: num_successful_transfers=3\n".repeat(1000);
            let mut written = 0;
            while !seen.load(Ordering::SeqCst) && written < limit {
                if stdin.write_all(lines.as_bytes()).is_err() {
                    break;
                }
                written += lines.len();
            }
            written
        })
    };
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    stdout.read_line(&mut first).expect("a first record");
    seen.store(true, Ordering::SeqCst);
    drop(stdout);
    let written = writer.join().expect("the writer ends");
    let output = child.wait_with_output().expect("the binary ends");
    assert!(written < limit, "no record before the input ended");
    assert!(first.starts_with(r#"{"line":1,"release":"F1""#), "{first}");
    assert_eq!(output.status.code(), Some(141));
    assert_eq!(text(&output.stderr), "");
}

/// The eight-field line of vLLM issue #41230 with `Avg xfer time (ms)`
/// printed as `value`.
fn with_avg(value: &str) -> String {
    format!(
        "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)={value}, \
         P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
         Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0\n"
    )
}

/// Only what Python's `repr` prints is read; every other spelling of a
/// number is a warning that names the line and quotes the value short and
/// escaped, and the line is skipped.
#[test]
fn numbers_python_never_prints_are_warned_about() {
    let long = format!("1.{}", "3".repeat(1_000_000));
    let bad = [
        "01.381",
        "1.3810",
        "-1.381",
        "+1.381",
        ".5",
        "1.",
        "1e5",
        "1.381e+00",
        "1,381",
        "\u{1b}[2J",
        &long,
    ];
    let mut log = with_avg("1.381");
    for value in bad {
        log.push_str(&with_avg(value));
    }
    let output = run_cli(&["parse", "--format", "csv"], log.as_bytes());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout).lines().count(), 2, "one record");
    let stderr = text(&output.stderr);
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), bad.len(), "{stderr}");
    for (k, (warning, value)) in warnings.iter().zip(bad).enumerate() {
        let expected = format!(
            "nixl-kv-metrics: warning: <stdin>: line {}: Avg xfer time (ms)=",
            k + 2
        );
        assert!(warning.starts_with(&expected), "{warning}");
        assert!(
            warning.ends_with(": expected a number as Python prints it; line skipped"),
            "{warning}"
        );
        assert!(
            warning.len() < 200 && !warning.contains('\x1b'),
            "{value}: {warning}"
        );
    }
    assert!(warnings[9].contains(r#"="\u{1b}[2J""#), "{}", warnings[9]);
}

/// Values of a line are quoted short and escaped in every message.
#[test]
fn messages_quote_log_text_short_and_escaped() {
    let escape = "\u{1b}]0;owned\u{7}";
    let long = "9".repeat(100_000);
    let lines = [
        // A count where vLLM prints an int.
        format!("KV Transfer metrics: num_successful_transfers={escape}{long}\n"),
        // A timing field that disagrees with the zero path.
        "KV Transfer metrics: Num successful transfers=0, Avg xfer time (ms)=1.5, \
         P90 xfer time (ms)=0, Avg post time (ms)=0, P90 post time (ms)=0, \
         Avg MB per transfer=0, Throughput (MB/s)=0, Avg number of descriptors=0\n"
            .to_string(),
        // A MultiConnector entry that is not one.
        format!("KV Transfer metrics: NixlConnector={{}}, {escape}{long}\n"),
        // No '=' in a field.
        format!("KV Transfer metrics: {escape}{long}, Avg\n"),
    ];
    for line in lines {
        let output = run_cli(&["parse"], line.as_bytes());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.len() < 300 && !stderr.contains('\x1b') && !stderr.contains('\x07'),
            "{stderr}"
        );
    }
}

/// A container timestamp is a time's characters, or it is none: control
/// bytes in front of a KV line never reach the summary's text.
#[test]
fn timestamps_carry_no_control_bytes() {
    let log = format!(
        "2025-07-13T16:33:58\u{1b}]0;owned\u{7} {}",
        "KV Transfer metrics: num_successful_transfers=3\n"
    );
    for command in [&["summarize"][..], &["explain"]] {
        let output = run_cli(command, log.as_bytes());
        assert_eq!(output.status.code(), Some(0));
        assert!(!text(&output.stdout).contains('\x1b'), "{command:?}");
    }
}

/// A summary keeps totals per engine; a log that names more engines than
/// a deployment has is refused before its memory follows the input.
#[test]
fn a_summary_of_too_many_engines_is_refused() {
    let mut log = String::new();
    for engine in 0..5000 {
        log.push_str(&format!(
            "Engine {engine:03}: Avg prompt throughput: 1.0 tokens/s\n\
             KV Transfer metrics: num_successful_transfers=1\n"
        ));
    }
    let output = run_cli(&["summarize"], log.as_bytes());
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        text(&output.stderr),
        "nixl-kv-metrics: error: <stdin>: line 8194: more than 4096 engines named; \
         a summary keeps totals for at most 4096\n"
    );
    // As many as a deployment has are fine.
    let fine: String = log
        .lines()
        .take(2 * 4096)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        run_cli(&["summarize"], fine.as_bytes()).status.code(),
        Some(0)
    );
}

/// NUL bytes, lines far longer than any KV line, and bytes that are not
/// UTF-8 around and inside KV lines: read through, one warning each.
#[test]
fn nul_bytes_and_huge_lines() {
    let mut log = Vec::new();
    log.extend_from_slice(&[0u8; 100_000]);
    log.push(b'\n');
    log.extend_from_slice(b"KV Transfer metrics: num_successful_transfers=1\n");
    log.extend_from_slice(&vec![b'x'; 3 << 20]);
    log.push(b'\n');
    log.extend_from_slice(b"KV Transfer metrics: num_successful_transfers=\0\xff\n");
    let mut huge = b"KV Transfer metrics: num_successful_transfers=2".to_vec();
    huge.resize(2 << 20, b' ');
    log.extend_from_slice(&huge);
    log.extend_from_slice(b"\nKV Transfer metrics: num_successful_transfers=3\n");
    let output = run_cli(&["parse", "--format", "csv"], &log);
    assert_eq!(output.status.code(), Some(0));
    let rows: Vec<&str> = text(&output.stdout).lines().collect();
    assert_eq!(rows.len(), 3);
    let stderr = text(&output.stderr);
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0].contains("line 4: num_successful_transfers=\"\\u{0}\u{fffd}\""),
        "{}",
        warnings[0]
    );
    assert!(warnings[1].contains("line 5: line longer than 1048576 bytes"));
}
