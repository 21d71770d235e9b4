//! The Prometheus part of the book: the table of vLLM's NIXL metrics, the
//! bucket bounds of its histograms, the PromQL recipe catalog, the Grafana
//! dashboard built on it, and the alert rules.

use std::fmt::Write as _;
use std::path::Path;

use nixl_kv_metrics::printer::numbers::{grouped, trimmed};
use nixl_kv_metrics::prometheus::{
    ALERTS, CATALOG, DASHBOARD_UID, Expr, GoFloat, LABEL_NAMES, Metric, MetricType, Observation,
    Recipe, Unit, alert_rules, grafana_dashboard,
};
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::topology::{Instance, Mode};

use super::GENERATED_DIR;
use super::markdown::{breakable_code, card_table, cell, code, styled_table};
use super::releases::{newest, releases_cell};

/// The file name of the Grafana dashboard in [`GENERATED_DIR`]: that of the
/// committed [`DASHBOARD_PATH`](nixl_kv_metrics::prometheus::DASHBOARD_PATH).
pub const DASHBOARD_FILE: &str = "nixl-kv-transfer.json";

/// The file name of the alert rules in [`GENERATED_DIR`]: that of the
/// committed [`ALERT_RULES_PATH`](nixl_kv_metrics::prometheus::ALERT_RULES_PATH).
pub const ALERT_RULES_FILE: &str = "nixl-kv-transfer-alerts.yml";

/// The chapter with one section per metric, which the metrics table links to.
const PROMETHEUS_CHAPTER: &str = "prometheus.md";

/// The chapter whose entries the alerts link to.
const TROUBLESHOOTING_CHAPTER: &str = "troubleshooting.md";

/// Writes the Grafana dashboard and the alert rules into `dir` (each unless
/// it is already there, so that `mdbook serve` does not rebuild forever).
pub fn write_downloads(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (file, text) in [
        (DASHBOARD_FILE, grafana_dashboard()),
        (ALERT_RULES_FILE, alert_rules()),
    ] {
        let path = dir.join(file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)?;
        }
    }
    Ok(())
}

/// A download link to `file` in [`GENERATED_DIR`], of `size` bytes, saying
/// what it is and what is in it.
fn download_link(root: &str, file: &str, what: &str, size: usize, contents: &str) -> String {
    let size_kib = size as f64 / 1024.0;
    format!(
        "<p class=\"nixl-download\"><a href=\"{root}{GENERATED_DIR}/{file}\" \
         download=\"{file}\">Download {what}</a> \
         (<code>{file}</code>, {size_kib:.0} KiB: {contents})</p>"
    )
}

/// The four histograms, in registration order (the newest family registers
/// every metric any family does).
fn histograms() -> impl Iterator<Item = &'static Metric> {
    Metric::of(newest())
        .iter()
        .filter(|metric| matches!(metric.kind, MetricType::Histogram { .. }))
}

/// The histograms' names, for messages.
pub fn histogram_names() -> String {
    histograms().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// The histogram called `name`, or what the known ones are.
pub fn histogram(name: &str) -> Result<&'static Metric, String> {
    histograms().find(|m| m.name == name).ok_or_else(|| {
        format!(
            "unknown histogram `{name}`; known histograms: {}",
            histogram_names()
        )
    })
}

/// The id of a metric's section in prometheus.md:
/// `vllm:nixl_xfer_time_seconds` → `vllm-nixl-xfer-time-seconds`.
pub fn metric_anchor(name: &str) -> String {
    name.replace([':', '_'], "-")
}

/// How `value` of the metric `name` changes over the families that register
/// it: runs of families with equal values, oldest first, as (first, last, value).
fn metric_runs<T: PartialEq>(name: &str, value: impl Fn(&Metric) -> T) -> Vec<(Family, Family, T)> {
    let mut runs: Vec<(Family, Family, T)> = Vec::new();
    for family in Family::ALL {
        let Some(metric) = Metric::find(family, name) else {
            continue;
        };
        let value = value(metric);
        match runs.last_mut() {
            Some((_, last, previous)) if *previous == value => *last = family,
            _ => runs.push((family, family, value)),
        }
    }
    runs
}

/// One value per run, each after its releases when there are several runs.
fn runs_cell<T>(runs: &[(Family, Family, T)], text: impl Fn(&T) -> String) -> String {
    match runs {
        [(_, _, only)] => text(only),
        _ => runs
            .iter()
            .map(|(first, last, value)| {
                format!("{}: {}", releases_cell(*first, *last), text(value))
            })
            .collect::<Vec<_>>()
            .join("<br>"),
    }
}

/// `decode`, `prefill`, or `prefill and decode`.
fn instances_text(instances: &[Instance]) -> String {
    let names: Vec<String> = instances.iter().map(Instance::to_string).collect();
    names.join(" and ")
}

/// The table behind `{{#nixl prometheus-metrics}}`: one row per metric any
/// release registers, linked to its section of prometheus.md.
pub fn prometheus_metrics(root: &str) -> String {
    let mut out = String::from(
        "| Metric | Type, samples, labels | Moves on | Since | HELP text |\n\
         |---|---|---|---|---|\n",
    );
    let labels = LABEL_NAMES
        .iter()
        .map(|label| code(label))
        .collect::<Vec<_>>()
        .join(", ");
    for metric in Metric::of(newest()) {
        let kind = match metric.kind {
            MetricType::Histogram { .. } => format!(
                "histogram: `_bucket`, `_count`, `_sum`; labels {labels}, and `le` on `_bucket`"
            ),
            MetricType::Counter { .. } => format!("counter: `_total`; labels {labels}"),
        };
        let first = Metric::first_family(metric.name).expect("registered by the newest");
        let moves_on = |mode: Mode| {
            let runs = metric_runs(metric.name, |m| m.moves_on(mode));
            let text = match runs.as_slice() {
                [(_, _, only)] => instances_text(only),
                _ => runs
                    .iter()
                    .map(|(first, last, instances)| {
                        format!(
                            "{} ({})",
                            instances_text(instances),
                            releases_cell(*first, *last)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", then "),
            };
            let name = match mode {
                Mode::Pull => "pull",
                Mode::Push => "push",
            };
            format!("{name}: {text}")
        };
        let _ = writeln!(
            out,
            "| [{}]({root}{PROMETHEUS_CHAPTER}#{}) | {kind} | {}<br>{} | vLLM {} | {} |",
            breakable_code(metric.name),
            metric_anchor(metric.name),
            moves_on(Mode::Pull),
            moves_on(Mode::Push),
            first.first_release(),
            runs_cell(&metric_runs(metric.name, |m| m.help), |help| format!(
                "“{}”",
                cell(help)
            )),
        );
    }
    card_table("prometheus-metrics", &out)
}

/// A bucket bound in the unit people read: `5 ms`, `1 s`, `2 KiB`, `10`.
fn quantity(observes: Observation, x: f64) -> String {
    match observes {
        Observation::TransferDuration | Observation::PostDuration => {
            if x < 1.0 {
                format!("{} ms", trimmed(x * 1e3, 6))
            } else {
                format!("{} s", trimmed(x, 6))
            }
        }
        Observation::BytesTransferred => {
            let unit = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
                .into_iter()
                .find(|&(size, _)| x >= size as f64 && (x / size as f64).fract() == 0.0);
            match unit {
                Some((size, name)) => format!("{} {name}", trimmed(x / size as f64, 6)),
                None => format!("{} B", trimmed(x, 6)),
            }
        }
        Observation::NumDescriptors => trimmed(x, 6),
    }
}

/// A bucket bound in the metric's unit, and in the readable one:
/// `0.005 s = 5 ms`, `2,048 B = 2 KiB`, `10`.
fn bound_text(observes: Observation, x: f64) -> String {
    match observes {
        Observation::TransferDuration | Observation::PostDuration => {
            format!("{} s = {} ms", trimmed(x, 6), trimmed(x * 1e3, 6))
        }
        Observation::BytesTransferred => {
            format!("{} B = {}", grouped(x as u64, ','), quantity(observes, x))
        }
        Observation::NumDescriptors => trimmed(x, 6),
    }
}

/// The unit a histogram observes, as its section names it.
fn observation_unit(observes: Observation) -> &'static str {
    match observes {
        Observation::TransferDuration | Observation::PostDuration => "seconds",
        Observation::BytesTransferred => "bytes",
        Observation::NumDescriptors => "descriptors (a count)",
    }
}

/// The tables behind `{{#nixl prometheus-buckets}}`: every histogram's,
/// each titled with its name.
pub fn all_buckets() -> String {
    histograms()
        .map(|metric| prometheus_buckets(metric, true))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The table behind `{{#nixl prometheus-buckets NAME}}`: one row per bucket
/// of the histogram, `+Inf` last. `titled` names the metric above it.
pub fn prometheus_buckets(metric: &Metric, titled: bool) -> String {
    let MetricType::Histogram { bounds, observes } = metric.kind else {
        unreachable!("only histograms are passed");
    };
    let mut out = String::new();
    if titled {
        let _ = write!(out, "**{}**: ", code(metric.name));
    }
    let _ = writeln!(
        out,
        "{} finite buckets, then `+Inf`; observed in {}.\n",
        bounds.len(),
        observation_unit(observes)
    );
    let mut table = String::from(
        "| `le` label | Upper bound | `histogram_quantile` spreads the bucket's observations over |\n\
         |---|---|---|\n",
    );
    let mut lower = 0.0;
    for &upper in bounds {
        let _ = writeln!(
            table,
            "| {} | {} | ({}, {}] |",
            code(&GoFloat(upper).to_string()),
            bound_text(observes, upper),
            if lower == 0.0 {
                "0".to_string()
            } else {
                quantity(observes, lower)
            },
            quantity(observes, upper),
        );
        lower = upper;
    }
    let _ = writeln!(
        table,
        "| `+Inf` | none | above {top}: a quantile that falls here is reported as {top} |",
        top = quantity(observes, lower),
    );
    out.push_str(&styled_table("prometheus-buckets", &table));
    out
}

/// A recipe's unit, in words.
fn unit_text(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "seconds",
        Unit::Bytes => "bytes",
        Unit::BytesPerSecond => "bytes per second",
        Unit::PerSecond => "events per second",
        Unit::Number => "a plain number",
        Unit::Ratio => "a fraction (0 to 1)",
    }
}

/// A recipe's PromQL as the book prints it, on two lines where it would not
/// fit the page: a ratio breaks before its `/`, a quantile after its `q,`.
/// Joining the lines with a space gives [`Recipe::promql`] back.
pub fn promql_text(recipe: &Recipe) -> String {
    let operand = |e: &Expr| match e {
        Expr::Ratio(..) => format!("({e})"),
        _ => e.to_string(),
    };
    match recipe.expr {
        Expr::Ratio(a, b) => format!("{}\n  / {}", operand(a), operand(b)),
        Expr::Quantile(..) => recipe.promql().replacen(", ", ",\n  ", 1),
        Expr::SumRate(..) => recipe.promql(),
    }
}

/// The sections behind `{{#nixl promql-recipes}}`: per recipe, a heading
/// (id `recipe-ID`), its unit and first release, the PromQL, and what it
/// answers and does not.
pub fn promql_recipes() -> String {
    CATALOG
        .iter()
        .map(|recipe| {
            format!(
                "### {title} {{ #recipe-{id} }}\n\n\
                 Recipe `{id}`: {unit}, from vLLM {since} on.\n\n\
                 ```promql\n{promql}\n```\n\n\
                 **Answers:** {answers}\n\n\
                 **Does not answer:** {does_not}",
                title = recipe.title,
                id = recipe.id,
                unit = unit_text(recipe.unit),
                since = recipe.first_family().first_release(),
                promql = promql_text(recipe),
                answers = recipe.answers,
                does_not = recipe.does_not_answer,
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The link behind `{{#nixl grafana-dashboard}}`: the dashboard the
/// preprocessor writes to `generated/` (see [`write_downloads`]).
pub fn grafana_dashboard_link(root: &str) -> String {
    download_link(
        root,
        DASHBOARD_FILE,
        "the Grafana dashboard",
        grafana_dashboard().len(),
        &format!(
            "{} panels, one per recipe, and {} alert panels; uid <code>{DASHBOARD_UID}</code>",
            CATALOG.len(),
            ALERTS.len(),
        ),
    )
}

/// The sections behind `{{#nixl alert-rules}}`: a download link to the
/// rules file the preprocessor writes to `generated/`, then per alert a
/// heading (id [`Alert::section_id`]) with its title, severity, `for`, first
/// release and troubleshooting entry, the PromQL, what it says and what it
/// cannot see.
pub fn alert_sections(root: &str) -> String {
    let rules = alert_rules();
    let link = download_link(
        root,
        ALERT_RULES_FILE,
        "the alert rules",
        rules.len(),
        &format!("{} alerting rules for Prometheus", ALERTS.len()),
    );
    let sections = ALERTS.iter().map(|alert| {
        format!(
            "### {name} {{ #{id} }}\n\n\
             **{title}.** Severity `{severity}`; fires when this holds for {hold}; vLLM \
             {since} on. What to do: [troubleshooting]({root}{TROUBLESHOOTING_CHAPTER}#{anchor}).\n\n\
             ```promql\n{promql}\n```\n\n\
             {description}\n\n\
             **Cannot see:** {cannot_see}",
            name = alert.name,
            id = alert.section_id(),
            title = alert.title,
            severity = alert.severity.label(),
            hold = alert.for_text(),
            since = alert.since.first_release(),
            anchor = alert.anchor,
            promql = alert.promql(),
            description = alert.description,
            cannot_see = alert.cannot_see,
        )
    });
    std::iter::once(link)
        .chain(sections)
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessor::markdown::{assert_rectangular, rows};
    use crate::preprocessor::{expand, expand_ok};
    use nixl_kv_metrics::prometheus::{
        ALERT_RULES_PATH, BYTES_TRANSFERRED, DASHBOARD_PATH, NUM_DESCRIPTORS, XFER_TIME,
    };

    #[test]
    fn prometheus_metrics_has_a_row_per_metric_linked_to_its_section() {
        let out = expand_ok("{{#nixl prometheus-metrics}}\n", "prometheus.md");
        let rows = rows(&out);
        assert_eq!(rows.len(), 2 + 8);
        assert_rectangular(&rows);
        let row = |name: &str| {
            *rows
                .iter()
                .find(|r| {
                    r.starts_with(&format!("| [<code>{}</code>]", name.replace('_', "_<wbr>")))
                })
                .unwrap_or_else(|| panic!("no row {name}: {rows:#?}"))
        };
        assert_eq!(
            row("vllm:nixl_xfer_time_seconds"),
            "| [<code>vllm:nixl_<wbr>xfer_<wbr>time_<wbr>seconds</code>](prometheus.md#vllm-nixl-xfer-time-seconds) \
             | histogram: `_bucket`, `_count`, `_sum`; labels `model_name`, `engine`, and `le` on `_bucket` \
             | pull: decode<br>push: prefill | vLLM 0.11.1 \
             | “Histogram of transfer duration for NIXL KV Cache transfers.” |"
        );
        let failed = row("vllm:nixl_num_failed_transfers");
        assert!(
            failed.contains(
                "| counter: `_total`; labels `model_name`, `engine` | pull: decode<br>push: prefill \
                 (0.11.1 ≤ vLLM < 0.31.0), then prefill and decode (vLLM ≥ 0.31.0) | vLLM 0.11.1 \
                 | 0.11.1 ≤ vLLM < 0.31.0: “Number of failed NIXL KV Cache transfers.”<br>\
                 vLLM ≥ 0.31.0: “Number of failed NIXL KV Cache transfers, including handshake"
            ),
            "{failed}"
        );
        assert!(
            row("vllm:nixl_num_kv_expired_reqs")
                .contains("| pull: prefill<br>push: prefill | vLLM 0.15.0 |")
        );
        assert!(
            row("vllm:nixl_num_notifications_after_expiry")
                .contains("| pull: prefill<br>push: decode | vLLM 0.32.0 |")
        );
        let nested = expand_ok("{{#nixl prometheus-metrics}}\n", "reference/glossary.md");
        assert!(nested.contains("](../prometheus.md#vllm-nixl-num-descriptors)"));
    }

    #[test]
    fn metric_anchors_are_the_pinned_section_ids() {
        let anchors: Vec<String> = Metric::of(newest())
            .iter()
            .map(|m| metric_anchor(m.name))
            .collect();
        assert_eq!(
            anchors,
            [
                "vllm-nixl-xfer-time-seconds",
                "vllm-nixl-post-time-seconds",
                "vllm-nixl-bytes-transferred",
                "vllm-nixl-num-descriptors",
                "vllm-nixl-num-failed-transfers",
                "vllm-nixl-num-failed-notifications",
                "vllm-nixl-num-kv-expired-reqs",
                "vllm-nixl-num-notifications-after-expiry",
            ]
        );
    }

    #[test]
    fn buckets_list_every_bound_with_units() {
        /// A histogram, its number of finite buckets, and some rows by index
        /// (2 is the first bucket's).
        type Case = (&'static str, usize, &'static [(usize, &'static str)]);
        let cases: [Case; 3] = [
            (
                XFER_TIME,
                12,
                &[
                    (2, "| `0.005` | 0.005 s = 5 ms | (0, 5 ms] |"),
                    (6, "| `0.075` | 0.075 s = 75 ms | (50 ms, 75 ms] |"),
                    (13, "| `5.0` | 5 s = 5000 ms | (1 s, 5 s] |"),
                    (
                        14,
                        "| `+Inf` | none | above 5 s: a quantile that falls here is reported as 5 s |",
                    ),
                ],
            ),
            (
                BYTES_TRANSFERRED,
                12,
                &[
                    (2, "| `2048.0` | 2,048 B = 2 KiB | (0, 2 KiB] |"),
                    (
                        7,
                        "| `2.097152e+06` | 2,097,152 B = 2 MiB | (512 KiB, 2 MiB] |",
                    ),
                    (
                        13,
                        "| `8.589934592e+09` | 8,589,934,592 B = 8 GiB | (2 GiB, 8 GiB] |",
                    ),
                ],
            ),
            (
                NUM_DESCRIPTORS,
                14,
                &[(15, "| `50000.0` | 50000 | (20000, 50000] |")],
            ),
        ];
        for (name, buckets, expected) in cases {
            let out = expand_ok(
                &format!("{{{{#nixl prometheus-buckets {name}}}}}\n"),
                "prometheus.md",
            );
            let header = format!("\n{buckets} finite buckets, then `+Inf`");
            assert!(out.contains(&header), "{name}: {out}");
            let rows = rows(&out);
            assert_eq!(rows.len(), 2 + buckets + 1, "{name}");
            assert_rectangular(&rows);
            for &(index, row) in expected {
                assert_eq!(rows[index], row, "{name}");
            }
        }
        let xfer = expand_ok(
            "{{#nixl prometheus-buckets vllm:nixl_xfer_time_seconds}}\n",
            "prometheus.md",
        );
        assert!(xfer.contains("observed in seconds."), "{xfer}");

        let all = expand_ok("{{#nixl prometheus-buckets}}\n", "prometheus.md");
        assert_eq!(
            all.matches("<div class=\"nixl-table nixl-prometheus-buckets\">")
                .count(),
            4
        );
        assert!(all.contains("**`vllm:nixl_post_time_seconds`**: 13 finite buckets"));

        let errors = expand(
            "{{#nixl prometheus-buckets vllm:nixl_num_failed_transfers}}\n",
            Path::new("a.md"),
        )
        .unwrap_err();
        assert!(
            errors[0].message.contains(
                "unknown histogram `vllm:nixl_num_failed_transfers`; known histograms: \
                 vllm:nixl_xfer_time_seconds, vllm:nixl_post_time_seconds, \
                 vllm:nixl_bytes_transferred, vllm:nixl_num_descriptors"
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn promql_recipes_have_a_section_each_with_the_exact_query() {
        let out = expand_ok("{{#nixl promql-recipes}}\n", "prometheus.md");
        assert_eq!(out.matches("\n### ").count(), CATALOG.len());
        for recipe in CATALOG {
            assert!(
                out.contains(&format!("### {} {{ #recipe-{} }}", recipe.title, recipe.id)),
                "{}",
                recipe.id
            );
            let text = promql_text(recipe);
            assert!(out.contains(&format!("```promql\n{text}\n```")));
            // Only the line break differs from the query itself.
            assert_eq!(text.replace("\n  ", " "), recipe.promql());
            assert!(text.lines().all(|line| line.len() <= 80), "{text}");
            assert!(out.contains(recipe.does_not_answer));
        }
        assert!(out.contains(
            "Recipe `kv-expired-reqs-per-second`: events per second, from vLLM 0.15.0 on."
        ));
    }

    #[test]
    fn the_dashboard_link_points_at_the_written_dashboard() {
        let out = expand_ok("{{#nixl grafana-dashboard}}\n", "reference/glossary.md");
        assert!(
            out.contains(
                "<a href=\"../generated/nixl-kv-transfer.json\" download=\"nixl-kv-transfer.json\">"
            ),
            "{out}"
        );
        assert!(
            out.contains("15 panels, one per recipe, and 6 alert panels"),
            "{out}"
        );
    }

    #[test]
    fn the_written_downloads_are_the_committed_files() {
        let dir = std::env::temp_dir().join(format!("nixl-book-downloads-{}", std::process::id()));
        write_downloads(&dir).unwrap();
        for (file, committed) in [
            (DASHBOARD_FILE, DASHBOARD_PATH),
            (ALERT_RULES_FILE, ALERT_RULES_PATH),
        ] {
            assert_eq!(Path::new(committed).file_name().unwrap(), file);
            let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join(committed);
            assert_eq!(
                std::fs::read_to_string(dir.join(file)).unwrap(),
                std::fs::read_to_string(committed).unwrap(),
                "{file}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn alert_rules_have_a_pinned_section_each_linked_to_troubleshooting() {
        let out = expand_ok("{{#nixl alert-rules}}\n", "reference/glossary.md");
        assert!(out.contains(
            "<a href=\"../generated/nixl-kv-transfer-alerts.yml\" \
             download=\"nixl-kv-transfer-alerts.yml\">Download the alert rules</a>"
        ));
        assert!(out.contains("6 alerting rules for Prometheus"), "{out}");
        assert_eq!(out.matches("\n### ").count(), ALERTS.len());
        for alert in ALERTS {
            assert!(out.contains(&format!("```promql\n{}\n```", alert.promql())));
            assert!(out.contains(&format!(
                "[troubleshooting](../troubleshooting.md#{})",
                alert.anchor
            )));
        }
        // vLLM's docs and runbooks may link to these: renaming one is a change.
        let anchors: Vec<String> = ALERTS.iter().map(|alert| alert.section_id()).collect();
        assert_eq!(
            anchors,
            [
                "alert-nixl-kv-transfer-failure-ratio-high",
                "alert-nixl-kv-expired-requests-rising",
                "alert-nixl-kv-notifications-after-expiry",
                "alert-nixl-kv-transfers-stalled",
                "alert-nixl-kv-series-absent",
                "alert-nixl-kv-series-missing",
            ]
        );
        assert!(out.contains(
            "### NixlKvNotificationsAfterExpiry { #alert-nixl-kv-notifications-after-expiry }\n\n\
             **Notifications after expiry (increase over 5 minutes).** Severity `critical`; fires \
             when this holds for 1m; vLLM 0.32.0 on."
        ));
    }
}
