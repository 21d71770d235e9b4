//! Deployments: the rank mapping, bytes and descriptors of facts.md
//! section 4 (heterogeneous TP) and its worked examples, validation, and
//! the simulator built on them.

use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::python;
use nixl_kv_metrics::release::{Event, Family};
use nixl_kv_metrics::simulation::{LoggingConfig, PromptLengths, SimConfig, SimError, Simulation};
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::XferTelemetry;
use nixl_kv_metrics::topology::{
    BlockLayout, Deployment, Instance, KvRegistration, Mode, ModelGeometry, Parallelism,
    RequestPlan, TopologyError,
};
use nixl_kv_metrics::wallclock::{WallClock, per_request, per_worker};

const LLAMA: ModelGeometry = ModelGeometry::LLAMA_3_1_8B;
const MLA: ModelGeometry = ModelGeometry::DEEPSEEK_V3;
/// 640 prompt tokens: 40 blocks of 16.
const TOKENS: u32 = 640;
const BLOCKS: u64 = 40;

fn deployment(model: ModelGeometry, p_tp: u32, d_tp: u32, mode: Mode) -> Deployment {
    Deployment::new(
        model,
        Parallelism::tp(p_tp),
        Parallelism::tp(d_tp),
        mode,
        BlockLayout::Contiguous,
    )
    .expect("a valid deployment")
}

fn plan(model: ModelGeometry, p_tp: u32, d_tp: u32, mode: Mode) -> RequestPlan {
    deployment(model, p_tp, d_tp, mode)
        .plan(TOKENS, 0)
        .expect("a valid request")
}

/// Llama-3.1-8B bytes of `blocks` blocks carrying `heads` KV heads.
fn llama_bytes(heads: u64) -> u64 {
    BLOCKS * 16 * 2 * 32 * heads * 128 * 2
}

/// A pull deployment at TP sizes `p` and `d` whose KV cache is registered
/// as K and V apart, as FlashAttention's is up to vLLM 0.22.
fn two_regions(model: ModelGeometry, p: u32, d: u32) -> Deployment {
    deployment(model, p, d, Mode::Pull).with_registration(KvRegistration::TwoRegions)
}

/// Transfers each decode rank records.
fn reads_per_decode_rank(plan: &RequestPlan, d_tp: u32) -> Vec<usize> {
    (0..d_tp)
        .map(|d| plan.transfers.iter().filter(|t| t.decode_rank == d).count())
        .collect()
}

// ---- facts.md section 4, row by row (pull mode) ----

#[test]
fn row_equal_tp() {
    let plan = plan(LLAMA, 2, 2, Mode::Pull);
    assert_eq!(plan.transfers.len(), 2, "D_TP transfers per request");
    assert_eq!(reads_per_decode_rank(&plan, 2), [1, 1]);
    for (d, t) in plan.transfers.iter().enumerate() {
        assert_eq!((t.decode_rank, t.prefill_rank), (d as u32, d as u32));
        assert_eq!(t.recorder, Instance::Decode);
        // The rank's full KV slice: 8 heads / TP 2 = 4 heads.
        assert_eq!(t.bytes, llama_bytes(4));
        assert_eq!(t.bytes, 41_943_040);
        // Whole blocks on both sides: one descriptor per layer (K and V
        // packed, vLLM 0.26 on).
        assert_eq!((t.descriptors_unmerged, t.descriptors), (32 * 40, 32));
    }
    assert!(plan.notifications.is_empty());
    // K and V as two regions (FlashAttention up to 0.22): one per region.
    let split = two_regions(LLAMA, 2, 2).plan(TOKENS, 0).unwrap();
    let t = split.transfers[0];
    assert_eq!((t.descriptors_unmerged, t.descriptors), (64 * 40, 64));
}

#[test]
fn row_prefill_tp_below_decode_tp() {
    let plan = plan(LLAMA, 2, 4, Mode::Pull);
    assert_eq!(plan.transfers.len(), 4, "D_TP transfers per request");
    assert_eq!(reads_per_decode_rank(&plan, 4), [1, 1, 1, 1]);
    let sources: Vec<u32> = plan.transfers.iter().map(|t| t.prefill_rank).collect();
    assert_eq!(
        sources,
        [0, 0, 1, 1],
        "decode rank d reads prefill rank d * P / D"
    );
    for t in &plan.transfers {
        // The decode rank's head slice: 8 / 4 = 2 heads of the prefill rank's 4.
        assert_eq!(t.bytes, llama_bytes(2));
        assert_eq!(t.bytes, 20_971_520);
        // Head slices of blocks cannot merge across blocks.
        assert_eq!((t.descriptors_unmerged, t.descriptors), (1280, 1280));
    }
    let t = two_regions(LLAMA, 2, 4).plan(TOKENS, 0).unwrap().transfers[0];
    assert_eq!((t.descriptors_unmerged, t.descriptors), (2560, 2560));
}

#[test]
fn row_prefill_tp_above_decode_tp() {
    let plan = plan(LLAMA, 4, 2, Mode::Pull);
    assert_eq!(plan.transfers.len(), 4, "P_TP transfers per request");
    assert_eq!(
        reads_per_decode_rank(&plan, 2),
        [2, 2],
        "P_TP / D_TP reads each"
    );
    let pairs: Vec<(u32, u32)> = plan
        .transfers
        .iter()
        .map(|t| (t.decode_rank, t.prefill_rank))
        .collect();
    assert_eq!(pairs, [(0, 0), (0, 1), (1, 2), (1, 3)]);
    let decode_rank_bytes = llama_bytes(4);
    for t in &plan.transfers {
        assert_eq!(
            t.bytes,
            decode_rank_bytes / 2,
            "1/(P_TP/D_TP) of the decode rank's bytes"
        );
        assert_eq!(t.bytes, 20_971_520);
        assert_eq!(t.descriptors, 1280, "local chunks of blocks do not merge");
    }
    let t = two_regions(LLAMA, 4, 2).plan(TOKENS, 0).unwrap().transfers[0];
    assert_eq!(t.descriptors, 2560);
}

#[test]
fn row_mla_prefill_tp_above_decode_tp() {
    let plan = plan(MLA, 4, 2, Mode::Pull);
    assert_eq!(plan.transfers.len(), 2, "D_TP transfers per request");
    assert_eq!(reads_per_decode_rank(&plan, 2), [1, 1]);
    let latent_bytes = BLOCKS * 16 * 61 * 576 * 2;
    for t in &plan.transfers {
        assert_eq!(t.bytes, latent_bytes, "the whole latent block");
        assert_eq!(t.bytes, 44_974_080);
        // One region per layer; replicated latents merge.
        assert_eq!((t.descriptors_unmerged, t.descriptors), (61 * 40, 61));
    }
    let read: Vec<u32> = plan.transfers.iter().map(|t| t.prefill_rank).collect();
    assert_eq!(read, [0, 2]);
    let notified: Vec<(u32, u32)> = plan
        .notifications
        .iter()
        .map(|n| (n.decode_rank, n.prefill_rank))
        .collect();
    assert_eq!(
        notified,
        [(0, 1), (1, 3)],
        "the other prefill ranks: notification only"
    );
}

// ---- the worked examples ----

#[test]
fn issue_41230_line_geometry() {
    // 36 layers x one 16-token block x 8 heads x 128 x 2 B, K and V: 2.25 MiB,
    // in 36 descriptors of 64 KiB from vLLM 0.26 (K and V packed) ...
    let model = ModelGeometry::attention(36, 8, 128);
    let packed = deployment(model, 1, 1, Mode::Pull).plan(16, 0).unwrap();
    let t = packed.transfers[0];
    assert_eq!((t.descriptors_unmerged, t.descriptors), (36, 36));
    assert_eq!(t.bytes / u64::from(t.descriptors), 64 * 1024);
    // ... and 72 of 32 KiB where K and V are two regions (FlashAttention
    // up to 0.22), as in the line, logged by a 0.12 - 0.14 release (F3).
    let plan = two_regions(model, 1, 1).plan(16, 0).unwrap();
    let t = plan.transfers[0];
    assert_eq!(plan.transfers.len(), 1);
    assert_eq!((t.descriptors_unmerged, t.descriptors), (72, 72));
    assert_eq!(
        t.bytes / u64::from(t.descriptors),
        32 * 1024,
        "32 KiB per descriptor"
    );
    assert_eq!(t.bytes, 2_359_296);
    assert_eq!(t.bytes as f64 / (1 << 20) as f64, 2.25, "2.25 MiB");

    let transfers = [1_381u64, 1_381, 1_381, 1_381]
        .map(|us| XferTelemetry::new(us, 672, t.bytes, t.descriptors));
    let mut stats = NixlKvConnectorStats::new(Family::F3);
    transfers.iter().for_each(|x| stats.record_transfer(x));
    let summary = stats.reduce();
    assert_eq!(summary.float(Field::AvgMbPerTransfer), Some(2.25));
    assert_eq!(summary.float(Field::AvgNumberOfDescriptors), Some(72.0));
}

#[test]
fn pr_25388_sample_is_qwen3_0_6b_reading_640_tokens() {
    // The PR is of vLLM 0.11, whose FlashAttention cache is K and V apart.
    let plan = two_regions(ModelGeometry::QWEN3_0_6B, 1, 1)
        .plan(TOKENS, 0)
        .unwrap();
    assert_eq!((plan.prompt_blocks, plan.blocks), (40, 40));
    let t = plan.transfers[0];
    assert_eq!(plan.transfers.len(), 1);
    assert_eq!(t.bytes, 56 * 640 * 2048);
    assert_eq!(t.bytes, 70 << 20, "70 MiB");
    assert_eq!(
        t.descriptors, 56,
        "each K/V region merged into one descriptor"
    );
    assert_eq!(t.descriptors_unmerged, 2_240);

    let mut stats = NixlKvConnectorStats::new(Family::F6);
    stats.record_transfer(&XferTelemetry::new(9_862, 1_000, t.bytes, t.descriptors));
    let line = stats.reduce().to_string();
    for part in [
        "Num successful transfers=1,",
        "Avg xfer time (ms)=9.862,",
        "Avg MB per transfer=70.0,",
        "Throughput (MB/s)=7097.952,",
        "Avg number of descriptors=56.0,",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
}

#[test]
fn scattered_blocks_never_merge() {
    let d = Deployment::new(
        ModelGeometry::QWEN3_0_6B,
        Parallelism::tp(1),
        Parallelism::tp(1),
        Mode::Pull,
        BlockLayout::Scattered,
    )
    .unwrap();
    let t = d.plan(TOKENS, 0).unwrap().transfers[0];
    assert_eq!((t.descriptors_unmerged, t.descriptors), (1_120, 1_120));
    assert_eq!(t.bytes, 70 << 20, "bytes do not depend on the layout");
    let split = d.with_registration(KvRegistration::TwoRegions);
    let t = split.plan(TOKENS, 0).unwrap().transfers[0];
    assert_eq!((t.descriptors_unmerged, t.descriptors), (2_240, 2_240));
    assert_eq!(t.bytes, 70 << 20, "nor on the registration");
}

// ---- mapping details ----

#[test]
fn gqa_dedup_keeps_one_rank_per_head() {
    // 2 KV heads over prefill TP 4: ranks 0,1 hold head 0; 2,3 head 1.
    let model = ModelGeometry::attention(24, 2, 128);
    let d = deployment(model, 4, 1, Mode::Pull);
    assert_eq!(d.peers(0), [0, 2]);
    assert_eq!(d.notified_only(0), [1, 3]);
    let plan = d.plan(TOKENS, 0).unwrap();
    assert_eq!(plan.transfers.len(), 2, "fewer than P_TP after dedup");
    for t in &plan.transfers {
        assert_eq!(t.bytes, BLOCKS * 16 * 2 * 24 * 128 * 2, "one head each");
    }
    // Without replication nothing is dropped.
    assert_eq!(
        deployment(LLAMA, 8, 1, Mode::Pull).peers(0),
        (0..8).collect::<Vec<_>>()
    );
}

#[test]
fn decode_tp_beyond_kv_heads_reads_one_head() {
    let plan = plan(LLAMA, 4, 16, Mode::Pull);
    assert_eq!(plan.transfers.len(), 16);
    assert!(plan.transfers.iter().all(|t| t.bytes == llama_bytes(1)));
    assert_eq!(plan.transfers[5].prefill_rank, 1);
}

#[test]
fn mla_decode_tp_above_prefill_tp_reads_whole_latent() {
    let plan = plan(MLA, 2, 8, Mode::Pull);
    assert_eq!(plan.transfers.len(), 8);
    assert_eq!(plan.transfers[5].prefill_rank, 1);
    assert!(
        plan.transfers
            .iter()
            .all(|t| t.bytes == BLOCKS * 16 * 61 * 576 * 2)
    );
}

// ---- push mode: prefill records ----

#[test]
fn push_mode_records_on_prefill() {
    let equal = plan(LLAMA, 2, 2, Mode::Push);
    assert_eq!(equal.transfers.len(), 2);
    assert!(
        equal
            .transfers
            .iter()
            .all(|t| t.recorder == Instance::Prefill)
    );
    assert_eq!(equal.transfers[1].recorder_rank(), 1);

    let fan_out = plan(LLAMA, 2, 4, Mode::Push);
    let pairs: Vec<(u32, u32)> = fan_out
        .transfers
        .iter()
        .map(|t| (t.prefill_rank, t.decode_rank))
        .collect();
    assert_eq!(pairs, [(0, 0), (0, 1), (1, 2), (1, 3)]);
    assert!(fan_out.transfers.iter().all(|t| t.bytes == llama_bytes(2)));

    let fan_in = plan(LLAMA, 4, 2, Mode::Push);
    assert_eq!(fan_in.transfers.len(), 4);
    assert!(fan_in.transfers.iter().all(|t| t.bytes == llama_bytes(2)));
    assert!(fan_in.notifications.is_empty());
}

#[test]
fn mla_push_writes_every_decode_rank() {
    let plan = plan(MLA, 2, 4, Mode::Push);
    assert_eq!(plan.transfers.len(), 4, "one WRITE per decode rank");
    let pairs: Vec<(u32, u32)> = plan
        .transfers
        .iter()
        .map(|t| (t.prefill_rank, t.decode_rank))
        .collect();
    assert_eq!(pairs, [(0, 0), (0, 1), (1, 2), (1, 3)]);
}

// ---- pipeline stages, prefix hits, expiry ----

#[test]
fn pipeline_stages_split_layers() {
    let pp2 = Parallelism::new(2, 2, 1);
    let d = Deployment::new(LLAMA, pp2, pp2, Mode::Pull, BlockLayout::Contiguous).unwrap();
    let plan = d.plan(TOKENS, 0).unwrap();
    assert_eq!(plan.transfers.len(), 4, "D_TP per stage");
    assert_eq!(
        plan.total_bytes(),
        2 * llama_bytes(4),
        "the same bytes in all"
    );
    assert!(plan.transfers.iter().all(|t| t.descriptors == 16));
    assert_eq!(d.expiry_records_per_request(), 4, "P_TP x P_PP workers");
}

#[test]
fn prefix_hits_count_whole_blocks() {
    let d = deployment(ModelGeometry::QWEN3_0_6B, 2, 2, Mode::Pull);
    let plan = d.plan(TOKENS, 31).unwrap();
    assert_eq!(plan.blocks, 39, "31 hit tokens are one whole block");
    let full = d.plan(TOKENS, TOKENS).unwrap();
    assert!(full.transfers.is_empty());
    assert_eq!(
        full.notifications.len(),
        2,
        "each decode rank notifies its prefill rank"
    );
    let push = deployment(ModelGeometry::QWEN3_0_6B, 2, 2, Mode::Push);
    assert!(push.plan(TOKENS, TOKENS).unwrap().notifications.is_empty());
}

#[test]
fn expiries_count_per_prefill_worker() {
    let d = Deployment::new(
        LLAMA,
        Parallelism::new(4, 2, 1),
        Parallelism::new(1, 2, 1),
        Mode::Pull,
        BlockLayout::Contiguous,
    )
    .unwrap();
    assert_eq!(d.expiry_records_per_request(), 8);
}

// ---- validation: errors, never panics ----

#[test]
fn invalid_deployments_are_refused() {
    let new = |model, p, d| Deployment::new(model, p, d, Mode::Pull, BlockLayout::Contiguous);
    let tp = Parallelism::tp;
    assert_eq!(
        new(LLAMA, tp(0), tp(1)),
        Err(TopologyError::Zero("prefill TP"))
    );
    assert_eq!(
        new(LLAMA, Parallelism::new(1, 1, 0), tp(1)),
        Err(TopologyError::Zero("prefill DP"))
    );
    let no_heads = ModelGeometry {
        kv_heads: 0,
        ..LLAMA
    };
    assert_eq!(
        new(no_heads, tp(1), tp(1)),
        Err(TopologyError::Zero("KV heads"))
    );
    let no_latent = ModelGeometry {
        mla_latent_width: Some(0),
        ..MLA
    };
    assert_eq!(
        new(no_latent, tp(1), tp(1)),
        Err(TopologyError::Zero("MLA latent width"))
    );
    assert_eq!(
        new(LLAMA, tp(2), tp(3)),
        Err(TopologyError::TpRatio {
            prefill: 2,
            decode: 3
        })
    );
    assert_eq!(
        new(LLAMA, tp(6), tp(2)),
        Err(TopologyError::HeadsVsTp { kv_heads: 8, tp: 6 })
    );
    assert!(new(MLA, tp(6), tp(2)).is_ok(), "MLA has no heads to split");
    assert_eq!(
        new(LLAMA, Parallelism::new(1, 2, 1), tp(1)),
        Err(TopologyError::PpMismatch {
            prefill: 2,
            decode: 1
        })
    );
    let pp3 = Parallelism::new(1, 3, 1);
    assert_eq!(
        new(LLAMA, pp3, pp3),
        Err(TopologyError::LayersVsPp { layers: 32, pp: 3 })
    );
    let d = deployment(LLAMA, 1, 1, Mode::Pull);
    assert_eq!(d.plan(0, 0), Err(TopologyError::Zero("prompt tokens")));
    assert_eq!(
        d.plan(10, 11),
        Err(TopologyError::HitBeyondPrompt {
            tokens: 10,
            hit: 11
        })
    );
    let huge = ModelGeometry::attention(u32::MAX, 1, u32::MAX);
    let d = Deployment::new(huge, tp(1), tp(1), Mode::Pull, BlockLayout::Scattered).unwrap();
    assert_eq!(d.plan(u32::MAX, 0), Err(TopologyError::Overflow));
    for err in [TopologyError::Overflow, TopologyError::Zero("x")] {
        assert!(!err.to_string().is_empty());
    }
}

// ---- the simulator ----

fn config(d: Deployment, seed: u64) -> SimConfig {
    SimConfig {
        seed,
        duration_us: 30_000_000,
        arrival_rate_per_s: 20.0,
        ..SimConfig::new(d)
    }
}

#[test]
fn same_seed_same_output() {
    let d = deployment(LLAMA, 4, 2, Mode::Pull);
    let c = SimConfig {
        failure_probability: 0.05,
        prefix_hit_probability: 0.3,
        abandon_probability: 0.05,
        lease_us: 2_000_000,
        ..config(d, 42)
    };
    let a = Simulation::run(&c).unwrap();
    let b = Simulation::run(&c).unwrap();
    assert_eq!(a, b);
    for family in Family::ALL {
        let lines = |s: &Simulation| {
            s.log_lines(family, LoggingConfig::default())
                .unwrap()
                .iter()
                .flat_map(|i| i.prefill.iter().chain(&i.decode))
                .map(|l| l.as_ref().map(ToString::to_string))
                .collect::<Vec<_>>()
        };
        assert_eq!(lines(&a), lines(&b), "{family}");
    }
    let other = Simulation::run(&SimConfig { seed: 43, ..c }).unwrap();
    assert_ne!(a.transfers, other.transfers);
}

#[test]
fn simulated_transfers_follow_the_plan() {
    for (p, d, mode, recorder) in [
        (2, 2, Mode::Pull, Instance::Decode),
        (4, 2, Mode::Pull, Instance::Decode),
        (2, 4, Mode::Push, Instance::Prefill),
    ] {
        let dep = deployment(LLAMA, p, d, mode);
        let c = config(dep, 1);
        let sim = Simulation::run(&c).unwrap();
        assert!(sim.requests.len() > 300, "about 20/s for 30 s");
        let expected: usize = sim
            .requests
            .iter()
            .map(|r| {
                dep.plan(r.tokens, r.prefix_hit_tokens)
                    .unwrap()
                    .transfers
                    .len()
            })
            .sum();
        assert_eq!(sim.transfers.len(), expected);
        assert!(sim.events.is_empty(), "no failures, no expiries");
        let step = c.step_us(recorder);
        for t in &sim.transfers {
            assert_eq!(t.tag.worker.instance, recorder);
            let x = t.telemetry;
            assert!(
                x.xfer_duration_us > x.post_duration_us,
                "xfer includes post"
            );
            assert_eq!(x.end_time_us() % step, 0, "completion seen at a poll");
        }
        let per_req = per_request(&sim.transfers);
        for r in &sim.requests {
            let planned = dep.plan(r.tokens, r.prefix_hit_tokens).unwrap();
            assert_eq!(per_req[&r.id].bytes, planned.total_bytes());
        }
        let recorder_tp = dep.parallelism(recorder).tp as usize;
        assert_eq!(per_worker(&sim.transfers).len(), recorder_tp);
    }
}

#[test]
fn every_transfer_is_logged_once() {
    let d = deployment(LLAMA, 2, 2, Mode::Pull);
    let sim = Simulation::run(&config(d, 3)).unwrap();
    let intervals = sim.log_lines(Family::F6, LoggingConfig::default()).unwrap();
    assert!(intervals.len() >= 3);
    let logged: f64 = intervals
        .iter()
        .flat_map(|i| i.decode.iter().flatten())
        .map(|s| s.float(Field::NumSuccessfulTransfers).unwrap())
        .sum();
    assert_eq!(logged as usize, sim.transfers.len());
    assert!(intervals.iter().all(|i| i.prefill == [None]));
}

#[test]
fn one_interval_logs_vllms_pooled_throughput() {
    let d = deployment(LLAMA, 2, 2, Mode::Pull);
    let c = SimConfig {
        duration_us: 5_000_000,
        ..config(d, 9)
    };
    let sim = Simulation::run(&c).unwrap();
    let logging = LoggingConfig {
        interval_us: 3_600_000_000,
        ..LoggingConfig::default()
    };
    let lines = sim.log_lines(Family::F6, logging).unwrap();
    assert_eq!(lines.len(), 1);
    let line = lines[0].decode[0].as_ref().unwrap();
    let telemetry: Vec<XferTelemetry> = sim.transfers.iter().map(|t| t.telemetry).collect();
    let wall = WallClock::of(&telemetry);
    let rounded = python::round(wall.pooled_mib_per_s, 3); // F6 rounds as Python
    assert_eq!(line.float(Field::ThroughputMbS), Some(rounded));
    let concurrency = wall.concurrency().unwrap();
    assert!(concurrency > 1.0, "overlapping transfers: {concurrency}");
    let wall_clock = wall.throughput_mib_per_s().unwrap();
    assert!((wall.pooled_mib_per_s * concurrency - wall_clock).abs() < 1e-6 * wall_clock);
}

#[test]
fn abandoned_requests_expire_on_every_prefill_worker() {
    let d = Deployment::new(
        LLAMA,
        Parallelism::new(4, 2, 1),
        Parallelism::new(2, 2, 1),
        Mode::Pull,
        BlockLayout::Contiguous,
    )
    .unwrap();
    let c = SimConfig {
        abandon_probability: 0.2,
        lease_us: 1_000_000,
        ..config(d, 5)
    };
    let sim = Simulation::run(&c).unwrap();
    let abandoned = sim.requests.iter().filter(|r| r.abandoned).count();
    assert!(abandoned > 0);
    let expiries: Vec<_> = sim
        .events
        .iter()
        .filter(|e| e.event == Event::KvExpiredReq)
        .collect();
    assert_eq!(expiries.len(), abandoned * 8, "P_TP x P_PP each");
    assert!(
        expiries
            .iter()
            .all(|e| e.worker.instance == Instance::Prefill)
    );

    let count = |family: Family| -> u64 {
        let lines = sim.log_lines(family, LoggingConfig::default()).unwrap();
        lines
            .iter()
            .flat_map(|i| i.prefill.iter().flatten())
            .map(|s| s.float(Field::NumKvExpiredReqs).map_or(0, |x| x as u64))
            .sum()
    };
    assert_eq!(count(Family::F6), abandoned as u64 * 8);
    assert_eq!(count(Family::F3), 0, "no expiry list before 0.15");
}

#[test]
fn failures_are_recorded_and_leave_leases_to_expire() {
    let d = deployment(LLAMA, 2, 2, Mode::Pull);
    let c = SimConfig {
        failure_probability: 0.1,
        lease_us: 3_000_000,
        ..config(d, 11)
    };
    let sim = Simulation::run(&c).unwrap();
    let failed: Vec<_> = sim
        .events
        .iter()
        .filter(|e| e.event == Event::FailedTransfer)
        .collect();
    assert!(!failed.is_empty());
    assert!(failed.iter().all(|e| e.worker.instance == Instance::Decode));
    let expired = sim
        .events
        .iter()
        .filter(|e| e.event == Event::KvExpiredReq)
        .count();
    assert_eq!(
        expired,
        failed.len(),
        "each failed READ strands one prefill worker"
    );
    let lines = sim.log_lines(Family::F6, LoggingConfig::default()).unwrap();
    let logged_failures: f64 = lines
        .iter()
        .flat_map(|i| i.decode.iter().flatten())
        .map(|s| s.float(Field::NumFailedTransfers).unwrap())
        .sum();
    assert_eq!(logged_failures as usize, failed.len());
}

#[test]
fn late_reads_notify_after_expiry() {
    let d = deployment(ModelGeometry::QWEN3_0_6B, 1, 1, Mode::Pull);
    let c = SimConfig {
        lease_us: 0,
        prompt_tokens: PromptLengths::Fixed(640),
        ..config(d, 2)
    };
    let sim = Simulation::run(&c).unwrap();
    let count = |event| sim.events.iter().filter(|e| e.event == event).count();
    assert_eq!(count(Event::KvExpiredReq), sim.requests.len());
    assert_eq!(count(Event::NotificationAfterExpiry), sim.requests.len());
    assert_eq!(
        sim.transfers.len(),
        sim.requests.len(),
        "the reads still happen"
    );
}

#[test]
fn data_parallel_engines_log_apart_or_pooled() {
    let d = Deployment::new(
        LLAMA,
        Parallelism::new(2, 1, 2),
        Parallelism::new(2, 1, 3),
        Mode::Pull,
        BlockLayout::Contiguous,
    )
    .unwrap();
    let sim = Simulation::run(&config(d, 4)).unwrap();
    let apart = sim.log_lines(Family::F6, LoggingConfig::default()).unwrap();
    assert!(
        apart
            .iter()
            .all(|i| i.decode.len() == 3 && i.prefill.len() == 2)
    );
    let pooled = LoggingConfig {
        aggregate_engine_logging: true,
        ..LoggingConfig::default()
    };
    let pooled = sim.log_lines(Family::F6, pooled).unwrap();
    for (a, p) in apart.iter().zip(&pooled) {
        let per_engine: f64 = a
            .decode
            .iter()
            .flatten()
            .map(|s| s.float(Field::NumSuccessfulTransfers).unwrap())
            .sum();
        let one = p.decode[0]
            .as_ref()
            .map_or(0.0, |s| s.float(Field::NumSuccessfulTransfers).unwrap());
        assert_eq!(per_engine, one);
    }
}

#[test]
fn invalid_simulations_are_refused() {
    let d = deployment(LLAMA, 1, 1, Mode::Pull);
    let bad = [
        SimConfig {
            arrival_rate_per_s: 0.0,
            ..config(d, 0)
        },
        SimConfig {
            arrival_rate_per_s: f64::NAN,
            ..config(d, 0)
        },
        SimConfig {
            decode_step_us: 0,
            ..config(d, 0)
        },
        SimConfig {
            abandon_probability: -0.1,
            ..config(d, 0)
        },
        SimConfig {
            prompt_tokens: PromptLengths::Uniform { min: 10, max: 5 },
            ..config(d, 0)
        },
        SimConfig {
            prompt_tokens: PromptLengths::Fixed(0),
            ..config(d, 0)
        },
    ];
    for c in bad {
        assert!(
            matches!(Simulation::run(&c), Err(SimError::Invalid { .. })),
            "{c:?}"
        );
    }
    let sim = Simulation::run(&SimConfig {
        duration_us: 0,
        ..config(d, 0)
    })
    .unwrap();
    assert!(sim.requests.is_empty());
    let logging = LoggingConfig {
        interval_us: 0,
        ..LoggingConfig::default()
    };
    assert!(sim.log_lines(Family::F6, logging).is_err());
    assert!(
        sim.log_lines(Family::F6, LoggingConfig::default())
            .unwrap()
            .is_empty()
    );
}
