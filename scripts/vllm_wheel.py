"""vLLM's own classes, read out of a release's wheel, for the scripts that run them.

The wheel is downloaded from PyPI with pip into a scratch directory of the cache,
the few top-level classes and functions a script needs are cut out of its
modules as text, and only that text is kept, outside the project:
`<CACHE>/<VERSION>/<Extract.cache_name>`. The wheel is deleted once read. The
cache is ~/.cache/nixl-kv-metrics-golden (override with NIXL_GOLDEN_CACHE); each
wheel is about 300-500 MB to download, once.

Used by golden.py (the stats classes), golden_prometheus.py (the Prometheus
classes), differential.py and speed.py.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("NIXL_GOLDEN_CACHE", "~/.cache/nixl-kv-metrics-golden")).expanduser()

PIP_PLATFORMS = ("manylinux_2_31_x86_64", "manylinux_2_28_x86_64",
                 "manylinux_2_17_x86_64", "manylinux2014_x86_64")


@dataclasses.dataclass(frozen=True)
class Extract:
    """What to cut out of a wheel: from the modules whose paths end with one of
    `modules`, the first top-level `def` of each name in `functions` that any
    has (optional: older releases may lack a helper), then the first `class` of
    each name in `classes` (required), joined in that order."""
    cache_name: str
    modules: tuple[str, ...]
    classes: tuple[str, ...]
    functions: tuple[str, ...] = ()


_CONNECTOR_MODULES = ("kv_connector/v1/metrics.py", "kv_connector/v1/nixl_connector.py",
                      "kv_connector/v1/nixl/stats.py")

# The stats container and its base class.
STATS = Extract("stats_classes.py", _CONNECTOR_MODULES,
                classes=("KVConnectorStats", "NixlKVConnectorStats"))

# The Prometheus metrics, their base class and the per-engine helper.
PROM = Extract("prom_classes.py", _CONNECTOR_MODULES + ("vllm/v1/metrics/utils.py",),
               classes=("KVConnectorPromMetrics", "NixlPromMetrics"),
               functions=("create_metric_per_engine",))


EXTRACTS = (STATS, PROM)


def download_wheel(version: str, directory: Path) -> Path:
    platforms = [arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", "--python-version", "3.12", *platforms,
                    f"vllm=={version}", "--dest", str(directory)], check=True)
    return next(directory.glob(f"vllm-{version}-*.whl"))


def top_level_block(module: str, keyword: str, name: str) -> str | None:
    """The top-level `class` or `def` (`keyword`) `name` in a module's text, with
    its decorators: every line up to the next one that starts a new top-level
    statement (a closing bracket at the margin still belongs to it)."""
    lines = module.splitlines()
    header = (f"{keyword} {name}(", f"{keyword} {name}:")
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    if start is None:
        return None
    first = start
    while first > 0 and (lines[first - 1].startswith("@") or not lines[first - 1].strip()):
        first -= 1
    while not lines[first].strip():
        first += 1
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#)"):
        end += 1
    return "\n".join(lines[first:end]).rstrip() + "\n"


def extract(wheel: Path, what: Extract) -> str | None:
    """The source `what` names, cut out of `wheel`; None when a class is missing
    (0.11.0 has no Prometheus classes)."""
    with zipfile.ZipFile(wheel) as archive:
        modules = [archive.read(name).decode() for name in archive.namelist()
                   if name.endswith(what.modules)]

    def found(keyword: str, name: str) -> list[str]:
        return [block for block in (top_level_block(m, keyword, name) for m in modules) if block]
    blocks = [block for name in what.functions for block in found("def", name)[:1]]
    for name in what.classes:
        classes = found("class", name)
        if not classes:
            return None
        blocks.append(classes[0])
    return "\n\n".join(blocks)


def source(version: str, what: Extract) -> str:
    """The source `what` names in release `version`, from the cache, or from the
    wheel, downloaded once for every extract the release has."""
    cached = CACHE / version / what.cache_name
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
            wheel = download_wheel(version, Path(scratch))
            cached.parent.mkdir(exist_ok=True)
            for each in EXTRACTS:
                text = extract(wheel, each)
                if text is not None:
                    (CACHE / version / each.cache_name).write_text(text)
        if not cached.exists():
            sys.exit(f"vLLM {version}: {', '.join(what.classes)} not found in its wheel")
    return cached.read_text()


def load(version: str, what: Extract, namespace: dict, prelude: str = "") -> dict:
    """Runs the extracted source in `namespace` (the names it uses from its
    modules' imports) and returns it. Annotations stay unevaluated, so the names
    they use need not exist."""
    text = "from __future__ import annotations\n" + prelude + source(version, what)
    exec(compile(text, f"<vllm {version} {what.cache_name}>", "exec"), namespace)
    return namespace


@functools.cache
def load_stats_class(version: str) -> type:
    """vLLM's NixlKVConnectorStats of `version`, on its real base class."""
    import numpy as np
    namespace = {"copy": copy, "dataclass": dataclasses.dataclass,
                 "field": dataclasses.field, "np": np}
    return load(version, STATS, namespace)["NixlKVConnectorStats"]


@functools.cache
def load_prom_class(version: str) -> type:
    """vLLM's NixlPromMetrics of `version`, on its real base class."""
    from prometheus_client import Counter, Gauge, Histogram
    namespace = {"Gauge": Gauge, "Counter": Counter, "Histogram": Histogram}
    return load(version, PROM, namespace, "from typing import Any\n")["NixlPromMetrics"]
