"""vLLM's frontend stats pipeline, driven one engine step at a time.

Worker stats -> KVOutputAggregator (one per engine) -> the scheduler's payload
-> msgpack round trip in EngineCoreOutputs -> StatLoggerManager.record(), and
at the end of an interval StatLoggerManager.log(). Every object is the running
release's own; this module only feeds them and writes down what they did.

One shim: the loggers' clock (`time` as seen from vllm.v1.metrics.loggers) is
a scripted one, so that each interval lasts exactly `interval` seconds and the
throughputs in the "Engine 00N:" lines are exact.
"""

from __future__ import annotations

import copy
import pickle
import time

import vllm_api

CLOCK_START = 1000.0


class ScriptedClock:
    """Stands in for the `time` module inside vllm.v1.metrics.loggers."""

    def __init__(self):
        self.now = CLOCK_START

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


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


class Unsupported(Exception):
    """The release's StatLoggerManager lacks a setting the case needs."""


class Pipeline:
    """One frontend (StatLoggerManager) over `engines`, each with `workers` workers."""

    def __init__(self, vllm_config, capture, engines: list[int], workers: int,
                 aggregate_engine_logging: bool = False, client_count: int = 1,
                 interval: float = 10.0):
        import vllm.v1.metrics.loggers as loggers
        from vllm.v1.engine import EngineCoreOutputs
        from vllm.v1.serial_utils import MsgpackDecoder, MsgpackEncoder

        self.stats_cls = vllm_api.nixl_stats_class()
        manager_cls = vllm_api.stat_logger_manager()
        self.clock = ScriptedClock()
        loggers.time = self.clock
        vllm_api.unregister_vllm_metrics()()
        self.capture = capture
        capture.take()
        kwargs = {"engine_idxs": engines}
        for name, value, default in (("aggregate_engine_logging", aggregate_engine_logging,
                                      False), ("client_count", client_count, 1)):
            if value != default:
                if not vllm_api.accepts(manager_cls, name):
                    raise Unsupported(name)
                kwargs[name] = value
        self.manager = manager_cls(vllm_config, **kwargs)
        self.loggers = describe_loggers(self.manager)
        self.setup_records = capture.take()
        agg_cls = vllm_api.kv_output_aggregator()
        self.aggregators = {e: agg_cls(expected_finished_count=workers) for e in engines}
        self.encoder, self.decoder = MsgpackEncoder(), MsgpackDecoder(EngineCoreOutputs)
        self.wire_cls = EngineCoreOutputs
        self.interval = interval
        self.logs = 0

    def step(self, engine: int, workers: list[dict | None], generation_tokens: int = 0,
             running: int = 1, finished_recving: list[list[str]] | None = None) -> dict:
        """One engine step: each worker's shipped stats dict (None: shipped none)."""
        from vllm.v1.metrics.stats import IterationStats, SchedulerStats
        from vllm.v1.outputs import EMPTY_MODEL_RUNNER_OUTPUT, KVConnectorOutput

        outputs = []
        for w, data in enumerate(workers):
            fin = set(finished_recving[w]) if finished_recving else None
            out = copy.copy(EMPTY_MODEL_RUNNER_OUTPUT)
            if data is not None or fin:
                # Workers run in other processes: their stats arrive pickled.
                stats = None if data is None else pickle.loads(pickle.dumps(
                    self.stats_cls(data=copy.deepcopy(data))))
                out.kv_connector_output = KVConnectorOutput(finished_recving=fin,
                                                            kv_connector_stats=stats)
            else:
                out.kv_connector_output = None
            outputs.append(out)
        agg = self.aggregators[engine].aggregate(outputs)
        kvo = agg.kv_connector_output if agg is not None else None
        stats = kvo.kv_connector_stats if kvo is not None else None
        payload = None
        if stats:
            payload = stats.to_dict() if hasattr(stats, "to_dict") else stats.data
        ss = SchedulerStats(num_running_reqs=running, kv_connector_stats=payload)
        wire = self.decoder.decode(self.encoder.encode(
            self.wire_cls(engine_index=engine, outputs=[], scheduler_stats=ss)))
        it = IterationStats()
        it.num_generation_tokens = generation_tokens
        self.manager.record(scheduler_stats=wire.scheduler_stats, iteration_stats=it,
                            engine_idx=engine)
        return {"engine": engine, "workers": copy.deepcopy(workers),
                "finished_recving_in": finished_recving,
                "finished_recving_out": sorted(kvo.finished_recving or [])
                if kvo is not None else None,
                "scheduler_payload": copy.deepcopy(wire.scheduler_stats.kv_connector_stats),
                "num_generation_tokens": generation_tokens, "num_running_reqs": running,
                "records": self.capture.take()}

    def log(self) -> dict:
        """End the interval: StatLoggerManager.log() at the scripted time."""
        self.logs += 1
        self.clock.now = CLOCK_START + self.interval * self.logs
        self.manager.log()
        return {"clock": self.clock.now, "records": self.capture.take()}

    @staticmethod
    def exposition() -> str:
        return vllm_api.nixl_exposition()
