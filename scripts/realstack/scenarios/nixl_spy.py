"""Write down what vLLM's NIXL worker asks its NIXL agent to do.

The worker owns a real nixl_agent; `watch(agent)` wraps six of that agent's
methods on the instance, each calling straight through to NIXL, so that the
registered regions, the prepared descriptor lists, every transfer made from
them (indices on both sides) and the telemetry NIXL returned for it are kept
in `Spy`. Nothing the worker sees changes.
"""

from __future__ import annotations

import time

import numpy as np


def handle_id(h) -> int:
    return int(getattr(h, "_handle", h))


def plain(data) -> bool:
    """A Python list or a numpy array: what vLLM passes (NIXL then passes its own
    descriptor-list objects back into the same methods)."""
    return isinstance(data, (list, tuple, np.ndarray))


def triples(data) -> list[list[int]]:
    """(address, length, device id) of each descriptor in a list, an Nx3 array,
    or an Nx5 strided array (address, length, device, stride, count: `count`
    descriptors `stride` bytes apart)."""
    if isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == 5:
        return [[int(a) + i * int(s), int(n), int(d)]
                for a, n, d, s, c in data for i in range(int(c))]
    if isinstance(data, np.ndarray):
        return [[int(x) for x in row[:3]] for row in data]
    return [[int(x) for x in d[:3]] for d in data]


class Spy:
    def __init__(self, agent, origin: float):
        self.origin = origin
        self.registered: list[list[int]] = []
        self.dlists: dict[int, dict] = {}
        self.transfers: list[dict] = []
        self._live: dict[int, dict] = {}  # handle -> its record (NIXL reuses handles)
        self._descs: dict[int, list] = {}
        self.agent_name = getattr(agent, "name", None)

    def us(self) -> int:
        return round((time.perf_counter() - self.origin) * 1e6)


def watch(agent, origin: float) -> Spy:
    spy = Spy(agent, origin)
    real = {name: getattr(agent, name) for name in (
        "get_reg_descs", "get_xfer_descs", "prep_xfer_dlist", "make_prepped_xfer",
        "transfer", "check_xfer_state", "get_xfer_telemetry")}

    def get_reg_descs(data, *a, **kw):
        if plain(data):
            spy.registered += triples(data)
        return real["get_reg_descs"](data, *a, **kw)

    def get_xfer_descs(data, *a, **kw):
        out = real["get_xfer_descs"](data, *a, **kw)
        if plain(data):
            spy._descs[id(out)] = (out, triples(data))
        return out

    def prep_xfer_dlist(agent_name, xfer_list, *a, **kw):
        h = real["prep_xfer_dlist"](agent_name, xfer_list, *a, **kw)
        kept = spy._descs.get(id(xfer_list))
        descs = (kept[1] if kept and kept[0] is xfer_list
                 else triples(xfer_list) if plain(xfer_list) else None)
        spy.dlists[handle_id(h)] = {"agent": agent_name, "descs": descs}
        return h

    def make_prepped_xfer(op, local, local_idx, remote, remote_idx, *a, **kw):
        h = real["make_prepped_xfer"](op, local, local_idx, remote, remote_idx, *a, **kw)
        notif = kw.get("notif_msg", a[0] if a else b"")
        rec = {
            "op": op, "notif": notif.decode(errors="replace") if isinstance(notif, bytes)
            else str(notif), "local_dlist": handle_id(local), "remote_dlist": handle_id(remote),
            "local_indices": [int(i) for i in local_idx],
            "remote_indices": [int(i) for i in remote_idx],
            "made_us": spy.us(), "posts": [], "done_us": None, "final_state": None,
            "telemetry": None, "telemetry_error": None}
        spy.transfers.append(rec)
        spy._live[handle_id(h)] = rec
        return h

    def transfer(h, *a, **kw):
        t = spy.us()
        state = real["transfer"](h, *a, **kw)
        rec = spy._live.get(handle_id(h))
        if rec is not None:
            rec["posts"].append({"start_us": t, "end_us": spy.us(), "state": state})
            if state != "PROC":
                rec["done_us"], rec["final_state"] = spy.us(), state
        return state

    def check_xfer_state(h):
        state = real["check_xfer_state"](h)
        rec = spy._live.get(handle_id(h))
        if rec is not None and state != "PROC" and rec["final_state"] is None:
            rec["done_us"], rec["final_state"] = spy.us(), state
        return state

    def get_xfer_telemetry(h):
        rec = spy._live.get(handle_id(h))
        try:
            t = real["get_xfer_telemetry"](h)
        except Exception as e:
            if rec is not None:
                rec["telemetry_error"] = f"{type(e).__name__}: {e}"
            raise
        if rec is not None:
            rec["telemetry"] = {"descCount": int(t.descCount), "totalBytes": int(t.totalBytes),
                                "xferDuration": int(t.xferDuration),
                                "postDuration": int(t.postDuration)}
        return t

    for name, fn in (("get_reg_descs", get_reg_descs), ("get_xfer_descs", get_xfer_descs),
                     ("prep_xfer_dlist", prep_xfer_dlist),
                     ("make_prepped_xfer", make_prepped_xfer), ("transfer", transfer),
                     ("check_xfer_state", check_xfer_state),
                     ("get_xfer_telemetry", get_xfer_telemetry)):
        setattr(agent, name, fn)
    return spy
