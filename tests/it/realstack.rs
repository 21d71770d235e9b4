//! Real-stack fixtures: what real NIXL and vLLM did on this machine's CPU
//! (tests/golden/realstack/vllm-VERSION/SCENARIO.jsonl, written by
//! `scripts/realstack/run`; the schema is in `scripts/realstack/README.md`),
//! each case reproduced by the crate's models. `build.rs` makes one test per
//! file.
//!
//! * `nixl-telemetry`: NIXL's descriptor merging from the raw lists, bytes,
//!   the telemetry switch, and the timing relations the measurements
//!   support ([`nixl_telemetry`]);
//! * `frontend`: vLLM's frontend pipeline, record for record and the
//!   Prometheus exposition ([`frontend`]);
//! * `kv-worker`, `kv-worker-push`: vLLM's NIXL worker reading (writing)
//!   real KV blocks: who transfers with whom, bytes and descriptors, the
//!   shipped stats, the line and the exposition ([`kv_worker`]).

use std::path::Path;

use nixl_kv_metrics::logs::Level;
use nixl_kv_metrics::pipeline::{FrontendConfig, LogRecord, Message, StatLoggerManager};
use nixl_kv_metrics::release::{Family, Release};
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::Descriptor;
use serde_json::Value;

mod frontend;
mod kv_worker;
mod nixl_telemetry;

/// Returns `Err` naming what differs when two values differ.
macro_rules! same {
    ($ours:expr, $theirs:expr, $($what:tt)+) => {{
        let (ours, theirs) = (&$ours, &$theirs);
        if ours != theirs {
            return Err(format!(
                "{}:\n  real: {:?}\n  ours: {:?}",
                format!($($what)+),
                theirs,
                ours
            ));
        }
    }};
}

/// Returns `Err` with the message when the condition does not hold.
macro_rules! ensure {
    ($condition:expr, $($what:tt)+) => {{
        if !$condition {
            return Err(format!($($what)+));
        }
    }};
}

use {ensure, same};

/// One fixture file.
struct Fixture {
    release: Release,
    family: Family,
    path: String,
    cases: Vec<Value>,
}

impl Fixture {
    /// Reads `vllm-{release}/{scenario}.jsonl`, checking its label.
    fn read(release: &str, scenario: &str) -> Fixture {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "tests/golden/realstack/vllm-{release}/{scenario}.jsonl"
        ));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (regenerate with scripts/realstack/run)",
                path.display()
            )
        });
        let mut lines = text
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("a fixture line is JSON"));
        let label = lines.next().expect("a label line")["label"].clone();
        assert_eq!(label["schema"], 1, "{}: schema", path.display());
        assert_eq!(label["vllm"], release, "{}: vLLM version", path.display());
        assert_eq!(label["scenario"], scenario, "{}: scenario", path.display());
        let release: Release = release.parse().expect("a fixture names a release");
        Fixture {
            release,
            family: release.family().expect("a release with NIXL stats"),
            path: path.display().to_string(),
            cases: lines.map(|line| line["case"].clone()).collect(),
        }
    }

    /// Runs `check` on every case; panics listing every case that differs
    /// (by line and name). Returns how many cases `check` counted as checked
    /// (`Ok(true)`) rather than passed over (`Ok(false)`: a case that did
    /// not run).
    fn check_each(&self, mut check: impl FnMut(&Value) -> Result<bool, String>) -> usize {
        let mut failures = Vec::new();
        let mut checked = 0;
        for (index, case) in self.cases.iter().enumerate() {
            match check(case) {
                Ok(counted) => checked += usize::from(counted),
                Err(difference) => failures.push(format!(
                    "{}:{}: {}: {difference}",
                    self.path,
                    index + 2,
                    case["name"].as_str().unwrap_or("?")
                )),
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases differ:\n{}",
            failures.len(),
            self.cases.len(),
            failures.join("\n")
        );
        checked
    }
}

/// The test of one fixture file; `build.rs` writes one per file.
fn check_fixture(release: &str, scenario: &str) {
    let fixture = Fixture::read(release, scenario);
    let checked = match scenario {
        "nixl-telemetry" => nixl_telemetry::check(&fixture),
        "frontend" => frontend::check(&fixture),
        "kv-worker" | "kv-worker-push" => kv_worker::check(&fixture),
        other => panic!("{}: no check for scenario {other:?}", fixture.path),
    };
    // A release without a push worker has one case saying so, checked as such.
    assert!(checked > 0, "{}: no case checked", fixture.path);
}

include!(concat!(env!("OUT_DIR"), "/golden_realstack.rs"));

// ---- shared by the frontend and kv-worker checks ----

/// A fixture's `data` dict (or `null`) as the release's stats.
fn stats(family: Family, data: &Value) -> Option<NixlKvConnectorStats> {
    (!data.is_null()).then(|| {
        NixlKvConnectorStats::from_data_json(family, data.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("a data dict the release reads: {e}"))
    })
}

/// An unsigned integer field.
fn uint(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{value} is not an unsigned integer"))
}

/// A string field.
fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"))
}

/// A list field.
fn list(value: &Value) -> &[Value] {
    value
        .as_array()
        .map_or_else(|| panic!("{value} is not a list"), Vec::as_slice)
}

/// A fixture's descriptor list: `[region, offset, length, device]` each.
fn descriptors(value: &Value) -> Vec<Descriptor> {
    list(value)
        .iter()
        .map(|d| {
            Descriptor::new(
                uint(&d[0]) as u32,
                uint(&d[1]),
                uint(&d[2]),
                uint(&d[3]) as u32,
            )
        })
        .collect()
}

/// Our records against the real ones (`level`, `message`), in order: a KV
/// line byte for byte, an engine stats line by its start (the part the crate
/// models), a disabled-logging warning by its level alone.
fn same_records(ours: &[LogRecord], theirs: &[Value], what: &str) -> Result<(), String> {
    same!(
        ours.iter().map(|r| r.level).collect::<Vec<_>>(),
        theirs
            .iter()
            .map(|r| level(&r["level"]))
            .collect::<Vec<_>>(),
        "{what}: record levels"
    );
    for (ours, theirs) in ours.iter().zip(theirs) {
        let message = text(&theirs["message"]);
        match &ours.message {
            Message::KvTransfer(summary) => {
                same!(summary.to_string(), message, "{what}: the KV line")
            }
            Message::EngineStats(line) => ensure!(
                message.starts_with(&format!("{line}, ")),
                "{what}: the engine line\n  real: {message}\n  ours: {line}, …"
            ),
            Message::StatsLoggingDisabled { .. } => ensure!(
                !message.starts_with("KV Transfer metrics") && !message.contains("throughput"),
                "{what}: a stats line where ours warns that logging is off: {message}"
            ),
        }
    }
    Ok(())
}

/// The real exposition against the manager's (no `_created` lines in either).
fn same_exposition(manager: &StatLoggerManager, theirs: &Value) -> Result<(), String> {
    let ours = manager
        .prometheus()
        .map_or_else(String::new, |metrics| metrics.exposition(None));
    let theirs = text(theirs);
    let differing = ours.lines().zip(theirs.lines()).position(|(a, b)| a != b);
    if let Some(i) = differing {
        same!(
            ours.lines().nth(i),
            theirs.lines().nth(i),
            "exposition line {}",
            i + 1
        );
    }
    same!(
        ours.lines().count(),
        theirs.lines().count(),
        "exposition lines"
    );
    Ok(())
}

/// A Python level name.
fn level(value: &Value) -> Level {
    Level::from_word(text(value)).unwrap_or_else(|| panic!("{value} is not a Python level name"))
}

/// The frontend config a case's `config` (or kv-worker `frontend`) describes.
fn frontend_config(engines: Vec<usize>, model_name: &str, log_level: &Value) -> FrontendConfig {
    FrontendConfig {
        log_level: level(log_level),
        ..FrontendConfig::new(engines, model_name)
    }
}
