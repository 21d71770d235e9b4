//! The standard streams: a closed or failing standard output is a failure
//! (one line, exit status 2), a reader that goes away ends the run quietly
//! with 141 (what a shell reports for a tool SIGPIPE killed), a closed
//! standard input is an error rather than an empty input, a failing
//! standard error never ends a run, and records appear while the input is
//! still being written. `--help` and `--version` follow the same rules.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{BIN, FOUR, assert_refused, scratch_file};

/// A KV line of 0.11.0.
const KV: &str = "KV Transfer metrics: num_successful_transfers=3\n";

/// Runs `sh -c SCRIPT` with `$0` the binary: for what `Command` cannot
/// set up, a descriptor closed before the program starts.
fn shell(script: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(BIN)
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

/// Runs the binary with `args`, its standard output a pipe whose reader is
/// already gone.
fn into_a_broken_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .output()
        .expect("the binary runs")
}

#[test]
fn a_closed_standard_output_is_an_error() {
    let log = scratch_file("three.log", KV.as_bytes());
    let log = log.to_str().unwrap();
    for args in [
        format!("parse {log}"),
        format!("summarize {log}"),
        format!("explain {log}"),
        "--help".to_string(),
        "--version".to_string(),
        "parse --help".to_string(),
    ] {
        let output = shell(&format!("exec \"$0\" {args} >&-"));
        assert_refused(&output, &["cannot write output: standard output is closed"]);
    }
}

#[test]
fn a_full_disk_is_an_error() {
    let log = scratch_file("many.log", KV.repeat(10_000).as_bytes());
    for args in [&["parse", log.to_str().unwrap()][..], &["--version"]] {
        let output = Command::new(BIN)
            .args(args)
            .stdout(File::create("/dev/full").expect("/dev/full"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("nixl-kv-metrics: error: cannot write output: "));
    }
}

#[test]
fn a_reader_that_went_away_ends_the_run_quietly_with_141() {
    let log = scratch_file("three-again.log", KV.as_bytes());
    let json = scratch_file("four.json", FOUR.as_bytes());
    for args in [
        &["parse", log.to_str().unwrap()][..],
        &["explain", log.to_str().unwrap()],
        &["summarize", log.to_str().unwrap()],
        &["reduce", json.to_str().unwrap()],
        &["--help"],
        &["--version"],
        &["help", "parse"],
    ] {
        let output = into_a_broken_pipe(args);
        assert_eq!(output.status.code(), Some(141), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{args:?}");
    }
}

#[test]
fn a_closed_standard_input_is_an_error() {
    for args in [
        "parse",
        "parse -",
        "summarize",
        "explain",
        "reduce",
        "prometheus",
    ] {
        let output = shell(&format!("exec \"$0\" {args} <&-"));
        assert_refused(&output, &["<stdin>: standard input is closed"]);
    }
    // Standard input is not read when a line or a file is given.
    let output = shell(&format!("exec \"$0\" explain '{}' <&-", KV.trim_end()));
    assert_eq!(output.status.code(), Some(0));
    // /dev/null is an empty input, not a closed one.
    let output = shell("exec \"$0\" parse </dev/null");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("in 0 lines"));
}

#[test]
fn a_failing_standard_error_does_not_end_the_run() {
    let bad = "KV Transfer metrics: num_successful_transfers=x\n".repeat(50);
    let log = scratch_file("warnings.log", format!("{bad}{KV}").as_bytes());
    for stderr in [
        Stdio::from(File::create("/dev/full").unwrap()),
        Stdio::from(std::io::pipe().map(|(_, writer)| writer).unwrap()),
    ] {
        let output = Command::new(BIN)
            .args(["parse", log.to_str().unwrap()])
            .stderr(stderr)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&output.stdout).starts_with(r#"{"line":51,"#));
    }
}

/// A record is written out as soon as the input pauses: a log followed as
/// it is written (`tail -f vllm.log | nixl-kv-metrics parse`) shows each KV
/// line at once, not when 64 KiB of output have piled up.
#[test]
fn records_appear_while_the_input_pauses() {
    for command in ["parse", "explain"] {
        let mut child = crate::support::spawn(&[command]);
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(KV.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut first = String::new();
            BufReader::new(stdout).read_line(&mut first).unwrap();
            let _ = sender.send(first);
        });
        // The input stays open: the program waits for more.
        let first = receiver.recv_timeout(Duration::from_secs(60));
        drop(stdin);
        child.wait().unwrap();
        reader.join().unwrap();
        let first =
            first.unwrap_or_else(|_| panic!("{command}: no record while the input is open"));
        assert!(!first.is_empty(), "{command}");
    }
}
