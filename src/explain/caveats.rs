//! The caveats that apply to a line: which instance logged it, what its
//! counts and P90s are not, and what its zeros, `inf`, `nan`, failures and
//! expiries mean.

use super::prose::Explainer;
use super::{Note, Topic};
use crate::field::Field;
use crate::logs::{Engine, Level, Shape};
use crate::printer::numbers::seconds;
use crate::prometheus::{FAILED_TRANSFERS, KV_EXPIRED_REQS};
use crate::topology::Mode;

impl Explainer<'_> {
    /// The caveats that apply to the line, in the order they are printed.
    pub(super) fn notes(&self) -> Vec<Note> {
        let mut notes = Vec::new();
        let mut add = |topic: Topic, text: String| notes.push(Note { topic, text });
        let record = self.record;
        let n = self.n;
        let verb = self.verb;
        add(Topic::Instance, self.instance_note());
        if self.context.tp_sizes().is_none() {
            add(
                Topic::TpUnknown,
                "TP unknown: the counts are rank-level transfers, and turning them into \
                 requests and request sizes needs the TP sizes of both instances."
                    .to_string(),
            );
        }
        if let Some(k) = self.per_request.filter(|k| !n.is_multiple_of(*k)) {
            add(
                Topic::NotWhole,
                format!(
                    "{} is not a multiple of {k} per request. A request's {verb}s can complete \
                     on either side of a log call (a slow rank's lands in the next line); a \
                     failed {verb} is counted as a failure instead; or the TP sizes differ \
                     from those assumed.",
                    self.transfers(n)
                ),
            );
        }
        if record.shape == Shape::Counter {
            add(
                Topic::CounterOnly,
                "vLLM 0.11.0 counts successful transfers and prints nothing else: no \
                 telemetry, no sizes, no failures."
                    .to_string(),
            );
        }
        if n > 0 && self.reading.is_some() {
            add(
                Topic::PooledP90,
                format!(
                    "The P90s are over rank-level samples pooled from {} and every step of \
                     the interval. They are not per-request latencies, and the P90s of \
                     several lines cannot be combined into one (summarize gives the bound \
                     they allow).",
                    self.ranks()
                ),
            );
            add(
                Topic::Interval,
                format!(
                    "The per-interval figures assume the line's {verb}s ran within one {} s \
                     interval. The first line after a start or an idle spell covers less \
                     time, so its in-flight and MiB/s figures are then lower bounds; a {verb} \
                     is counted whole in the interval it completes in.",
                    seconds(self.context.interval())
                ),
            );
        }
        // The Prometheus counters of the failures and expiries the line counts.
        let counters = format!("{FAILED_TRANSFERS}_total, {KV_EXPIRED_REQS}_total");
        if record.is_zero() {
            let which = if record.shape == Shape::Eight {
                format!(
                    ". vLLM 0.15 – 0.30 print no counts, so see which in Prometheus: {counters}."
                )
            } else {
                "; the counts at the end of the line say which.".to_string()
            };
            add(
                Topic::ZeroLine,
                format!(
                    "An all-zero line is not an idle engine (an idle interval prints no line): \
                     the interval recorded failures or expiries and no successful \
                     transfer{which}"
                ),
            );
        }
        if let Some(reading) = &self.reading
            && n > 0
        {
            let t = reading.throughput_mib_s.value;
            if t.is_nan() {
                add(
                    Topic::NotANumber,
                    "Throughput nan: 0 MiB over 0 s. NIXL reported zero bytes and zero \
                     durations, which points at telemetry that is not really captured."
                        .to_string(),
                );
            } else if t.is_infinite() {
                add(
                    Topic::Infinite,
                    "Throughput inf: every transfer reported 0 µs (NIXL's durations are whole \
                     microseconds, and vLLM does not guard the division). Treat the timing \
                     fields as missing."
                        .to_string(),
                );
            }
        }
        if record.shape == Shape::Eight && n > 0 {
            add(
                Topic::NoCounts,
                format!(
                    "vLLM before 0.31 prints no failure or expiry counts: find them in \
                     Prometheus ({counters})."
                ),
            );
        }
        let count = |field| self.count(field);
        if count(Field::NumFailedTransfers) > 0 {
            add(
                Topic::Failures,
                format!(
                    "Failures: {} counted, per handle, by the instance that issued them. \
                     A failed {verb} invalidates the request's blocks; check the log for \
                     \"transfer_failed\" lines, and whether NIXL telemetry is available \
                     (without it, completed transfers have been counted as failures).",
                    count(Field::NumFailedTransfers)
                ),
            );
        }
        if count(Field::NumKvExpiredReqs) > 0 {
            let requests = self.context.expiry_records_per_request();
            add(
                Topic::Expiry,
                format!(
                    "Expiry: prefill released KV that decode had not read in time (its lease \
                     ran out). Each prefill worker counts it, so divide by {} for requests; \
                     raising the lease (kv_lease_duration) or fixing a slow or absent decode \
                     are the remedies.",
                    requests.map_or("prefill TP × PP".to_string(), |w| w.to_string())
                ),
            );
        }
        if count(Field::NumNotifsAfterExpiry) > 0 {
            add(
                Topic::NotifsAfterExpiry,
                "Notifications after expiry: decode did read (or tried to) after prefill had \
                 released the blocks; those requests' KV may have been overwritten."
                    .to_string(),
            );
        }
        if record.level == Some(Level::Debug) {
            add(
                Topic::Debug,
                "Logged at DEBUG: vLLM does that when the engine had no prompt or generation \
                 throughput in this interval and the one before; at the default level such \
                 lines are missing from the log."
                    .to_string(),
            );
        }
        if let Engine::Aggregated(engines) = record.engine {
            add(
                Topic::Aggregated,
                format!(
                    "This line pools {engines} data-parallel engines \
                     (--aggregate-engine-logging): its counts are theirs together, and its \
                     in-flight figures cover all of them."
                ),
            );
        }
        if let Some(connector) = &record.connector {
            add(
                Topic::MultiConnector,
                format!(
                    "Read from the {connector} entry of a MultiConnector line; the other \
                     connectors' entries are not explained."
                ),
            );
        }
        notes
    }

    /// Which instance's log the line comes from.
    fn instance_note(&self) -> String {
        let count = |field| self.count(field);
        match self.context.mode() {
            Mode::Pull if self.n > 0 => "Pull mode: decode issues the READs and records them, \
                                         so this line is from the decode instance's log. \
                                         Prefill records no transfers; it counts expired \
                                         requests, in lines of its own."
                .to_string(),
            Mode::Pull => {
                let (failed, expired) = (
                    count(Field::NumFailedTransfers),
                    count(Field::NumKvExpiredReqs) + count(Field::NumNotifsAfterExpiry),
                );
                let which = match (failed > 0, expired > 0) {
                    (false, true) => {
                        "most likely the prefill instance's log (prefill counts \
                                      expiries and records no transfers)"
                    }
                    (true, false) => {
                        "most likely the decode instance's log (decode issues the \
                                      READs whose failures are counted)"
                    }
                    _ => {
                        "from either instance: decode counts failed READs, prefill counts \
                          expiries"
                    }
                };
                format!("Pull mode: with no transfer, this line is {which}.")
            }
            Mode::Push => "Push mode: prefill issues the WRITEs and records them, and also \
                           counts expiries, so this line is from the prefill instance's log; \
                           decode records no transfers."
                .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::explain::ISSUE_LINE;
    use crate::explain::{Context, Topic};
    use crate::logs::parse_line;

    #[test]
    fn infinite_and_nan_throughput() {
        let inf = ISSUE_LINE.replace("1629.549", "inf");
        let explanation = Context::unknown().explain(&parse_line(inf).unwrap().unwrap());
        assert!(explanation.has(Topic::Infinite) && !explanation.has(Topic::NotANumber));
        let nan = ISSUE_LINE.replace("1629.549", "nan");
        let explanation = Context::unknown().explain(&parse_line(nan).unwrap().unwrap());
        assert!(explanation.has(Topic::NotANumber));
        let text = crate::printer::explanation::Text(&explanation).to_string();
        assert!(!text.contains("NaN"));
    }
}
