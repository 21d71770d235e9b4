//! Playing the workload through the deployment.

use std::collections::BTreeMap;

use super::workload::{self, next_poll};
use super::{Request, Rng, SimConfig, SimError, SimEvent, Simulation};
use crate::release::Event;
use crate::telemetry::XferTelemetry;
use crate::telemetry::{Tag, TaggedTelemetry};
use crate::topology::{Instance, Mode, PlannedTransfer, WorkerId};

/// One posted transfer, before the link decides when it completes.
struct Posted {
    request: usize,
    worker: WorkerId,
    planned: PlannedTransfer,
    start_us: u64,
    post_us: u64,
    /// When its first byte moves.
    flow_start_us: u64,
    failed: bool,
}

/// When each prefill worker hears about each request: one entry per
/// expected signal, `None` for one that never comes (a failed transfer).
type Signals = BTreeMap<(usize, WorkerId), Vec<Option<u64>>>;

pub(super) fn run(config: &SimConfig) -> Result<Simulation, SimError> {
    let mut rng = Rng::new(config.seed);
    let mut link_rng = rng.fork();
    let requests = workload::generate(config, &mut rng);
    let (posted, mut signals) = post(config, &requests, &mut link_rng)?;

    let recorder = config.deployment.mode().recorder();
    let step = config.step_us(recorder);
    let prefill_step = config.prefill_step_us;
    let mut transfers = Vec::new();
    let mut events = Vec::new();
    for (p, finish) in posted.iter().zip(complete(config, &posted)) {
        let completion_us = finish.ceil() as u64;
        let poll_us = next_poll(completion_us, step);
        let prefill_worker = WorkerId {
            instance: Instance::Prefill,
            engine: requests[p.request].prefill_engine,
            stage: p.planned.stage,
            rank: p.planned.prefill_rank,
        };
        let seen_by_prefill = match config.deployment.mode() {
            Mode::Pull => next_poll(completion_us, prefill_step),
            Mode::Push => poll_us,
        };
        let signal = (!p.failed).then_some(seen_by_prefill);
        signals
            .entry((p.request, prefill_worker))
            .or_default()
            .push(signal);
        if p.failed {
            events.push(SimEvent {
                time_us: poll_us,
                worker: p.worker,
                request: requests[p.request].id,
                event: Event::FailedTransfer,
            });
        } else {
            let telemetry = XferTelemetry::new(
                poll_us.saturating_sub(p.start_us),
                p.post_us,
                p.planned.bytes,
                p.planned.descriptors,
            );
            transfers.push(TaggedTelemetry {
                tag: Tag {
                    worker: p.worker,
                    request: requests[p.request].id,
                },
                telemetry: telemetry.starting_at(p.start_us),
            });
        }
    }
    expire(config, &requests, &signals, &mut events);
    transfers.sort_by_key(|t| {
        let tel = t.telemetry;
        (
            tel.end_time_us(),
            t.tag.worker,
            tel.start_time_us,
            t.tag.request,
        )
    });
    events.sort();
    Ok(Simulation {
        deployment: config.deployment,
        requests,
        transfers,
        events,
    })
}

/// Posts every request's transfers, in the order the recording instance
/// starts them, each worker posting one after another; also records when
/// notification-only prefill ranks are notified.
fn post(
    config: &SimConfig,
    requests: &[Request],
    rng: &mut Rng,
) -> Result<(Vec<Posted>, Signals), SimError> {
    let deployment = config.deployment;
    let recorder = deployment.mode().recorder();
    let step = config.step_us(recorder);
    let mut order: Vec<(u64, usize)> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.abandoned)
        .map(|(i, r)| {
            (
                next_poll(r.ready_us.saturating_add(config.handoff_us), step),
                i,
            )
        })
        .collect();
    order.sort_unstable();
    let mut cursor: BTreeMap<WorkerId, u64> = BTreeMap::new();
    let mut posted = Vec::new();
    let mut signals = Signals::new();
    for (start_step_us, i) in order {
        let request = &requests[i];
        let plan = deployment.plan(request.tokens, request.prefix_hit_tokens)?;
        let engine = match recorder {
            Instance::Prefill => request.prefill_engine,
            Instance::Decode => request.decode_engine,
        };
        let worker_of = |stage, rank| WorkerId {
            instance: recorder,
            engine,
            stage,
            rank,
        };
        for planned in plan.transfers {
            let worker = worker_of(planned.stage, planned.recorder_rank());
            let free = cursor.entry(worker).or_insert(0);
            let start_us = start_step_us.max(*free);
            let post_us = config.post.post_us(planned.descriptors);
            *free = start_us.saturating_add(post_us);
            posted.push(Posted {
                request: i,
                worker,
                planned,
                start_us,
                post_us,
                flow_start_us: (*free).saturating_add(config.link.delay_us(rng)),
                failed: rng.next_f64() < config.failure_probability,
            });
        }
        for n in plan.notifications {
            let decode = worker_of(n.stage, n.decode_rank);
            let posted_any = posted
                .iter()
                .rev()
                .take_while(|p| p.request == i)
                .any(|p| p.worker == decode);
            let sent_us = if posted_any {
                cursor[&decode]
            } else {
                start_step_us
            };
            let prefill_worker = WorkerId {
                instance: Instance::Prefill,
                engine: request.prefill_engine,
                stage: n.stage,
                rank: n.prefill_rank,
            };
            signals
                .entry((i, prefill_worker))
                .or_default()
                .push(Some(next_poll(sent_us, config.prefill_step_us)));
        }
    }
    Ok((posted, signals))
}

/// When each posted transfer has moved its last byte, link by link.
fn complete(config: &SimConfig, posted: &[Posted]) -> Vec<f64> {
    let mut by_link: BTreeMap<WorkerId, Vec<usize>> = BTreeMap::new();
    for (i, p) in posted.iter().enumerate() {
        by_link.entry(p.worker).or_default().push(i);
    }
    let mut finish = vec![0.0; posted.len()];
    for indices in by_link.values() {
        let flows: Vec<(f64, u64)> = indices
            .iter()
            .map(|&i| (posted[i].flow_start_us as f64, posted[i].planned.bytes))
            .collect();
        for (&i, f) in indices.iter().zip(config.link.finish_times(&flows)) {
            finish[i] = f;
        }
    }
    finish
}

/// Lease expiry on every prefill worker of every request: released at the
/// poll that saw its last expected signal; expired at the first poll at or
/// after the lease's end if not released by then; in pull mode, each signal
/// seen after expiry is a notification after expiry.
fn expire(config: &SimConfig, requests: &[Request], signals: &Signals, events: &mut Vec<SimEvent>) {
    let prefill = config.deployment.prefill();
    let step = config.prefill_step_us;
    for (i, request) in requests.iter().enumerate() {
        let expiry_us = next_poll(request.ready_us.saturating_add(config.lease_us), step);
        for stage in 0..prefill.pp {
            for rank in 0..prefill.tp {
                let worker = WorkerId {
                    instance: Instance::Prefill,
                    engine: request.prefill_engine,
                    stage,
                    rank,
                };
                let expected = signals.get(&(i, worker)).map_or(&[][..], Vec::as_slice);
                let released_us = expected
                    .iter()
                    .try_fold(request.ready_us, |latest, s| s.map(|s| latest.max(s)));
                let in_time = !request.abandoned && released_us.is_some_and(|r| r <= expiry_us);
                if in_time {
                    continue;
                }
                let record = |time_us, event| SimEvent {
                    time_us,
                    worker,
                    request: request.id,
                    event,
                };
                events.push(record(expiry_us, Event::KvExpiredReq));
                if config.deployment.mode() == Mode::Pull {
                    let late = expected.iter().flatten().filter(|&&s| s > expiry_us);
                    events.extend(late.map(|&s| record(s, Event::NotificationAfterExpiry)));
                }
            }
        }
    }
}
