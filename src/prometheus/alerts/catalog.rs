//! The alerts: each a PromQL rule, why it is written so, and the panel and
//! troubleshooting entry that go with it.

use super::{Alert, Panel, PanelQuery, Severity};
use crate::prometheus::Unit;
use crate::release::Family;

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
