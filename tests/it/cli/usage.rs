//! The command line itself: every usage error is one line on stderr (exit
//! status 2, nothing on stdout) that quotes the user's words short and
//! escaped, and every numeric flag is checked at the flag; `--help` and
//! `--version` print on stdout.

use crate::support::run;

use super::{assert_refused, text};

/// A word no message should repeat whole: a terminal escape and 10⁴ bytes.
fn hostile() -> String {
    format!("\x1b[2J{}", "x".repeat(10_000))
}

/// Asserts a one-line refusal that mentions `mentions` and quotes no more
/// than a short excerpt of what it was given.
fn refused(args: &[&str], mentions: &[&str]) {
    let output = run(args, b"");
    let line = assert_refused(&output, mentions);
    assert!(line.len() < 400, "{args:?}: {line}");
    assert!(!line.contains('\x1b'), "{args:?}: {line}");
}

#[test]
fn usage_errors_are_one_line() {
    let hostile = hostile();
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["no subcommand given", "--help"]),
        (&["bogus"], &["unrecognized subcommand 'bogus'"]),
        (
            &[&hostile],
            &["unrecognized subcommand '\\u{1b}[2Jxxx", "…'"],
        ),
        (&["parse", "--foo"], &["unexpected argument '--foo'"]),
        (&["parse", "a", "b"], &["unexpected argument 'b'"]),
        (
            &["parse", "--format", "xml"],
            &[
                "invalid value 'xml' for '--format <FORMAT>'",
                "[possible values: json, csv]",
            ],
        ),
        (
            &["parse", "--format", &hostile],
            &["invalid value '\\u{1b}[2Jxxx"],
        ),
        (
            &["explain", "--prefill-tp", "2"],
            &["required arguments were not provided: --decode-tp <N>"],
        ),
        (
            &[
                "explain",
                "--tp",
                "2",
                "--prefill-tp",
                "2",
                "--decode-tp",
                "2",
            ],
            &["'--tp <N>' cannot be used with: --prefill-tp <N>, --decode-tp <N>"],
        ),
        (
            &["parse", "--format"],
            &["a value is required for '--format <FORMAT>'"],
        ),
        (
            &["prometheus", "--engine", "x"],
            &["--engine: \"x\" is not an engine index"],
        ),
        (
            &["prometheus", "--engine", "-1"],
            &["unexpected argument '-1'"],
        ),
        (
            &["reduce", "--vllm", &hostile],
            &["--vllm: \"\\u{1b}[2Jxxx", "is not a vLLM release"],
        ),
        (
            &["reduce", "--vllm", "0.10.0"],
            &["--vllm: vLLM 0.10.0 has no NIXL"],
        ),
    ];
    for (args, mentions) in cases {
        refused(args, mentions);
    }
}

/// Every numeric flag refuses what it cannot use, at the flag.
#[test]
fn numeric_flags_out_of_range_are_refused_at_the_flag() {
    let hostile = hostile();
    let cases: &[(&[&str], &[&str])] = &[
        (&["explain", "--tp", "0"], &["--tp: \"0\" is out of range"]),
        (
            &["explain", "--tp", "1025"],
            &["--tp: \"1025\" is out of range"],
        ),
        (
            &["explain", "--tp", "4294967296"],
            &["--tp: \"4294967296\" is not a TP size"],
        ),
        (&["explain", "--tp", "-1"], &["unexpected argument '-1'"]),
        (
            &["explain", "--prefill-tp", "99999", "--decode-tp", "1"],
            &["--prefill-tp: "],
        ),
        (
            &["explain", "--prefill-tp", "1", "--decode-tp", "1e3"],
            &["--decode-tp: "],
        ),
        (
            &["explain", "--tp", &hostile],
            &["--tp: \"\\u{1b}[2Jxxx", "…\""],
        ),
        (
            &["explain", "--interval", "1e30"],
            &["--interval: \"1e30\" is out of range"],
        ),
        (
            &["explain", "--interval", "0.0001"],
            &["--interval: \"0.0001\" is out of range"],
        ),
        (
            &["summarize", "--interval", "nan"],
            &["--interval: \"nan\" is out of range"],
        ),
        (&["summarize", "--interval", "inf"], &["--interval"]),
        (
            &["summarize", "--interval", &hostile],
            &["--interval: \"\\u{1b}[2Jxxx"],
        ),
        (
            &["prometheus", "--engine", "18446744073709551616"],
            &["--engine: \"18446744073709551616\" is not an engine index"],
        ),
        (&["prometheus", "--created", "inf"], &["--created: \"inf\""]),
        (
            &["prometheus", "--created", &hostile],
            &["--created: \"\\u{1b}[2Jxxx"],
        ),
        // Sizes in range whose ratio vLLM refuses.
        (
            &["explain", "--prefill-tp", "2", "--decode-tp", "3"],
            &["TP sizes"],
        ),
    ];
    for (args, mentions) in cases {
        refused(args, mentions);
    }
}

#[test]
fn help_and_version_print_on_stdout() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["help", "explain"],
        &["parse", "--help"],
        &["--version"],
        &["-V"],
    ] {
        let output = run(args, b"");
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert_eq!(text(&output.stderr), "", "{args:?}");
        assert!(!output.stdout.is_empty(), "{args:?}");
    }
    let version = text(&run(&["--version"], b"").stdout);
    assert_eq!(
        version,
        format!("nixl-kv-metrics {}\n", env!("CARGO_PKG_VERSION"))
    );
}
