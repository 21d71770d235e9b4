//! vLLM's frontend pipeline, fed synthetic worker stats: each worker's
//! hand-off, the engine's output aggregator, the stat loggers' records and
//! the Prometheus exposition.

use nixl_kv_metrics::pipeline::{
    EngineStep, FrontendError, KvOutputAggregator, StatLogger, StatLoggerManager, Worker,
};
use nixl_kv_metrics::release::{Event, Family};
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::XferTelemetry;
use serde_json::Value;

use super::{
    Fixture, ensure, frontend_config, list, same, same_exposition, same_records, stats, text, uint,
};

/// Checks every case; returns how many.
pub(super) fn check(fixture: &Fixture) -> usize {
    fixture.check_each(|case| check_case(fixture, case).map(|()| true))
}

fn check_case(fixture: &Fixture, case: &Value) -> Result<(), String> {
    let config = &case["config"];
    let engines: Vec<usize> = list(&config["engines"])
        .iter()
        .map(|e| uint(e) as usize)
        .collect();
    let mut frontend = frontend_config(
        engines.clone(),
        text(&config["model_name"]),
        &config["vllm_logger_effective_level"],
    );
    frontend.aggregate_engine_logging = config["aggregate_engine_logging"] == true;
    frontend.client_count = uint(&config["client_count"]) as u32;
    let interval_s = config["log_stats_interval_s"]
        .as_f64()
        .ok_or("no interval")?;
    let intervals = list(&case["intervals"]);
    let start_s = intervals
        .first()
        .and_then(|i| i["clock"].as_f64())
        .map_or(0.0, |clock| clock - interval_s);
    let manager = StatLoggerManager::new(fixture.release, &frontend, start_s);
    if case.get("skipped").is_some() {
        ensure!(
            matches!(manager, Err(FrontendError::NoAggregateLogging(_))),
            "the release lacks a setting ({}), but ours sets up: {manager:?}",
            case["skipped"]
        );
        return Ok(());
    }
    let mut manager = manager.map_err(|e| e.to_string())?;
    same!(
        manager.loggers(),
        list(&case["loggers"])
            .iter()
            .map(|name| logger(text(name), &engines))
            .collect::<Vec<_>>(),
        "stat loggers"
    );
    same_records(
        manager.setup_records(),
        list(&case["setup_records"]),
        "setup",
    )?;

    let workers_per_engine = uint(&config["workers_per_engine"]) as usize;
    let mut aggregators: Vec<KvOutputAggregator> = engines
        .iter()
        .map(|_| KvOutputAggregator::new(workers_per_engine))
        .collect();
    for (k, interval) in intervals.iter().enumerate() {
        for (s, step) in list(&interval["steps"]).iter().enumerate() {
            let what = format!("interval {k} step {s}");
            let engine = uint(&step["engine"]) as usize;
            let shipped = shipped(fixture.family, step, &what)?;
            let pooled = KvOutputAggregator::aggregate(shipped);
            same!(
                pooled,
                stats(fixture.family, &step["scheduler_payload"]),
                "{what}: scheduler payload"
            );
            if !step["finished_recving_in"].is_null() {
                let index = engines.iter().position(|&e| e == engine).ok_or("engine")?;
                let per_worker = list(&step["finished_recving_in"])
                    .iter()
                    .map(|ids| list(ids).iter().map(|id| text(id).to_string()).collect());
                same!(
                    aggregators[index].finished_recving(per_worker),
                    list(&step["finished_recving_out"])
                        .iter()
                        .map(text)
                        .collect::<Vec<_>>(),
                    "{what}: finished receiving"
                );
            }
            ensure!(
                list(&step["records"]).is_empty(),
                "{what}: records while recording"
            );
            let step = EngineStep {
                kv_connector_stats: pooled,
                num_generation_tokens: uint(&step["num_generation_tokens"]),
                ..EngineStep::default()
            };
            manager.record(engine, step).map_err(|e| e.to_string())?;
        }
        let clock = interval["clock"].as_f64().ok_or("no clock")?;
        same_records(
            &manager.log(clock),
            list(&interval["records"]),
            &format!("interval {k}"),
        )?;
    }
    same_exposition(&manager, &case["exposition"])
}

/// A stat logger by its vLLM class name (0.11.1 on).
fn logger(name: &str, engines: &[usize]) -> StatLogger {
    match name {
        "PrometheusStatLogger" => StatLogger::Prometheus,
        "AggregatedLoggingStatLogger" => StatLogger::Aggregated(engines.to_vec()),
        adapter => {
            let inner = adapter
                .strip_prefix("PerEngineStatLoggerAdapter[")
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or_else(|| panic!("an unknown stat logger {adapter:?}"));
            StatLogger::PerEngine(
                inner
                    .split(", ")
                    .map(|entry| {
                        let (engine, class) = entry.split_once(':').expect("engine:class");
                        assert_eq!(class, "LoggingStatLogger", "{adapter}");
                        engine.parse().expect("an engine index")
                    })
                    .collect(),
            )
        }
    }
}

/// What each worker of a step hands over, from what it recorded
/// (`worker_events`), checked against what it shipped (`workers`).
fn shipped(
    family: Family,
    step: &Value,
    what: &str,
) -> Result<Vec<Option<NixlKvConnectorStats>>, String> {
    let cannot: Vec<&str> = list(&step["cannot_record"]).iter().map(text).collect();
    let mut out = Vec::new();
    for (w, (events, data)) in list(&step["worker_events"])
        .iter()
        .zip(list(&step["workers"]))
        .enumerate()
    {
        let theirs = stats(family, data);
        if events.is_null() {
            same!(theirs, None, "{what}: absent worker {w}");
            out.push(None);
            continue;
        }
        let mut worker = Worker::new(family);
        // The transfers' telemetry, as the harness recorded it.
        let recorded = theirs
            .clone()
            .unwrap_or_else(|| NixlKvConnectorStats::new(family));
        let transfers = uint(&events["transfers"]) as usize;
        ensure!(
            recorded.transfer_duration().len() == transfers,
            "{what}: worker {w} shipped {} of its {transfers} transfers",
            recorded.transfer_duration().len()
        );
        for i in 0..transfers {
            let us = |seconds: f64| (seconds * 1e6).round() as u64;
            let telemetry = XferTelemetry::new(
                us(recorded.transfer_duration()[i]),
                us(recorded.post_duration()[i]),
                recorded.bytes_transferred()[i],
                recorded.num_descriptors()[i],
            );
            worker
                .transfer_done(Some(&telemetry))
                .map_err(|e| e.to_string())?;
        }
        for (key, event) in [
            ("failed", Event::FailedTransfer),
            ("failed_notifications", Event::FailedNotification),
            ("failed_handshakes", Event::FailedHandshake),
            ("expired", Event::KvExpiredReq),
            ("after_expiry", Event::NotificationAfterExpiry),
        ] {
            let count = events[key].as_u64().unwrap_or(0);
            let refused = worker.stats_mut().record_many(event, count).is_err();
            same!(
                refused,
                count > 0 && cannot.contains(&key),
                "{what}: worker {w} recording {key}"
            );
        }
        let ours = worker.get_kv_connector_stats();
        same!(ours, theirs, "{what}: worker {w} hand-off");
        out.push(ours);
    }
    Ok(out)
}
