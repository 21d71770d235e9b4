"""Scenario group `frontend`: vLLM's own stats pipeline, fed per-worker stats.

    python frontend.py --out CASES.jsonl

Each case builds the release's real classes - the workers' NIXL stats objects
(filled through their own record_* methods), KVOutputAggregator (one per
engine), the scheduler payload, a msgpack round trip through EngineCoreOutputs,
and StatLoggerManager with its LoggingStatLogger / AggregatedLoggingStatLogger
and PrometheusStatLogger - and records every log record the `vllm` loggers emit
and the `vllm:nixl_*` exposition. Cases run grouped by VLLM_LOGGING_LEVEL, one
process per level, since vLLM configures its logger once at import.

The pipeline itself is pipeline.py's (its one shim: a scripted clock).
"""

from __future__ import annotations

import copy
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import vllm_api
from pipeline import Pipeline, Unsupported
from processes import main_in_parts
from tiny_models import GQA, model_dir

#: Seconds between two log() calls (vLLM's default VLLM_LOG_STATS_INTERVAL).
INTERVAL = 10.0


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


def vllm_config():
    from vllm.config import DeviceConfig, KVTransferConfig, ModelConfig, VllmConfig
    mc = ModelConfig(model=model_dir(GQA), skip_tokenizer_init=True, dtype="float16",
                     served_model_name=GQA.name)
    kv = KVTransferConfig(kv_connector="NixlConnector", kv_role="kv_both")
    return VllmConfig(model_config=mc, device_config=DeviceConfig(device="cpu"),
                      kv_transfer_config=kv)


def run_case(case: Case, vc, cap) -> dict:
    stats_cls = vllm_api.nixl_stats_class()
    record = {"name": case.name, "note": case.note,
              "config": {"vllm_logging_level": case.level, "engines": case.engines,
                         "workers_per_engine": case.workers,
                         "aggregate_engine_logging": case.aggregate_engine_logging,
                         "client_count": case.client_count,
                         "log_stats_interval_s": INTERVAL,
                         "model_name": vc.model_config.served_model_name,
                         "kv_connector": "NixlConnector"}}
    try:
        pipe = Pipeline(vc, cap, case.engines, case.workers, case.aggregate_engine_logging,
                        case.client_count, INTERVAL)
    except Unsupported as e:
        record["skipped"] = f"StatLoggerManager of this release has no {e}"
        return record
    record["loggers"] = pipe.loggers
    record["setup_records"] = pipe.setup_records
    intervals = []
    for steps in case.intervals:
        rec_steps = []
        for step in steps:
            data, cannot = zip(*[worker_data(spec, stats_cls) for spec in step.workers])
            rec = pipe.step(step.engine, list(data), step.generation_tokens, step.running,
                            step.finished_recving)
            rec["worker_events"] = [None if s is None else
                                    {k: v for k, v in s.items() if k not in ("seed", "blocks")}
                                    for s in step.workers]
            rec["cannot_record"] = sorted(set().union(*cannot))
            rec_steps.append(rec)
        intervals.append({"steps": rec_steps, **pipe.log()})
    record["intervals"] = intervals
    record["exposition"] = pipe.exposition()
    return record


def run_level(level: str, out: Path) -> None:
    vc = vllm_config()
    cap = vllm_api.capture_vllm_logs(vc)
    import logging
    with out.open("w") as f:
        for case in CASES:
            if case.level != level:
                continue
            rec = run_case(case, vc, cap)
            rec["config"]["vllm_logger_effective_level"] = logging.getLevelName(
                logging.getLogger("vllm").getEffectiveLevel())
            f.write(json.dumps(rec, sort_keys=True) + "\n")


def main() -> int:
    levels = dict.fromkeys(c.level for c in CASES)
    return main_in_parts(__file__, "--level", run_level,
                         ((level, {"VLLM_LOGGING_LEVEL": level}) for level in levels), timeout=900)


if __name__ == "__main__":
    sys.exit(main())
