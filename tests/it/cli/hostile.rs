//! Hostile inputs by class, through the binary: memory that would follow the
//! shape of the input, tokens of any length, inputs that are not files or
//! never end. Each is refused in one short line (exit status 2, nothing on
//! stdout) or read in bounded memory; none panics or hangs.
//!
//! Memory is bounded by running the binary under `ulimit -v`: an address
//! space of [`ADDRESS_SPACE_KIB`], in which a reader whose memory follows
//! the steps, the workers or a token's length fails to allocate and aborts.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output, Stdio};

use nixl_kv_metrics::input::Interval;
use nixl_kv_metrics::release::Family;

use super::{BIN, assert_prints, assert_refused, scratch_file, text};

/// The address space the bounded runs get: 64 MiB, the issue's bound on
/// peak memory (the binary itself takes about 10 MiB of it).
const ADDRESS_SPACE_KIB: u32 = 64 << 10;

/// Runs the binary with `args` in an address space of
/// [`ADDRESS_SPACE_KIB`], reading `input` from a file.
fn bounded(args: &[&str], name: &str, input: &[u8]) -> Output {
    let path = scratch_file(name, input);
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB}; exec \"$@\""))
        .arg("sh")
        .arg(BIN)
        .args(args)
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

/// One transfer of a worker.
const ONE: &str = r#"{"transfer_duration": [0.002], "post_duration": [0.0005],
    "bytes_transferred": [1048576], "num_descriptors": [72]}"#;

/// What `reduce` prints for [`ONE`] alone, as the library reads it.
fn the_line_of_one() -> String {
    let interval = Interval::from_json(Family::F6, format!("[{ONE}]").as_bytes()).unwrap();
    format!("{}\n", interval.log(Family::F6).unwrap())
}

#[test]
fn memory_follows_observations_not_steps() {
    // 10⁶ steps of one idle worker each, then one transfer.
    let mut document = String::from(r#"{"steps": ["#);
    document.push_str(&"[{}, null],".repeat(1_000_000));
    document.push_str(&format!("[{ONE}]]}}"));
    assert_prints(
        &bounded(&["reduce"], "million-steps.json", document.as_bytes()),
        &the_line_of_one(),
    );
    let exposition = bounded(
        &["prometheus", "--created", "none"],
        "million-steps-prom.json",
        document.as_bytes(),
    );
    assert_eq!(exposition.status.code(), Some(0));
    assert!(text(&exposition.stdout).contains("vllm:nixl_xfer_time_seconds_count"));
}

#[test]
fn memory_follows_observations_not_workers() {
    // One step of 10⁷ workers, all but one idle.
    let mut document = String::from("[");
    document.push_str(&"null,".repeat(10_000_000));
    document.push_str(ONE);
    document.push(']');
    assert_prints(
        &bounded(&["reduce"], "ten-million-workers.json", document.as_bytes()),
        &the_line_of_one(),
    );
}

#[test]
fn long_tokens_are_refused_short() {
    let cases: Vec<(String, &[&str])> = vec![
        // A number of 10⁶ digits.
        (
            format!(r#"{{"bytes_transferred": [1{}]}}"#, "0".repeat(1_000_000)),
            &[
                "a number of more than 4301 characters, \"1000",
                "line 1 column 24",
            ],
        ),
        (
            format!(r#"{{"transfer_duration": [0.{}1]}}"#, "0".repeat(1_000_000)),
            &["more than 4301 characters"],
        ),
        // A key of 50 MB, and one with a terminal escape.
        (
            format!(r#"{{"{}": []}}"#, "k".repeat(50_000_000)),
            &["a string of more than 128 bytes", "line 1 column 2"],
        ),
        (
            r#"{"\u001b[2Jtransfer": []}"#.to_string(),
            &["key \"\\u{1b}[2Jtransfer\" is not in the stats"],
        ),
        // A word of 10⁶ letters.
        (
            format!("[n{}]", "u".repeat(1_000_000)),
            &["unexpected word \"nuuu", "\"; expected null"],
        ),
        // A duplicate key.
        (
            r#"{"num_descriptors": [], "num_descriptors": []}"#.to_string(),
            &["key \"num_descriptors\" appears twice"],
        ),
    ];
    for (input, mentions) in cases {
        let output = bounded(&["reduce"], "long-token.json", input.as_bytes());
        let line = assert_refused(&output, mentions);
        assert!(line.len() < 600, "{line}");
        assert!(!line.contains('\x1b'), "{line}");
    }
}

#[test]
fn a_long_list_of_numbers_is_read() {
    // 10⁶ event marks are counted, not kept.
    let document = format!(
        r#"{{"num_failed_transfers": [{}1]}}"#,
        "1,".repeat(1_000_000)
    );
    let output = bounded(
        &["reduce", "--format", "json"],
        "marks.json",
        document.as_bytes(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(r#""Num failed transfers":1000001"#));
}

#[test]
fn file_names_are_quoted_escaped_and_short() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    let name = std::ffi::OsStr::from_bytes(b"bad\xff\x1b[2J.json");
    let missing = dir.join(name);
    let output = Command::new(BIN)
        .arg("reduce")
        .arg(&missing)
        .output()
        .unwrap();
    let line = assert_refused(&output, &["bad\\xff\\u{1b}[2J.json: cannot read"]);
    assert!(!line.contains('\x1b'));
    let long = dir.join("y".repeat(10_000));
    let output = Command::new(BIN).arg("parse").arg(&long).output().unwrap();
    let line = assert_refused(&output, &["yyy…: cannot read"]);
    assert!(line.len() < 400, "{line}");
}

#[test]
fn directories_devices_and_fifos() {
    let dir = std::env::temp_dir();
    for command in ["reduce", "parse", "summarize", "explain", "prometheus"] {
        let output = Command::new(BIN).arg(command).arg(&dir).output().unwrap();
        assert_refused(&output, &["is a directory"]);
    }
    // A log that never ends a line: refused after a bounded read.
    for command in ["parse", "summarize", "explain"] {
        let output = Command::new(BIN)
            .args([command, "/dev/zero"])
            .output()
            .unwrap();
        assert_refused(&output, &["/dev/zero: line 1: no line end in 256 MiB"]);
    }
    let output = Command::new(BIN)
        .args(["reduce", "/dev/zero"])
        .output()
        .unwrap();
    assert_refused(&output, &["the byte 0x00", "line 1 column 1"]);
    // A FIFO is read as it is written.
    let fifo = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-fifo.json");
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            pipe.write_all(super::FOUR.as_bytes()).unwrap();
        })
    };
    let output = Command::new(BIN)
        .args(["reduce", "--vllm", "0.33.0"])
        .arg(&fifo)
        .output()
        .unwrap();
    writer.join().unwrap();
    assert_prints(&output, super::FOUR_LINE_F6);
}

#[test]
fn counts_summed_past_64_bits_stay_exact() {
    // Python prints any int; two lines of 2⁶⁴ − 1 transfers (and failures)
    // sum to a count no u64 holds, and summarize adds them exactly.
    let line = "KV Transfer metrics: Num successful transfers=18446744073709551615, \
        Avg xfer time (ms)=1.381, P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, \
        P90 post time (ms)=0.801, Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, \
        Avg number of descriptors=72.0, Num failed transfers=18446744073709551615, \
        Num KV expired reqs=1, Num notifs after expiry=0\n";
    let output = bounded(
        &["summarize", "--format", "json"],
        "huge-counts.log",
        line.repeat(2).as_bytes(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json = text(&output.stdout);
    // transfers, timed_transfers and failed_transfers, overall and for the
    // one engine.
    assert_eq!(json.matches(":36893488147419103230,").count(), 6, "{json}");
}
