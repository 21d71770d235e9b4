//! The `nixl-kv-metrics explain` command, run as a user runs it.
//!
//! The contract: `explain [--tp N | --prefill-tp P --decode-tp D] [--mode
//! pull|push] [--mla] [--interval SECONDS] [LINE|FILE|-]` prints, for every
//! KV line of its input, exactly the library's
//! [`Context::explain`](nixl_kv_metrics::explain::Context::explain) as
//! [`Text`] prints it (explanations separated by a blank line), plus a hint
//! when no TP was given; exit status 0. Malformed KV lines: a warning with the line number
//! on stderr, skipped. No KV line, or input that cannot be read or flags that
//! make no sense: exit status 2, nothing on stdout, one line on stderr.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use nixl_kv_metrics::explain::{Context, Topic};
use nixl_kv_metrics::logs::{Engine, LogParser, parse_line};
use nixl_kv_metrics::printer::explanation::Text;
use nixl_kv_metrics::topology::Mode;

/// The line of vLLM issue #41230.
const LINE: &str = "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
    P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
    Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0";

/// A 0.31.x interval with expiries and no success.
const ZERO_TEN: &str = "DEBUG 07-13 16:34:08 [metrics.py:103] KV Transfer metrics: \
    Num successful transfers=0, Avg xfer time (ms)=0, P90 xfer time (ms)=0, \
    Avg post time (ms)=0, P90 post time (ms)=0, Avg MB per transfer=0, Throughput (MB/s)=0, \
    Avg number of descriptors=0, Num failed transfers=0, Num KV expired reqs=8";

const HINT: &str = "\nhint: --tp N (both instances at TP N) or --prefill-tp P --decode-tp D turns\n\
    transfers into requests; add --mla for an MLA model, --mode push for\n\
    NixlPushConnector.\n";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name)
}

/// Runs `explain` with `args`, feeding `stdin`.
fn explain(args: &[&str], stdin: &[u8]) -> Output {
    let all: Vec<&str> = std::iter::once("explain")
        .chain(args.iter().copied())
        .collect();
    crate::support::run(&all, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

/// Asserts exit 0 and no stderr; returns stdout.
fn success(output: &Output) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
    text(&output.stdout)
}

/// Asserts exit 2, nothing on stdout, one line on stderr mentioning each of
/// `mentions`.
fn refused(output: &Output, mentions: &[&str]) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(text(&output.stdout), "");
    assert_eq!(stderr.matches('\n').count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("nixl-kv-metrics: error: "), "{stderr:?}");
    for mention in mentions {
        assert!(
            stderr.contains(mention),
            "{stderr:?} should mention {mention:?}"
        );
    }
}

/// The text with every run of whitespace made one space: prose wraps.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the library prints for `line` in `context`.
fn library(context: Context, line: &str) -> String {
    Text(&context.explain(&parse_line(line).unwrap().unwrap())).to_string()
}

/// Runs `explain` with `flags` on [`LINE`]; asserts that it prints exactly
/// the library's text for `context`, followed by the hint when the TP is
/// unknown; returns the text.
fn explains_as_library(flags: &[&str], context: Context) -> String {
    let args: Vec<&str> = flags.iter().copied().chain([LINE]).collect();
    let out = success(&explain(&args, b""));
    let hint = if context.tp_sizes().is_none() {
        HINT
    } else {
        ""
    };
    assert_eq!(out, library(context, LINE) + hint);
    out
}

/// Asserts that `text` contains each of `phrases`.
fn assert_says(text: &str, phrases: &[&str]) {
    for phrase in phrases {
        assert!(text.contains(phrase), "{phrase:?} in\n{text}");
    }
}

#[test]
fn tp_1_reads_one_request_per_read() {
    let out = explains_as_library(&["--tp", "1"], Context::tp(1).unwrap());
    assert_says(
        &flat(&out),
        &[
            "per request: 1 READ, one per decode rank",
            "At 1 READ per request that is 4 requests.",
            "the whole request's KV cache",
            "pooled over the single decode rank of this engine",
        ],
    );
}

#[test]
fn tp_2_is_exactly_the_library_s_text() {
    let out = explains_as_library(&["--tp", "2"], Context::tp(2).unwrap());
    assert_says(
        &out,
        &[
            "line 1: engine unknown, 8 fields (F2-F4: vLLM 0.11.1 – 0.30.x)\n",
            "deployment: TP 2 on both instances, pull (decode READs), standard attention\n",
            "per request: 2 READs, one per decode rank (decode TP 2 = prefill TP 2)\n",
            "  MiB moved                9.000 [8.998, 9.002]\n",
            "  in flight, average       0.000552 [0.000552, 0.000553]\n",
            "  MiB/s over the interval  0.900\n",
            "  MiB/s while busy         1629.5 – 3461.6\n",
            "  * Pull mode: decode issues the READs and records them, so this line is from\n",
        ],
    );
    assert!(!out.contains("hint:"));
    assert_says(
        &flat(&out),
        &[
            "At 2 READs per request that is 2 requests.",
            "A request moved about 2.25 MiB × 2 = 4.5 MiB.",
        ],
    );
}

#[test]
fn prefill_tp_above_decode_tp() {
    let flags = ["--prefill-tp", "4", "--decode-tp", "2"];
    let out = explains_as_library(&flags, Context::hetero(4, 2).unwrap());
    assert_says(
        &flat(&out),
        &[
            "per request: 4 READs, each of the 2 decode ranks READs from 2 prefill",
            "At 4 READs per request that is 1 request.",
            "a 1/2 share of one decode rank's slice",
            "head slices of blocks",
        ],
    );
}

#[test]
fn mla_with_and_without_tp() {
    let out = explains_as_library(&["--mla"], Context::unknown().with_mla(true));
    assert_says(
        &flat(&out),
        &[
            "deployment: TP unknown, pull (decode READs), MLA model",
            "whole latent",
            "4 requests at TP 1, 2 requests at TP 2 or 1 request at TP 4",
        ],
    );
    let flags = ["--mla", "--prefill-tp", "4", "--decode-tp", "2"];
    let out = explains_as_library(&flags, Context::hetero(4, 2).unwrap().with_mla(true));
    assert_says(
        &flat(&out),
        &[
            "only notifies the other one",
            "At 2 READs per request that is 2 requests.",
        ],
    );
}

#[test]
fn push_mode_reads_writes_on_prefill() {
    let push = Context::tp(2).unwrap().with_mode(Mode::Push);
    let out = explains_as_library(&["--mode", "push", "--tp", "2"], push);
    assert_says(
        &flat(&out),
        &["4 WRITEs completed", "from the prefill instance's log"],
    );
}

#[test]
fn ten_field_zero_line() {
    let out = success(&explain(&["--tp", "4", ZERO_TEN], b""));
    let explanation = Context::tp(4)
        .unwrap()
        .explain(&parse_line(ZERO_TEN).unwrap().unwrap());
    assert_eq!(out, Text(&explanation).to_string());
    for topic in [
        Topic::ZeroLine,
        Topic::Expiry,
        Topic::Debug,
        Topic::Instance,
    ] {
        assert!(explanation.has(topic), "{topic:?}");
    }
    assert!(!explanation.has(Topic::PooledP90));
    assert_eq!(explanation.expired_requests(), Some(2.0));
    assert!(out.contains("10 fields (F5: vLLM 0.31.x), 07-13 16:34:08, DEBUG"));
    assert!(
        !out.contains("derived"),
        "a zero line has nothing to derive"
    );
    let out = flat(&out);
    assert!(out.contains("Avg xfer time (ms) … Avg number of descriptors=0"));
    assert!(out.contains("At prefill TP 4, 8 is 2 requests."), "{out}");
    assert!(out.contains("most likely the prefill instance's"));
}

#[test]
fn a_log_with_several_engines() {
    let path = fixture("dp2.log");
    let out = success(&explain(&["--tp", "2", path.to_str().unwrap()], b""));
    // One explanation per KV line, in order, each the library's.
    let log = std::fs::read(&path).unwrap();
    let context = Context::tp(2).unwrap();
    let expected: Vec<String> = LogParser::new(&log[..])
        .map(|record| Text(&context.explain(&record.unwrap())).to_string())
        .collect();
    assert_eq!(expected.len(), 5);
    assert_eq!(out, expected.join("\n"));
    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("line ")).collect();
    let engines: Vec<&str> = headings
        .iter()
        .map(|h| h.split(", ").next().unwrap().split(": ").nth(1).unwrap())
        .collect();
    assert_eq!(
        engines,
        [
            "engine 0",
            "engine 1",
            "engine 1",
            "engine 0",
            "engine unknown"
        ]
    );
    // The 1-READ line is half a request at TP 2; the zero line has failures.
    assert!(flat(&out).contains("1 READ is not a multiple of 2 per request."));
    assert!(flat(&out).contains("Failures: 2 counted"));
    // Standard input and `-` read the same log.
    assert_eq!(success(&explain(&["--tp", "2"], &log)), out);
    assert_eq!(success(&explain(&["--tp", "2", "-"], &log)), out);
}

#[test]
fn aggregated_engines_and_interval() {
    let path = fixture("aggregated.log");
    let out = success(&explain(&["--interval", "5", path.to_str().unwrap()], b""));
    assert!(out.contains("engine aggregated(2)"));
    assert!(flat(&out).contains("This line pools 2 data-parallel engines"));
    assert!(out.contains("interval: 5 s (VLLM_LOG_STATS_INTERVAL)"));
    assert!(out.ends_with(HINT));
    let log = std::fs::read_to_string(&path).unwrap();
    let first = log.lines().find(|l| l.contains("KV Transfer")).unwrap();
    let record = LogParser::new(log.as_bytes()).next().unwrap().unwrap();
    assert_eq!(record.engine, Engine::Aggregated(2));
    let five = Context::unknown().with_interval(Duration::from_secs(5));
    assert!(out.starts_with(&Text(&five.explain(&record)).to_string()));
    assert!(first.contains("Num successful transfers=1"));
}

#[test]
fn malformed_lines_warn_and_are_skipped() {
    let path = fixture("malformed.log");
    let output = explain(&[path.to_str().unwrap()], b"");
    assert_eq!(output.status.code(), Some(0));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 10, "{stderr}");
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("nixl-kv-metrics: warning: "))
    );
    assert!(stderr.contains("malformed.log: line 2: unknown field"));
    let out = text(&output.stdout);
    // 13 lines: 10 malformed, 1 not a KV line, 2 explained.
    assert_eq!(out.lines().filter(|l| l.starts_with("line ")).count(), 2);
}

#[test]
fn a_cut_off_last_line_is_flagged() {
    let output = explain(&[fixture("unterminated.log").to_str().unwrap()], b"");
    assert_eq!(output.status.code(), Some(0));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("line 1: the last line has no line end"),
        "{stderr}"
    );
    assert!(text(&output.stdout).starts_with("line 1: "));
}

#[test]
fn refusals() {
    refused(
        &explain(&[], b"INFO just a log line\nanother\n"),
        &["<stdin>: no \"KV Transfer metrics:\" line in 2 lines"],
    );
    refused(
        &explain(&["/no/such/file.log"], b""),
        &["/no/such/file.log", "cannot read"],
    );
    refused(
        &explain(
            &["KV Transfer metrics: Num successful transfers=4, Avg xfer"],
            b"",
        ),
        &["the line given", "no '='"],
    );
    refused(
        &explain(&["--prefill-tp", "2", "--decode-tp", "3", LINE], b""),
        &["TP sizes", "must divide"],
    );
    // Values out of range are refused at the flag, before any input is read.
    for (flag, value) in [
        ("--tp", "0"),
        ("--tp", "1025"),
        ("--tp", "x"),
        ("--prefill-tp", "99999999999"),
        ("--interval", "0"),
        ("--interval", "nan"),
        ("--interval", "1e30"),
        ("--interval", "1e-12"),
    ] {
        let mut args = vec![flag, value];
        if flag == "--prefill-tp" {
            args.extend(["--decode-tp", "2"]);
        }
        args.push(LINE);
        refused(&explain(&args, b""), &[&format!("{flag}: \"{value}\"")]);
    }
    refused(&explain(&["--tp", "0", LINE], b""), &["from 1 to 1024"]);
    let all_bad = b"KV Transfer metrics: x=1\nKV Transfer metrics: y=2\n";
    let output = explain(&[], all_bad);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stdout), "");
    let stderr = text(&output.stderr);
    assert!(
        stderr.ends_with("no well-formed KV line (2 malformed)\n"),
        "{stderr}"
    );
}

#[test]
fn conflicting_flags_are_usage_errors() {
    for args in [
        &["--tp", "2", "--prefill-tp", "2", "--decode-tp", "2", LINE][..],
        &["--prefill-tp", "2", LINE][..],
        &["--mode", "sideways", LINE][..],
    ] {
        let output = explain(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&output.stdout), "");
    }
}

/// Explaining a line costs the same at any TP size: what the topology says
/// of a request is worked out once per context, not for every line (its
/// plan lays out every rank, so per line the cost would grow with the TP).
#[test]
fn explaining_costs_the_same_at_any_tp() {
    let record = parse_line(LINE).unwrap().unwrap();
    let time = |context: Context| {
        (0..7)
            .map(|_| {
                let start = std::time::Instant::now();
                for _ in 0..100 {
                    std::hint::black_box(context.explain(&record));
                }
                start.elapsed()
            })
            .min()
            .expect("seven runs")
    };
    let small = time(Context::tp(1).unwrap());
    let large = time(Context::hetero(1024, 1024).unwrap());
    let mla = time(Context::hetero(1024, 8).unwrap().with_mla(true));
    assert!(
        large < small * 2 && mla < small * 2,
        "TP 1: {small:?}, TP 1024: {large:?}, MLA: {mla:?} for 100 lines"
    );
}
