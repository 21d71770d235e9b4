//! Every recipe of the catalog, checked against Prometheus itself.
//!
//! The crate's model produces the series (engines observe steps, the
//! exposition is scraped every 15 s); each recipe's PromQL becomes a
//! recording rule; the values the crate computes for those rules (its
//! `rate`, `sum` and `histogram_quantile`, for the `promtool`'s Prometheus
//! version) become the expected samples of a `promtool test rules` file.
//! promtool compares floats exactly, so the crate must agree to the last bit.
//!
//! promtool comes from Debian's `prometheus` package
//! (`apt-get install prometheus`); set `PROMTOOL` to use another binary.
//! Where it is missing, [`support::promtool`](crate::support::promtool)
//! decides: a failure under CI, one visible line on a developer's machine.

use std::fmt::Write as _;
use std::path::Path;

use nixl_kv_metrics::prometheus::{CATALOG, NixlPromMetrics, PrometheusVersion, Recipe, SeriesSet};
use nixl_kv_metrics::release::{Event, Family};
use nixl_kv_metrics::stats::NixlKvConnectorStats;

use crate::support::promtool;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A NIXL duration: whole microseconds, log-uniform in 10^lo .. 10^hi seconds.
    fn duration(&mut self, lo: f64, hi: f64) -> f64 {
        let seconds = 10f64.powf(lo + (hi - lo) * self.unit());
        (seconds * 1e6).round().max(1.0) / 1e6
    }
}

/// One engine step: a few transfers spread over the buckets, and some events.
fn step(rng: &mut Rng) -> NixlKvConnectorStats {
    let n = 1 + rng.below(6) as usize;
    let mut stats = NixlKvConnectorStats::from_transfers(
        Family::F6,
        (0..n).map(|_| rng.duration(-3.7, 0.3)).collect(),
        (0..n).map(|_| rng.duration(-4.0, -1.3)).collect(),
        (0..n).map(|_| 32768 * (1 + rng.below(400))).collect(),
        (0..n).map(|_| 1 + rng.below(3000) as u32).collect(),
    );
    for event in Event::ALL {
        if rng.below(3) == 0 {
            stats
                .record_many(event, 1 + rng.below(3))
                .expect("F6 has every event");
        }
    }
    stats
}

/// A series value as promtool's series notation and YAML read it back exactly.
fn number(x: f64) -> String {
    format!("{x:?}")
}

/// The recording rule name of a recipe.
fn record_name(recipe: &Recipe) -> String {
    format!("nixl_recipe:{}", recipe.id.replace('-', "_"))
}

/// One `tests:` entry: the scraped series and, per eval time and recipe,
/// the crate's expected samples.
fn test_group(
    name: &str,
    interval_s: i64,
    series: &SeriesSet,
    checks: &[(i64, &Recipe)],
    version: PrometheusVersion,
) -> String {
    let mut yaml = String::new();
    let _ = writeln!(
        yaml,
        "  - name: {name}\n    interval: {interval_s}s\n    input_series:"
    );
    for (labels, points) in series.iter() {
        let name = &labels[0].1;
        let rest: Vec<String> = labels[1..]
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        for (i, point) in points.iter().enumerate() {
            assert_eq!(
                point.t_ms,
                i as i64 * interval_s * 1000,
                "scrapes every interval"
            );
        }
        let values: Vec<String> = points.iter().map(|p| number(p.value)).collect();
        let _ = writeln!(
            yaml,
            "      - series: '{name}{{{}}}'\n        values: '{}'",
            rest.join(","),
            values.join(" ")
        );
    }
    let _ = writeln!(yaml, "    promql_expr_test:");
    for &(eval_s, recipe) in checks {
        let expected = recipe.evaluate(series, eval_s * 1000, version);
        assert!(!expected.is_empty(), "{}: no value at {eval_s}s", recipe.id);
        let record = record_name(recipe);
        let _ = writeln!(
            yaml,
            "      - expr: {record}\n        eval_time: {eval_s}s\n        exp_samples:"
        );
        for (labels, value) in expected {
            assert!(value.is_finite(), "{}: {value} at {eval_s}s", recipe.id);
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let _ = writeln!(
                yaml,
                "          - labels: '{record}{{{}}}'\n            value: {}",
                labels.join(","),
                number(value)
            );
        }
    }
    yaml
}

/// Three engines of two models, scraped every 15 s for 10 minutes; the
/// second model restarts (its counters reset) at 6 minutes.
fn busy_cluster() -> SeriesSet {
    let mut rng = Rng(0x6e69_786c);
    let mut llama = NixlPromMetrics::new(Family::F6, "llama", [0, 1]).unwrap();
    let mut qwen = NixlPromMetrics::new(Family::F6, "qwen", [0]).unwrap();
    let mut series = SeriesSet::new();
    for scrape in 0..=40 {
        if scrape > 0 {
            if scrape == 24 {
                qwen = NixlPromMetrics::new(Family::F6, "qwen", [0]).unwrap();
            }
            for engine in [0, 1] {
                for _ in 0..1 + rng.below(3) {
                    llama.observe(engine, &step(&mut rng)).unwrap();
                }
            }
            qwen.observe(0, &step(&mut rng)).unwrap();
        }
        let t_ms = scrape * 15_000;
        series.scrape(t_ms, llama.samples());
        series.scrape(t_ms, qwen.samples());
    }
    series
}

/// The four transfers behind the line of vLLM #41230, scraped before and
/// after (5 minutes apart).
fn issue_41230() -> SeriesSet {
    let stats = NixlKvConnectorStats::from_transfers(
        Family::F6,
        vec![0.0004, 0.000453, 0.00167, 0.003],
        vec![0.00054, 0.000558, 0.00078, 0.00081],
        vec![2_359_296; 4],
        vec![72; 4],
    );
    let mut prom = NixlPromMetrics::new(Family::F6, "m", [0]).unwrap();
    let mut series = SeriesSet::new();
    series.scrape(0, prom.samples());
    prom.observe(0, &stats).unwrap();
    series.scrape(300_000, prom.samples());
    series
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn recipes_agree_with_promtool() {
    let Some(tool) = promtool("the PromQL recipes (tests/it/promtool.rs)") else {
        return;
    };
    let version = tool.version;
    let dir = std::env::temp_dir().join(format!("nixl-kv-metrics-promtool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");

    let mut rules = String::from("groups:\n  - name: nixl-recipes\n    rules:\n");
    for recipe in CATALOG {
        let _ = writeln!(
            rules,
            "      - record: {}\n        expr: '{}'",
            record_name(recipe),
            recipe.promql()
        );
    }
    write(&dir, "rules.yml", &rules);

    let busy = busy_cluster();
    let eval_times = [300, 307, 451, 600];
    let busy_checks: Vec<(i64, &Recipe)> = eval_times
        .iter()
        .flat_map(|&t| CATALOG.iter().map(move |r| (t, r)))
        .collect();
    let issue = issue_41230();
    let issue_checks: Vec<(i64, &Recipe)> = [
        "xfer-time-p90",
        "xfer-time-avg",
        "throughput-log-equivalent",
    ]
    .iter()
    .map(|id| (300, Recipe::find(id).unwrap()))
    .collect();
    let tests = format!(
        "rule_files:\n  - rules.yml\nevaluation_interval: 1s\ntests:\n{}{}",
        test_group("busy-cluster", 15, &busy, &busy_checks, version),
        test_group("issue-41230", 300, &issue, &issue_checks, version),
    );
    write(&dir, "tests.yml", &tests);

    tool.run(&dir, &["check", "rules", "rules.yml"]);
    tool.run(&dir, &["test", "rules", "tests.yml"]);
    // For the record: how many of these values another Prometheus would give
    // differently (left-open windows from 3.0 drop the sample at t - 5m).
    let other = if version == PrometheusVersion::NEWEST_CHECKED {
        PrometheusVersion::V2_42
    } else {
        PrometheusVersion::NEWEST_CHECKED
    };
    let differing = busy_checks
        .iter()
        .filter(|(t, r)| r.evaluate(&busy, t * 1000, version) != r.evaluate(&busy, t * 1000, other))
        .count();
    eprintln!(
        "promtool {version}: {} recipes x {} eval times and {} checks of #41230 agree bit for bit; \
         Prometheus {other} would give {differing} of the {} busy-cluster values differently",
        CATALOG.len(),
        eval_times.len(),
        issue_checks.len(),
        busy_checks.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn issue_41230_p90_is_the_bucket_estimate() {
    let series = issue_41230();
    let p90 = Recipe::find("xfer-time-p90").unwrap();
    let value = p90.evaluate(&series, 300_000, PrometheusVersion::V2_42)[0].1;
    // 90 % of the way through the first bucket, (0, 5 ms]: 4.5 ms, against
    // the log's P90 of 2.601 ms. (The rank 0.9 x 4/300 over the bucket's
    // 4/300 is 0.8999999999999999 in floats, hence exactly 0.0045 here.)
    assert_eq!(value, 0.0045);
    assert_eq!(format!("{:.4}", value * 1e3), "4.5000");
}
