//! The alert rules, run by Prometheus itself (`promtool test rules`).
//!
//! Each scenario is a small deployment built from the crate's model of vLLM:
//! servers whose engines observe steps as vLLM's Prometheus logger does
//! ([`NixlPromMetrics`]), scraped every 15 s for 30 minutes with the labels
//! Prometheus adds (`job`, `instance`). The scheduler gauges two alerts read
//! (`vllm:num_requests_waiting`, `vllm:num_requests_running`), which the crate
//! does not model, are set by the scenario. Whatever goes wrong starts after
//! the scrape at [`FAULT_S`].
//!
//! For every scenario and every alert of the catalog, promtool checks:
//! - an alert the scenario expects: silent a minute before its condition
//!   starts to hold, pending half its `for` later (and not firing), firing
//!   30 s after its `for` with exactly the expected label sets and the
//!   annotations the catalog's templates give;
//! - every other alert: neither pending nor firing a minute before the
//!   fault, and firing at no evaluation of the whole run.
//!
//! Over all scenarios each alert fires in one and stays silent in another.
//! The committed rules file is the one checked (`promtool check rules`), and
//! a unit test keeps it equal to the catalog.

use std::fmt::Write as _;
use std::path::Path;

use nixl_kv_metrics::prometheus::{
    ALERT_RULES_PATH, ALERTS, Alert, NixlPromMetrics, Sample, SeriesSet,
};
use nixl_kv_metrics::release::{Event, Family};
use nixl_kv_metrics::stats::NixlKvConnectorStats;

use crate::support::promtool;

/// Seconds between scrapes (and between rule evaluations).
const SCRAPE_S: i64 = 15;
/// The last scrape of the healthy part: a fault acts from the next interval.
const FAULT_S: i64 = 600;
/// The last scrape.
const END_S: i64 = 1800;
/// The served model.
const MODEL: &str = "llama";

/// One vLLM server as Prometheus scrapes it.
struct Server {
    job: &'static str,
    instance: &'static str,
    /// Its NIXL series; `None` for a vLLM that exports none.
    nixl: Option<NixlPromMetrics>,
    /// `vllm:num_requests_waiting`, per engine of `engines`.
    waiting: Vec<f64>,
    engines: Vec<usize>,
}

impl Server {
    fn new(job: &'static str, instance: &'static str, family: Family, engines: &[usize]) -> Self {
        Server {
            job,
            instance,
            nixl: NixlPromMetrics::new(family, MODEL, engines.iter().copied()).ok(),
            waiting: vec![0.0; engines.len()],
            engines: engines.to_vec(),
        }
    }

    fn family(&self) -> Family {
        self.nixl.as_ref().expect("a NIXL server").family()
    }

    /// Engine `engine` observes one step.
    fn observe(&mut self, engine: usize, step: &NixlKvConnectorStats) {
        let nixl = self.nixl.as_mut().expect("a NIXL server");
        nixl.observe(engine, step).expect("a known engine");
    }

    /// `n` transfers of one block each, and `failed` times `event`.
    fn step(&mut self, engine: usize, n: usize, event: Event, failed: u64) {
        let mut step = NixlKvConnectorStats::from_transfers(
            self.family(),
            vec![0.0021; n],
            vec![0.0006; n],
            vec![2_359_296; n],
            vec![72; n],
        );
        if failed > 0 {
            step.record_many(event, failed)
                .expect("the family records the event");
        }
        self.observe(engine, &step);
    }

    /// What a scrape stores: the NIXL series and the scheduler gauges, with
    /// the target's labels.
    fn samples(&self) -> Vec<Sample> {
        let mut samples = self.nixl.as_ref().map(|n| n.samples()).unwrap_or_default();
        for (&engine, &waiting) in self.engines.iter().zip(&self.waiting) {
            let labels = vec![
                ("engine".to_string(), engine.to_string()),
                ("model_name".to_string(), MODEL.to_string()),
            ];
            samples.push(Sample::new(
                "vllm:num_requests_waiting",
                labels.clone(),
                waiting,
            ));
            samples.push(Sample::new("vllm:num_requests_running", labels, 4.0));
        }
        for sample in &mut samples {
            sample
                .labels
                .push(("instance".into(), self.instance.into()));
            sample.labels.push(("job".into(), self.job.into()));
        }
        samples
    }
}

/// A prefill/decode pair in pull mode: prefill (engine 0) at index 0,
/// decode (engines 0 and 1) at index 1. Decode records the transfers.
fn pull(family: Family) -> Vec<Server> {
    vec![
        Server::new("vllm-prefill", "prefill:8000", family, &[0]),
        Server::new("vllm-decode", "decode:8000", family, &[0, 1]),
    ]
}
const PREFILL: usize = 0;
const DECODE: usize = 1;

/// Normal traffic in the interval ending at `t`: each decode engine reads
/// 10 transfers with requests waiting, prefill has a request queued.
fn healthy(servers: &mut [Server], _t: i64) {
    reading(servers, &[0, 1]);
}

/// Normal traffic, but only the decode engines `engines` complete reads.
fn reading(servers: &mut [Server], engines: &[usize]) {
    for &engine in engines {
        servers[DECODE].step(engine, 10, Event::FailedTransfer, 0);
    }
    servers[DECODE].waiting = vec![2.0, 2.0];
    servers[PREFILL].waiting = vec![1.0];
}

/// Healthy, and from the fault on decode engine 1 records 5 `event`s per
/// interval beside its 10 transfers.
fn failing(servers: &mut [Server], t: i64, event: Event) {
    healthy(servers, t);
    if t > FAULT_S {
        servers[DECODE].step(1, 0, event, 5);
    }
}

/// Healthy until the fault, then only what `fault` does.
fn until_fault(servers: &mut [Server], t: i64, fault: fn(&mut [Server])) {
    if t <= FAULT_S {
        healthy(servers, t);
    } else {
        fault(servers);
    }
}

fn failed_transfers(servers: &mut [Server], t: i64) {
    failing(servers, t, Event::FailedTransfer);
}

fn failed_notifications(servers: &mut [Server], t: i64) {
    failing(servers, t, Event::FailedNotification);
}

/// An alert the scenario expects: from `from_s`, the first evaluation at
/// which its condition holds, for these label sets (without `alertname` and
/// `severity`).
struct Firing {
    alert: &'static str,
    from_s: i64,
    series: &'static [Labels],
}

/// Observes the interval ending at the scrape at `t`.
type Step = fn(&mut [Server], i64);

struct Scenario {
    name: &'static str,
    /// The release family of the servers that have NIXL series.
    family: Family,
    servers: fn(Family) -> Vec<Server>,
    step: Step,
    fires: &'static [Firing],
}

/// A label set of an alert.
type Labels = &'static [(&'static str, &'static str)];

/// The labels of alerts pooled per model and engine.
const ENGINE_0: Labels = &[("engine", "0"), ("model_name", MODEL)];
const ENGINE_1: Labels = &[("engine", "1"), ("model_name", MODEL)];

/// The labels of one scraped engine's series (without the metric name).
macro_rules! target {
    ($engine:literal, $instance:literal, $job:literal) => {
        &[
            ("engine", $engine),
            ("instance", $instance),
            ("job", $job),
            ("model_name", MODEL),
        ]
    };
}
const PREFILL_0: Labels = target!("0", "prefill:8000", "vllm-prefill");
const DECODE_0: Labels = target!("0", "decode:8000", "vllm-decode");

/// The first evaluation that sees the first faulty interval's scrape.
const FIRST_FAULTY_SCRAPE: i64 = FAULT_S + SCRAPE_S;

/// A prefill/decode pair of `family` in pull mode doing `step`, where
/// `fires` fire.
const fn pull_case(
    name: &'static str,
    family: Family,
    step: Step,
    fires: &'static [Firing],
) -> Scenario {
    Scenario {
        name,
        family,
        servers: pull,
        step,
        fires,
    }
}

/// The failed-transfer ratio alert for decode engine 1, from the first
/// faulty scrape.
const RATIO_ENGINE_1: &[Firing] = &[Firing {
    alert: "NixlKvTransferFailureRatioHigh",
    from_s: FIRST_FAULTY_SCRAPE,
    series: &[ENGINE_1],
}];

/// NIXL telemetry disabled: every read counts as failed, none succeeds, and
/// the failed requests do not wait.
fn telemetry_disabled(servers: &mut [Server], t: i64) {
    until_fault(servers, t, |s| {
        for engine in [0, 1] {
            s[DECODE].step(engine, 0, Event::FailedTransfer, 10);
        }
        s[DECODE].waiting = vec![0.0, 0.0];
    });
}

/// One failure every 5 minutes beside 10 transfers per 15 s: 0.5 %.
fn rare_failures(servers: &mut [Server], t: i64) {
    healthy(servers, t);
    if t > FAULT_S && (t - FAULT_S) % 300 == SCRAPE_S {
        servers[DECODE].step(1, 0, Event::FailedTransfer, 1);
    }
}

/// An expiry on prefill every 2 minutes: every 5-minute window has one.
fn kv_expiring(servers: &mut [Server], t: i64) {
    healthy(servers, t);
    if t > FAULT_S && (t - FAULT_S) % 120 == SCRAPE_S {
        servers[PREFILL].step(0, 0, Event::KvExpiredReq, 1);
    }
}

/// One expiry, then decode's late read completes: prefill counts a
/// notification after expiry.
fn late_read(servers: &mut [Server], t: i64) {
    healthy(servers, t);
    if t == FAULT_S + SCRAPE_S {
        servers[PREFILL].step(0, 0, Event::KvExpiredReq, 1);
    }
    if t == FAULT_S + 4 * SCRAPE_S {
        servers[PREFILL].step(0, 0, Event::NotificationAfterExpiry, 1);
    }
}

/// Decode engine 0 stops reading while 3 requests wait; engine 1 goes on.
/// Prefill's requests wait too, but prefill never records transfers in
/// pull mode.
fn stalled_engine_0(servers: &mut [Server], t: i64) {
    until_fault(servers, t, |s| {
        reading(s, &[1]);
        s[DECODE].waiting = vec![3.0, 2.0];
    });
}

/// Traffic stops: no transfers, and nothing waits.
fn idle(servers: &mut [Server], t: i64) {
    until_fault(servers, t, |s| {
        s[DECODE].waiting = vec![0.0, 0.0];
        s[PREFILL].waiting = vec![0.0];
    });
}

const SCENARIOS: &[Scenario] = &[
    pull_case("healthy-0.32", Family::F6, healthy, &[]),
    // 5 failures beside 10 transfers: a third of engine 1's attempts.
    pull_case(
        "transfer-failures-0.32",
        Family::F6,
        failed_transfers,
        RATIO_ENGINE_1,
    ),
    pull_case(
        "transfer-failures-0.30",
        Family::F4,
        failed_transfers,
        RATIO_ENGINE_1,
    ),
    // Inside the failed-transfers counter from 0.31, subtracted on 0.32.
    pull_case(
        "notification-failures-0.32",
        Family::F6,
        failed_notifications,
        &[],
    ),
    // Not inside the counter before 0.31.
    pull_case(
        "notification-failures-0.30",
        Family::F4,
        failed_notifications,
        &[],
    ),
    // The documented exception: 0.31.x groups them and exports nothing that
    // tells it from 0.30, so they count as failed attempts.
    pull_case(
        "notification-failures-0.31",
        Family::F5,
        failed_notifications,
        RATIO_ENGINE_1,
    ),
    pull_case("rare-failures-0.32", Family::F6, rare_failures, &[]),
    pull_case(
        "telemetry-disabled-0.34",
        Family::F6,
        telemetry_disabled,
        &[Firing {
            alert: "NixlKvTransferFailureRatioHigh",
            from_s: FIRST_FAULTY_SCRAPE,
            series: &[ENGINE_0, ENGINE_1],
        }],
    ),
    pull_case(
        "kv-expiring-0.32",
        Family::F6,
        kv_expiring,
        &[Firing {
            alert: "NixlKvExpiredRequestsRising",
            from_s: FIRST_FAULTY_SCRAPE,
            series: &[PREFILL_0],
        }],
    ),
    // The single expiry does not fire, the notification after it does.
    pull_case(
        "late-read-0.32",
        Family::F6,
        late_read,
        &[Firing {
            alert: "NixlKvNotificationsAfterExpiry",
            from_s: FAULT_S + 4 * SCRAPE_S,
            series: &[PREFILL_0],
        }],
    ),
    // The 5-minute increase is 0 once the window starts after the scrape
    // before the fault (Prometheus 2.x ranges include their start).
    pull_case(
        "stalled-0.32",
        Family::F6,
        stalled_engine_0,
        &[Firing {
            alert: "NixlKvTransfersStalled",
            from_s: FAULT_S + 300,
            series: &[DECODE_0],
        }],
    ),
    pull_case("idle-0.32", Family::F6, idle, &[]),
    Scenario {
        // vLLM 0.11.0 registers no NIXL metrics.
        name: "no-nixl-0.11.0",
        family: Family::F1,
        servers: |family| vec![Server::new("vllm", "vllm:8000", family, &[0, 1])],
        step: |_, _| {},
        fires: &[
            Firing {
                alert: "NixlKvSeriesAbsent",
                from_s: 0,
                series: &[&[]],
            },
            Firing {
                alert: "NixlKvSeriesMissing",
                from_s: 0,
                series: &[
                    target!("0", "vllm:8000", "vllm"),
                    target!("1", "vllm:8000", "vllm"),
                ],
            },
        ],
    },
    Scenario {
        // A NIXL deployment beside a vLLM without the connector.
        name: "one-server-without-nixl-0.32",
        family: Family::F6,
        servers: |family| {
            let mut servers = pull(family);
            servers.push(Server::new("vllm-chat", "chat:8000", Family::F1, &[0]));
            servers
        },
        step: healthy,
        fires: &[Firing {
            alert: "NixlKvSeriesMissing",
            from_s: 0,
            series: &[target!("0", "chat:8000", "vllm-chat")],
        }],
    },
];

/// A series value as promtool's series notation reads it back exactly.
fn number(x: f64) -> String {
    format!("{x:?}")
}

/// `{k="v",…}` of a label list.
fn label_text<K: AsRef<str>, V: AsRef<str>>(labels: &[(K, V)]) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", k.as_ref(), v.as_ref()))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// The scenario's scrapes, every [`SCRAPE_S`] from 0 to [`END_S`].
fn scrapes(scenario: &Scenario) -> SeriesSet {
    let mut servers = (scenario.servers)(scenario.family);
    let mut series = SeriesSet::new();
    for scrape in 0..=END_S / SCRAPE_S {
        let t = scrape * SCRAPE_S;
        if t > 0 {
            (scenario.step)(&mut servers, t);
        }
        for server in &servers {
            series.scrape(t * 1000, server.samples());
        }
    }
    series
}

/// The `tests:` entry of one scenario.
fn test_group(scenario: &Scenario) -> String {
    let mut yaml = format!(
        "  - name: {}\n    interval: {SCRAPE_S}s\n    input_series:\n",
        scenario.name
    );
    for (labels, points) in scrapes(scenario).iter() {
        let values: Vec<String> = points.iter().map(|p| number(p.value)).collect();
        let _ = writeln!(
            yaml,
            "      - series: '{}{}'\n        values: '{}'",
            labels[0].1,
            label_text(&labels[1..]),
            values.join(" ")
        );
    }
    let mut states = String::new(); // promql_expr_test on ALERTS
    let mut alerts = String::new(); // alert_rule_test
    for alert in ALERTS {
        match scenario.fires.iter().find(|f| f.alert == alert.name) {
            Some(firing) => {
                let pending_at = firing.from_s + i64::from(alert.for_seconds) / 2;
                let firing_at = firing.from_s + i64::from(alert.for_seconds) + 30;
                if firing.from_s >= 60 {
                    alerts_state(&mut states, alert, firing.from_s - 60, None);
                }
                alerts_state(&mut states, alert, pending_at, Some(firing.series));
                firing_alerts(&mut alerts, alert, pending_at, &[]);
                firing_alerts(&mut alerts, alert, firing_at, firing.series);
            }
            None => {
                alerts_state(&mut states, alert, FAULT_S - 60, None);
                never_fired(&mut states, alert);
            }
        }
    }
    let _ = write!(
        yaml,
        "    promql_expr_test:\n{states}    alert_rule_test:\n{alerts}"
    );
    yaml
}

/// Checks `ALERTS{alertname=…}` at `t`: no series at all, or one pending
/// series per label set of `pending`.
fn alerts_state(yaml: &mut String, alert: &Alert, t: i64, pending: Option<&[&[(&str, &str)]]>) {
    let (selector, series) = match pending {
        None => (format!("ALERTS{{alertname=\"{}\"}}", alert.name), &[][..]),
        Some(series) => (
            format!(
                "ALERTS{{alertname=\"{}\",alertstate=\"pending\"}}",
                alert.name
            ),
            series,
        ),
    };
    let _ = writeln!(
        yaml,
        "      - expr: '{selector}'\n        eval_time: {t}s\n        exp_samples:{}",
        if series.is_empty() { " []" } else { "" }
    );
    for labels in series {
        let mut all = labels.to_vec();
        all.extend([
            ("alertname", alert.name),
            ("alertstate", "pending"),
            ("severity", alert.severity.label()),
        ]);
        all.sort();
        let _ = writeln!(
            yaml,
            "          - labels: 'ALERTS{}'\n            value: 1",
            label_text(&all)
        );
    }
}

/// Checks at [`END_S`] that `alert` was not firing at any evaluation
/// (it may have been pending: an isolated expiry is).
fn never_fired(yaml: &mut String, alert: &Alert) {
    let _ = writeln!(
        yaml,
        "      - expr: 'max_over_time(ALERTS{{alertname=\"{}\",alertstate=\"firing\"}}[{}s])'\n        \
         eval_time: {END_S}s\n        exp_samples: []",
        alert.name,
        END_S + SCRAPE_S
    );
}

/// Checks that at `t` exactly the alerts with these label sets fire, with
/// the catalog's annotations.
fn firing_alerts(yaml: &mut String, alert: &Alert, t: i64, series: &[Labels]) {
    let _ = writeln!(
        yaml,
        "      - alertname: {}\n        eval_time: {t}s\n        exp_alerts:{}",
        alert.name,
        if series.is_empty() { " []" } else { "" }
    );
    for labels in series {
        let mut all = labels.to_vec();
        all.push(("severity", alert.severity.label()));
        let _ = writeln!(yaml, "          - exp_labels:");
        for (k, v) in &all {
            let _ = writeln!(yaml, "              {k}: '{v}'");
        }
        let _ = writeln!(yaml, "            exp_annotations:");
        for (k, v) in alert.annotations(labels) {
            // YAML's single quotes: a quote inside is written twice.
            let _ = writeln!(yaml, "              {k}: '{}'", v.replace('\'', "''"));
        }
    }
}

#[test]
fn every_alert_fires_somewhere_and_is_silent_elsewhere() {
    for alert in ALERTS {
        let fires = |s: &&Scenario| s.fires.iter().any(|f| f.alert == alert.name);
        assert!(
            SCENARIOS.iter().any(|s| fires(&s)),
            "{} never fires",
            alert.name
        );
        assert!(
            SCENARIOS.iter().any(|s| !fires(&s)),
            "{} always fires",
            alert.name
        );
        for scenario in SCENARIOS {
            for firing in scenario.fires {
                assert!(
                    ALERTS.iter().any(|a| a.name == firing.alert),
                    "{}",
                    firing.alert
                );
            }
        }
    }
}

#[test]
fn alerts_behave_in_promtool() {
    let Some(tool) = promtool("the alert rules (tests/it/alerts.rs)") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("nixl-kv-metrics-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join(ALERT_RULES_PATH);
    let mut tests = format!(
        "rule_files:\n  - {}\nevaluation_interval: {SCRAPE_S}s\ntests:\n",
        rules.display()
    );
    for scenario in SCENARIOS {
        tests.push_str(&test_group(scenario));
    }
    std::fs::write(dir.join("tests.yml"), &tests).expect("write the tests");
    tool.run(&dir, &["check", "rules", &rules.display().to_string()]);
    tool.run(&dir, &["test", "rules", "tests.yml"]);
    std::fs::remove_dir_all(&dir).ok();
}
