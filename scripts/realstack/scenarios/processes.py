"""Helpers the scenarios share for the processes they start."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable, Mapping


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_in_parts(script: str, flag: str, parts: Iterable[tuple[str, Mapping[str, str | None]]],
                 out: Path, timeout: int) -> int:
    """Runs `script FLAG NAME --out PART` for each (NAME, environment changes)
    of `parts`, each in a fresh Python process (NIXL agents, vLLM's logging
    and its environment variables are per process), and writes the parts'
    records into `out` in order. A change to None removes the variable.
    Returns the number of parts that failed; their records are left out."""
    failures = 0
    label = Path(script).stem.replace("_", "-")
    with out.open("w") as sink:
        for name, changes in parts:
            env = dict(os.environ)
            for key, value in changes.items():
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = value
            part = out.with_suffix(f".{name}.part")
            done = subprocess.run([sys.executable, script, flag, name, "--out", str(part)],
                                  env=env, timeout=timeout)
            if done.returncode != 0:
                failures += 1
                print(f"{label}: {flag.lstrip('-')} {name} exited {done.returncode}", file=sys.stderr)
                continue
            sink.write(part.read_text())
            part.unlink()
    return failures


def main_in_parts(script: str, flag: str, run_one: Callable[[str, Path], None],
                  parts: Iterable[tuple[str, Mapping[str, str | None]]], timeout: int) -> int:
    """A scenario's command line: `--out FILE` runs every part, each in its
    own process (run_in_parts); `FLAG NAME --out PART`, which that
    uses, runs one part here with `run_one(NAME, PART)`. Returns the exit
    status."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(flag, dest="part", help="run one part in this process (internal)")
    args = ap.parse_args()
    if args.part:
        run_one(args.part, args.out)
        return 0
    return 1 if run_in_parts(script, flag, parts, args.out, timeout) else 0
