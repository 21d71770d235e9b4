#!/usr/bin/env python3
"""The two sides of the README's speed comparison.

    python3 scripts/speed.py input N FILE      # N realistic observations as one stats dict
    python3 scripts/speed.py vllm VERSION FILE # vLLM's own reduce: json.load, then the
                                               # release's NixlKVConnectorStats.reduce()

`vllm` prints the line that release logs, so its output can be compared with
`nixl-kv-metrics reduce --vllm VERSION FILE`. The class comes out of the real
wheel through scripts/vllm_wheel.py's cache (downloaded on first use).
"""

import json
import random
import sys

import golden
import vllm_wheel


def write_input(n: int, path: str) -> None:
    data = golden.realistic(random.Random(f"speed-{n}"), n)
    with open(path, "w") as out:
        json.dump(data, out)


def vllm_reduce(version: str, path: str) -> None:
    cls = vllm_wheel.load_stats_class(version)
    with open(path) as source:
        data = json.load(source)
    line, _ = golden.logged(cls, data)
    print(line)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "input":
        write_input(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "vllm":
        vllm_reduce(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
