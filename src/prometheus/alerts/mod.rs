//! Alerting rules on the NIXL series: what an operator should be woken for,
//! each linked to the book's troubleshooting entry that says what to do.
//!
//! [`ALERTS`] is the catalog; [`alert_rules`] writes it as a Prometheus rules
//! file, committed as [`ALERT_RULES_PATH`] (a unit test keeps the two equal),
//! and the Grafana dashboard has a panel per alert showing what it compares.
//! `tests/it/alerts.rs` runs every rule in a real Prometheus (`promtool test
//! rules`) on series from this crate's model of vLLM: for each alert, a
//! deployment where it fires (after exactly its `for`) and others where it
//! stays silent.
//!
//! Every rule reads only what vLLM exports: the `vllm:nixl_*` series
//! (labels `model_name`, `engine`) and, for two alerts, the scheduler's
//! `vllm:num_requests_*` gauges (same labels). Prometheus adds the target's
//! labels (`job`, `instance`), which the alerts on a single instance's
//! series keep, so that the alert names the server.
//!
//! ```
//! use nixl_kv_metrics::prometheus::{ALERTS, Alert, alert_rules};
//!
//! let expired = Alert::find("NixlKvExpiredRequestsRising").unwrap();
//! assert_eq!(expired.promql(), "increase(vllm:nixl_num_kv_expired_reqs_total[5m]) > 0");
//! assert_eq!(expired.for_text(), "5m");
//! assert_eq!(
//!     expired.runbook_url(),
//!     "https://nixl-kv-metrics.github.io/nixl-kv-metrics/troubleshooting.html#kv-expired"
//! );
//! let rules = alert_rules();
//! assert!(rules.contains("      - alert: NixlKvExpiredRequestsRising\n"));
//! assert_eq!(rules.matches("runbook_url:").count(), ALERTS.len());
//! ```

use crate::prometheus::{Metric, Unit};
use crate::release::Family;

mod catalog;
mod rules;

pub use catalog::ALERTS;
pub use rules::alert_rules;

/// Where the book is published (book.toml's `site-url` on the project's
/// GitHub Pages): the one place to change if it moves. Every alert's
/// `runbook_url` is this, [`TROUBLESHOOTING_PAGE`], `#` and its anchor.
pub const BOOK_URL: &str = "https://nixl-kv-metrics.github.io/nixl-kv-metrics/";

/// The troubleshooting chapter, relative to [`BOOK_URL`].
pub const TROUBLESHOOTING_PAGE: &str = "troubleshooting.html";

/// Where the rules file is committed, relative to the repository root.
pub const ALERT_RULES_PATH: &str = "dashboards/nixl-kv-transfer-alerts.yml";

/// The name of the rule group in the rules file.
pub const ALERT_GROUP: &str = "nixl-kv-transfer";

/// The `severity` label: how urgent an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Requests are failing, stuck or may be served with the wrong KV.
    Critical,
    /// Something is wrong that does not yet fail requests, or cannot be seen.
    Warning,
}

impl Severity {
    /// The label value.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Severity;
    /// assert_eq!(Severity::Critical.label(), "critical");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// What an alert's dashboard panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The value the alert compares with its threshold ([`Alert::value`]),
    /// with this legend format.
    Value {
        /// Grafana's legend format.
        legend: &'static str,
    },
    /// These inputs of the alert (for alerts that select rather than
    /// compare a value).
    Inputs(&'static [PanelQuery]),
}

/// One query of an alert's dashboard panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PanelQuery {
    /// The PromQL.
    pub promql: &'static str,
    /// Grafana's legend format.
    pub legend: &'static str,
}

/// One alerting rule.
///
/// ```
/// use nixl_kv_metrics::prometheus::{Alert, Severity};
///
/// let ratio = Alert::find("NixlKvTransferFailureRatioHigh").unwrap();
/// assert_eq!(ratio.severity, Severity::Critical);
/// assert_eq!(ratio.threshold, Some(0.01));
/// assert!(ratio.promql().contains("- increase(vllm:nixl_num_failed_notifications_total[5m])"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alert {
    /// The `alert:` name (the `alertname` label).
    pub name: &'static str,
    /// A short title (the dashboard panel's and the book section's).
    pub title: &'static str,
    /// The value compared with [`Alert::threshold`], or, without one, the
    /// whole expression; as written in this file (indented; see
    /// [`Alert::promql`]).
    expr: &'static str,
    /// The alert fires for the series whose value is above this.
    pub threshold: Option<f64>,
    /// How long the condition must hold before the alert fires.
    pub for_seconds: u32,
    /// The `severity` label.
    pub severity: Severity,
    /// The `summary` annotation: a template that may use `{{ $labels.NAME }}`.
    pub summary: &'static str,
    /// The `description` annotation: what the alert saw, what it counts,
    /// and the likely causes.
    pub description: &'static str,
    /// What the expression cannot see (the book and the panel say it).
    pub cannot_see: &'static str,
    /// The troubleshooting entry's anchor (see [`Alert::runbook_url`]).
    pub anchor: &'static str,
    /// The first release family whose series the alert can judge.
    pub since: Family,
    /// What the dashboard panel shows (see [`Alert::panel_queries`]).
    pub panel: Panel,
    /// The unit of the panel's values.
    pub unit: Unit,
}

impl Alert {
    /// The alert called `name`, if the catalog has it.
    pub fn find(name: &str) -> Option<&'static Alert> {
        ALERTS.iter().find(|alert| alert.name == name)
    }

    /// The PromQL, as the rules file has it: the source's common
    /// indentation removed, then `> THRESHOLD` if the alert compares a value.
    pub fn promql(&self) -> String {
        let value = dedent(self.expr);
        match self.threshold {
            Some(threshold) => format!("{value} > {threshold}"),
            None => value,
        }
    }

    /// The value the expression compares with [`Alert::threshold`], if it
    /// compares one.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Alert;
    /// assert_eq!(
    ///     Alert::find("NixlKvExpiredRequestsRising").unwrap().value().unwrap(),
    ///     "increase(vllm:nixl_num_kv_expired_reqs_total[5m])"
    /// );
    /// assert_eq!(Alert::find("NixlKvTransfersStalled").unwrap().value(), None);
    /// ```
    pub fn value(&self) -> Option<String> {
        self.threshold.map(|_| dedent(self.expr))
    }

    /// The `for:` duration as Prometheus writes it: `5m`, `90s`.
    pub fn for_text(&self) -> String {
        match self.for_seconds {
            s if s % 60 == 0 => format!("{}m", s / 60),
            s => format!("{s}s"),
        }
    }

    /// The id of the alert's section in the book's Prometheus chapter, where
    /// `{{#nixl alert-rules}}` puts it: `alert-` and the name in kebab case.
    /// vLLM's docs and runbooks may link to it, so it is pinned
    /// ([`DEEP_LINKS`](crate::deep_links::DEEP_LINKS)).
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Alert;
    /// let absent = Alert::find("NixlKvSeriesAbsent").unwrap();
    /// assert_eq!(absent.section_id(), "alert-nixl-kv-series-absent");
    /// ```
    pub fn section_id(&self) -> String {
        let mut id = String::from("alert");
        for c in self.name.chars() {
            if c.is_ascii_uppercase() {
                id.push('-');
            }
            id.push(c.to_ascii_lowercase());
        }
        id
    }

    /// The `runbook_url` annotation: the troubleshooting entry in the
    /// published book ([`BOOK_URL`]).
    pub fn runbook_url(&self) -> String {
        format!("{BOOK_URL}{TROUBLESHOOTING_PAGE}#{}", self.anchor)
    }

    /// The dashboard panel's queries and their legend formats: the value
    /// the alert compares, or the inputs it selects from.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Alert;
    ///
    /// let stalled = Alert::find("NixlKvTransfersStalled").unwrap().panel_queries();
    /// assert_eq!(stalled[1].0, "vllm:num_requests_waiting");
    /// let expired = Alert::find("NixlKvExpiredRequestsRising").unwrap().panel_queries();
    /// assert_eq!(expired[0].0, "increase(vllm:nixl_num_kv_expired_reqs_total[5m])");
    /// ```
    pub fn panel_queries(&self) -> Vec<(String, &'static str)> {
        match self.panel {
            Panel::Value { legend } => {
                vec![(
                    self.value().expect("a Value panel's alert compares"),
                    legend,
                )]
            }
            Panel::Inputs(queries) => queries
                .iter()
                .map(|query| (query.promql.to_string(), query.legend))
                .collect(),
        }
    }

    /// The `vllm:nixl_*` metrics (names without `_total`, `_count`, …) the
    /// expression reads, first use first.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::{Alert, FAILED_NOTIFICATIONS, FAILED_TRANSFERS,
    ///     NOTIFICATIONS_AFTER_EXPIRY, XFER_TIME};
    /// assert_eq!(
    ///     Alert::find("NixlKvTransferFailureRatioHigh").unwrap().nixl_metrics(),
    ///     [XFER_TIME, FAILED_TRANSFERS, FAILED_NOTIFICATIONS, NOTIFICATIONS_AFTER_EXPIRY]
    /// );
    /// ```
    pub fn nixl_metrics(&self) -> Vec<&'static str> {
        nixl_metrics_in(&self.promql())
    }

    /// The annotations Prometheus sends for an alert with these labels:
    /// `summary` and `description` with `{{ $labels.NAME }}` filled in,
    /// and `runbook_url`.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::Alert;
    ///
    /// let ratio = Alert::find("NixlKvTransferFailureRatioHigh").unwrap();
    /// let labels = [("engine", "1"), ("model_name", "llama")];
    /// let annotations = ratio.annotations(&labels);
    /// assert_eq!(annotations[0], ("summary", "NIXL KV transfers of llama engine 1 are failing".to_string()));
    /// assert_eq!(annotations[2].0, "runbook_url");
    /// ```
    pub fn annotations(&self, labels: &[(&str, &str)]) -> [(&'static str, String); 3] {
        [
            ("summary", fill_labels(self.summary, labels)),
            ("description", fill_labels(self.description, labels)),
            ("runbook_url", self.runbook_url()),
        ]
    }
}

/// `text` without the leading blank lines, trailing white space, and the
/// indentation its lines share.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .collect();
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect();
    lines.join("\n").trim_end().to_string()
}

/// `template` with every `{{ $labels.NAME }}` replaced by the label's value
/// (empty for a missing label, as Prometheus' templates give).
fn fill_labels(template: &str, labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{ $labels.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{ $labels.".len()..];
        let end = after.find(" }}").expect("a template closes what it opens");
        let name = &after[..end];
        let value = labels.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        out.push_str(value.unwrap_or_default());
        rest = &after[end + " }}".len()..];
    }
    out.push_str(rest);
    out
}

/// The registered `vllm:nixl_*` metrics named in `promql`, first use first.
fn nixl_metrics_in(promql: &str) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut rest = promql;
    while let Some(start) = rest.find("vllm:nixl_") {
        let token: String = rest[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        rest = &rest[start + token.len()..];
        let metric = Family::ALL
            .iter()
            .flat_map(|&family| Metric::of(family))
            .map(|metric| metric.name)
            .find(|&name| {
                token == name
                    || ["_total", "_count", "_sum", "_bucket"]
                        .iter()
                        .any(|suffix| token == format!("{name}{suffix}"))
            });
        if let Some(name) = metric
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::rules::yaml_quoted;
    use super::*;
    use crate::prometheus::assert_committed;

    #[test]
    fn committed_rules_are_generated() {
        assert_committed(ALERT_RULES_PATH, &alert_rules());
    }

    #[test]
    fn names_are_unique_and_metrics_registered() {
        let mut seen = std::collections::HashSet::new();
        for alert in ALERTS {
            assert!(seen.insert(alert.name), "{} twice", alert.name);
            let names = alert.nixl_metrics();
            assert!(!names.is_empty(), "{}", alert.name);
            // Every `vllm:nixl_` token is a registered metric with its suffix.
            assert_eq!(
                alert.promql().matches("vllm:nixl_").count(),
                names
                    .iter()
                    .map(|name| alert.promql().matches(name).count())
                    .sum::<usize>(),
                "{}",
                alert.name
            );
        }
    }

    #[test]
    fn panels_show_the_value_or_the_inputs() {
        for alert in ALERTS {
            // An alert that compares a value shows that value.
            assert_eq!(
                matches!(alert.panel, Panel::Value { .. }),
                alert.threshold.is_some(),
                "{}",
                alert.name
            );
            let promql = alert.promql();
            for (query, _) in alert.panel_queries() {
                for name in nixl_metrics_in(&query) {
                    assert!(alert.nixl_metrics().contains(&name), "{}", alert.name);
                }
                for selector in ["vllm:num_requests_waiting", "vllm:num_requests_running"] {
                    assert!(
                        !query.contains(selector) || promql.contains(selector),
                        "{}",
                        alert.name
                    );
                }
            }
        }
    }

    #[test]
    fn templates_use_labels_the_alert_has() {
        // Alerts over `sum by (model_name, engine)` have only those labels;
        // `absent` has none; the others keep every label of their series.
        for alert in ALERTS {
            let promql = alert.promql();
            let allowed: &[&str] = if promql.starts_with("absent(") {
                &[]
            } else if promql.contains("sum by (model_name, engine)") {
                &["model_name", "engine"]
            } else {
                &["model_name", "engine", "instance", "job"]
            };
            for template in [alert.summary, alert.description] {
                for (i, _) in template.match_indices("{{") {
                    let name = template[i..]
                        .strip_prefix("{{ $labels.")
                        .and_then(|rest| rest.split_once(" }}"))
                        .map(|(name, _)| name)
                        .unwrap_or_else(|| panic!("{}: only {{{{ $labels.NAME }}}}", alert.name));
                    assert!(allowed.contains(&name), "{}: {name}", alert.name);
                }
            }
        }
    }

    #[test]
    fn book_url_is_the_published_site() {
        let toml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/book.toml"))
            .expect("book.toml");
        let site = toml
            .lines()
            .find_map(|line| line.strip_prefix("site-url = "))
            .expect("book.toml sets site-url");
        let path = site.split('"').nth(1).expect("a quoted path");
        assert!(BOOK_URL.ends_with(path), "{BOOK_URL} vs site-url {path}");
        let repository = toml
            .lines()
            .find_map(|line| line.strip_prefix("git-repository-url = "))
            .expect("book.toml names the repository");
        // https://github.com/OWNER/REPO is served at https://OWNER.github.io/REPO/
        let owner_repo = repository
            .trim_matches('"')
            .trim_start_matches("https://github.com/");
        let (owner, repo) = owner_repo.split_once('/').expect("OWNER/REPO");
        assert_eq!(BOOK_URL, format!("https://{owner}.github.io/{repo}/"));
    }

    #[test]
    fn yaml_quoting_escapes_quotes_and_backslashes() {
        assert_eq!(yaml_quoted(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn label_templates_fill_in_and_leave_missing_labels_empty() {
        assert_eq!(
            fill_labels("{{ $labels.a }}/{{ $labels.b }}.", &[("a", "x")]),
            "x/."
        );
    }
}
