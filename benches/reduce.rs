//! `reduce()` over pooled stats of 10^3, 10^5 and 10^6 transfers.
//!
//! The stats are realistic: durations in whole microseconds as NIXL reports
//! them, block-multiple byte counts, a few descriptor counts. Criterion
//! reports the time per call; divide by the count for ns per observation
//! (the README records both). Run with `cargo bench --bench reduce`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nixl_kv_metrics::release::Family;
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::XferTelemetry;

/// `n` transfers from a fixed-seed generator (xorshift), so runs compare.
fn stats(n: usize) -> NixlKvConnectorStats {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut stats = NixlKvConnectorStats::new(Family::F6);
    for _ in 0..n {
        let xfer_us = 300 + next() % 4_000;
        let post_us = 50 + next() % 600;
        let blocks = [1, 2, 4, 40][(next() % 4) as usize];
        let descriptors = [56, 72, 144, 2240][(next() % 4) as usize];
        stats.record_transfer(&XferTelemetry::new(
            xfer_us,
            post_us,
            blocks * 2_359_296,
            descriptors,
        ));
    }
    stats
}

fn reduce(c: &mut Criterion) {
    let mut group = c.benchmark_group("reduce");
    for n in [1_000, 100_000, 1_000_000] {
        let stats = stats(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &stats, |b, stats| {
            b.iter(|| stats.reduce())
        });
    }
    group.finish();
}

criterion_group!(benches, reduce);
criterion_main!(benches);
