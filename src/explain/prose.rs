//! The prose generator: what each field of a line means for a deployment,
//! the numbers that follow from it, and the caveats that apply, in words.
//!
//! Numbers inside sentences are written with [`printer`](crate::printer)'s
//! helpers; the layout of the whole (wrapping, headings) is
//! [`printer::explanation`](crate::printer::explanation)'s.

use super::{Context, Derived, Explanation, FieldNote, Figure, TpSizes};
use crate::field::Field;
use crate::logs::{Engine, KvRecord};
use crate::printer::numbers::{percent, ratio, seconds, significant, trimmed};
use crate::printer::words::{join_or, ordinal, plural};
use crate::reduce::Value;
use crate::topology::{Instance, Mode};
use crate::views::LineReading;

/// Why a request takes the transfers it does.
fn per_request_reason(context: &Context) -> Option<String> {
    let TpSizes { prefill, decode } = context.tp_sizes()?;
    Some(match (context.mode(), context.mla()) {
        (Mode::Pull, true) if prefill > decode => format!(
            "one per decode rank: MLA keeps the whole latent on every rank, so each of the \
             {decode} decode ranks READs one prefill rank and only notifies the other {}",
            match prefill / decode - 1 {
                1 => "one".to_string(),
                others => others.to_string(),
            }
        ),
        (Mode::Pull, _) if decode == prefill => {
            format!("one per decode rank (decode TP {decode} = prefill TP {prefill})")
        }
        (Mode::Pull, true) => format!(
            "one per decode rank (decode TP {decode} > prefill TP {prefill}; MLA: each READs \
             the whole latent)"
        ),
        (Mode::Pull, false) if decode > prefill => format!(
            "one per decode rank (decode TP {decode} > prefill TP {prefill}): each READs its \
             own head slice from one prefill rank"
        ),
        (Mode::Pull, false) => format!(
            "each of the {decode} decode ranks READs from {} prefill ranks (prefill TP \
             {prefill} > decode TP {decode}); fewer if prefill ranks holding the same KV head \
             are skipped (GQA de-duplication)",
            prefill / decode
        ),
        (Mode::Push, _) if prefill >= decode => {
            format!("one per prefill rank (prefill TP {prefill} ≥ decode TP {decode})")
        }
        (Mode::Push, _) => format!(
            "each of the {prefill} prefill ranks WRITEs to {} decode ranks (decode TP {decode} \
             > prefill TP {prefill})",
            decode / prefill
        ),
    })
}

/// Builds an [`Explanation`]: the words for every field, the derived
/// numbers and the caveats, for one record in one context.
pub(super) struct Explainer<'a> {
    pub(super) context: Context,
    pub(super) record: &'a KvRecord,
    /// The line's reading; `None` for 0.11.0's counter.
    pub(super) reading: Option<LineReading>,
    /// The line's transfers.
    pub(super) n: u128,
    pub(super) per_request: Option<u128>,
    /// `READ` or `WRITE`.
    pub(super) verb: &'static str,
    /// `decode` or `prefill`: the instance that records transfers.
    pub(super) recorder: Instance,
}

impl<'a> Explainer<'a> {
    pub(super) fn new(context: Context, record: &'a KvRecord) -> Explainer<'a> {
        Explainer {
            context,
            record,
            reading: LineReading::new(record, context.interval()),
            n: record.transfers(),
            per_request: context.transfers_per_request().map(u128::from),
            verb: context.mode().operation(),
            recorder: context.mode().recorder(),
        }
    }

    pub(super) fn run(self) -> Explanation {
        let fields = self.fields();
        let derived = self.derived();
        let notes = self.notes();
        Explanation {
            record: self.record.clone(),
            context: self.context,
            transfers: self.n,
            per_request: self.context.transfers_per_request(),
            why_per_request: per_request_reason(&self.context),
            reading: self.reading,
            fields,
            derived,
            notes,
        }
    }

    /// `4 READs`.
    pub(super) fn transfers(&self, n: u128) -> String {
        plural(n, self.verb)
    }

    /// A count the line prints, or 0 when it does not print it.
    pub(super) fn count(&self, field: Field) -> u128 {
        match self.record.get(field) {
            Some(Value::Int(count)) => count,
            _ => 0,
        }
    }

    /// The recording ranks: `the 2 decode ranks of this engine`.
    pub(super) fn ranks(&self) -> String {
        let ranks = match self.context.recording_tp() {
            Some(1) => format!("the single {} rank", self.recorder),
            Some(tp) => format!("the {tp} {} ranks", self.recorder),
            None => format!("every {} rank", self.recorder),
        };
        match self.record.engine {
            Engine::Aggregated(engines) => format!("{ranks} of each of its {engines} engines"),
            _ => format!("{ranks} of this engine"),
        }
    }

    fn fields(&self) -> Vec<FieldNote> {
        let record = self.record;
        let label = |field: Field| {
            let text = record.text(field).unwrap_or_default();
            format!("{}={text}", field.name())
        };
        let note = |field: Field, meaning: String| FieldNote {
            field,
            label: label(field),
            meaning,
        };
        let mut notes = vec![note(record.fields[0].field, self.count_meaning())];
        let Some(reading) = &self.reading else {
            return notes;
        };
        if record.is_zero() {
            let timing: Vec<&str> = record.fields[1..]
                .iter()
                .filter(|p| p.field <= Field::AvgNumberOfDescriptors)
                .map(|p| p.field.name())
                .collect();
            notes.push(FieldNote {
                field: Field::AvgXferTimeMs,
                label: format!("{} … {}=0", timing[0], timing[timing.len() - 1]),
                meaning: "The integer 0, vLLM's zero path: nothing succeeded, so nothing was \
                          timed or sized. These are not measurements of fast or empty \
                          transfers."
                    .to_string(),
            });
        } else {
            let n = self.n;
            let verb = self.verb;
            notes.push(note(
                Field::AvgXferTimeMs,
                format!(
                    "The mean time of one {verb}, from the start of its post to the first \
                     poll that saw it complete: post time and up to one engine step of \
                     polling delay are included. The {} took {:.3} ms in all.",
                    self.transfers(n),
                    reading.sums.xfer_ms.value
                ),
            ));
            notes.push(note(
                Field::P90XferTimeMs,
                self.p90_meaning("durations", true),
            ));
            notes.push(note(
                Field::AvgPostTimeMs,
                format!(
                    "The mean time to hand one {verb} to the NIXL backend; it is part of the \
                     xfer time. {:.3} ms in all, {} of the xfer time.",
                    reading.sums.post_ms.value,
                    percent(reading.avg_post_ms.value, reading.avg_xfer_ms.value)
                ),
            ));
            notes.push(note(
                Field::P90PostTimeMs,
                self.p90_meaning("post times", false),
            ));
            notes.push(note(Field::AvgMbPerTransfer, self.mib_meaning(reading)));
            notes.push(note(Field::ThroughputMbS, self.throughput_meaning(reading)));
            notes.push(note(
                Field::AvgNumberOfDescriptors,
                format!(
                    "NIXL descriptors per {verb}, counted after NIXL merged runs that are \
                     contiguous on both sides: about one per layer {} when a request's blocks \
                     are contiguous, up to that times the blocks read when they are \
                     scattered{}. {} in all.",
                    if self.context.mla() {
                        "(MLA: one latent region per layer, in every release)"
                    } else {
                        "from vLLM 0.26, which packs K and V into one region (two per layer up \
                         to 0.22; 0.23 to 0.25 merge no blocks)"
                    },
                    if self.head_sliced() {
                        " or, as here, head slices of blocks (prefill and decode hold \
                         different heads per rank), which never merge across blocks"
                    } else {
                        ""
                    },
                    trimmed(reading.sums.descriptors.value, 3)
                ),
            ));
        }
        for printed in &record.fields {
            let meaning = match printed.field {
                Field::NumFailedTransfers => self.failures_meaning(),
                Field::NumKvExpiredReqs => self.expiry_meaning(),
                Field::NumNotifsAfterExpiry => format!(
                    "Notifications from decode that reached prefill after prefill had \
                     already expired the request and released its blocks (0.32 on); \
                     counted on prefill, per prefill worker: {}.",
                    printed.value
                ),
                _ => continue,
            };
            notes.push(note(printed.field, meaning));
        }
        notes
    }

    /// True when descriptors are head slices (standard attention, prefill
    /// and decode at different TP).
    fn head_sliced(&self) -> bool {
        !self.context.mla()
            && self
                .context
                .tp_sizes()
                .is_some_and(|tp| tp.prefill != tp.decode)
    }

    fn count_meaning(&self) -> String {
        let n = self.n;
        if n == 0 {
            return "No transfer succeeded in this interval.".to_string();
        }
        let pooled = format!(
            "{} completed in this interval, pooled over {} and every engine step since the \
             previous line: rank-level transfers, not requests.",
            self.transfers(n),
            self.ranks()
        );
        let requests = match self.per_request {
            Some(k) => {
                let r = n as f64 / k as f64;
                if n.is_multiple_of(k) {
                    format!(
                        " At {} per request that is {}.",
                        self.transfers(k),
                        plural(n / k, "request")
                    )
                } else {
                    format!(
                        " At {} per request that is {} requests: not a whole number (see the \
                         notes).",
                        self.transfers(k),
                        ratio(r)
                    )
                }
            }
            None => {
                let readings: Vec<String> = [1u128, 2, 4, 8]
                    .into_iter()
                    .filter(|&tp| n.is_multiple_of(tp))
                    .map(|tp| format!("{} at TP {tp}", plural(n / tp, "request")))
                    .collect();
                format!(
                    " A request takes one {} per decode rank (more when prefill's TP is \
                     larger), so with the same TP on both instances this is {}.",
                    self.verb,
                    join_or(&readings)
                )
            }
        };
        pooled + &requests
    }

    fn p90_meaning(&self, what: &str, per_request: bool) -> String {
        let n = self.n;
        let h = 0.9 * (n.saturating_sub(1)) as f64;
        let low = h.floor() as u64;
        let frac = ((h - h.floor()) * 100.0).round();
        let position = if n == 1 {
            "With one sample it is that sample.".to_string()
        } else if frac == 0.0 {
            format!("With {n} samples it is the {} smallest.", ordinal(low + 1))
        } else {
            format!(
                "With {n} samples it lies {frac:.0} % of the way from the {} to the {} \
                 smallest.",
                ordinal(low + 1),
                ordinal(low + 2)
            )
        };
        let request = match (per_request, self.per_request) {
            (false, _) | (true, Some(1)) => String::new(),
            (true, Some(k)) => format!(
                " A request waits for the slowest of its {}, and that one is a single sample \
                 here.",
                self.transfers(k)
            ),
            (true, None) => " A request waits for the slowest of its transfers, one sample \
                             among the pooled ones."
                .to_string(),
        };
        format!(
            "numpy's linear 90th percentile of the {n} {} {what} pooled from {}: \
             rank-level, not per request. {position}{request}",
            self.verb,
            self.ranks()
        )
    }

    fn mib_meaning(&self, reading: &LineReading) -> String {
        let verb = self.verb;
        let m = reading.avg_mib.value;
        let slice = match (
            self.context.tp_sizes(),
            self.context.mode(),
            self.context.mla(),
        ) {
            (None, _, true) => "here the whole latent of the blocks moved (MLA replicates it on \
                                every rank, so a request's KV is about this at any TP, sent once \
                                per transfer)"
                .to_string(),
            (None, _, false) => {
                "one rank's share of a request's KV cache (the whole request only at TP 1)"
                    .to_string()
            }
            (Some(_), _, true) => "here the whole latent of the blocks moved (MLA replicates it \
                                   on every rank, so each transfer of a request carries the same \
                                   bytes)"
                .to_string(),
            (Some(tp), _, false) if tp.prefill == 1 && tp.decode == 1 => {
                "the whole request's KV cache for the blocks moved (TP 1: one transfer per \
                 request)"
                    .to_string()
            }
            (Some(tp), Mode::Pull, false) if tp.prefill > tp.decode => format!(
                "a 1/{} share of one decode rank's slice of a request's KV cache (each decode \
                 rank gets its heads from {} prefill ranks)",
                tp.prefill / tp.decode,
                tp.prefill / tp.decode
            ),
            (Some(tp), Mode::Push, false) if tp.decode > tp.prefill => format!(
                "a 1/{} share of one prefill rank's slice of a request's KV cache (each prefill \
                 rank sends its heads to {} decode ranks)",
                tp.decode / tp.prefill,
                tp.decode / tp.prefill
            ),
            (Some(tp), _, false) => format!(
                "one {} rank's slice of a request's KV cache (the 1/{} of the KV heads it \
                 holds, every layer, every block moved)",
                self.recorder,
                tp.prefill.max(tp.decode)
            ),
        };
        let request = match self.per_request {
            Some(k) => format!(
                " A request moved about {} MiB × {k} = {} MiB{}",
                trimmed(m, 3),
                trimmed(m * k as f64, 3),
                if self.context.mla() && k > 1 {
                    " (the same latent, once per transfer)."
                } else {
                    "."
                }
            ),
            None if self.context.mla() => String::new(),
            None => format!(
                " A request moved about {} MiB × its transfers per request: {} MiB at TP 1, {} \
                 at TP 2, {} at TP 4.",
                trimmed(m, 3),
                trimmed(m, 3),
                trimmed(2.0 * m, 3),
                trimmed(4.0 * m, 3)
            ),
        };
        format!(
            "MiB (2^20 bytes) per {verb}, {slice}.{request} The {} moved {} MiB in all.",
            self.transfers(self.n),
            trimmed(reading.sums.total_mib.value, 3)
        )
    }

    fn throughput_meaning(&self, reading: &LineReading) -> String {
        let verb = self.verb;
        let t = reading.throughput_mib_s.value;
        if t.is_nan() {
            return format!(
                "nan: no bytes over no time. Every {verb} of the interval reported 0 bytes and \
                 0 µs (see the notes)."
            );
        }
        if t.is_infinite() {
            return format!(
                "inf: the {} moved {} MiB, but NIXL reported 0 µs for every one of them, and \
                 vLLM divides by the summed time without a guard (see the notes).",
                self.transfers(self.n),
                trimmed(reading.sums.total_mib.value, 3)
            );
        }
        let overlap = match self.context.recording_tp() {
            Some(1) | None => "several requests in flight".to_string(),
            Some(tp) => format!("the {tp} {} ranks at once, several requests in flight", {
                self.recorder
            }),
        };
        format!(
            "MiB over the summed {verb} time ({} MiB / {:.3} ms), the same as Avg MB / Avg \
             xfer time: a per-{verb} rate weighted by duration, not bandwidth. {verb}s that \
             overlap ({overlap}) each count their whole duration, so it falls as concurrency \
             grows. Over the {} s interval the engine moved {:.d$} MiB/s.",
            trimmed(reading.sums.total_mib.value, 3),
            reading.sums.xfer_ms.value,
            seconds(self.context.interval()),
            reading.window_mib_s,
            d = significant(reading.window_mib_s.value)
        )
    }

    fn failures_meaning(&self) -> String {
        let value = self
            .record
            .get(Field::NumFailedTransfers)
            .map_or_else(String::new, |value| value.to_string());
        let issuer = match self.context.mode() {
            Mode::Pull => "decode, which issues the READs and the handshakes",
            Mode::Push => "prefill, which issues the WRITEs",
        };
        let per_handle = match self.per_request {
            Some(k) if k > 1 => {
                format!(" A request whose {} all fail adds {k}.", self.transfers(k))
            }
            _ => String::new(),
        };
        format!(
            "Failed transfers, failed handshakes and failed notifications together (0.31 on): \
             {value}. Each is counted by the worker that saw it, per handle, mostly on \
             {issuer}.{per_handle}"
        )
    }

    fn expiry_meaning(&self) -> String {
        let expired = self.count(Field::NumKvExpiredReqs);
        let per_worker = match self.context.tp_sizes() {
            Some(tp) if tp.prefill > 1 => {
                let p = u128::from(tp.prefill);
                if expired.is_multiple_of(p) {
                    format!(
                        " At prefill TP {p}, {expired} is {}.",
                        plural((expired / p) as u64, "request")
                    )
                } else {
                    format!(
                        " At prefill TP {p}, {expired} is not a multiple of {p}: some workers \
                         expired a request in another interval (or PP > 1)."
                    )
                }
            }
            Some(_) => " At prefill TP 1 each expired request counts once.".to_string(),
            None => " Divide by prefill TP × PP for requests.".to_string(),
        };
        format!(
            "Requests whose KV lease ran out before decode read them: {expired}. Counted on \
             prefill, once by every prefill worker holding the request.{per_worker}"
        )
    }

    fn derived(&self) -> Vec<Derived> {
        let mut rows = Vec::new();
        let n = self.n;
        let verb = self.verb;
        if n > 0 {
            match self.per_request {
                Some(k) => rows.push(Derived {
                    label: "requests",
                    value: Figure::Requests(Some(n as f64 / k as f64)),
                    how: format!("{} / {k} per request", self.transfers(n)),
                }),
                None => rows.push(Derived {
                    label: "requests",
                    value: Figure::Requests(None),
                    how: format!("{} / transfers per request", self.transfers(n)),
                }),
            }
        }
        let Some(reading) = self.reading.as_ref().filter(|_| n > 0) else {
            return rows;
        };
        let interval = seconds(self.context.interval());
        rows.push(Derived {
            label: "MiB moved",
            value: Figure::Total(reading.sums.total_mib),
            how: format!("{n} × {}", Field::AvgMbPerTransfer),
        });
        if let Some(k) = self.per_request {
            rows.push(Derived {
                label: "MiB per request",
                value: Figure::Total(reading.avg_mib.scale(k as f64)),
                how: format!("{} × {k}", Field::AvgMbPerTransfer),
            });
        }
        rows.push(Derived {
            label: "xfer time, summed (ms)",
            value: Figure::Total(reading.sums.xfer_ms),
            how: format!("{n} × Avg xfer time"),
        });
        rows.push(Derived {
            label: "post time, summed (ms)",
            value: Figure::Total(reading.sums.post_ms),
            how: format!("{n} × Avg post time"),
        });
        rows.push(Derived {
            label: "in flight, average",
            value: Figure::Average(reading.concurrency),
            how: format!(
                "{verb}s in flight over the {interval} s interval: summed xfer time / \
                 interval (Little's law: {n} per {interval} s × Avg xfer time)"
            ),
        });
        rows.push(Derived {
            label: "MiB/s over the interval",
            value: Figure::Average(reading.window_mib_s),
            how: format!(
                "MiB moved / {interval} s: the wall-clock rate, idle time included; \
                 = Throughput × in flight"
            ),
        });
        if let Some(busy) = reading.busy {
            rows.push(Derived {
                label: "MiB/s while busy",
                value: Figure::Between(busy.mib_s),
                how: format!(
                    "while at least one {verb} was in flight: at least Throughput (as if \
                     they ran one at a time), at most MiB moved / the longest {verb} (which \
                     lasted at least the P90 and the average)"
                ),
            });
            rows.push(Derived {
                label: "in flight while busy",
                value: Figure::Between(busy.concurrency),
                how: format!(
                    "at least 1, at most summed xfer time / the longest {verb} (and at most \
                     {n})"
                ),
            });
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::ISSUE_LINE;
    use crate::explain::Topic;
    use crate::logs::{Shape, parse_line};

    fn record(line: &str) -> KvRecord {
        parse_line(line).unwrap().unwrap()
    }

    #[test]
    fn every_field_is_explained_once() {
        for tp in [None, Some(1), Some(2)] {
            let context = tp.map_or(Context::unknown(), |tp| Context::tp(tp).unwrap());
            let explanation = context.explain(&record(ISSUE_LINE));
            let fields: Vec<Field> = explanation.fields.iter().map(|n| n.field).collect();
            assert_eq!(fields, Shape::Eight.fields());
        }
    }

    #[test]
    fn p90_position() {
        let explanation = Context::tp(2).unwrap().explain(&record(ISSUE_LINE));
        let p90 = &explanation.field(Field::P90XferTimeMs).unwrap().meaning;
        assert!(
            p90.contains("70 % of the way from the 3rd to the 4th smallest"),
            "{p90}"
        );
    }

    #[test]
    fn not_whole() {
        let line = ISSUE_LINE.replace("transfers=4", "transfers=3");
        let explanation = Context::tp(2).unwrap().explain(&record(&line));
        assert_eq!(explanation.requests(), Some(1.5));
        assert!(explanation.has(Topic::NotWhole));
        let count = &explanation
            .field(Field::NumSuccessfulTransfers)
            .unwrap()
            .meaning;
        assert!(
            count.contains("1.50 requests: not a whole number"),
            "{count}"
        );
    }
}
