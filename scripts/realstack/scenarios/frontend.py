"""Scenario group `frontend`: vLLM's own stats pipeline, fed per-worker stats.

    python frontend.py --out CASES.jsonl

Each case builds the release's real classes - the workers' NIXL stats objects
(filled through their own record_* methods), KVOutputAggregator (one per
engine), the scheduler payload, a msgpack round trip through EngineCoreOutputs,
and StatLoggerManager with its LoggingStatLogger / AggregatedLoggingStatLogger
and PrometheusStatLogger - and records every log record the `vllm` loggers emit
and the `vllm:nixl_*` exposition. Cases run grouped by VLLM_LOGGING_LEVEL, one
process per level, since vLLM configures its logger once at import.

One shim: the frontend loggers' clock (`time.monotonic` as seen from
vllm.v1.metrics.loggers) is a scripted one, so that each interval lasts exactly
INTERVAL seconds and the throughputs in the "Engine 00N:" lines are exact.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import vllm_api
from tiny_models import GQA, model_dir

#: Seconds between two log() calls (vLLM's default VLLM_LOG_STATS_INTERVAL).
INTERVAL = 10.0
CLOCK_START = 1000.0


@dataclass
class Step:
    """One engine step of one engine: each worker's recorded events (None: the
    worker shipped no stats this step) and what else the step reported."""

    engine: int
    workers: list[dict | None]
    generation_tokens: int = 0
    running: int = 1
    finished_recving: list[list[str]] | None = None


@dataclass
class Case:
    name: str
    level: str
    engines: list[int]
    workers: int
    intervals: list[list[Step]]
    aggregate_engine_logging: bool = False
    client_count: int = 1
    note: str = ""
    config: dict = field(default_factory=dict)


def busy(engine, workers, tokens=500, **kw):
    return Step(engine, workers, generation_tokens=tokens, **kw)


def xfers(n, seed, blocks=(1, 64), **events):
    return {"transfers": n, "seed": seed, "blocks": blocks, **events}


def dp_intervals():
    return [[busy(0, [xfers(2, 1), xfers(2, 2)]), busy(1, [xfers(3, 3), xfers(3, 4)]),
             busy(0, [xfers(1, 5), None]), busy(1, [None, xfers(1, 6, failed=1)])],
            [busy(0, [None, None]), busy(1, [xfers(2, 7), xfers(2, 8)])],
            [busy(0, [None, None]), busy(1, [None, None])]]


def idle_intervals():
    return [[busy(0, [xfers(2, 20, expired=1)], tokens=t)] for t in (500, 0, 0, 250, 0)]


CASES = [
    Case("one-engine", "INFO", [0], 1,
         [[busy(0, [xfers(2, 10)]), busy(0, [xfers(1, 11)]), busy(0, [xfers(3, 12)])],
          [busy(0, [xfers(1, 13, failed=1)]), busy(0, [None])],
          [busy(0, [None]), busy(0, [None])]]),
    Case("workers-missing", "INFO", [0], 4,
         [[busy(0, [xfers(1, 30), xfers(1, 31), xfers(1, 32), xfers(1, 33)],
                finished_recving=[["a"], ["a"], [], []]),
           busy(0, [None, xfers(2, 34), xfers(1, 35), None],
                finished_recving=[[], [], ["a"], ["a"]]),
           busy(0, [None, None, None, xfers(1, 36)]),
           busy(0, [None, None, None, None])]],
         note="the first present worker's stats object is the step's accumulator"),
    Case("dp-per-engine", "INFO", [0, 1], 2, dp_intervals()),
    Case("dp-aggregated", "INFO", [0, 1], 2, dp_intervals(), aggregate_engine_logging=True),
    Case("api-servers-2", "INFO", [0, 1], 2, dp_intervals(), client_count=2),
    Case("api-servers-2-aggregated", "INFO", [0, 1], 2, dp_intervals(),
         aggregate_engine_logging=True, client_count=2),
    Case("idle-engine", "INFO", [0], 1, idle_intervals()),
    Case("idle-engine", "DEBUG", [0], 1, idle_intervals()),
    Case("failures-only", "INFO", [0], 2,
         [[busy(0, [xfers(0, 40, failed=2, failed_notifications=1),
                    xfers(0, 41, failed_handshakes=1, expired=2, after_expiry=1)])]]),
    Case("empty-interval", "INFO", [0], 2,
         [[busy(0, [None, None]), busy(0, [None, None])],
          [busy(0, [xfers(0, 50), xfers(0, 51)])]],
         note="second interval: workers whose stats hold nothing"),
    Case("telemetry-disabled-worker", "INFO", [0], 2,
         [[busy(0, [xfers(0, 60, failed=1), xfers(0, 61, failed=1)]),
           busy(0, [xfers(0, 62, failed=2), xfers(0, 63, failed=2)])]],
         note="each read as the worker records it with NIXL_TELEMETRY_ENABLE=n: a failed transfer"),
    Case("one-engine", "DEBUG", [0], 1,
         [[busy(0, [xfers(2, 10)]), busy(0, [xfers(1, 11)])]]),
    Case("one-engine", "WARNING", [0], 1,
         [[busy(0, [xfers(2, 10)]), busy(0, [xfers(1, 11)])]]),
    Case("dp-per-engine", "WARNING", [0, 1], 2, dp_intervals()),
]

#: The worker events a spec may name, and the stats method that records one.
EVENTS = {"failed": "record_failed_transfer",
          "failed_notifications": "record_failed_notification",
          "failed_handshakes": "record_failed_handshake",
          "expired": "record_kv_expired_req",
          "after_expiry": "record_notification_after_expiry"}

LAYERS, PAGE = 4, 65536  # the transfers' geometry: bytes = blocks x layers x page


class Telemetry:
    """What NIXL's get_xfer_telemetry returns, with the fields vLLM reads."""

    def __init__(self, rng: random.Random, blocks):
        n = rng.randint(*blocks)
        runs = rng.randint(1, n)
        self.xferDuration = rng.randint(300, 30000)  # microseconds, as NIXL reports
        self.postDuration = rng.randint(15, 900)
        self.totalBytes = n * LAYERS * PAGE
        self.descCount = runs * LAYERS
        self.startTime = 0


def worker_data(spec: dict | None, stats_cls) -> tuple[dict | None, list[str]]:
    """The stats a worker ships for one step: its data dict, or None when it
    ships nothing (absent, or its stats are empty by the release's is_empty()),
    plus the events this release cannot record."""
    if spec is None:
        return None, []
    st = stats_cls()
    rng = random.Random(f"frontend-{spec['seed']}")
    for _ in range(spec["transfers"]):
        st.record_transfer(Telemetry(rng, spec["blocks"]))
    missing = []
    for event, method in EVENTS.items():
        for _ in range(spec.get(event, 0)):
            if hasattr(st, method):
                getattr(st, method)()
            else:
                missing.append(event)
    if st.is_empty():
        return None, sorted(set(missing))
    return copy.deepcopy(st.data), sorted(set(missing))


class ScriptedClock:
    """Stands in for the `time` module inside vllm.v1.metrics.loggers."""

    def __init__(self):
        self.now = CLOCK_START

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


def vllm_config():
    from vllm.config import DeviceConfig, KVTransferConfig, ModelConfig, VllmConfig
    mc = ModelConfig(model=model_dir(GQA), skip_tokenizer_init=True, dtype="float16",
                     served_model_name=GQA.name)
    kv = KVTransferConfig(kv_connector="NixlConnector", kv_role="kv_both")
    return VllmConfig(model_config=mc, device_config=DeviceConfig(device="cpu"),
                      kv_transfer_config=kv)


def describe_loggers(manager) -> list[str]:
    out = []
    for lg in manager.stat_loggers:
        inner = getattr(lg, "per_engine_stat_loggers", None)
        if inner:
            out.append(f"{type(lg).__name__}[" + ", ".join(
                f"{k}:{type(v).__name__}" for k, v in inner.items()) + "]")
        else:
            out.append(type(lg).__name__)
    return out


def run_case(case: Case, vc, cap, clock) -> dict:
    import vllm.v1.metrics.loggers as loggers
    from vllm.v1.engine import EngineCoreOutputs
    from vllm.v1.metrics.stats import IterationStats, SchedulerStats
    from vllm.v1.outputs import EMPTY_MODEL_RUNNER_OUTPUT, KVConnectorOutput
    from vllm.v1.serial_utils import MsgpackDecoder, MsgpackEncoder

    stats_cls = vllm_api.nixl_stats_class()
    manager_cls = vllm_api.stat_logger_manager()
    aggregator_cls = vllm_api.kv_output_aggregator()
    loggers.time = clock
    vllm_api.unregister_vllm_metrics()()
    clock.now = CLOCK_START
    cap.take()
    kwargs = {"engine_idxs": case.engines}
    unsupported = []
    for name, value, default in (("aggregate_engine_logging", case.aggregate_engine_logging,
                                  False),
                                 ("client_count", case.client_count, 1)):
        if value != default:
            if vllm_api.accepts(manager_cls, name):
                kwargs[name] = value
            else:
                unsupported.append(name)
    record = {"name": case.name, "note": case.note,
              "config": {"vllm_logging_level": case.level, "engines": case.engines,
                         "workers_per_engine": case.workers,
                         "aggregate_engine_logging": case.aggregate_engine_logging,
                         "client_count": case.client_count,
                         "log_stats_interval_s": INTERVAL,
                         "model_name": vc.model_config.served_model_name,
                         "kv_connector": "NixlConnector"},
              "unsupported": unsupported}
    if unsupported:
        record["skipped"] = f"StatLoggerManager of this release has no {', '.join(unsupported)}"
        return record
    manager = manager_cls(vc, **kwargs)
    record["loggers"] = describe_loggers(manager)
    record["setup_records"] = cap.take()
    aggregators = {e: aggregator_cls(expected_finished_count=case.workers) for e in case.engines}
    encoder, decoder = MsgpackEncoder(), MsgpackDecoder(EngineCoreOutputs)
    intervals = []
    for k, steps in enumerate(case.intervals):
        rec_steps = []
        for step in steps:
            workers, outputs, missing = [], [], set()
            for w, spec in enumerate(step.workers):
                data, cannot = worker_data(spec, stats_cls)
                missing |= set(cannot)
                workers.append(data)
                fin = set(step.finished_recving[w]) if step.finished_recving else None
                out = copy.copy(EMPTY_MODEL_RUNNER_OUTPUT)
                if data is not None or fin:
                    stats = None if data is None else pickle.loads(pickle.dumps(
                        stats_cls(data=copy.deepcopy(data))))
                    out.kv_connector_output = KVConnectorOutput(finished_recving=fin,
                                                                kv_connector_stats=stats)
                else:
                    out.kv_connector_output = None
                outputs.append(out)
            agg = aggregators[step.engine].aggregate(outputs)
            kvo = agg.kv_connector_output if agg is not None else None
            stats = kvo.kv_connector_stats if kvo is not None else None
            payload = None
            if stats:
                payload = stats.to_dict() if hasattr(stats, "to_dict") else stats.data
            ss = SchedulerStats(num_running_reqs=step.running, kv_connector_stats=payload)
            wire = decoder.decode(encoder.encode(
                EngineCoreOutputs(engine_index=step.engine, outputs=[], scheduler_stats=ss)))
            it = IterationStats()
            it.num_generation_tokens = step.generation_tokens
            manager.record(scheduler_stats=wire.scheduler_stats, iteration_stats=it,
                           engine_idx=step.engine)
            rec_steps.append({
                "engine": step.engine, "workers": workers,
                "worker_events": [None if s is None else {k2: v for k2, v in s.items()
                                                          if k2 not in ("seed", "blocks")}
                                  for s in step.workers],
                "cannot_record": sorted(missing),
                "finished_recving_in": step.finished_recving,
                "finished_recving_out": sorted(kvo.finished_recving or [])
                if kvo is not None else None,
                "scheduler_payload": copy.deepcopy(wire.scheduler_stats.kv_connector_stats),
                "num_generation_tokens": step.generation_tokens,
                "num_running_reqs": step.running,
                "records": cap.take()})
        clock.now = CLOCK_START + INTERVAL * (k + 1)
        manager.log()
        intervals.append({"clock": clock.now, "steps": rec_steps, "records": cap.take()})
    record["intervals"] = intervals
    record["exposition"] = vllm_api.nixl_exposition()
    return record


def run_level(level: str, out: Path) -> None:
    vc = vllm_config()
    cap = vllm_api.capture_vllm_logs(vc)
    clock = ScriptedClock()
    import logging
    with out.open("w") as f:
        for case in CASES:
            if case.level != level:
                continue
            rec = run_case(case, vc, cap, clock)
            rec["config"]["vllm_logger_effective_level"] = logging.getLevelName(
                logging.getLogger("vllm").getEffectiveLevel())
            f.write(json.dumps(rec, sort_keys=True) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--level", help="run the cases of one logging level here (internal)")
    args = ap.parse_args()
    if args.level:
        run_level(args.level, args.out)
        return 0
    failures = 0
    with args.out.open("w") as out:
        for level in dict.fromkeys(c.level for c in CASES):
            part = args.out.with_suffix(f".{level}.part")
            env = dict(os.environ, VLLM_LOGGING_LEVEL=level)
            done = subprocess.run([sys.executable, __file__, "--level", level, "--out", str(part)],
                                  env=env, timeout=900)
            if done.returncode != 0:
                failures += 1
                print(f"frontend: level {level} exited {done.returncode}", file=sys.stderr)
                continue
            out.write(part.read_text())
            part.unlink()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
