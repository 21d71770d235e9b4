"""Scenario group `nixl-telemetry`: what NIXL itself reports, no vLLM involved.

    python nixl_telemetry.py --out CASES.jsonl

Runs each SESSION in a process of its own (UCX and NIXL read their environment
once), each session a target process and this initiator reading from it, and
writes one JSON object per case to CASES.jsonl. The cases:

- layout: descriptor lists in many shapes, to see when NIXL merges descriptors
  (telemetry descCount) and when it does not;
- post: transfers of several sizes, NIXL's post time against its transfer time;
- late_poll: the first completion check delayed on purpose;
- concurrency: eight 2 MiB reads posted together, then the same eight one by one;
- telemetry_switch: NIXL_TELEMETRY_ENABLE unset / y / n against the agent's
  capture_telemetry setting.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from nixl_pair import Initiator, descriptors, environment, now
from processes import main_in_parts

#: name -> (environment overrides, capture_telemetry, num_threads, case groups).
#: A None value removes the variable. vLLM's agents capture telemetry; 0.34's
#: worker sets num_threads to 4 for UCX.
TIMING = ["warmup", "layout", "post", "late_poll", "concurrency"]
SESSIONS = {
    "shm": ({"UCX_TLS": None, "UCX_NET_DEVICES": None, "NIXL_TELEMETRY_ENABLE": "y"},
            True, 0, TIMING),
    "shm-threads4": ({"UCX_TLS": None, "UCX_NET_DEVICES": None, "NIXL_TELEMETRY_ENABLE": "y"},
                     True, 4, ["warmup", "post", "late_poll", "concurrency"]),
    "tcp": ({"UCX_TLS": "tcp", "UCX_NET_DEVICES": "lo", "NIXL_TELEMETRY_ENABLE": "y"},
            True, 0, TIMING),
    "tcp-threads4": ({"UCX_TLS": "tcp", "UCX_NET_DEVICES": "lo", "NIXL_TELEMETRY_ENABLE": "y"},
                     True, 4, ["warmup", "post", "late_poll", "concurrency"]),
}
for _env in (None, "y", "n"):
    for _capture in (False, True):
        SESSIONS[f"telemetry-{_env or 'unset'}-capture{int(_capture)}"] = (
            {"UCX_TLS": None, "UCX_NET_DEVICES": None, "NIXL_TELEMETRY_ENABLE": _env},
            _capture, 0, ["warmup", "telemetry_switch"])


def post_and_poll(a: Initiator, h, start: float, first_poll_delay: float = 0.0) -> dict:
    """Post one prepared READ and poll it until it leaves PROC. Times are integer
    microseconds since `start` (perf_counter)."""
    t_post = now()
    first = a.agent.transfer(h)
    t_posted = now()
    state, polls, t_first_poll = first, 0, None
    if first == "PROC" and first_poll_delay:
        time.sleep(first_poll_delay)
    while state == "PROC":
        if t_first_poll is None:
            t_first_poll = now()
        state = a.agent.check_xfer_state(h)
        polls += 1
    t_done = now()
    us = lambda t: None if t is None else round((t - start) * 1e6)  # noqa: E731
    return {"first_state": first, "state": state, "polls": polls,
            "first_poll_delay_ms": first_poll_delay * 1e3,
            "wall_us": {"post_start": us(t_post), "post_end": us(t_posted),
                        "first_poll": us(t_first_poll), "done": us(t_done)}}


def finish(a: Initiator, h, pairs, timing: dict, api="prepped", skip_desc_merge=False) -> dict:
    """Add NIXL's telemetry, the descriptor lists and the data check to a
    transfer's timing record, and release its handle."""
    tel, err = a.telemetry(h)
    out = {**timing, "api": api, "skip_desc_merge": skip_desc_merge, "telemetry": tel,
           "telemetry_error": err, "data_ok": timing["state"] == "DONE" and a.arrived(pairs),
           **descriptors(pairs)}
    a.agent.release_xfer_handle(h)
    return out


def run_one(a: Initiator, pairs, api="prepped", skip_desc_merge=False,
            first_poll_delay=0.0) -> dict:
    a.clear(pairs)
    h = a.make(pairs, api, skip_desc_merge)
    timing = post_and_poll(a, h, now(), first_poll_delay)
    return finish(a, h, pairs, timing, api, skip_desc_merge)


def same(region, slots, remote_region=None, remote_slots=None):
    rr = region if remote_region is None else remote_region
    rs = slots if remote_slots is None else remote_slots
    return [((region, ls), (rr, r)) for ls, r in zip(slots, rs)]


def runs(*lengths_and_starts):
    """Slot ids made of runs: (start, length), ..."""
    return [s + i for s, n in lengths_and_starts for i in range(n)]


#: name -> slot pairs, as ((local region, slot), (remote region, slot)).
LAYOUTS = {
    "single": same(0, [0]),
    "adjacent": same(0, range(64)),
    "adjacent-whole-region": same(0, range(128)),
    "adjacent-shifted": same(0, range(64), 0, range(10, 74)),
    "gapped": same(0, range(0, 128, 2)),
    "local-adjacent-remote-gapped": same(0, range(64), 0, range(0, 128, 2)),
    "local-gapped-remote-adjacent": same(0, range(0, 128, 2), 0, range(64)),
    "reversed": same(0, range(63, -1, -1)),
    "pairwise-swapped-remote": same(0, range(64), 0, [i ^ 1 for i in range(64)]),
    "two-runs": same(0, runs((0, 32), (64, 32))),
    "partly-adjacent": same(0, runs((0, 16), (20, 8), (40, 1), (50, 7)),
                            0, runs((0, 8), (10, 16), (30, 8))),
    "across-regions-contiguous": [((0, s), (0, s)) for s in range(124, 128)]
    + [((1, s), (1, s)) for s in range(4)],
    "across-regions-separate": [((0, s), (0, s)) for s in range(4)]
    + [((2, s), (2, s)) for s in range(4)],
    "across-regions-local-only": [((0, 124 + i), (2, i)) for i in range(4)]
    + [((1, i), (2, 4 + i)) for i in range(4)],
}
#: Layouts repeated with the other ways of making a transfer.
INITIALIZE = ["adjacent", "gapped", "across-regions-contiguous"]
NO_MERGE = ["adjacent", "two-runs"]


def warmup_cases(a: Initiator):
    """The session's first transfer: it also sets up the connection."""
    yield {"group": "warmup", "name": "first-transfer", **run_one(a, same(0, [0]))}


def layout_cases(a: Initiator):
    for name, pairs in LAYOUTS.items():
        yield {"group": "layout", "name": name, **run_one(a, pairs)}
    for name in INITIALIZE:
        yield {"group": "layout", "name": name, **run_one(a, LAYOUTS[name], api="initialize")}
    for name in NO_MERGE:
        yield {"group": "layout", "name": name, **run_one(a, LAYOUTS[name], skip_desc_merge=True)}


TIMING_REGION = 3


def post_cases(a: Initiator):
    sizes = {"1x32KiB": same(TIMING_REGION, [0]),
             "64x32KiB-adjacent": same(TIMING_REGION, range(64)),
             "64x32KiB-gapped": same(TIMING_REGION, range(0, 128, 2)),
             "256x32KiB-adjacent": same(TIMING_REGION, range(256)),
             "1024x32KiB-adjacent": same(TIMING_REGION, range(1024))}
    for name, pairs in sizes.items():
        for rep in range(3):
            yield {"group": "post", "name": f"{name}/rep{rep}", **run_one(a, pairs)}


def late_poll_cases(a: Initiator):
    pairs = same(TIMING_REGION, range(64))
    for delay_ms in (0, 1, 5, 20, 50):
        for rep in range(3):
            yield {"group": "late_poll", "name": f"delay{delay_ms}ms/rep{rep}",
                   **run_one(a, pairs, first_poll_delay=delay_ms / 1e3)}


def concurrency_cases(a: Initiator):
    """Eight 2 MiB reads of distinct memory: posted all at once, then one by one.
    Handles are made before and checked after each batch, outside its wall time."""
    batches = [same(TIMING_REGION, range(64 * k, 64 * k + 64)) for k in range(8)]
    for trial in range(3):
        for mode in ("concurrent", "sequential"):
            for pairs in batches:
                a.clear(pairs)
            handles = [a.make(pairs) for pairs in batches]
            start = now()
            timings = (concurrent(a, handles, start) if mode == "concurrent"
                       else [post_and_poll(a, h, start) for h in handles])
            wall = now() - start
            yield {"group": "concurrency", "name": f"{mode}-8x2MiB/trial{trial}", "mode": mode,
                   "batch_wall_us": round(wall * 1e6),
                   "transfers": [finish(a, h, pairs, t)
                                 for h, pairs, t in zip(handles, batches, timings)]}


def concurrent(a: Initiator, handles, start: float) -> list[dict]:
    """Post every handle, then poll them round robin until none is in PROC."""
    us = lambda t: round((t - start) * 1e6)  # noqa: E731
    rec = []
    for h in handles:
        t0 = now()
        st = a.agent.transfer(h)
        t1 = now()
        rec.append({"first_state": st, "state": st, "polls": 0, "first_poll_delay_ms": 0.0,
                    "wall_us": {"post_start": us(t0), "post_end": us(t1), "first_poll": None,
                                "done": us(t1) if st != "PROC" else None}})
    while any(r["state"] == "PROC" for r in rec):
        for h, r in zip(handles, rec):
            if r["state"] == "PROC":
                t = now()
                if r["wall_us"]["first_poll"] is None:
                    r["wall_us"]["first_poll"] = us(t)
                r["state"] = a.agent.check_xfer_state(h)
                r["polls"] += 1
                if r["state"] != "PROC":
                    r["wall_us"]["done"] = us(now())
    return rec


def telemetry_switch_cases(a: Initiator):
    for name in ("adjacent", "gapped"):
        yield {"group": "telemetry_switch", "name": name, **run_one(a, LAYOUTS[name])}


GROUPS = {"warmup": warmup_cases, "layout": layout_cases, "post": post_cases, "late_poll": late_poll_cases,
          "concurrency": concurrency_cases, "telemetry_switch": telemetry_switch_cases}


def session(name: str, out: Path) -> None:
    _, capture, threads, groups = SESSIONS[name]
    a = Initiator(capture=capture, num_threads=threads)
    head = {"session": name, "env": environment(), "capture_telemetry": capture,
            "num_threads": threads}
    import nixl._api
    head["nixl_module"] = nixl._api.__name__
    with out.open("w") as f:
        for group in groups:
            for case in GROUPS[group](a):
                f.write(json.dumps({**head, **case}, sort_keys=True) + "\n")
    a.close()


def main() -> int:
    return main_in_parts(__file__, "--session", session,
                         ((name, overrides) for name, (overrides, *_rest) in SESSIONS.items()),
                         timeout=600)


if __name__ == "__main__":
    sys.exit(main())
