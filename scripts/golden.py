#!/usr/bin/env python3
"""Regenerate the golden fixtures in tests/golden/ from real vLLM releases.

For every release in RELEASES this script reads the `KVConnectorStats` and
`NixlKVConnectorStats` classes out of the vLLM wheel (scripts/vllm_wheel.py
downloads it from PyPI with pip), runs them on a fixed, seeded set of inputs and
writes what that release logs to `tests/golden/vllm-<VERSION>.jsonl`. No vLLM
code is kept in the project: only the extracted classes are cached, outside it,
and the wheel itself is deleted once they are read.

Usage (from anywhere; Python 3.11+, numpy, pip and, on the first run, network):

    python3 scripts/golden.py                    # every release
    python3 scripts/golden.py --release 0.15.0   # one release (repeatable)
    python3 scripts/golden.py --out /tmp/golden  # another output directory

The cache lives in ~/.cache/nixl-kv-metrics-golden (override with the
NIXL_GOLDEN_CACHE environment variable): one `<VERSION>/stats_classes.py` per
release. Each wheel is about 300-500 MB to download. The inputs come from
random generators seeded with fixed strings, so a rerun with the same numpy
reproduces the files byte for byte.

Each output line is one JSON object with exactly these keys, in this order:

    name    case id, unique within the file
    vllm    the release, e.g. "0.15.0"
    numpy   the numpy version the class ran on
    input   one stats `data` dict, a list of per-worker dicts for one engine
            step (null: the worker shipped nothing), or {"steps": [[...], ...]}
    line    the message vLLM logs ("KV Transfer metrics: ..."), or null when
            it logs nothing for the interval
    reduce  reduce()'s dict with `.item()` applied, or null with `line`;
            infinities and NaN are written as the strings "inf", "-inf", "nan"

The pipeline per input: within a step the first present worker's stats object
is the accumulator and the later ones are aggregate()d into it; each step's
pooled dict is rebuilt into a stats object and aggregated the same way into the
interval accumulator; a line is logged when that exists and is not empty.
Cases where the real class raises are reported on stderr, not written.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vllm_wheel  # noqa: E402  (the classes, out of the wheels)

DEFAULT_OUT = vllm_wheel.ROOT / "tests" / "golden"

XFER, POST, BYTES, DESCS = "transfer_duration", "post_duration", "bytes_transferred", "num_descriptors"
COUNTER = "num_successful_transfers"


@dataclasses.dataclass(frozen=True)
class Release:
    version: str
    family: str
    failure_keys: tuple[str, ...] = ()  # the failure lists this release keeps
    failure_mark: int | float = 1  # what its record_failed_*() methods append


_F2_FAILURES = ("num_failed_transfers", "num_failed_notifications")
_F4_FAILURES = _F2_FAILURES + ("num_kv_expired_reqs",)
_F5_FAILURES = _F4_FAILURES + ("num_failed_handshakes",)
_F6_FAILURES = _F5_FAILURES + ("num_notifications_after_expiry",)

RELEASES = {r.version: r for r in (
    Release("0.11.0", "F1"),
    Release("0.11.2", "F2", _F2_FAILURES, 1.0),
    Release("0.12.0", "F3", _F2_FAILURES, 1.0),
    Release("0.15.0", "F4", _F4_FAILURES),
    Release("0.31.0", "F5", _F5_FAILURES),
    Release("0.33.0", "F6", _F6_FAILURES),
    Release("0.34.0", "F6", _F6_FAILURES),
)}

# --------------------------------------------------------------------------
# Running an input through the worker -> scheduler -> logger pipeline


def engine_steps(doc) -> list[list]:
    if isinstance(doc, dict) and "steps" in doc:
        return doc["steps"]
    if isinstance(doc, list):
        return [doc]
    return [[doc]]


def stats_object(cls: type, data: dict):
    """A stats object holding a copy of `data`, omitted keys at the release's defaults."""
    full = cls().data
    full.update(copy.deepcopy(data))
    return cls(data=full)


def pooled(stats: Iterator):
    """The first stats object, with every later one aggregate()d into it."""
    accumulator = None
    for item in stats:
        accumulator = item if accumulator is None else accumulator.aggregate(item)
    return accumulator


def json_number(value):
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def logged(cls: type, doc) -> tuple[str | None, dict | None]:
    """What vLLM logs for one interval fed with `doc`: (line, reduce dict)."""
    interval = []
    for workers in engine_steps(doc):
        step = pooled(stats_object(cls, data) for data in workers if data is not None)
        if step is not None:  # the logger rebuilds the object from the shipped dict
            interval.append(cls(data=copy.deepcopy(step.data)))
    accumulator = pooled(iter(interval))
    if accumulator is None or accumulator.is_empty():
        return None, None
    with np.errstate(all="ignore"):  # vLLM logs x/0 as inf or nan without a guard
        reduced = accumulator.reduce()
    line = "KV Transfer metrics: " + ", ".join(f"{key}={value}" for key, value in reduced.items())
    return line, {key: json_number(value) for key, value in reduced.items()}


# --------------------------------------------------------------------------
# Input data


def transfers(xfer: list, post: list, nbytes: list, descs: list) -> dict:
    return {XFER: xfer, POST: post, BYTES: nbytes, DESCS: descs}


def micros(rng: random.Random, median_us: float, sigma: float) -> float:
    """A NIXL duration: whole microseconds, lognormal, in seconds."""
    return max(1, round(rng.lognormvariate(math.log(median_us), sigma))) / 1e6


def realistic(rng: random.Random, n: int) -> dict:
    """n transfers like NIXL reports them: ~1-5 ms, post ~0.3-1 ms, 32 KiB blocks."""
    return transfers([micros(rng, 2500, 0.45) for _ in range(n)],
                     [micros(rng, 550, 0.3) for _ in range(n)],
                     [32768 * rng.randint(56, 8960) for _ in range(n)],
                     [rng.randint(56, 2240) for _ in range(n)])


def arbitrary(rng: random.Random, n: int) -> dict:
    """n transfers with full-precision durations of mixed magnitude and any counts."""
    def duration():
        return rng.random() * 10.0 ** rng.randint(-5, 0)
    return transfers([duration() for _ in range(n)],
                     [duration() for _ in range(n)],
                     [rng.randrange(2 ** rng.randint(1, 62)) for _ in range(n)],
                     [rng.randrange(2**32) for _ in range(n)])


def failures(release: Release, **counts: int) -> dict:
    return {key: [release.failure_mark] * counts[key]
            for key in release.failure_keys if counts.get(key)}


def random_failures(rng: random.Random, release: Release) -> dict:
    chosen = rng.sample(release.failure_keys, rng.randint(1, len(release.failure_keys)))
    return failures(release, **{key: rng.randint(1, 3) for key in chosen})


# --------------------------------------------------------------------------
# Rounding boundaries: numpy's rint(x * 10**d) / 10**d against Python's round


def numpy_total(values: list) -> float:
    return float(np.asarray(values, dtype=np.float64).sum())  # pairwise summation


def mib(data: dict) -> list[float]:
    return [b / 2**20 for b in data[BYTES]]


# reduce()'s values before rounding, with `total` as the summation: (digits, value)
QUANTITIES: dict[str, tuple[int, Callable[[dict, Callable], float]]] = {
    "mean-xfer": (3, lambda d, total: total(d[XFER]) / len(d[XFER]) * 1e3),
    "p90-xfer": (3, lambda d, total: float(np.percentile(d[XFER], 90)) * 1e3),
    "mean-post": (3, lambda d, total: total(d[POST]) / len(d[POST]) * 1e3),
    "p90-post": (3, lambda d, total: float(np.percentile(d[POST], 90)) * 1e3),
    "avg-mb": (3, lambda d, total: total(mib(d)) / len(d[BYTES])),
    "throughput": (3, lambda d, total: total(mib(d)) / total(d[XFER])),
    "mean-descs": (1, lambda d, total: total(d[DESCS]) / len(d[DESCS])),
}
ROUNDINGS = (round, lambda value, digits: float(np.round(np.float64(value), digits)))


def roundings_disagree(data: dict, quantity: str) -> bool:
    digits, value = QUANTITIES[quantity]
    x = value(data, numpy_total)
    python_round, numpy_round = ROUNDINGS
    return math.isfinite(x) and python_round(x, digits) != numpy_round(x, digits)


def summation_matters(data: dict, quantity: str) -> bool:
    """Whether a left-to-right or an exact sum would print `quantity` differently."""
    digits, value = QUANTITIES[quantity]
    reference = value(data, numpy_total)
    return any(rounding(value(data, other), digits) != rounding(reference, digits)
               for other in (sum, math.fsum) for rounding in ROUNDINGS)


def rounds_apart(quantity: str, disagree: bool) -> Callable[[dict], bool]:
    return lambda data: roundings_disagree(data, quantity) == disagree


def nearest_tie(value: float, digits: int) -> float:
    """The point halfway between the two `digits`-place decimals around `value` (792.2965)."""
    return (math.floor(value * 10**digits) + 0.5) / 10**digits


def nudged(rng: random.Random, value: float) -> float:
    """`value` moved by up to two units in the last place."""
    steps = rng.randint(-2, 2)
    for _ in range(abs(steps)):
        value = math.nextafter(value, math.copysign(math.inf, steps))
    return value


Maker = Callable[[random.Random], dict | None]


def aim_mean(key: str, base: Callable, sizes: tuple[int, ...]) -> Maker:
    """Inputs whose mean of `key`, in ms, sits on a rounding tie: the last value fills up."""
    def make(rng):
        data = base(rng, rng.choice(sizes))
        values = data[key]
        target = nearest_tie(math.fsum(values) / len(values) * 1e3, 3) / 1e3
        last = len(values) * target - math.fsum(values[:-1])
        if last <= 0:
            return None
        values[-1] = nudged(rng, last)
        return data
    return make


def aim_p90(key: str, sizes: tuple[int, ...]) -> Maker:
    """Inputs whose P90 of `key`, in ms, sits on a rounding tie: the order statistics
    around the 90th percentile are set either both to it or to interpolate to it."""
    def make(rng):
        data = realistic(rng, rng.choice(sizes))
        values = sorted(data[key])
        n = len(values)
        rank = (n - 1) * 0.9
        low = math.floor(rank)
        target = nearest_tie(float(np.percentile(values, 90)) * 1e3, 3) / 1e3
        if rank == low or rng.random() < 0.5:
            pivots = [target] * min(2, n - low)
        else:
            below = min(values[low], target)
            pivots = [below, below + (target - below) / (rank - low)]
        pivots[-1] = nudged(rng, pivots[-1])
        values = ([min(v, pivots[0]) for v in values[:low]] + pivots
                  + [max(v, pivots[-1]) for v in values[low + len(pivots):]])
        rng.shuffle(values)
        data[key] = values
        return data
    return make


def aim_avg_mb(rng: random.Random) -> dict | None:
    """Inputs whose MiB per transfer sits on a tie (only reachable when 125 | n)."""
    data = realistic(rng, rng.choice((125, 250, 375)))
    nbytes = data[BYTES]
    target = nearest_tie(sum(nbytes) / 2**20 / len(nbytes), 3)
    last = round(target * len(nbytes) * 2**20) - sum(nbytes[:-1]) + rng.randint(-1, 1)
    if last < 0:
        return None
    nbytes[-1] = last
    return data


def aim_throughput(base: Callable, sizes: tuple[int, ...]) -> Maker:
    """Inputs whose MiB/s sits on a tie: the last transfer time fills up."""
    def make(rng):
        data = base(rng, rng.choice(sizes))
        total_mib = numpy_total(mib(data))
        xfer = data[XFER]
        target = nearest_tie(total_mib / math.fsum(xfer), 3)
        last = total_mib / target - math.fsum(xfer[:-1])
        if not target > 0 or last <= 0:
            return None
        xfer[-1] = nudged(rng, last)
        return data
    return make


def aim_mean_descs(rng: random.Random) -> dict | None:
    """Inputs whose mean descriptor count sits on a one-decimal tie (needs 20 | n)."""
    data = realistic(rng, rng.choice((20, 40, 60, 100, 140, 200, 260, 300)))
    descs = data[DESCS]
    last = round(nearest_tie(sum(descs) / len(descs), 1) * len(descs)) - sum(descs[:-1])
    if not 0 <= last < 2**32:
        return None
    descs[-1] = last
    return data


def search(rng: random.Random, make: Maker, keep: Callable[[dict], bool],
           wanted: int, attempts: int = 20000) -> list[dict]:
    found = []
    for _ in range(attempts):
        data = make(rng)
        if data is not None and keep(data):
            found.append(data)
            if len(found) == wanted:
                break
    return found


SMALL = tuple(range(1, 13)) + (16, 17, 20, 21, 31, 64, 100, 129)

# quantity -> (maker of near-tie inputs, how many disagreeing cases to keep)
NEAR_TIES: dict[str, tuple[Maker, int]] = {
    "mean-xfer": (aim_mean(XFER, realistic, SMALL), 80),
    "p90-xfer": (aim_p90(XFER, SMALL), 80),
    "mean-post": (aim_mean(POST, realistic, SMALL), 40),
    "p90-post": (aim_p90(POST, SMALL), 40),
    "avg-mb": (aim_avg_mb, 25),
    "throughput": (aim_throughput(realistic, SMALL), 40),
    "mean-descs": (aim_mean_descs, 25),
}


def rounding_cases() -> Iterator[tuple[str, object]]:
    """Near-tie inputs where numpy's and Python's rounding print different values
    (and a quarter as many where they agree), then realistic whole-microsecond
    inputs that hit such a tie by themselves."""
    for quantity, (make, wanted) in NEAR_TIES.items():
        rng = random.Random(f"round-{quantity}")
        for verdict, count in (("disagree", wanted), ("agree", wanted // 4)):
            keep = rounds_apart(quantity, verdict == "disagree")
            for i, data in enumerate(search(rng, make, keep, count)):
                yield f"round-{quantity}-{verdict}-{i:03d}", data
    rng = random.Random("round-realistic")
    for i, data in enumerate(search(
            rng, lambda r: realistic(r, r.choice((2, 3, 4, 6, 8, 10))),
            lambda data: any(roundings_disagree(data, q) for q in QUANTITIES), 40)):
        yield f"round-realistic-{i:03d}", data


PAIRWISE_SIZES = (8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 256, 257, 1024, 1025)


def summation_cases() -> Iterator[tuple[str, object]]:
    """Near-tie inputs that print differently unless summed exactly like numpy
    (pairwise, 8 accumulators in blocks of up to 128)."""
    for n in PAIRWISE_SIZES:
        for quantity, make in (("mean-xfer", aim_mean(XFER, arbitrary, (n,))),
                               ("throughput", aim_throughput(arbitrary, (n,)))):
            rng = random.Random(f"sum-{quantity}-{n}")
            found = search(rng, make, functools.partial(summation_matters, quantity=quantity),
                           2, 2000)
            for i, data in enumerate(found):
                yield f"sum-{quantity}-{n}-{i}", data


# --------------------------------------------------------------------------
# The cases of each family

BLOCK_EDGES = (7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 256, 257, 1000, 1024, 1025)
LARGE = (5000, 8192, 8193, 20000)


def sized_cases() -> Iterator[tuple[str, object]]:
    rng = random.Random("sizes")
    for n in range(1, 301):
        yield f"n-{n:03d}", realistic(rng, n)
    for n in BLOCK_EDGES:
        yield f"block-{n}-arbitrary", arbitrary(rng, n)
    for n in BLOCK_EDGES[-3:] + LARGE:
        yield f"block-{n}-realistic", realistic(rng, n)


def special_cases() -> Iterator[tuple[str, object]]:
    block = 72 * 32768
    yield "zero-xfer-inf", transfers([0.0] * 3, [0.0001] * 3, [block] * 3, [72] * 3)
    yield "zero-xfer-zero-bytes-nan", transfers([0.0] * 3, [0.0] * 3, [0] * 3, [72] * 3)
    yield "zero-everything", transfers([0.0] * 2, [0.0] * 2, [0] * 2, [0] * 2)
    yield "zero-bytes", transfers([0.0012, 0.0031], [0.0004, 0.0005], [0, 0], [56, 56])
    yield "int-zero-xfer-inf", transfers([0, 0], [0, 0], [65536, 0], [1, 0])
    yield "int-zero-xfer-nan", transfers([0], [0], [0], [0])
    yield "int-durations", transfers([1, 2, 3], [0, 1, 0], [block] * 3, [72] * 3)
    yield "int-and-float-durations", transfers([0, 0.5, 1, 0.001], [1, 0.0, 0, 0.25],
                                               [block] * 4, [72] * 4)
    yield "negative-zero-one", transfers([-0.0], [-0.0], [32768], [1])
    yield "negative-zero-many", transfers([-0.0] * 10, [-0.0] * 10, [32768] * 10, [1] * 10)
    yield "negative-zero-zero-bytes", transfers([-0.0] * 2, [0.0, -0.0], [0, 0], [1, 1])
    # Signed zeros mixed, but not at the P90's neighbours: which of two equal
    # zeros numpy's introselect leaves there is a detail the crate does not
    # model (NIXL's unsigned microseconds never give -0.0).
    yield "negative-zero-mixed", transfers([-0.0, 0.0, -0.0, 0.001], [-0.0, -0.0, -0.0, -0.0],
                                           [block] * 4, [72] * 4)
    for n in (1, 2, 3, 10, 129, 1000):
        yield f"one-microsecond-{n}", transfers([1e-06] * n, [1e-06] * n, [32768] * n, [1] * n)
    yield "one-microsecond-mixed", transfers([1e-06, 0.002345, 1e-06, 0.004012],
                                             [1e-06, 0.000512, 0.00061, 1e-06],
                                             [32768, block, 32768, block], [1, 72, 1, 72])
    for label, nbytes in (("2^32", [2**32]), ("2^32+1", [2**32 + 1, 2**32 + 1]),
                          ("2^40", [2**40] * 5), ("2^53+1", [2**53 + 1, 3]),
                          ("2^62", [2**62]), ("2^63-1", [2**63 - 1]),
                          ("2^63-1-twice", [2**63 - 1] * 2), ("mixed-large", [2**33 + 7, 32768, 2**45 + 1])):
        n = len(nbytes)
        yield f"bytes-{label}", transfers([0.0025] * n, [0.0005] * n, nbytes, [56] * n)
    yield "descs-zero", transfers([0.002, 0.003], [0.0005] * 2, [block] * 2, [0, 0])
    yield "descs-max", transfers([0.002], [0.0005], [block], [2**32 - 1])
    yield "descs-max-many", transfers([0.002] * 10, [0.0005] * 10, [block] * 10, [2**32 - 1] * 10)
    yield "descs-mixed", transfers([0.002] * 3, [0.0005] * 3, [block] * 3, [0, 2**32 - 1, 2240])
    yield "tiny-subnormal", transfers([5e-324], [5e-324], [block], [72])
    yield "tiny-1e-300", transfers([1e-300, 2e-300], [1e-310, 0.0], [block] * 2, [72] * 2)
    yield "huge-1e300", transfers([1e300], [1e290], [block], [72])
    yield "huge-max-double", transfers([1.7976931348623157e308] * 2, [1e308, 1.7e308],
                                       [block] * 2, [72] * 2)
    yield "huge-mixed", transfers([1e308, 1.0, 1e308], [1.0, 2.0, 3.0], [block] * 3, [72] * 3)
    yield "huge-overflow-on-scale", transfers([1e306], [1e306], [block], [72])
    # x * 1000 overflows inside numpy's rounding only: inf against Python's 1e+306
    yield "huge-numpy-round-overflow", transfers([1e303], [2e303], [block], [72])
    yield "huge-throughput-numpy-round-overflow", transfers([1e-293], [0.0005], [2**63 - 1], [72])
    yield "pr-example", transfers([0.009862], [0.0005], [70 * 2**20], [56])


def failure_cases(release: Release) -> Iterator[tuple[str, object]]:
    def sample(label, n):  # the same transfers in every release
        return realistic(random.Random(f"failures-{label}"), n)
    every = {key: i + 1 for i, key in enumerate(release.failure_keys)}
    for key in release.failure_keys:
        for count in (1, 3):
            yield f"failures-only-{key}-{count}", failures(release, **{key: count})
        yield f"failures-with-transfers-{key}", sample(key, 5) | failures(release, **{key: 2})
    yield "failures-only-all", failures(release, **every)
    yield "failures-all-with-transfers", sample("all", 7) | failures(release, **every)
    yield "failures-with-empty-transfer-lists", transfers([], [], [], []) | failures(
        release, **{release.failure_keys[0]: 1})
    yield "explicit-empty-lists", transfers([], [], [], []) | {key: [] for key in release.failure_keys}
    yield "all-keys-explicit", sample("none", 3) | {key: [] for key in release.failure_keys}
    yield "empty-dict", {}


def random_worker(rng: random.Random, marks: random.Random, release: Release) -> dict | None:
    """One worker's shipment: none, an empty dict, failures only, transfers, or both.
    Which failures is drawn from `marks`, so that everything else is the same in
    every release."""
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.25:
        return {}
    data = {}
    if roll < 0.85:
        data |= (realistic if rng.random() < 0.7 else arbitrary)(rng, rng.randint(1, 12))
    if roll >= 0.6:
        data |= random_failures(marks, release)
    return data


def worker_cases(release: Release) -> Iterator[tuple[str, object]]:
    rng, marks = random.Random("workers"), random.Random("worker-failures")
    fail = failures(release, **{release.failure_keys[0]: 1})

    def real(n):
        return realistic(rng, n)
    yield "workers-one-null", [None]
    yield "workers-all-null", [None] * 4
    yield "workers-none", []
    yield "workers-empty-dicts", [{}, {}]
    yield "workers-empty-first", [{}, real(3)]
    yield "workers-failures-only-first", [fail, real(3)]
    yield "workers-failures-only-last", [real(3), fail]
    yield "workers-null-then-failures-only-first", [None, fail, real(2)]
    yield "workers-failures-only", [fail, failures(release, **{release.failure_keys[-1]: 2})]
    yield "workers-tp4", [real(rng.randint(1, 4)) for _ in range(4)]
    yield "workers-mixed", [None, real(2), {}, fail | real(1)]
    yield "steps-none", {"steps": []}
    yield "steps-empty-step", {"steps": [[]]}
    yield "steps-all-null", {"steps": [[None], [None, None]]}
    yield "steps-failures-then-transfers", {"steps": [[fail], [real(2)]]}
    yield "steps-transfers-then-failures", {"steps": [[real(2)], [fail]]}
    yield "steps-empty-then-transfers", {"steps": [[{}], [real(2)]]}
    yield "steps-failures-first-worker", {"steps": [[fail, real(1)], [fail, real(2)]]}
    yield "steps-failures-only", {"steps": [[fail], [None, fail]]}
    for i in range(120):
        yield f"workers-random-{i:03d}", [random_worker(rng, marks, release)
                                          for _ in range(rng.randint(1, 8))]
    for i in range(150):
        yield f"steps-random-{i:03d}", {"steps": [
            [random_worker(rng, marks, release) for _ in range(rng.randint(1, 8))]
            for _ in range(rng.randint(1, 6))]}


def counter(count: int) -> dict:
    return {COUNTER: count}


def random_counter_worker(rng: random.Random) -> dict | None:
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.25:
        return {}
    return counter(0 if roll < 0.5 else rng.randint(1, 50))


def counter_cases() -> Iterator[tuple[str, object]]:
    """F1: one successful-transfer counter per worker."""
    for count in (0, 1, 2, 3, 7, 100, 65535, 2**31 - 1, 2**31, 2**32 + 5, 2**53 + 1, 2**62):
        yield f"count-{count}", counter(count)
    yield "empty-dict", {}
    yield "workers-one-null", [None]
    yield "workers-none", []
    yield "workers-all-zero", [counter(0)] * 4
    yield "workers-zero-first", [counter(0), counter(3), counter(5)]
    yield "workers-empty-first", [{}, counter(2)]
    yield "workers-mixed", [None, {}, counter(2), counter(0), counter(4)]
    yield "workers-large", [counter(2**62), counter(2**62)]
    yield "steps-none", {"steps": []}
    yield "steps-empty-step", {"steps": [[]]}
    yield "steps-all-zero", {"steps": [[counter(0)], [counter(0), None]]}
    yield "steps-zero-then-count", {"steps": [[counter(0)], [counter(6)]]}
    yield "steps-count-then-zero", {"steps": [[counter(6)], [counter(0)]]}
    rng = random.Random("counter-workers")
    for i in range(60):
        yield f"workers-random-{i:03d}", [random_counter_worker(rng)
                                          for _ in range(rng.randint(1, 8))]
    for i in range(80):
        yield f"steps-random-{i:03d}", {"steps": [
            [random_counter_worker(rng) for _ in range(rng.randint(1, 8))]
            for _ in range(rng.randint(1, 6))]}


def cases(release: Release) -> Iterator[tuple[str, object]]:
    if release.family == "F1":
        yield from counter_cases()
        return
    yield from sized_cases()
    yield from rounding_cases()
    yield from summation_cases()
    yield from special_cases()
    yield from failure_cases(release)
    yield from worker_cases(release)


# --------------------------------------------------------------------------


def write_fixture(path: Path, named: Iterator[tuple[str, object]],
                  record: Callable[[str, object], dict], ensure_ascii: bool = True) -> list[dict]:
    """Writes one JSON line `record(name, case)` per named case to `path`, and
    returns the cases for which `record` raised (the real class failed): they
    are reported, not written."""
    records, raised, names = [], [], set()
    for name, case in named:
        if name in names:
            raise ValueError(f"duplicate case name {name}")
        names.add(name)
        try:
            fields = record(name, case)
        except Exception as error:
            raised.append({"name": name, "input": case, "error": repr(error)})
            continue
        records.append(json.dumps(fields, separators=(",", ":"), allow_nan=False,
                                  ensure_ascii=ensure_ascii))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(records) + "\n", encoding="utf-8")
    return raised


def report(path: Path, raised: list[dict], started: float) -> None:
    """One line per fixture file written, and one on stderr per case left out."""
    count = sum(1 for _ in path.open(encoding="utf-8"))
    print(f"{path}: {count} cases, {path.stat().st_size} bytes, "
          f"{time.monotonic() - started:.1f} s")
    for case in raised:
        print(f"  raised, not recorded: {json.dumps(case)}", file=sys.stderr)


def regenerate(release: Release, path: Path) -> list[dict]:
    """Writes one release's fixture file; returns the raising cases."""
    cls = vllm_wheel.load_stats_class(release.version)

    def record(name: str, doc) -> dict:
        line, reduced = logged(cls, doc)
        return {"name": name, "vllm": release.version, "numpy": np.__version__,
                "input": doc, "line": line, "reduce": reduced}
    return write_fixture(path, cases(release), record)


def fixture_parser(doc: str, releases, default_out: Path) -> argparse.ArgumentParser:
    """The options every fixture script has: --release (repeatable) and --out."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--release", action="append", choices=releases,
                        help="only this release (repeatable; default: all)")
    parser.add_argument("--out", type=Path, default=default_out,
                        help=f"output directory (default: {default_out})")
    return parser


def main() -> None:
    args = fixture_parser(__doc__, RELEASES, DEFAULT_OUT).parse_args()
    for version in args.release or RELEASES:
        started = time.monotonic()
        path = args.out / f"vllm-{version}.jsonl"
        report(path, regenerate(RELEASES[version], path), started)


if __name__ == "__main__":
    main()
