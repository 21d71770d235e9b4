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

use std::fmt::Write as _;

use crate::prometheus::{Metric, Unit};
use crate::release::Family;

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

/// A string as a YAML double-quoted scalar.
fn yaml_quoted(text: &str) -> String {
    assert!(
        !text.chars().any(char::is_control),
        "annotations are one line: {text:?}"
    );
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The catalog as a Prometheus rules file: one group, [`ALERT_GROUP`], an
/// alerting rule per alert in catalog order, with a header saying where it
/// comes from. `promtool check rules` accepts it (see `tests/it/alerts.rs`).
///
/// ```
/// use nixl_kv_metrics::prometheus::alert_rules;
///
/// let rules = alert_rules();
/// assert!(rules.contains("groups:\n  - name: nixl-kv-transfer\n    rules:\n"));
/// assert!(rules.contains(
///     "      - alert: NixlKvNotificationsAfterExpiry\n        expr: |-\n          \
///      increase(vllm:nixl_num_notifications_after_expiry_total[5m]) > 0\n        for: 1m\n"
/// ));
/// ```
pub fn alert_rules() -> String {
    let mut out = format!(
        "# Alerts on vLLM's NIXL KV-transfer metrics (vllm:nixl_*). Generated by\n\
         # nixl_kv_metrics::prometheus::alert_rules(); do not edit by hand.\n\
         # Each alert's runbook_url is its entry in {BOOK_URL}{TROUBLESHOOTING_PAGE}.\n\
         groups:\n  - name: {ALERT_GROUP}\n    rules:\n"
    );
    for alert in ALERTS {
        let _ = writeln!(out, "      - alert: {}\n        expr: |-", alert.name);
        for line in alert.promql().lines() {
            let _ = writeln!(out, "          {line}");
        }
        let _ = writeln!(
            out,
            "        for: {}\n        labels:\n          severity: {}\n        annotations:",
            alert.for_text(),
            alert.severity.label()
        );
        for (name, text) in [
            ("summary", alert.summary),
            ("description", alert.description),
        ] {
            let _ = writeln!(out, "          {name}: {}", yaml_quoted(text));
        }
        let _ = writeln!(out, "          runbook_url: {}", alert.runbook_url());
    }
    out
}

/// The share of NIXL transfer attempts that failed over 5 minutes, per
/// model and engine index: `1 - successes / (successes + failures)`, above
/// 1 % for 5 minutes. A healthy deployment has no failed transfers at all
/// (every failure path is an error: network, handshake, NIXL state,
/// telemetry), so 1 % leaves room only for an isolated failure among
/// hundreds; since vLLM 0.17 a failed read fails its request by default
/// (`kv_load_failure_policy=fail`), hence critical.
///
/// Failures are `vllm:nixl_num_failed_transfers_total`, whose meaning
/// changed in 0.31 ([`Metric::of`]): up to 0.30 it counts failed transfers
/// only; from 0.31 also failed handshakes and failed notifications, which
/// are exported apart as well (`vllm:nixl_num_failed_notifications_total`)
/// but are not transfers (a notification tells prefill that it may free a
/// request's blocks, read or not needed, or in push mode registers decode's
/// blocks). So where failed notifications are inside the counter they are
/// subtracted. PromQL cannot see the release, but it can see a series:
/// `vllm:nixl_num_notifications_after_expiry_total` exists from 0.32 on,
/// which is every release that groups failures except 0.31.x. The `and`
/// keeps the difference only for a series that has that companion; `or`
/// takes the counter as it is for every other series. On
/// 0.31.x, which groups but has no companion, failed notifications stay in
/// the ratio: it errs high there, never low. Failed handshakes cannot be
/// subtracted (no series of their own) and count as failed attempts, once
/// per handshake from 0.31 (0.31.0 `nixl/base_worker.py` l.1346).
///
/// Successes are `vllm:nixl_xfer_time_seconds_count`, one per transfer
/// polled to DONE. Both are summed per `model_name` and `engine` *before*
/// dividing: in pull mode every count moves on decode, in push mode the
/// transfers move on prefill but decode records its handshake and
/// notification failures, and a ratio over decode's series alone would be
/// 100 % at its first failure.
///
/// It cannot see failures vLLM does not export: up to 0.14 a worker's
/// failures are shipped only with a success (with NIXL telemetry disabled on
/// 0.12 - 0.14 every read fails and the counter stays flat), and 0.11.0 has
/// no NIXL series at all.
pub const TRANSFER_FAILURE_RATIO: Alert = Alert {
    name: "NixlKvTransferFailureRatioHigh",
    title: "Failed share of KV transfer attempts",
    expr: r#"
        1 - (
            sum by (model_name, engine) (increase(vllm:nixl_xfer_time_seconds_count[5m]))
          /
            sum by (model_name, engine) (
                increase(vllm:nixl_xfer_time_seconds_count[5m])
              + (
                    (
                        increase(vllm:nixl_num_failed_transfers_total[5m])
                      - increase(vllm:nixl_num_failed_notifications_total[5m])
                    )
                    and vllm:nixl_num_notifications_after_expiry_total
                  or
                    increase(vllm:nixl_num_failed_transfers_total[5m])
                )
            )
        )
    "#,
    threshold: Some(0.01),
    for_seconds: 300,
    severity: Severity::Critical,
    summary: "NIXL KV transfers of {{ $labels.model_name }} engine {{ $labels.engine }} are failing",
    description: "More than 1% of the NIXL KV transfer attempts of this model and engine index \
                  failed over the last 5 minutes (every instance pooled). Failed attempts are \
                  vllm:nixl_num_failed_transfers_total: failed transfers, and from vLLM 0.31 \
                  failed handshakes and notifications too; failed notifications are subtracted \
                  where vllm:nixl_num_notifications_after_expiry_total shows vLLM 0.32 or newer, \
                  and stay in on 0.31.x, so that after an upgrade to 0.31 the ratio can jump \
                  (troubleshooting entry failures-jump-0-31). From vLLM 0.17 a failed read \
                  fails its request unless kv_load_failure_policy is recompute. Failures with \
                  no successful transfer at all: NIXL telemetry is probably disabled.",
    cannot_see: "Failures vLLM does not export: up to 0.14 a worker's failures are shipped \
                 only together with a success, so with NIXL telemetry disabled on 0.12 to 0.14 \
                 the counter stays flat while every read fails. Failed handshakes cannot be \
                 told apart from failed transfers; on 0.31.x failed notifications cannot either.",
    anchor: "zero-line-failures",
    since: Family::F2,
    panel: Panel::Value {
        legend: "{{model_name}} engine {{engine}}",
    },
    unit: Unit::Ratio,
};

/// Expired KV requests that keep coming: the counter rose in every 5-minute
/// window for 5 minutes. One expiry keeps `increase(...[5m])` above zero for
/// at most 5 minutes less one scrape interval, so an isolated expiry (a
/// client that gave up before decode got the request) never fires; a steady
/// stream does.
///
/// The counter moves on the prefill instance, which holds the lease (vLLM
/// 0.15 on), once per prefill worker: a request at prefill TP 4 counts 4.
/// Each series is judged alone, keeping its target labels, so the alert
/// names the prefill server. From 0.22 decode renews the lease while the
/// request waits, so expiries mean decode stopped renewing (crashed, hung,
/// unreachable, or never got the request); before 0.22 a decode queue
/// longer than the fixed timeout is enough.
///
/// It cannot see what happened to the requests: in pull mode decode is not
/// told, its late read usually completes (see
/// [`NOTIFICATIONS_AFTER_EXPIRY_SEEN`]).
pub const KV_EXPIRED_RISING: Alert = Alert {
    name: "NixlKvExpiredRequestsRising",
    title: "Expired KV requests (increase over 5 minutes)",
    expr: "increase(vllm:nixl_num_kv_expired_reqs_total[5m])",
    threshold: Some(0.0),
    for_seconds: 300,
    severity: Severity::Warning,
    summary: "KV of {{ $labels.model_name }} keeps expiring on {{ $labels.instance }} \
              engine {{ $labels.engine }}",
    description: "vllm:nixl_num_kv_expired_reqs_total rose in every 5-minute window for 5 \
                  minutes (vLLM 0.15 or newer): this instance, the prefill side, released \
                  requests' KV blocks before the decode side read them. From vLLM 0.22 decode \
                  renews the KV lease while a request waits, so expiries mean decode stopped \
                  renewing it (crashed, hung, unreachable side channel) or never got the \
                  request; before 0.22, decode queueing longer than \
                  VLLM_NIXL_ABORT_REQUEST_TIMEOUT. Counted once per prefill worker: a \
                  request at prefill TP 4 counts 4.",
    cannot_see: "Whether the requests failed: in pull mode decode is not told, and a late \
                 read usually completes with KV blocks that may have been reused (the next \
                 alert). A single expiry does not fire.",
    anchor: "kv-expired",
    since: Family::F4,
    panel: Panel::Value {
        legend: "{{model_name}} engine {{engine}} {{instance}}",
    },
    unit: Unit::Number,
};

/// A transfer completed for a request whose KV had already expired (vLLM
/// 0.32 on): the blocks it read may have been handed to another request, so
/// a request may have been served with the wrong KV, silently. One such
/// notification is enough; the 1-minute `for` only keeps a scrape glitch
/// from paging, and `increase(...[5m])` stays above zero long enough for a
/// single one to fire.
///
/// The counter moves on prefill in pull mode and on decode in push mode,
/// one per remote rank. Each series is judged alone, keeping its target
/// labels.
///
/// It cannot see releases before 0.32 (no counter; only vLLM's ERROR log
/// line "Potentially invalid KV blocks"), nor which requests were affected.
pub const NOTIFICATIONS_AFTER_EXPIRY_SEEN: Alert = Alert {
    name: "NixlKvNotificationsAfterExpiry",
    title: "Notifications after expiry (increase over 5 minutes)",
    expr: "increase(vllm:nixl_num_notifications_after_expiry_total[5m])",
    threshold: Some(0.0),
    for_seconds: 60,
    severity: Severity::Critical,
    summary: "{{ $labels.instance }} got KV transfer notifications for expired requests of \
              {{ $labels.model_name }} engine {{ $labels.engine }}",
    description: "vllm:nixl_num_notifications_after_expiry_total rose (vLLM 0.32 or newer): \
                  a KV transfer completed for a request whose KV lease had already expired, so \
                  the blocks it read may have been reused by another request and the request \
                  may have been served with wrong KV. Counted on prefill in pull mode, on \
                  decode in push mode, once per remote rank. Read it with the expired-request \
                  count.",
    cannot_see: "Releases before 0.32, which have no such counter (only the ERROR log line \
                 about potentially invalid KV blocks), and which requests were affected.",
    anchor: "notifications-after-expiry",
    since: Family::F6,
    panel: Panel::Value {
        legend: "{{model_name}} engine {{engine}} {{instance}}",
    },
    unit: Unit::Number,
};

/// Requests wait on an instance that issues transfers, and none completed:
/// `vllm:num_requests_waiting > 0` (the scheduler's gauge, which includes
/// the requests waiting for their KV: 0.20.0 `v1/core/sched/scheduler.py`
/// l.1965-1966, `v1/metrics/loggers.py` l.1074), no increase of
/// `vllm:nixl_xfer_time_seconds_count` over 5 minutes, for 5 more minutes.
///
/// Only the instance that issues the transfers records them (decode in pull
/// mode, prefill in push mode); the other one's transfer count stays 0
/// while its requests wait. `vllm:nixl_xfer_time_seconds_count > 0` keeps
/// the instances that did complete a transfer since they started, so the
/// alert never fires on the side that does not record. All three terms are
/// series of the same server and engine, with the same labels, so `and`
/// matches them one to one and the alert names the server.
///
/// It cannot see a recording instance that stalls before its first transfer
/// after a restart, nor tell requests waiting for KV from requests waiting
/// for capacity (a decode busy with long generations for 10 minutes also
/// starts no read); from 0.32 `vllm:num_requests_kv_fetch_by_stage` on a KV
/// consumer tells the two apart.
pub const TRANSFERS_STALLED: Alert = Alert {
    name: "NixlKvTransfersStalled",
    title: "Transfers completed and requests waiting",
    expr: r#"
        increase(vllm:nixl_xfer_time_seconds_count[5m]) == 0
        and vllm:nixl_xfer_time_seconds_count > 0
        and vllm:num_requests_waiting > 0
    "#,
    threshold: None,
    for_seconds: 300,
    severity: Severity::Critical,
    summary: "No NIXL KV transfer completed on {{ $labels.instance }} for {{ $labels.model_name }} \
              engine {{ $labels.engine }} while requests wait",
    description: "For 10 minutes this instance completed no NIXL KV transfer \
                  (vllm:nixl_xfer_time_seconds_count flat) while requests were waiting \
                  (vllm:num_requests_waiting above 0), although it completed transfers before: \
                  it is the instance that issues them (decode in pull mode, prefill in push \
                  mode) and they stopped. Look for hung transfers, a lost peer, or a scheduler \
                  that no longer starts KV loads.",
    cannot_see: "A recording instance that stalls before its first transfer after a restart, \
                 and requests waiting for capacity rather than for KV (a decode busy with long \
                 generations also starts no read).",
    anchor: "transfers-stalled",
    since: Family::F2,
    panel: Panel::Inputs(&[
        PanelQuery {
            promql: "increase(vllm:nixl_xfer_time_seconds_count[5m])",
            legend: "transfers in 5m: {{model_name}} engine {{engine}} {{instance}}",
        },
        PanelQuery {
            promql: "vllm:num_requests_waiting",
            legend: "waiting: {{model_name}} engine {{engine}} {{instance}}",
        },
    ]),
    unit: Unit::Number,
};

/// No `vllm:nixl_*` series anywhere in this Prometheus for 10 minutes.
/// Every release that exports NIXL metrics (0.11.1 on) registers the four
/// histograms together, per engine, at start, so
/// `vllm:nixl_xfer_time_seconds_count` stands for all of them. `absent`
/// has no labels to keep: one alert for the whole Prometheus.
///
/// It sees what [`NIXL_SERIES_MISSING`] cannot: servers started with
/// `--disable-log-stats` (no `vllm:` series at all) and targets that are not
/// scraped. It cannot say which server, and it fires in a Prometheus that
/// was never meant to see NIXL: load it only where NIXL runs.
pub const NIXL_SERIES_ABSENT: Alert = Alert {
    name: "NixlKvSeriesAbsent",
    title: "Engines exporting NIXL series",
    expr: "absent(vllm:nixl_xfer_time_seconds_count)",
    threshold: None,
    for_seconds: 600,
    severity: Severity::Warning,
    summary: "No vllm:nixl_* series in this Prometheus",
    description: "For 10 minutes no vllm:nixl_xfer_time_seconds_count series existed: no \
                  scraped vLLM exports NIXL metrics. vLLM started with --disable-log-stats \
                  exports no vllm: series at all; vLLM 0.11.0 and servers without the NIXL \
                  connector export no NIXL series; or the vLLM targets are not scraped (check \
                  up).",
    cannot_see: "Which server lost its series (see the next alert), and whether NIXL was ever \
                 meant to run where these rules are loaded.",
    anchor: "nixl-series-absent",
    since: Family::F2,
    panel: Panel::Inputs(&[PanelQuery {
        promql: "count by (model_name) (vllm:nixl_xfer_time_seconds_count)",
        legend: "{{model_name}}",
    }]),
    unit: Unit::Number,
};

/// A vLLM engine that exports the scheduler's gauges but no NIXL series:
/// `vllm:num_requests_running` (every release, same labels) `unless` a
/// `vllm:nixl_xfer_time_seconds_count` series with the same labels, that is
/// of the same server and engine. The alert keeps the target's labels.
///
/// It fires for vLLM 0.11.0 (no NIXL metrics) and for servers that do not
/// use the NIXL connector, on purpose or not: exclude those by `job` where
/// a Prometheus scrapes both. It cannot see servers that export no `vllm:`
/// series at all ([`NIXL_SERIES_ABSENT`] can).
pub const NIXL_SERIES_MISSING: Alert = Alert {
    name: "NixlKvSeriesMissing",
    title: "Engines without NIXL series",
    expr: "vllm:num_requests_running unless vllm:nixl_xfer_time_seconds_count",
    threshold: None,
    for_seconds: 300,
    severity: Severity::Warning,
    summary: "{{ $labels.instance }} serves {{ $labels.model_name }} engine \
              {{ $labels.engine }} without vllm:nixl_* series",
    description: "This vLLM engine exports vllm:num_requests_running but no \
                  vllm:nixl_xfer_time_seconds_count: it runs without the NIXL KV connector \
                  (no --kv-transfer-config, or another connector), or on vLLM 0.11.0, which \
                  exports no NIXL metrics. If this Prometheus also scrapes vLLM servers that do \
                  not use NIXL on purpose, exclude their job from this rule.",
    cannot_see: "Servers that export no vllm: series at all (--disable-log-stats, not \
                 scraped): the previous alert sees those.",
    anchor: "nixl-series-absent",
    since: Family::F2,
    panel: Panel::Inputs(&[
        PanelQuery {
            promql: "count by (model_name) (vllm:num_requests_running)",
            legend: "{{model_name}}: engines",
        },
        PanelQuery {
            promql: "count by (model_name) (vllm:num_requests_running unless \
                     vllm:nixl_xfer_time_seconds_count)",
            legend: "{{model_name}}: engines without NIXL series",
        },
    ]),
    unit: Unit::Number,
};

/// Every alert, in rules-file and dashboard order.
pub const ALERTS: &[Alert] = &[
    TRANSFER_FAILURE_RATIO,
    KV_EXPIRED_RISING,
    NOTIFICATIONS_AFTER_EXPIRY_SEEN,
    TRANSFERS_STALLED,
    NIXL_SERIES_ABSENT,
    NIXL_SERIES_MISSING,
];

#[cfg(test)]
mod tests {
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
