"""The vLLM names the scenarios use, found where the running release keeps them.

Releases moved these classes between modules; each lookup tries the newer home
first. Nothing here reimplements vLLM: every name resolves to vLLM's own object.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CACHE_ROOT", os.path.join(
    os.environ.get("REALSTACK_SCRATCH", "/tmp/realstack-scratch"), "vllm-cache"))


def first(*candidates: str):
    """The first importable `module:attribute` of the candidates."""
    errors = []
    for c in candidates:
        module, _, attr = c.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            errors.append(f"{c}: {e}")
    raise ImportError("; ".join(errors))


def nixl_stats_class():
    return first("vllm.distributed.kv_transfer.kv_connector.v1.nixl.stats:NixlKVConnectorStats",
                 "vllm.distributed.kv_transfer.kv_connector.v1.nixl_connector:NixlKVConnectorStats")


def kv_output_aggregator():
    return first("vllm.distributed.kv_transfer.kv_connector.utils:KVOutputAggregator")


def stat_logger_manager():
    return first("vllm.v1.metrics.loggers:StatLoggerManager")


def unregister_vllm_metrics():
    return first("vllm.v1.metrics.prometheus:unregister_vllm_metrics",
                 "vllm.v1.metrics.loggers:unregister_vllm_metrics")


def accepts(fn, name: str) -> bool:
    return name in inspect.signature(fn).parameters


class Capture(logging.Handler):
    """Every record the `vllm` logger tree emits, in order (those its level lets
    through: what vLLM's own handler would print)."""

    def __init__(self):
        super().__init__(logging.NOTSET)
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"logger": record.name, "level": record.levelname,
                             "message": record.getMessage(),
                             "source": f"{record.filename}:{record.lineno}"})

    def take(self) -> list[dict]:
        out, self.records = self.records, []
        return out


def configure_logging(vllm_config) -> None:
    """Configure the `vllm` logger as the engine does: releases with a
    LoggingConfig apply it when AsyncLLM / LLMEngine is built, older ones
    configured it from VLLM_LOGGING_LEVEL when vllm.logger was imported."""
    import vllm.logger as vl
    if hasattr(vl, "configure_logging_if_needed") and hasattr(vllm_config, "logging_config"):
        vl.configure_logging_if_needed(vllm_config.logging_config)


def capture_vllm_logs(vllm_config) -> Capture:
    """Configure vLLM's logging, then listen to it (configuring replaces the
    `vllm` logger's handlers)."""
    configure_logging(vllm_config)
    cap = Capture()
    logging.getLogger("vllm").addHandler(cap)
    return cap


def nixl_exposition(registry=None) -> str:
    """generate_latest() text of the `vllm:nixl_*` families, `_created` samples
    (wall-clock times of the run) dropped with their HELP and TYPE lines."""
    from prometheus_client import REGISTRY, generate_latest
    text = generate_latest(registry or REGISTRY).decode()
    keep = []
    for line in text.splitlines(keepends=True):
        if line.startswith("# "):
            name = line.split()[2]
        else:
            name = line.split("{")[0].split(" ")[0]
        if name.startswith("vllm:nixl_") and not name.endswith("_created"):
            keep.append(line)
    return "".join(keep)
