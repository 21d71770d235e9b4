"""What vLLM's NIXL worker reports beside its transfers: handshakes and warnings.

A request can end without a single transfer: the worker then only logs why
(e.g. a pairing it refuses at the handshake) and marks the request failed or
its blocks invalid. `watch(worker, clock)` keeps, stamped with the rank's
clock, every record of WARNING or above that the `vllm` logger tree emits and
every handshake the worker makes (its `_nixl_handshake`, wrapped on the
instance and calling straight through; the worker submits it to its handshake
thread from there), so that a fixture can say why a request got no transfer.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from vllm_api import Capture

HERE = Path(__file__).resolve().parent


def where(tb) -> str | None:
    """`path:line (function)` of the innermost frame of a traceback; vLLM's and
    NIXL's files relative to site-packages, the harness's as <scenarios>/..."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return None
    f = frames[-1]
    path = f.filename
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(str(HERE)):
        path = "<scenarios>" + path[len(str(HERE)):]
    return f"{path}:{f.lineno} ({f.name})"


def exception(e: BaseException) -> dict:
    """An exception as `type`, `message` (str(e), often empty for a bare
    assert) and `at` (where it was raised)."""
    return {"type": type(e).__name__, "message": str(e), "at": where(e.__traceback__)}


class Records(Capture):
    """WARNING and above from the `vllm` logger tree, each with the rank's clock
    (`us`) and the exception it carries (`exception`, or null)."""

    def __init__(self, clock):
        super().__init__()
        self.setLevel(logging.WARNING)
        self.clock = clock

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        rec = self.records[-1]
        rec["us"] = self.clock()
        rec["exception"] = exception(record.exc_info[1]) if record.exc_info else None


class Watch:
    """Records and handshakes in the order they happened; `handshakes` are
    `{"start_us", "end_us", "ok", "error"}` (error: `exception()` or null)."""

    def __init__(self, clock):
        self.records = Records(clock)
        self.handshakes: list[dict] = []


def watch(worker, clock) -> Watch:
    w = Watch(clock)
    logging.getLogger("vllm").addHandler(w.records)
    real = worker._nixl_handshake

    def handshake(*a, **kw):
        rec = {"start_us": clock(), "end_us": None, "ok": False, "error": None}
        w.handshakes.append(rec)
        try:
            out = real(*a, **kw)
            rec["ok"] = True
            return out
        except Exception as e:
            rec["error"] = exception(e)
            raise
        finally:
            rec["end_us"] = clock()

    worker._nixl_handshake = handshake
    return w
