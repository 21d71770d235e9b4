//! What the integration tests share: running the built binary as a user
//! would, checking golden fixtures from real vLLM releases, and finding
//! promtool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use nixl_kv_metrics::prometheus::PrometheusVersion;
use nixl_kv_metrics::release::{Family, Release};
use serde_json::Value;

/// Starts `nixl-kv-metrics` with `args` and every standard stream piped.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nixl-kv-metrics"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Runs `nixl-kv-metrics` with `args`, feeding `stdin` (written from another
/// thread, so that a large input cannot deadlock against the output).
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The binary may stop reading at the first error: a broken pipe is fine.
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("the binary runs");
    writer.join().expect("the writer thread ends");
    output
}

/// Checks every case of release `release`'s fixture file in `tests/{dir}`
/// (`vllm-<VERSION>.jsonl`, written by `scripts/{script}`) with `check`,
/// which gets the case's name, the release's family and the case's JSON and
/// says what differs, if anything. Panics listing every differing case by
/// file, line and name; returns the number of cases.
pub fn check_golden(
    dir: &str,
    script: &str,
    release: &str,
    mut check: impl FnMut(&str, Family, &Value) -> Option<String>,
) -> usize {
    let release: Release = release.parse().expect("a fixture file names a release");
    let family = release
        .family()
        .expect("a fixture's release has NIXL stats");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir)
        .join(format!("vllm-{release}.jsonl"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate with scripts/{script})", path.display()));
    let mut failures = Vec::new();
    let mut count = 0;
    for (number, line) in text.lines().enumerate() {
        let case: Value = serde_json::from_str(line).expect("a fixture line is JSON");
        let name = case["name"].as_str().expect("a case has a name");
        let produced_by: Release = case["vllm"].as_str().unwrap().parse().unwrap();
        assert_eq!(produced_by, release, "{name}: a case of another release");
        if let Some(difference) = check(name, family, &case) {
            failures.push(format!(
                "{}:{}: {name}: {difference}",
                path.display(),
                number + 1
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

/// Environment variables that make a missing promtool a failure: `CI`
/// (set by CI services and by `.ci/run`) and this project's own switch.
const PROMTOOL_REQUIRED_BY: [&str; 2] = ["CI", "NIXL_KV_METRICS_REQUIRE_PROMTOOL"];

/// A promtool binary and the Prometheus version it reports.
pub struct Promtool {
    pub binary: PathBuf,
    pub version: PrometheusVersion,
}

impl Promtool {
    /// Runs `promtool ARGS` in `dir`; panics with its output if it fails,
    /// saying that the files are kept in `dir`.
    pub fn run(&self, dir: &Path, args: &[&str]) {
        let output = Command::new(&self.binary)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("promtool runs");
        assert!(
            output.status.success(),
            "promtool {} {} failed (files kept in {}):\n{}{}",
            self.version,
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// promtool (`PROMTOOL`, else `promtool` on PATH) for `check`, a description
/// of what it would check. Where it cannot be run: a failure when CI requires
/// it ([`PROMTOOL_REQUIRED_BY`]); otherwise one line on the terminal saying
/// which check did not run and how to enable it, and `None`, so that
/// `cargo test` passes on a machine with only Rust installed and says so.
pub fn promtool(check: &str) -> Option<Promtool> {
    let binary =
        std::env::var_os("PROMTOOL").map_or_else(|| PathBuf::from("promtool"), PathBuf::from);
    let output = match Command::new(&binary).arg("--version").output() {
        Ok(output) => output,
        Err(e) => {
            let how = "install Debian's `prometheus` package, or set PROMTOOL to a promtool binary";
            let required: Vec<&str> = PROMTOOL_REQUIRED_BY
                .into_iter()
                .filter(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
                .collect();
            assert!(
                required.is_empty(),
                "cannot run {} ({e}) to check {check}: {how} ({} is set: this check never skips)",
                binary.display(),
                required.join(" and ")
            );
            // Straight to the terminal: the test harness captures eprintln!
            // of a passing test, and this line must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {check}: promtool not found; {how} to run it"
            );
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    // "promtool, version 2.42.0+ds (branch: ...)"
    let version = text
        .split_whitespace()
        .skip_while(|word| *word != "version")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read promtool's version from {text:?}"));
    Some(Promtool { binary, version })
}
