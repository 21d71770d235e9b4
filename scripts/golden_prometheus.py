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
The edge cases sit on and around the bucket bounds that release's class
registers. The classes come out of the wheels through scripts/vllm_wheel.py,
cached outside the project as `<CACHE>/<VERSION>/prom_classes.py`. Nothing of
vLLM is written into the project.

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

import dataclasses
import difflib
import functools
import importlib.metadata
import inspect
import json
import math
import random
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden  # noqa: E402  (the stats pipeline and the input generators)
import vllm_wheel  # noqa: E402  (the classes, out of the wheels)

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest  # noqa: E402

DEFAULT_OUT = vllm_wheel.ROOT / "tests" / "golden" / "prometheus"
RELEASES = ("0.11.2", "0.12.0", "0.15.0", "0.31.0", "0.33.0", "0.34.0")
PROMETHEUS_CLIENT = importlib.metadata.version("prometheus_client")

LABEL_NAMES = ["model_name", "engine"]

# --------------------------------------------------------------------------
# The real classes at work

# The base class reads `vllm_config.kv_transfer_config` (0.31 on) and nothing else.
VLLM_CONFIG = types.SimpleNamespace(kv_transfer_config=None)


def exposition(version: str, model_name: str, engines: list[tuple[int, object]]) -> str:
    """What /metrics serves for the NIXL metrics after observing every engine's steps."""
    registry = CollectorRegistry()
    metric_types = {cls: functools.partial(cls, registry=registry)
                    for cls in (Gauge, Counter, Histogram)}
    labelvalues = {index: [model_name, str(index)] for index, _ in engines}
    prom = vllm_wheel.load_prom_class(version)(VLLM_CONFIG, metric_types, LABEL_NAMES, labelvalues)
    cls = vllm_wheel.load_stats_class(version)
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

@dataclasses.dataclass(frozen=True)
class Bounds:
    """The finite bucket bounds of the four histograms, as vLLM writes them
    (the byte and descriptor bounds are ints)."""
    xfer: tuple
    post: tuple
    bytes: tuple
    descriptors: tuple


@functools.cache
def bucket_bounds(version: str) -> Bounds:
    """The bounds release `version` registers, caught on their way into
    prometheus_client's Histogram when its NixlPromMetrics is built."""
    registry = CollectorRegistry()
    caught = {}

    def histogram(*args, **kwargs):
        bound = inspect.signature(Histogram).bind(*args, **kwargs)
        caught[bound.arguments["name"]] = tuple(bound.arguments["buckets"])
        return Histogram(*args, registry=registry, **kwargs)
    metric_types = {Gauge: functools.partial(Gauge, registry=registry),
                    Counter: functools.partial(Counter, registry=registry),
                    Histogram: histogram}
    vllm_wheel.load_prom_class(version)(VLLM_CONFIG, metric_types, LABEL_NAMES, {0: ["m", "0"]})
    return Bounds(caught["vllm:nixl_xfer_time_seconds"], caught["vllm:nixl_post_time_seconds"],
                  caught["vllm:nixl_bytes_transferred"], caught["vllm:nixl_num_descriptors"])


def around(value: float) -> list[float]:
    return [math.nextafter(value, 0.0), value, math.nextafter(value, math.inf)]


def edge_transfers(rng: random.Random, bounds: Bounds, n: int) -> dict:
    """n transfers at or one ulp (or one unit) around the buckets' bounds."""
    return golden.transfers([rng.choice(around(rng.choice(bounds.xfer))) for _ in range(n)],
                            [rng.choice(around(rng.choice(bounds.post))) for _ in range(n)],
                            [rng.choice(bounds.bytes) + rng.randint(-1, 1) for _ in range(n)],
                            [rng.choice(bounds.descriptors) + rng.randint(-1, 1) for _ in range(n)])


def edge_cases(bounds: Bounds) -> Iterator[tuple[str, object]]:
    for label, durations in (("xfer", bounds.xfer), ("post", bounds.post)):
        values = [v for bound in durations for v in around(bound)] + [0.0, -0.0, 7.5, 1e300]
        n = len(values)
        other = [0.002] * n
        xfer, post = (values, other) if label == "xfer" else (other, values)
        yield f"edges-{label}", golden.transfers(xfer, post, [32768] * n, [72] * n)
    nbytes = [b + d for b in bounds.bytes for d in (-1, 0, 1)] + [0, 2**53 + 1, 2**63 - 1, 2**64 - 1]
    yield "edges-bytes", golden.transfers([0.002] * len(nbytes), [0.0005] * len(nbytes), nbytes,
                                          [72] * len(nbytes))
    descs = [b + d for b in bounds.descriptors for d in (-1, 0, 1)] + [0, 2**32 - 1]
    yield "edges-descriptors", golden.transfers([0.002] * len(descs), [0.0005] * len(descs),
                                                [32768] * len(descs), descs)
    rng = random.Random("prom-edges")
    for i in range(10):
        yield f"edges-random-{i}", {"steps": [[edge_transfers(rng, bounds, rng.randint(1, 6))
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
              ("edges", edge_cases(bucket_bounds(release.version))), ("sums", summation_cases()))
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


def regenerate(version: str, path: Path) -> list[dict]:
    """Writes one release's fixture file; returns the raising cases."""
    def record(name: str, case: tuple[str, list[tuple[int, object]]]) -> dict:
        model, engines = case
        text = exposition(version, model, engines)
        return {"name": name, "vllm": version, "prometheus_client": PROMETHEUS_CLIENT,
                "model_name": model,
                "engines": [{"engine": engine, "input": doc} for engine, doc in engines],
                "exposition": text}
    named = ((name, (model, engines)) for name, model, engines in cases(golden.RELEASES[version]))
    return golden.write_fixture(path, named, record, ensure_ascii=False)


def random_case(rng: random.Random, marks: random.Random,
                release: golden.Release) -> tuple[str, int, object]:
    model = rng.choice(MODEL_NAMES + ("".join(chr(rng.randint(32, 0x2FF)) for _ in range(8)),))
    engine = rng.choice((0, 0, 1, 2, 7, 15))

    def worker():
        if rng.random() < 0.2:
            shipment = golden.random_worker(rng, marks, release)
            if isinstance(shipment, dict):
                shipment = shipment | edge_transfers(rng, bucket_bounds(release.version),
                                                     rng.randint(1, 4))
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
    parser = golden.fixture_parser(__doc__, RELEASES, DEFAULT_OUT)
    parser.add_argument("--differential", type=int, metavar="COUNT",
                        help="instead of writing fixtures, compare COUNT random cases per release "
                             "with the binary given by --binary")
    parser.add_argument("--binary", type=Path, default=vllm_wheel.ROOT / "target/release/nixl-kv-metrics",
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
        path = args.out / f"vllm-{version}.jsonl"
        golden.report(path, regenerate(version, path), started)
    if total:
        sys.exit(1)


if __name__ == "__main__":
    main()
