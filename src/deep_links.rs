//! The book's stable deep links: every section that vLLM's docs, the alert
//! rules and operators' runbooks may link to.
//!
//! [`DEEP_LINKS`] is the one list of them. `tests/it/anchors.rs` checks that
//! each id is still where the book's sources put it (a heading's `{ #id }`,
//! an `<a id>` kept for an older id, or a section the book's preprocessor
//! generates), so that renaming a section fails `cargo test`; the page for
//! vLLM maintainers renders its table of URLs from the list
//! (`{{#nixl deep-links}}`).
//!
//! ```
//! use nixl_kv_metrics::deep_links::{DEEP_LINKS, DeepLink, Target};
//!
//! let grafana = DeepLink::find(Target::QuickAnswer, "grafana-p90").unwrap();
//! assert_eq!(
//!     grafana.url(),
//!     "https://nixl-kv-metrics.github.io/nixl-kv-metrics/quick-answers.html#grafana-p90"
//! );
//! assert_eq!(grafana.alias, Some("q7")); // the id it had first, still served
//! assert_eq!(DEEP_LINKS.iter().filter(|l| l.target == Target::Field).count(), 11);
//! ```

use crate::prometheus::BOOK_URL;

/// What a deep link points at, and the chapter that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A field of the log line, in `fields.md`.
    Field,
    /// A `vllm:nixl_*` metric, in `prometheus.md`.
    Metric,
    /// A question of `quick-answers.md`.
    QuickAnswer,
    /// An entry of `troubleshooting.md`.
    Troubleshooting,
    /// An alert's section, generated into `prometheus.md` by
    /// `{{#nixl alert-rules}}`.
    Alert,
}

impl Target {
    /// Every target, in the order the book lists them.
    pub const ALL: [Target; 5] = [
        Target::Field,
        Target::Metric,
        Target::QuickAnswer,
        Target::Troubleshooting,
        Target::Alert,
    ];

    /// The chapter, relative to the book's `src` directory.
    ///
    /// ```
    /// use nixl_kv_metrics::deep_links::Target;
    /// assert_eq!(Target::Alert.chapter(), "prometheus.md");
    /// ```
    pub const fn chapter(self) -> &'static str {
        match self {
            Target::Field => "fields.md",
            Target::Metric | Target::Alert => "prometheus.md",
            Target::QuickAnswer => "quick-answers.md",
            Target::Troubleshooting => "troubleshooting.md",
        }
    }

    /// What the links of this target are, in a heading: `Fields of the line`.
    pub const fn plural(self) -> &'static str {
        match self {
            Target::Field => "Fields of the line",
            Target::Metric => "Prometheus metrics",
            Target::QuickAnswer => "Quick answers",
            Target::Troubleshooting => "Troubleshooting entries",
            Target::Alert => "Alerts",
        }
    }
}

/// One pinned section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeepLink {
    /// What it points at, and so its chapter.
    pub target: Target,
    /// The section's id: the URL's fragment.
    pub id: &'static str,
    /// The section's heading as the source writes it (for a field or a
    /// metric its name, for an alert the alert's name).
    pub title: &'static str,
    /// An older id that still leads to the section (`q7`), if any.
    pub alias: Option<&'static str>,
}

impl DeepLink {
    const fn new(target: Target, id: &'static str, title: &'static str) -> DeepLink {
        DeepLink {
            target,
            id,
            title,
            alias: None,
        }
    }

    const fn aliased(
        target: Target,
        id: &'static str,
        alias: &'static str,
        title: &'static str,
    ) -> DeepLink {
        DeepLink {
            alias: Some(alias),
            ..DeepLink::new(target, id, title)
        }
    }

    /// The pinned link of `target` with `id`, if there is one.
    pub fn find(target: Target, id: &str) -> Option<&'static DeepLink> {
        DEEP_LINKS
            .iter()
            .find(|link| link.target == target && link.id == id)
    }

    /// The chapter's page in the published book: `fields.html`.
    pub fn page(&self) -> String {
        let chapter = self.target.chapter();
        format!("{}.html", chapter.strip_suffix(".md").unwrap_or(chapter))
    }

    /// The absolute URL in the published book ([`BOOK_URL`]).
    pub fn url(&self) -> String {
        format!("{BOOK_URL}{}#{}", self.page(), self.id)
    }
}

use Target::{Alert, Field, Metric, QuickAnswer as Q, Troubleshooting as T};

/// Every pinned section, by target, in the order of its chapter.
pub const DEEP_LINKS: &[DeepLink] = &[
    DeepLink::new(
        Field,
        "num-successful-transfers",
        "Num successful transfers",
    ),
    DeepLink::new(Field, "avg-xfer-time-ms", "Avg xfer time (ms)"),
    DeepLink::new(Field, "p90-xfer-time-ms", "P90 xfer time (ms)"),
    DeepLink::new(Field, "avg-post-time-ms", "Avg post time (ms)"),
    DeepLink::new(Field, "p90-post-time-ms", "P90 post time (ms)"),
    DeepLink::new(Field, "avg-mb-per-transfer", "Avg MB per transfer"),
    DeepLink::new(Field, "throughput-mbs", "Throughput (MB/s)"),
    DeepLink::new(
        Field,
        "avg-number-of-descriptors",
        "Avg number of descriptors",
    ),
    DeepLink::new(Field, "num-failed-transfers", "Num failed transfers"),
    DeepLink::new(Field, "num-kv-expired-reqs", "Num KV expired reqs"),
    DeepLink::new(Field, "num-notifs-after-expiry", "Num notifs after expiry"),
    DeepLink::new(
        Metric,
        "vllm-nixl-xfer-time-seconds",
        "vllm:nixl_xfer_time_seconds",
    ),
    DeepLink::new(
        Metric,
        "vllm-nixl-post-time-seconds",
        "vllm:nixl_post_time_seconds",
    ),
    DeepLink::new(
        Metric,
        "vllm-nixl-bytes-transferred",
        "vllm:nixl_bytes_transferred",
    ),
    DeepLink::new(
        Metric,
        "vllm-nixl-num-descriptors",
        "vllm:nixl_num_descriptors",
    ),
    DeepLink::new(
        Metric,
        "vllm-nixl-num-failed-transfers",
        "vllm:nixl_num_failed_transfers",
    ),
    DeepLink::new(
        Metric,
        "vllm-nixl-num-failed-notifications",
        "vllm:nixl_num_failed_notifications",
    ),
    DeepLink::new(
        Metric,
        "vllm-nixl-num-kv-expired-reqs",
        "vllm:nixl_num_kv_expired_reqs",
    ),
    DeepLink::new(
        Metric,
        "vllm-nixl-num-notifications-after-expiry",
        "vllm:nixl_num_notifications_after_expiry",
    ),
    DeepLink::aliased(
        Q,
        "four-transfers-one-request",
        "q1",
        "One request at TP 4 logs four transfers. Were there four requests?",
    ),
    DeepLink::aliased(
        Q,
        "transfers-per-request",
        "q2",
        "How many transfers should one request produce?",
    ),
    DeepLink::new(
        Q,
        "count-not-multiple-of-tp",
        "The count is not a multiple of my TP size. Is a rank missing?",
    ),
    DeepLink::aliased(
        Q,
        "avg-mb-per-transfer",
        "q3",
        "Is `Avg MB per transfer` the size of a request's KV cache?",
    ),
    DeepLink::new(
        Q,
        "descriptors-per-layer",
        "`Avg number of descriptors` equals my model's layer count. Is that right?",
    ),
    DeepLink::aliased(
        Q,
        "throughput-not-bandwidth",
        "q4",
        "Is `Throughput (MB/s)` my NIC's bandwidth?",
    ),
    DeepLink::aliased(
        Q,
        "multiply-by-tp",
        "q5",
        "Can I multiply Throughput by TP to get the system's throughput?",
    ),
    DeepLink::new(
        Q,
        "throughput-healthy",
        "Is my Throughput healthy for my NIC?",
    ),
    DeepLink::aliased(
        Q,
        "throughput-implausible",
        "q18",
        "My Throughput looks impossibly low, or high",
    ),
    DeepLink::aliased(
        Q,
        "p90-per-transfer",
        "q6",
        "Is `P90 xfer time` the 90th percentile of requests?",
    ),
    DeepLink::aliased(
        Q,
        "grafana-p90",
        "q7",
        "Why doesn't Grafana's P90 match the line's?",
    ),
    DeepLink::aliased(
        Q,
        "post-vs-xfer-time",
        "q8",
        "What is post time, and how does it differ from xfer time?",
    ),
    DeepLink::new(Q, "kv-share-of-ttft", "How much of TTFT is KV transfer?"),
    DeepLink::aliased(
        Q,
        "prefill-or-decode",
        "q9",
        "Which side shows these metrics, prefill or decode?",
    ),
    DeepLink::aliased(Q, "per-rank", "q10", "Can I see per-rank numbers?"),
    DeepLink::aliased(
        Q,
        "per-request",
        "q11",
        "Can I tie a transfer to a request or a trace?",
    ),
    DeepLink::aliased(Q, "units", "q16", "Are the units MB or MiB, ms or s?"),
    DeepLink::aliased(
        Q,
        "data-parallel",
        "q17",
        "Does each data-parallel engine print its own line?",
    ),
    DeepLink::aliased(
        Q,
        "combining-lines",
        "q12",
        "How do I combine 10-second lines into a summary of a run?",
    ),
    DeepLink::aliased(
        Q,
        "promql",
        "q13",
        "What are the PromQL equivalents of the fields?",
    ),
    DeepLink::new(Q, "alerting", "What should I alert on?"),
    DeepLink::aliased(Q, "no-kv-line", "q15", "Why is there no KV line at all?"),
    DeepLink::aliased(
        Q,
        "all-zero-line",
        "q14",
        "The line says `Num successful transfers=0` and all zeros. Is the engine idle?",
    ),
    DeepLink::new(
        Q,
        "failures-while-requests-complete",
        "Failures climb while requests complete",
    ),
    DeepLink::aliased(
        Q,
        "expired-and-notifications",
        "q19",
        "What do expired requests and notifications after expiry mean?",
    ),
    DeepLink::new(T, "no-kv-line", "No KV line at all"),
    DeepLink::new(T, "line-only-at-debug", "The line appears only at DEBUG"),
    DeepLink::new(
        T,
        "zero-line-failures",
        "An all-zero line with failures climbing",
    ),
    DeepLink::new(
        T,
        "failures-jump-0-31",
        "Failures jump after an upgrade to 0.31",
    ),
    DeepLink::new(
        T,
        "descriptors-equal-layers",
        "Descriptors equal the number of layers",
    ),
    DeepLink::new(T, "throughput-below-nic", "Throughput far below the NIC"),
    DeepLink::new(
        T,
        "grafana-p90-differs",
        "Grafana's P90 does not match the line",
    ),
    DeepLink::new(T, "kv-expired", "KV expired requests"),
    DeepLink::new(
        T,
        "notifications-after-expiry",
        "Notifications after expiry",
    ),
    DeepLink::new(T, "straggler", "A straggling rank or slow link"),
    DeepLink::new(
        T,
        "transfers-stalled",
        "Transfers stalled while requests arrive",
    ),
    DeepLink::new(T, "nixl-series-absent", "The vllm:nixl_* series are absent"),
    DeepLink::new(
        Alert,
        "alert-nixl-kv-transfer-failure-ratio-high",
        "NixlKvTransferFailureRatioHigh",
    ),
    DeepLink::new(
        Alert,
        "alert-nixl-kv-expired-requests-rising",
        "NixlKvExpiredRequestsRising",
    ),
    DeepLink::new(
        Alert,
        "alert-nixl-kv-notifications-after-expiry",
        "NixlKvNotificationsAfterExpiry",
    ),
    DeepLink::new(
        Alert,
        "alert-nixl-kv-transfers-stalled",
        "NixlKvTransfersStalled",
    ),
    DeepLink::new(Alert, "alert-nixl-kv-series-absent", "NixlKvSeriesAbsent"),
    DeepLink::new(Alert, "alert-nixl-kv-series-missing", "NixlKvSeriesMissing"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_aliases_are_unique_per_chapter() {
        let mut seen = HashSet::new();
        for link in DEEP_LINKS {
            for id in std::iter::once(link.id).chain(link.alias) {
                assert!(
                    seen.insert((link.target.chapter(), id)),
                    "{}#{id} pinned twice",
                    link.target.chapter()
                );
            }
        }
    }

    #[test]
    fn the_list_is_grouped_by_target_in_book_order() {
        let order: Vec<Target> = DEEP_LINKS.iter().map(|l| l.target).collect();
        let mut grouped = order.clone();
        grouped.dedup();
        assert_eq!(grouped, Target::ALL);
    }
}
