//! Reading a vLLM log: `LogParser` over a generated 64 MiB log in which one
//! line in twenty is a `KV Transfer metrics:` line (F6, eleven fields), one
//! in twenty an engine's stats line, and the rest the API server's and the
//! engine core's chatter (request logs, HTTP access lines, connector debug
//! lines), about 150 bytes a line as in real logs.
//!
//! Criterion reports bytes per second. Four measurements: the parser over
//! the log in memory; over the log in a file in the temporary directory
//! (through a 64 KiB `BufReader`, the page cache warm); the parser plus
//! each record written as CSV (what `parse --format csv` does); and the
//! parser plus a run summary (`views::Run`, what `summarize` does). Then
//! `explain`'s two halves, building explanations and writing them as text.
//! Run with `cargo bench --bench parse`.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nixl_kv_metrics::explain::Context;
use nixl_kv_metrics::logs::{KvRecord, LogParser};
use nixl_kv_metrics::printer::explanation::Text;
use nixl_kv_metrics::printer::record::CsvRow;
use nixl_kv_metrics::python::Repr;
use nixl_kv_metrics::views::{DEFAULT_INTERVAL, Run};

/// The log's size.
const SIZE: usize = 64 << 20;

/// A log of about [`SIZE`] bytes from a fixed-seed generator (xorshift).
fn log() -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let mut out = Vec::with_capacity(SIZE + 1024);
    let mut i = 0u64;
    while out.len() < SIZE {
        i += 1;
        let (m, s) = ((i / 120) % 60, (i / 2) % 60);
        let time = format!("07-13 16:{m:02}:{s:02}");
        match i % 20 {
            0 => {
                // Values as vLLM prints them: rounded to 3 decimals, `repr`.
                let mut ms = |below: u64| Repr(next(below) as f64 / 1000.0);
                let (avg, p90, post, post_p90) = (ms(40_000), ms(80_000), ms(1_000), ms(2_000));
                let (mib, throughput) = (ms(200_000), ms(20_000_000));
                writeln!(
                    out,
                    "(APIServer pid=428) INFO {time} [metrics.py:103] KV Transfer metrics: \
                     Num successful transfers={}, Avg xfer time (ms)={avg}, P90 xfer time (ms)={p90}, \
                     Avg post time (ms)={post}, P90 post time (ms)={post_p90}, Avg MB per transfer={mib}, \
                     Throughput (MB/s)={throughput}, Avg number of descriptors={}, Num failed transfers=0, \
                     Num KV expired reqs={}, Num notifs after expiry=0",
                    1 + next(400),
                    Repr(next(30_000) as f64 / 10.0),
                    next(3),
                )
            }
            19 => writeln!(
                out,
                "(APIServer pid=428) INFO {time} [loggers.py:215] Engine 000: Avg prompt throughput: \
                 {}.{} tokens/s, Avg generation throughput: {}.{} tokens/s, Running: {} reqs, \
                 Waiting: 0 reqs, GPU KV cache usage: 12.5%, Prefix cache hit rate: 0.0%",
                next(9000),
                next(10),
                next(900),
                next(10),
                next(64)
            ),
            _ => match next(4) {
                0 => writeln!(
                    out,
                    "(APIServer pid=428) INFO:     10.0.{}.{}:{} - \"POST /v1/completions HTTP/1.1\" 200 OK",
                    next(256),
                    next(256),
                    1024 + next(60000)
                ),
                1 => writeln!(
                    out,
                    "(APIServer pid=428) INFO {time} [logger.py:43] Received request cmpl-{:x}: \
                     prompt: 'Tell me about the history of the Roman empire in a few sentences', \
                     params: SamplingParams(n=1, temperature=0.7, max_tokens=128)",
                    next(u64::MAX)
                ),
                2 => writeln!(
                    out,
                    "(EngineCore_DP0 pid=611) DEBUG {time} [core.py:812] EngineCore loop active, \
                     {} running requests, {} waiting",
                    next(64),
                    next(8)
                ),
                _ => writeln!(
                    out,
                    "(EngineCore_DP0 pid=611) DEBUG {time} [nixl_connector.py:1432] Rank 0, \
                     get_finished: {} requests done sending and {} requests done recving",
                    next(16),
                    next(16)
                ),
            },
        }
        .expect("writing to a Vec");
    }
    out
}

/// The log, also written to a file in the temporary directory.
fn log_file(log: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "nixl-kv-metrics-bench-parse-{}.log",
        std::process::id()
    ));
    std::fs::write(&path, log).expect("the temporary directory is writable");
    path
}

fn parse(c: &mut Criterion) {
    let log = log();
    let path = log_file(&log);
    let expected = LogParser::new(&log[..]).filter(Result::is_ok).count();
    assert_eq!(
        expected as u64,
        log.iter().filter(|&&b| b == b'\n').count() as u64 / 20
    );
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.sample_size(10);
    group.bench_function("in memory", |b| {
        b.iter(|| {
            let mut records = 0;
            for record in LogParser::new(black_box(&log[..])) {
                black_box(record.expect("the log is well formed"));
                records += 1;
            }
            assert_eq!(records, expected);
        })
    });
    group.bench_function("file", |b| {
        b.iter(|| {
            let file = File::open(&path).expect("the log was written");
            let parser = LogParser::new(BufReader::with_capacity(1 << 16, file));
            assert_eq!(parser.map(black_box).count(), expected);
        })
    });
    group.bench_function("in memory + CSV", |b| {
        b.iter(|| {
            // What `parse --format csv` does, writing to nowhere.
            let mut out = BufWriter::with_capacity(1 << 16, io::sink());
            for record in LogParser::new(black_box(&log[..])) {
                let record = record.expect("the log is well formed");
                writeln!(out, "{}", CsvRow(&record)).expect("io::sink takes anything");
            }
            black_box(out)
        })
    });
    group.bench_function("in memory + summary", |b| {
        b.iter(|| {
            let mut run = Run::new(DEFAULT_INTERVAL);
            for record in LogParser::new(black_box(&log[..])) {
                run.add(&record.expect("the log is well formed"));
            }
            assert_eq!(run.overall().lines as usize, expected);
            black_box(run)
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&path);
}

/// `explain`'s two halves over the same log's KV lines: building each
/// line's explanation (`Context::explain`), and that plus writing it as
/// text (what the command does, to nowhere). Criterion reports lines per
/// second.
fn explain(c: &mut Criterion) {
    let log = log();
    let records: Vec<KvRecord> = LogParser::new(&log[..])
        .take(2_000)
        .map(|record| record.expect("the log is well formed"))
        .collect();
    let context = Context::tp(2).expect("TP 2 is valid");
    let mut group = c.benchmark_group("explain");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.sample_size(10);
    group.bench_function("build", |b| {
        b.iter(|| {
            for record in &records {
                black_box(context.explain(black_box(record)));
            }
        })
    });
    group.bench_function("build + text", |b| {
        b.iter(|| {
            let mut out = BufWriter::with_capacity(1 << 16, io::sink());
            for record in &records {
                write!(out, "{}", Text(&context.explain(black_box(record))))
                    .expect("io::sink takes anything");
            }
            black_box(out)
        })
    });
    group.finish();
}

criterion_group!(benches, parse, explain);
criterion_main!(benches);
