"""Where the real-stack environments live and how each vLLM release is installed.

Shared by `setup` (which builds the environments) and `run` (which drives the
scenarios inside them). Standard library only: both run on the system Python.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LOCKS = HERE / "locks"
SCENARIOS = HERE / "scenarios"
GOLDEN = REPO / "tests" / "golden" / "realstack"

#: NIXL is pinned once for every release: the newest version whose CUDA builds
#: (nixl-cu12, nixl-cu13) are both on PyPI.
NIXL = "1.5.1"


@dataclass(frozen=True)
class Release:
    """How one vLLM release is installed.

    `deps_from` names the release whose dependency set is installed first when
    this release's own pins cannot be resolved from PyPI; the release itself is
    then installed without dependencies (vLLM 0.34.0 pins a flashinfer that PyPI
    does not serve; nothing the CPU path imports needs it).
    """

    vllm: str
    deps_from: str | None = None


#: Every release `setup` installs and `run` drives by default, newest first:
#: the two newest, the first with the NIXL connector as a package (pull and
#: push workers), and three with the single-module connector (0.15.1: P_TP >
#: D_TP allowed unless the prefill KV is replicated; 0.12.0 and 0.11.2: P_TP >
#: D_TP refused).
RELEASES = [
    Release("0.34.0", deps_from="0.33.0"),
    Release("0.33.0"),
    Release("0.31.0"),
    Release("0.15.1"),
    Release("0.12.0"),
    Release("0.11.2"),
]


def release(version: str) -> Release:
    for r in RELEASES:
        if r.vllm == version:
            return r
    return Release(version)


def root() -> Path:
    """The directory holding the virtual environments (outside the repository)."""
    return Path(os.environ.get("NIXL_REALSTACK_ROOT", "/work/realstack"))


def venv(root_dir: Path, version: str) -> Path:
    return root_dir / "venvs" / f"vllm-{version}"


def python(root_dir: Path, version: str) -> Path:
    return venv(root_dir, version) / "bin" / "python"


def lock_file(version: str) -> Path:
    return LOCKS / f"vllm-{version}.txt"


def ready(root_dir: Path, version: str) -> bool:
    """Whether `setup` finished the release's environment under root_dir."""
    env = venv(root_dir, version)
    return (env / "bin" / "python").exists() and (env / ".realstack-ok").exists()


def versions(py: Path) -> dict:
    """The versions of the stack inside one environment (see versions.py)."""
    out = subprocess.run([str(py), str(HERE / "versions.py")], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)
