"""Print, as one JSON object, the versions of the stack in the running environment.

Read from the installed distributions' metadata (nothing is imported but UCX's
own library, asked for its version string), so it is quick and side-effect free.
"""

from __future__ import annotations

import ctypes
import importlib.metadata as md
import json
import platform
import sys

DISTRIBUTIONS = ["vllm", "nixl", "nixl-cu12", "nixl-cu13", "torch", "numpy",
                 "prometheus_client", "transformers", "msgspec", "pyzmq"]


def dist_version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def nixl_builds() -> list[str]:
    """NIXL's CUDA-specific builds, the one its meta package would load first."""
    builds = ["nixl-cu13", "nixl-cu12"]
    try:
        from nixl_meta_utils import detect_cuda_major
        major = detect_cuda_major()
    except ImportError:
        major = None
    if major is not None:
        builds.sort(key=lambda b: b != f"nixl-cu{major}")
    return builds


def ucx_version() -> str | None:
    """UCX as bundled in the NIXL wheel that NIXL's Python package loads."""
    for dist in nixl_builds():
        try:
            files = md.files(dist) or []
        except md.PackageNotFoundError:
            continue
        for f in files:
            if f.name.startswith("libucp"):
                lib = ctypes.CDLL(str(f.locate()))
                lib.ucp_get_version_string.restype = ctypes.c_char_p
                return lib.ucp_get_version_string().decode()
    return None


def main() -> None:
    out = {d: dist_version(d) for d in DISTRIBUTIONS}
    out["ucx"] = ucx_version()
    out["nixl_build"] = nixl_builds()[0]
    out["python"] = platform.python_version()
    json.dump(out, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
