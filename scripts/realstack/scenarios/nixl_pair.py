"""Two real NIXL agents in two processes, reading between CPU (DRAM) buffers.

The target process owns the remote memory: it registers the regions in REGIONS,
fills them with a known pattern and hands its agent metadata over a pipe. The
initiator (the calling process) registers the same regions locally, adds the
target as a remote agent and READs with the same calls vLLM's NIXL worker uses:
one prepared descriptor list per side covering every slot of every region,
then a transfer made from indices into those lists. Each transfer is recorded
with its descriptor lists, NIXL's telemetry, local wall-clock times and a byte
comparison of what arrived.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass

import numpy as np

KIB = 1024
MIB = 1024 * KIB
#: The unit of every descriptor: one 32 KiB "block".
SLOT = 32 * KIB


@dataclass(frozen=True)
class Region:
    """A registered memory region: `size` bytes at `offset` into buffer `buffer`."""

    buffer: str
    offset: int
    size: int


#: Identical on both sides. Regions 0 and 1 are the two halves of one buffer, so
#: the last slot of 0 and the first of 1 are adjacent in memory; region 2 is a
#: buffer of its own; region 3 is the large area the timing cases use.
REGIONS = [Region("A", 0, 4 * MIB), Region("A", 4 * MIB, 4 * MIB),
           Region("B", 0, 4 * MIB), Region("C", 0, 32 * MIB)]
BUFFERS = {"A": 8 * MIB, "B": 4 * MIB, "C": 32 * MIB}


def pattern(region: int, start: int, length: int) -> np.ndarray:
    """The bytes the target holds at [start, start + length) of a region: they
    differ from slot to slot and region to region, so a misplaced copy shows."""
    o = np.arange(start, start + length, dtype=np.int64)
    return ((o + (o >> 12) * 31 + region * 101) % 251).astype(np.uint8)


def agent_config(capture: bool, num_threads: int):
    from nixl._api import nixl_agent_config
    return nixl_agent_config(backends=["UCX"], capture_telemetry=capture,
                             num_threads=num_threads)


def allocate(fill: bool) -> tuple[dict[str, np.ndarray], list[int]]:
    """The buffers and each region's base address."""
    bufs = {name: np.zeros(size, dtype=np.uint8) for name, size in BUFFERS.items()}
    bases = []
    for i, r in enumerate(REGIONS):
        if fill:
            bufs[r.buffer][r.offset:r.offset + r.size] = pattern(i, 0, r.size)
        bases.append(bufs[r.buffer].ctypes.data + r.offset)
    return bufs, bases


def _target(conn, capture: bool, num_threads: int) -> None:
    from nixl._api import nixl_agent
    agent = nixl_agent("target", agent_config(capture, num_threads))
    bufs, bases = allocate(fill=True)
    agent.register_memory([(b, r.size, 0, "") for b, r in zip(bases, REGIONS)], "DRAM")
    conn.send((agent.get_agent_metadata(), bases))
    conn.recv()  # the initiator is done
    conn.send("bye")


class Initiator:
    """The reading side, with the target process it started."""

    def __init__(self, capture: bool = True, num_threads: int = 0):
        from nixl._api import nixl_agent
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_target, args=(child, capture, num_threads), daemon=True)
        self.proc.start()
        self.agent = nixl_agent("initiator", agent_config(capture, num_threads))
        self.bufs, self.bases = allocate(fill=False)
        self.agent.register_memory([(b, r.size, 0, "") for b, r in zip(self.bases, REGIONS)],
                                   "DRAM")
        metadata, self.remote_bases = self.conn.recv()
        self.remote = self.agent.add_remote_agent(metadata)
        # One prepared list per side over every slot of every region, region by
        # region (as vLLM prepares one list over every block of every layer).
        self.first_index = []
        local, remote = [], []
        for i, r in enumerate(REGIONS):
            self.first_index.append(len(local))
            local += [(self.bases[i] + s * SLOT, SLOT, 0) for s in range(r.size // SLOT)]
            remote += [(self.remote_bases[i] + s * SLOT, SLOT, 0) for s in range(r.size // SLOT)]
        self.local_dlist = self.agent.prep_xfer_dlist("NIXL_INIT_AGENT", local, "DRAM")
        self.remote_dlist = self._prep_remote(remote)

    def _prep_remote(self, descs):
        for _ in range(500):  # the remote metadata may take a moment to be usable
            try:
                return self.agent.prep_xfer_dlist(self.remote, descs, "DRAM")
            except Exception:  # noqa: BLE001 - NIXL raises its own error types
                time.sleep(0.01)
        return self.agent.prep_xfer_dlist(self.remote, descs, "DRAM")

    def close(self) -> None:
        self.agent.release_dlist_handle(self.local_dlist)
        self.agent.release_dlist_handle(self.remote_dlist)
        self.conn.send("done")
        self.conn.recv()
        self.proc.join(10)

    # -- one transfer ---------------------------------------------------------

    def make(self, pairs, api: str = "prepped", skip_desc_merge: bool = False):
        """A READ handle for pairs of ((local region, slot), (remote region, slot))."""
        if api == "prepped":
            li = [self.first_index[r] + s for (r, s), _ in pairs]
            ri = [self.first_index[r] + s for _, (r, s) in pairs]
            return self.agent.make_prepped_xfer("READ", self.local_dlist, li, self.remote_dlist,
                                                ri, b"", skip_desc_merge=skip_desc_merge)
        local = self.agent.get_xfer_descs(
            [(self.bases[r] + s * SLOT, SLOT, 0) for (r, s), _ in pairs], "DRAM")
        remote = self.agent.get_xfer_descs(
            [(self.remote_bases[r] + s * SLOT, SLOT, 0) for _, (r, s) in pairs], "DRAM")
        return self.agent.initialize_xfer("READ", local, remote, self.remote)

    def clear(self, pairs) -> None:
        for (r, s), _ in pairs:
            reg = REGIONS[r]
            start = reg.offset + s * SLOT
            self.bufs[reg.buffer][start:start + SLOT] = 0

    def arrived(self, pairs) -> bool:
        for (lr, ls), (rr, rs) in pairs:
            reg = REGIONS[lr]
            start = reg.offset + ls * SLOT
            if not np.array_equal(self.bufs[reg.buffer][start:start + SLOT],
                                  pattern(rr, rs * SLOT, SLOT)):
                return False
        return True

    def telemetry(self, handle) -> tuple[dict | None, str | None]:
        """NIXL's telemetry for a handle (microseconds, bytes, descriptors), or the
        error reading it raised. startTime (an absolute clock) is left out."""
        try:
            t = self.agent.get_xfer_telemetry(handle)
        except Exception as e:  # noqa: BLE001 - recorded as data
            return None, f"{type(e).__name__}: {e}"
        return {"descCount": int(t.descCount), "totalBytes": int(t.totalBytes),
                "xferDuration": int(t.xferDuration),
                "postDuration": int(t.postDuration)}, None


def descriptors(pairs) -> dict:
    """Both sides' descriptor lists as [region, offset in region, length, device id]."""
    return {"local": [[r, s * SLOT, SLOT, 0] for (r, s), _ in pairs],
            "remote": [[r, s * SLOT, SLOT, 0] for _, (r, s) in pairs]}


def now() -> float:
    return time.perf_counter()


def environment() -> dict:
    """The settings of this process that decide NIXL's and UCX's behaviour."""
    return {k: os.environ.get(k) for k in ("UCX_TLS", "UCX_NET_DEVICES", "NIXL_TELEMETRY_ENABLE")}
