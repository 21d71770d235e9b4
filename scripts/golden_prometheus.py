#!/usr/bin/env python3
"""Regenerate the Prometheus golden fixtures in tests/golden/prometheus/ from real
vLLM releases, and run a differential of the crate's CLI against them.

For every release in RELEASES (one per family that exports NIXL metrics; 0.11.0
exports none) this script reads three pieces out of the vLLM wheel: the
`NixlPromMetrics` class, its base class `KVConnectorPromMetrics` and, where the
release has it, the helper `create_metric_per_engine`. It runs them with the
installed prometheus_client on seeded inputs, each engine step pooled by the
release's real `NixlKVConnectorStats.aggregate` (as scripts/golden.py does), and
writes what `generate_latest` serves to `tests/golden/prometheus/vllm-<VERSION>.jsonl`.
Wheel download and caching are scripts/golden.py's (imported, same cache); the
extracted classes are cached as `<CACHE>/<VERSION>/prom_classes.py`, outside the
project. Nothing of vLLM is written into the project.

Usage (Python 3.11+, numpy, prometheus_client, pip; network on the first run):

    python3 scripts/golden_prometheus.py                      # every release
    python3 scripts/golden_prometheus.py --release 0.15.0     # one (repeatable)
    python3 scripts/golden_prometheus.py --differential 3000 \\
        --binary target/release/nixl-kv-metrics              # no fixtures written

Each output line is one JSON object with exactly these keys, in this order:

    name               case id, unique within the file
    vllm               the release, e.g. "0.15.0"
    prometheus_client  the prometheus_client version that wrote the exposition
    model_name         the `model_name` label value
    engines            [{"engine": index, "input": document}, ...] in the order
                       the engines were registered; `input` is any shape
                       `nixl-kv-metrics reduce` reads (dict, list of workers,
                       {"steps": ...}), observed step by step into that engine
    exposition         generate_latest()'s text for the NIXL metrics, `_created`
                       gauges included: their values are wall-clock times of the
                       run, and tests compare everything but them

The differential generates fresh random cases (seeds not used for fixtures), one
engine each, and compares the binary's `prometheus --created none` output with
the real exposition minus its `_created` gauges; it prints the mismatch count
per release and the first differences.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import importlib.metadata
import json
import math
import random
import subprocess
import sys
import tempfile
import time
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden  # noqa: E402  (wheel download, cache, stats classes, input generators)

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest  # noqa: E402

DEFAULT_OUT = golden.ROOT / "tests" / "golden" / "prometheus"
RELEASES = ("0.11.2", "0.12.0", "0.15.0", "0.31.0", "0.33.0", "0.34.0")
PROMETHEUS_CLIENT = importlib.metadata.version("prometheus_client")

PROM_MODULES = ("kv_connector/v1/metrics.py", "kv_connector/v1/nixl_connector.py",
                "kv_connector/v1/nixl/stats.py", "vllm/v1/metrics/utils.py")
LABEL_NAMES = ["model_name", "engine"]

# --------------------------------------------------------------------------
# The real classes, out of the wheel


def function_block(module: str, name: str) -> str | None:
    """The top-level function `name` in a module's text."""
    lines = module.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"def {name}(")), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#)"):
        end += 1
    return "\n".join(lines[start:end]).rstrip() + "\n"


def extract_prom_classes(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        modules = [archive.read(name).decode() for name in archive.namelist()
                   if name.endswith(PROM_MODULES)]
    blocks = []
    for name in ("KVConnectorPromMetrics", "NixlPromMetrics"):
        found = [block for block in (golden.class_block(m, name) for m in modules) if block]
        if not found:
            sys.exit(f"{wheel.name}: class {name} not found")
        blocks.append(found[0])
    helper = [block for block in (function_block(m, "create_metric_per_engine") for m in modules)
              if block]
    return "\n\n".join(helper[:1] + blocks)


def prom_source(version: str) -> str:
    cached = golden.CACHE / version / "prom_classes.py"
    if not cached.exists():
        golden.CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=golden.CACHE) as scratch:
            source = extract_prom_classes(golden.download_wheel(version, Path(scratch)))
        cached.parent.mkdir(exist_ok=True)
        cached.write_text(source)
    return cached.read_text()


@functools.cache
def load_prom_class(version: str) -> type:
    """vLLM's NixlPromMetrics of `version`, on its real base class."""
    namespace = {"Gauge": Gauge, "Counter": Counter, "Histogram": Histogram}
    # Annotations stay unevaluated, so the names they use need not exist here.
    source = "from __future__ import annotations\nfrom typing import Any\n" + prom_source(version)
    exec(compile(source, f"<vllm {version} prometheus classes>", "exec"), namespace)
    return namespace["NixlPromMetrics"]


@functools.cache
def stats_class(version: str) -> type:
    return golden.load_stats_class(version)


# The base class reads `vllm_config.kv_transfer_config` (0.31 on) and nothing else.
VLLM_CONFIG = types.SimpleNamespace(kv_transfer_config=None)


def exposition(version: str, model_name: str, engines: list[tuple[int, object]]) -> str:
    """What /metrics serves for the NIXL metrics after observing every engine's steps."""
    registry = CollectorRegistry()
    metric_types = {cls: functools.partial(cls, registry=registry)
                    for cls in (Gauge, Counter, Histogram)}
    labelvalues = {index: [model_name, str(index)] for index, _ in engines}
    prom = load_prom_class(version)(VLLM_CONFIG, metric_types, LABEL_NAMES, labelvalues)
    cls = stats_class(version)
    for index, doc in engines:
        for workers in golden.engine_steps(doc):
            step = golden.pooled(golden.stats_object(cls, data)
                                 for data in workers if data is not None)
            if step is not None:  # PrometheusStatLogger observes each step's pooled dict
                prom.observe(step.data, index)
    return generate_latest(registry).decode()


def without_created(text: str) -> str:
    """The exposition without its `_created` gauges (HELP, TYPE and samples)."""
    def created(line: str) -> bool:
        name = line.split(" ")[2] if line.startswith("#") else line.split("{")[0].split(" ")[0]
        return name.endswith("_created")
    # Split on "\n" only: label values may hold other line breaks (U+0085, ...).
    lines = [line + "\n" for line in text.split("\n")[:-1]]
    return "".join(line for line in lines if not created(line))


# --------------------------------------------------------------------------
# Inputs

MODEL_NAMES = ("m", "meta-llama/Llama-3.1-8B-Instruct", 'quote" back\\slash\nnewline',
               "ünïcödé 模型", "")

XFER_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0)
POST_BOUNDS = (0.001,) + XFER_BOUNDS
BYTE_BOUNDS = tuple(2 ** (10 + i) for i in range(1, 25, 2))
DESC_BOUNDS = (10, 20, 30, 50, 75, 100, 200, 400, 1000, 2000, 4000, 10000, 20000, 50000)


def around(value: float) -> list[float]:
    return [math.nextafter(value, 0.0), value, math.nextafter(value, math.inf)]


def edge_transfers(rng: random.Random, n: int) -> dict:
    """n transfers at or one ulp (or one unit) around the buckets' bounds."""
    return golden.transfers([rng.choice(around(rng.choice(XFER_BOUNDS))) for _ in range(n)],
                            [rng.choice(around(rng.choice(POST_BOUNDS))) for _ in range(n)],
                            [rng.choice(BYTE_BOUNDS) + rng.randint(-1, 1) for _ in range(n)],
                            [rng.choice(DESC_BOUNDS) + rng.randint(-1, 1) for _ in range(n)])


def edge_cases() -> Iterator[tuple[str, object]]:
    for label, bounds in (("xfer", XFER_BOUNDS), ("post", POST_BOUNDS)):
        values = [v for bound in bounds for v in around(bound)] + [0.0, -0.0, 7.5, 1e300]
        n = len(values)
        other = [0.002] * n
        xfer, post = (values, other) if label == "xfer" else (other, values)
        yield f"edges-{label}", golden.transfers(xfer, post, [32768] * n, [72] * n)
    nbytes = [b + d for b in BYTE_BOUNDS for d in (-1, 0, 1)] + [0, 2**53 + 1, 2**63 - 1, 2**64 - 1]
    yield "edges-bytes", golden.transfers([0.002] * len(nbytes), [0.0005] * len(nbytes), nbytes,
                                          [72] * len(nbytes))
    descs = [b + d for b in DESC_BOUNDS for d in (-1, 0, 1)] + [0, 2**32 - 1]
    yield "edges-descriptors", golden.transfers([0.002] * len(descs), [0.0005] * len(descs),
                                                [32768] * len(descs), descs)
    rng = random.Random("prom-edges")
    for i in range(10):
        yield f"edges-random-{i}", {"steps": [[edge_transfers(rng, rng.randint(1, 6))
                                               for _ in range(rng.randint(1, 4))]
                                              for _ in range(rng.randint(1, 5))]}


def summation_cases() -> Iterator[tuple[str, object]]:
    """Many steps of full-precision values: the `_sum`s accumulate in observation order."""
    rng = random.Random("prom-sums")
    for i in range(12):
        yield f"sums-steps-{i:02d}", {"steps": [
            [golden.arbitrary(rng, rng.randint(1, 9)) for _ in range(rng.randint(1, 4))]
            for _ in range(rng.randint(5, 30))]}


def selected_sized_cases() -> Iterator[tuple[str, object]]:
    keep = {f"n-{n:03d}" for n in (*range(1, 21), 31, 64, 100, 129, 200, 300)}
    for name, doc in golden.sized_cases():
        if name in keep or name.endswith("-arbitrary") or name in (
                "block-1024-realistic", "block-1025-realistic", "block-5000-realistic"):
            yield name, doc


def selected_worker_cases(release: golden.Release) -> Iterator[tuple[str, object]]:
    for name, doc in golden.worker_cases(release):
        if "-random-" not in name or int(name.rsplit("-", 1)[1]) < 60:
            yield name, doc


Case = tuple[str, str, list[tuple[int, object]]]  # name, model name, [(engine, input)]


def cases(release: golden.Release) -> Iterator[Case]:
    single = (("sized", selected_sized_cases()), ("special", golden.special_cases()),
              ("failures", golden.failure_cases(release)), ("workers", selected_worker_cases(release)),
              ("edges", edge_cases()), ("sums", summation_cases()))
    for _, generated in single:
        for name, doc in generated:
            yield name, "m", [(0, doc)]
    rng = random.Random("prom-labels")
    sample = golden.realistic(rng, 3) | golden.failures(release, **{release.failure_keys[0]: 1})
    for i, model in enumerate(MODEL_NAMES):
        for engine in (0, 3, 12):
            yield f"labels-{i}-engine-{engine}", model, [(engine, sample)]
    a = {"steps": [[golden.realistic(rng, 4), None], [golden.arbitrary(rng, 2)]]}
    b = [golden.realistic(rng, 2) | golden.failures(release, **{release.failure_keys[-1]: 2})]
    yield "engines-0-1", "m", [(0, a), (1, b)]
    yield "engines-2-0", "m", [(2, a), (0, b)]
    yield "engines-idle-second", "m", [(0, a), (1, {"steps": []})]
    yield "engines-four", "dp", [(i, doc) for i, doc in enumerate((a, b, b, a))]


# --------------------------------------------------------------------------


def regenerate(version: str, out_dir: Path) -> tuple[Path, int, list[dict]]:
    release = golden.RELEASES[version]
    records, raised, names = [], [], set()
    for name, model, engines in cases(release):
        if name in names:
            raise ValueError(f"duplicate case name {name}")
        names.add(name)
        try:
            text = exposition(version, model, engines)
        except Exception as error:  # the real classes failed: report, don't record
            raised.append({"name": name, "error": repr(error)})
            continue
        records.append(json.dumps({
            "name": name, "vllm": version, "prometheus_client": PROMETHEUS_CLIENT,
            "model_name": model,
            "engines": [{"engine": engine, "input": doc} for engine, doc in engines],
            "exposition": text}, separators=(",", ":"), allow_nan=False, ensure_ascii=False))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"vllm-{version}.jsonl"
    path.write_text("\n".join(records) + "\n", encoding="utf-8")
    return path, len(records), raised


def random_case(rng: random.Random, marks: random.Random, release: golden.Release) -> tuple[str, int, object]:
    model = rng.choice(MODEL_NAMES + ("".join(chr(rng.randint(32, 0x2FF)) for _ in range(8)),))
    engine = rng.choice((0, 0, 1, 2, 7, 15))

    def worker():
        if rng.random() < 0.2:
            shipment = golden.random_worker(rng, marks, release)
            if isinstance(shipment, dict):
                shipment = shipment | edge_transfers(rng, rng.randint(1, 4))
            return shipment
        return golden.random_worker(rng, marks, release)
    shape = rng.random()
    if shape < 0.15:
        doc = worker() or {}
    elif shape < 0.35:
        doc = [worker() for _ in range(rng.randint(1, 8))]
    else:
        doc = {"steps": [[worker() for _ in range(rng.randint(1, 8))]
                         for _ in range(rng.randint(0, 12))]}
    return model, engine, doc


def differential(version: str, count: int, binary: Path) -> tuple[int, int, list[str]]:
    """(cases compared, mismatches, first differences) for `count` fresh random cases."""
    release = golden.RELEASES[version]
    rng = random.Random(f"prom-differential-{version}")
    marks = random.Random(f"prom-differential-marks-{version}")
    compared, mismatches, shown = 0, 0, []
    for i in range(count):
        model, engine, doc = random_case(rng, marks, release)
        try:
            expected = without_created(exposition(version, model, [(engine, doc)]))
        except Exception:  # the real classes raise: nothing to compare
            continue
        run = subprocess.run([str(binary), "prometheus", "--vllm", version, f"--model-name={model}",
                              "--engine", str(engine), "--created", "none", "-"],
                             input=json.dumps(doc).encode(), capture_output=True, check=False)
        compared += 1
        ours = run.stdout.decode()
        if run.returncode != 0 or ours != expected:
            mismatches += 1
            if len(shown) < 3:
                diff = "\n".join(difflib.unified_diff(expected.split("\n"), ours.split("\n"),
                                                     "vllm", "ours", n=1, lineterm=""))
                shown.append(f"case {i}: exit {run.returncode} {run.stderr.decode().strip()}\n{diff}")
    return compared, mismatches, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", action="append", choices=RELEASES,
                        help="only this release (repeatable; default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument("--differential", type=int, metavar="COUNT",
                        help="instead of writing fixtures, compare COUNT random cases per release "
                             "with the binary given by --binary")
    parser.add_argument("--binary", type=Path, default=golden.ROOT / "target/release/nixl-kv-metrics",
                        help="the nixl-kv-metrics binary for --differential")
    args = parser.parse_args()
    total = 0
    for version in args.release or RELEASES:
        started = time.monotonic()
        if args.differential:
            compared, mismatches, shown = differential(version, args.differential, args.binary)
            total += mismatches
            print(f"vllm {version} (prometheus_client {PROMETHEUS_CLIENT}): {compared} cases, "
                  f"{mismatches} mismatches, {time.monotonic() - started:.1f} s")
            for text in shown:
                print(text)
            continue
        path, count, raised = regenerate(version, args.out)
        print(f"{path}: {count} cases, {path.stat().st_size} bytes, "
              f"{time.monotonic() - started:.1f} s")
        for case in raised:
            print(f"  raised, not recorded: {json.dumps(case)}", file=sys.stderr)
    if total:
        sys.exit(1)


if __name__ == "__main__":
    main()
