#!/usr/bin/env python3
"""Differential acceptance check: for thousands of random cases per release
family, `nixl-kv-metrics reduce --vllm V` must print exactly what vLLM V prints.

For every release (one per family, those of scripts/golden.py) this script
generates N random interval documents that no fixture holds, runs each through
the real `NixlKVConnectorStats` class read out of that release's wheel (by
scripts/vllm_wheel.py, and piped exactly as scripts/golden.py does it),
runs the release binary on the same JSON text, and compares the binary's stdout
with vLLM's line plus a newline, or with nothing when vLLM logs nothing. About
one case in five asks for `--format json` instead and is compared with vLLM's
reduce() dict, written by Python's json module.

Usage (from anywhere; Python 3.11+, numpy, cargo; network on the first run
only, to fetch the wheels into ~/.cache/nixl-kv-metrics-golden):

    python3 scripts/differential.py                      # 3000 cases x 6 releases, random seed
    python3 scripts/differential.py --cases 500 --seed 42 --release 0.15.0
    python3 scripts/differential.py --seed 42 --release 0.15.0 --case 17   # replay one case

The seed is printed first; every case is generated from (seed, release, case
number) alone, so a mismatch is replayed with the `--case` command printed
beside it. The binary (default target/release/nixl-kv-metrics) is built with
`cargo build --release` first unless --no-build is given or --binary names
another one. Exit status: 0 when every case matches, 1 otherwise.

The cases vary:
  shape     one stats dict; a list of workers (null, {}, failure-only,
            transfers, transfers + failures); or {"steps": [...]} with empty
            and null-only steps; the same pooled transfers are split across
            workers and steps at random points
  size      0 to about 2000 successful transfers per interval
  values    whole microseconds (NIXL's unit) and full-precision floats of any
            magnitude, integer and float zeros, one microsecond, subnormals,
            values near the largest double; bytes up to 2^64 - 1; descriptor
            counts up to 2^32 - 1; inputs whose mean, P90, MiB per transfer,
            throughput or mean descriptor count sits on a rounding tie
  events    every event list the release has, from none to hundreds; 0.11.0's
            counters up to 2^64 - 1 (their sum can exceed 64 bits)
  text      compact or indented JSON, keys in any order, explicit empty lists
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden  # noqa: E402  (scripts/golden.py: the pipeline, the input makers)
import vllm_wheel  # noqa: E402  (the classes, out of the wheels)

BINARY = vllm_wheel.ROOT / "target" / "release" / "nixl-kv-metrics"
XFER, POST, BYTES, DESCS = golden.XFER, golden.POST, golden.BYTES, golden.DESCS


# --------------------------------------------------------------------------
# Values


def duration_maker(rng: random.Random):
    """A generator of durations in seconds for one list: mostly NIXL-like,
    sometimes anything a float can hold."""
    style = rng.choices(
        ("micros", "micros-wide", "arbitrary", "mixed", "ints", "neg-zero", "extreme"),
        weights=(40, 10, 15, 25, 3, 2, 5))[0]
    median = rng.choice((5, 50, 550, 2500, 20000, 400000))
    sigma = rng.choice((0.1, 0.45, 1.0, 2.0))
    if style == "micros":
        return lambda: golden.micros(rng, median, sigma)
    if style == "micros-wide":  # any whole number of microseconds, zero included
        return lambda: rng.randrange(10 ** rng.randint(1, 10)) / 1e6
    if style == "arbitrary":
        return lambda: rng.random() * 10.0 ** rng.randint(-8, 3)
    if style == "ints":  # Python ints in a float list: json gives ints back
        return lambda: rng.choice((0, 0, 1, 2, 3))
    if style == "neg-zero":  # -0.0 throughout (mixed signs at the P90 are not modelled)
        return lambda: -0.0

    def extreme():
        return rng.choice((0.0, 0, 1e-06, 5e-324, 1e-310, 1e-300 * rng.random(),
                           1e300 * rng.random(), 1.7976931348623157e308,
                           rng.random() * 10.0 ** rng.randint(-320, 308)))

    def mixed():
        roll = rng.random()
        if roll < 0.6:
            return golden.micros(rng, median, sigma)
        if roll < 0.75:
            return rng.choice((0.0, 0, 1e-06))
        if roll < 0.95:
            return rng.random() * 10.0 ** rng.randint(-6, 1)
        return extreme()
    return extreme if style == "extreme" else mixed


def bytes_maker(rng: random.Random):
    style = rng.choices(("blocks", "arbitrary", "mixed", "large"), weights=(50, 15, 25, 10))[0]
    block = rng.choice((16384, 32768, 65536, 131072))

    def special():
        return rng.choice((0, 1, 2**32, 2**53 + 1, 2**62, 2**63 - 1, 2**63,
                           2**64 - 1, rng.randrange(2**64)))
    if style == "blocks":
        return lambda: block * rng.randint(1, 8960)
    if style == "arbitrary":
        return lambda: rng.randrange(2 ** rng.randint(1, 63))
    if style == "large":
        return special
    return lambda: block * rng.randint(1, 8960) if rng.random() < 0.9 else special()


def descriptor_maker(rng: random.Random):
    style = rng.choices(("realistic", "arbitrary", "mixed"), weights=(60, 15, 25))[0]
    if style == "realistic":
        return lambda: rng.randint(1, 2240)
    if style == "arbitrary":
        return lambda: rng.randrange(2**32)
    return lambda: (rng.randint(1, 2240) if rng.random() < 0.9
                    else rng.choice((0, 1, 2**31, 2**32 - 1, rng.randrange(2**32))))


def transfers(rng: random.Random, n: int) -> dict:
    """n transfers; each list has its own style."""
    xfer, post = duration_maker(rng), duration_maker(rng)
    nbytes, descs = bytes_maker(rng), descriptor_maker(rng)
    return golden.transfers([xfer() for _ in range(n)], [post() for _ in range(n)],
                            [nbytes() for _ in range(n)], [descs() for _ in range(n)])


def near_tie(rng: random.Random) -> dict:
    """Transfers whose mean, P90, MiB per transfer, throughput or mean
    descriptor count sits on a rounding tie (scripts/golden.py's makers)."""
    sizes = golden.SMALL + (200, 257, 1000, 1025)
    makers = (golden.aim_mean(XFER, golden.realistic, sizes),
              golden.aim_mean(POST, golden.realistic, sizes),
              golden.aim_mean(XFER, golden.arbitrary, sizes),
              golden.aim_p90(XFER, sizes), golden.aim_p90(POST, sizes),
              golden.aim_avg_mb, golden.aim_mean_descs,
              golden.aim_throughput(golden.realistic, sizes),
              golden.aim_throughput(golden.arbitrary, sizes))
    make = rng.choice(makers)
    for _ in range(100):
        data = make(rng)
        if data is not None:
            return data
    return golden.realistic(rng, rng.randint(1, 20))


def size(rng: random.Random) -> int:
    """Successful transfers in one interval: 0 to about 2000, mostly small."""
    return rng.choices((0, rng.randint(1, 10), rng.randint(11, 130), rng.randint(131, 600),
                        rng.randint(601, 2000)), weights=(8, 40, 27, 15, 10))[0]


# --------------------------------------------------------------------------
# Documents


def failures(rng: random.Random, release: golden.Release) -> dict:
    """Some of the release's event lists, each with a few (rarely hundreds of) marks."""
    chosen = rng.sample(release.failure_keys, rng.randint(1, len(release.failure_keys)))
    big = rng.random() < 0.05
    return golden.failures(release, **{key: rng.randint(1, 400 if big else 3) for key in chosen})


def split(rng: random.Random, data: dict, parts: int) -> list[dict]:
    """The transfers of `data` cut at random points into `parts` pieces, in order."""
    n = len(data[XFER])
    cuts = sorted(rng.randint(0, n) for _ in range(parts - 1))
    bounds = list(zip([0] + cuts, cuts + [n]))
    return [{key: data[key][a:b] for key in (XFER, POST, BYTES, DESCS)} for a, b in bounds]


def worker(rng: random.Random, release: golden.Release, piece: dict | None) -> dict | None:
    """One worker's shipment around a piece of the pooled transfers (or none)."""
    if piece is None or not piece[XFER]:
        roll = rng.random()
        if roll < 0.35:
            return None
        if roll < 0.55:
            return {}
        if roll < 0.65:  # explicit empty lists
            return {key: [] for key in rng.sample(golden.RELEASES[release.version].failure_keys
                                                  + (XFER, POST, BYTES, DESCS), 3)}
        return failures(rng, release)  # failure-only (empty up to 0.14, shipped from 0.15)
    data = dict(piece)
    if rng.random() < 0.3:
        data |= failures(rng, release)
    if rng.random() < 0.1:
        data |= {key: [] for key in release.failure_keys if key not in data}
    return data


def shuffled_keys(rng: random.Random, data):
    if isinstance(data, dict) and rng.random() < 0.3:
        items = list(data.items())
        rng.shuffle(items)
        return dict(items)
    return data


def shaped(rng: random.Random, release: golden.Release, pooled: dict):
    """`pooled` as one of the three input shapes, split across workers and steps,
    with empty, null and failure-only workers in between."""
    shape = rng.choices(("dict", "workers", "steps"), weights=(25, 35, 40))[0]
    if shape == "dict":
        doc = dict(pooled)
        if rng.random() < 0.35:
            doc |= failures(rng, release)
        return shape, shuffled_keys(rng, doc)
    steps = 1 if shape == "workers" else rng.randint(1, 6)
    pieces = split(rng, pooled, rng.randint(1, 12))
    # Spread the pieces over the steps, and sprinkle workers without transfers.
    per_step = [[] for _ in range(steps)]
    for piece in pieces:
        per_step[rng.randrange(steps)].append(piece)
    out = []
    for step in per_step:
        workers = [worker(rng, release, piece) for piece in step]
        for _ in range(rng.choice((0, 0, 1, 2, 4))):
            workers.insert(rng.randint(0, len(workers)), worker(rng, release, None))
        out.append([shuffled_keys(rng, w) for w in workers])
    return shape, out[0] if shape == "workers" else {"steps": out}


def counter_worker(rng: random.Random) -> dict | None:
    """golden.py's counter workers, and now and then a large counter (Python's
    ints do not overflow)."""
    if rng.random() < 0.03:
        return golden.counter(rng.choice((2**31, 2**32 + 5, 2**53 + 1, 2**62, 2**63,
                                          2**64 - 1, rng.randrange(2**64))))
    return golden.random_counter_worker(rng)


def counter_case(rng: random.Random):
    shape = rng.choices(("dict", "workers", "steps"), weights=(20, 35, 45))[0]
    if shape == "dict":
        return shape, counter_worker(rng) or {}
    if shape == "workers":
        return shape, [counter_worker(rng) for _ in range(rng.randint(0, 8))]
    return shape, {"steps": [[counter_worker(rng) for _ in range(rng.randint(0, 8))]
                             for _ in range(rng.randint(0, 6))]}


def case(seed: str, release: golden.Release, index: int) -> tuple[str, object]:
    """Case `index` of `release`: (shape, document). Depends on nothing else."""
    rng = random.Random(f"{seed}:{release.version}:{index}")
    if release.family == "F1":
        return counter_case(rng)
    pooled = near_tie(rng) if rng.random() < 0.2 else transfers(rng, size(rng))
    return shaped(rng, release, pooled)


def transfer_count(doc) -> int:
    """Successful transfers in a document (0.11.0: the summed counters)."""
    workers = [w for step in golden.engine_steps(doc) for w in step if w]
    return sum(len(w.get(XFER, ())) or w.get(golden.COUNTER, 0) for w in workers)


def text_of(rng: random.Random, doc) -> str:
    style = rng.random()
    if style < 0.6:
        return json.dumps(doc, separators=(",", ":"))
    if style < 0.85:
        return json.dumps(doc)
    return json.dumps(doc, indent=rng.choice((1, 2, "\t"))) + "\n"


# --------------------------------------------------------------------------
# Running both sides


def expected_output(cls: type, doc, fmt: str) -> tuple[str | None, str | None]:
    """(what vLLM logs for `doc` in `fmt`, or None if its class raised; the error)."""
    try:
        line, reduced = golden.logged(cls, doc)
    except Exception as error:  # noqa: BLE001 (the real class may fail on odd input)
        return None, repr(error)
    if line is None:
        return "", None
    if fmt == "json":
        return json.dumps(reduced, separators=(",", ":")) + "\n", None
    return line + "\n", None


def fields(output: str, fmt: str) -> dict[str, str]:
    """A printed line or JSON summary as {field name: printed value}."""
    output = output.strip()
    if not output:
        return {}
    if fmt == "json":  # the values' own text: json.loads would hide digit differences
        return dict(re.findall(r'"([^"]*)":("[^"]*"|[^,}]*)', output))
    try:
        return dict(field.split("=", 1) for field in
                    output.removeprefix("KV Transfer metrics: ").split(", "))
    except ValueError:
        return {"(unreadable)": output}


def differing(expected: str, ours: str, fmt: str) -> list[str]:
    """The fields printed differently; "(same float)" when both texts read
    back to the same double and only the digits differ."""
    theirs, mine = fields(expected, fmt), fields(ours, fmt)
    out = []
    for name in dict.fromkeys([*theirs, *mine]):
        a, b = theirs.get(name), mine.get(name)
        if a == b:
            continue
        try:
            same = a is not None and b is not None and float(a.strip('"')) == float(b.strip('"'))
        except ValueError:
            same = False
        out.append(f"{name} (same float)" if same else name)
    return out


def run_binary(binary: Path, version: str, fmt: str, text: str) -> tuple[int, str, str]:
    done = subprocess.run([str(binary), "reduce", "--vllm", version, "--format", fmt],
                          input=text.encode(), capture_output=True, check=False)
    return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")


def build(binary: Path, explicit: bool, no_build: bool) -> None:
    if not explicit and not no_build:
        built = subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "nixl-kv-metrics"],
                               cwd=vllm_wheel.ROOT, check=False)
        if built.returncode != 0 and binary.exists():
            print(f"warning: cargo build failed; using the existing {binary}", file=sys.stderr)
    if not binary.exists():
        sys.exit(f"{binary}: no such binary (build it with `cargo build --release`)")


def check_release(args, release: golden.Release, pool) -> dict:
    cls = vllm_wheel.load_stats_class(release.version)
    indices = [args.case] if args.case is not None else range(args.cases)
    started = time.monotonic()
    jobs, stats = [], {"cases": 0, "mismatches": [], "logged": 0, "nothing": 0, "json": 0,
                       "raised": 0, "shapes": {}, "max_n": 0, "fields": {}}
    oracle_seconds = 0.0
    for index in indices:
        shape, doc = case(args.seed, release, index)
        rng = random.Random(f"{args.seed}:{release.version}:{index}:text")
        fmt = "json" if rng.random() < 0.2 else "line"
        text = text_of(rng, doc)
        t0 = time.monotonic()
        expected, error = expected_output(cls, json.loads(text), fmt)
        oracle_seconds += time.monotonic() - t0
        stats["cases"] += 1
        stats["shapes"][shape] = stats["shapes"].get(shape, 0) + 1
        stats["json"] += fmt == "json"
        stats["raised"] += expected is None
        stats["logged"] += bool(expected)
        stats["nothing"] += expected == ""
        stats["max_n"] = max(stats["max_n"], transfer_count(doc))
        future = pool.submit(run_binary, args.binary, release.version, fmt, text)
        jobs.append((index, shape, fmt, text, expected, error, future))
    for index, shape, fmt, text, expected, error, future in jobs:
        code, out, err = future.result()
        if expected is None:  # vLLM raised: the binary must refuse the input
            ok = code == 2 and out == ""
        else:
            ok = code == 0 and out == expected and err == ""
        if not ok:
            fields_off = differing(expected, out, fmt) if expected else []
            for name in fields_off or ["(whole output)"]:
                stats["fields"][name] = stats["fields"].get(name, 0) + 1
            stats["mismatches"].append({
                "release": release.version, "seed": args.seed,
                "case": index, "shape": shape, "format": fmt, "fields": fields_off, "input": text,
                "vllm": expected if expected is not None else f"(raised {error})",
                "ours": out, "exit": code, "stderr": err})
    stats["seconds"] = time.monotonic() - started
    stats["oracle_seconds"] = oracle_seconds
    return stats


def report(args, release: golden.Release, stats: dict) -> None:
    shapes = ", ".join(f"{k} {v}" for k, v in sorted(stats["shapes"].items()))
    print(f"vLLM {release.version} ({release.family}): {stats['cases']} cases, "
          f"{len(stats['mismatches'])} mismatches, {stats['seconds']:.1f} s "
          f"(vLLM's class {stats['oracle_seconds']:.1f} s)")
    print(f"    {shapes}; logged {stats['logged']}, nothing {stats['nothing']}, "
          f"vLLM raised {stats['raised']}; --format json {stats['json']}; "
          f"largest interval {stats['max_n']} transfers")
    if stats["fields"]:
        tally = ", ".join(f"{name} {count}" for name, count in
                          sorted(stats["fields"].items(), key=lambda item: -item[1]))
        print(f"    fields that differ: {tally}")
    for m in stats["mismatches"][:args.show]:
        print(f"  MISMATCH case {m['case']} ({m['shape']}, --format {m['format']}); replay: "
              f"python3 scripts/differential.py --seed {args.seed} --release {release.version} "
              f"--case {m['case']}")
        print(f"    input:  {m['input']}")
        print(f"    differs in: {', '.join(m['fields']) or 'the whole output'}")
        print(f"    vLLM:   {m['vllm']!r}")
        print(f"    ours:   {m['ours']!r} (exit {m['exit']})")
        if m["stderr"]:
            print(f"    stderr: {m['stderr']!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000, help="cases per release (default 3000)")
    parser.add_argument("--seed", default=None, help="seed (default: random, printed)")
    parser.add_argument("--release", action="append", choices=golden.RELEASES,
                        help="check only this release (repeatable; default: all six)")
    parser.add_argument("--case", type=int, default=None,
                        help="run only this case number (replay; needs --seed and one --release)")
    parser.add_argument("--binary", type=Path, default=None,
                        help=f"the binary to check (default {BINARY.relative_to(vllm_wheel.ROOT)}, built first)")
    parser.add_argument("--no-build", action="store_true", help="do not run cargo build first")
    parser.add_argument("--jobs", type=int, default=2, help="binaries run at once (default 2)")
    parser.add_argument("--show", type=int, default=3, help="mismatches printed in full per release")
    parser.add_argument("--save", type=Path, default=None,
                        help="write every mismatch to this file, one JSON object per line")
    args = parser.parse_args()
    if args.case is not None and (args.seed is None or not args.release or len(args.release) != 1):
        parser.error("--case replays one case: give --seed and exactly one --release")
    if args.seed is None:
        args.seed = str(random.SystemRandom().randrange(2**63))
    explicit = args.binary is not None
    args.binary = (args.binary or BINARY).resolve()
    build(args.binary, explicit, args.no_build)
    print(f"seed {args.seed}; binary {args.binary}; numpy {golden.np.__version__}")
    started, failed = time.monotonic(), 0
    saved = args.save.open("w") if args.save else None
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for version in args.release or golden.RELEASES:
            release = golden.RELEASES[version]
            stats = check_release(args, release, pool)
            report(args, release, stats)
            failed += len(stats["mismatches"])
            for m in stats["mismatches"] if saved else ():
                saved.write(json.dumps(m) + "\n")
    if saved:
        saved.close()
    total = time.monotonic() - started
    print(f"{'FAIL' if failed else 'OK'}: {failed} mismatches in total, {total:.1f} s; seed {args.seed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
