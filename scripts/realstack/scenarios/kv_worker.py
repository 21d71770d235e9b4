"""Scenario group `kv-worker`: real prefill-to-decode reads by vLLM's NIXL worker.

    python kv_worker.py --out CASES.jsonl [--mode pull|push] [--session NAME ...]

Each session starts one process per prefill rank and per decode rank
(kv_rank.py), which read every request of REQUESTS in turn. The session's case
then records, per request: the block tables, what each decode rank's worker
posted (descriptor lists on both sides, as regions and offsets), NIXL's
telemetry per transfer, the stats each rank shipped step by step, whether the
bytes arrived, and what vLLM's own frontend (aggregator, loggers, Prometheus)
makes of the ranks' stats: the "KV Transfer metrics" line and the exposition.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from processes import free_port
from tiny_models import GQA, MLA, scratch

HERE = Path(__file__).resolve().parent
NUM_BLOCKS = 256


def block_tables() -> list[dict]:
    """Requests of 1, 7 and 64 blocks, adjacent and scattered. A request's
    local blocks may be reused by a later one: each is checked as soon as it
    completes, before any rank starts the next."""
    rng = random.Random("kv-worker-block-tables")
    pool = list(range(100, NUM_BLOCKS))
    rng.shuffle(pool)
    scattered_local = [pool[:1], pool[1:8], pool[8:72]]
    reqs = [{"id": "adjacent-1", "local": [1], "remote": [3]},
            {"id": "adjacent-7", "local": list(range(10, 17)), "remote": list(range(20, 27))},
            {"id": "adjacent-64", "local": list(range(32, 96)), "remote": list(range(40, 104))}]
    for n, local in zip((1, 7, 64), scattered_local):
        reqs.append({"id": f"scattered-{n}", "local": local,
                     "remote": rng.sample(range(NUM_BLOCKS), n)})
    reqs.append({"id": "local-adjacent-remote-scattered-7", "local": list(range(200, 207)),
                 "remote": rng.sample(range(NUM_BLOCKS), 7)})
    # Last, as it overwrites every local block: the whole cache, where one
    # layer's last block and the next layer's first are adjacent in memory.
    reqs.append({"id": "all-blocks", "local": list(range(NUM_BLOCKS)),
                 "remote": list(range(NUM_BLOCKS))})
    return reqs


REQUESTS = block_tables()
TP_PAIRS = [(1, 1), (2, 2), (1, 2), (2, 1), (4, 2), (2, 4)]


def sessions(mode: str) -> dict[str, dict]:
    out = {}
    for g in (GQA, MLA):
        for p, d in TP_PAIRS:
            out[f"{mode}-{g.kind}-p{p}d{d}"] = {"geometry": g.name, "p_tp": p, "d_tp": d,
                                                "mode": mode, "telemetry": "y"}
    for p, d in ((1, 1), (2, 1)):
        out[f"{mode}-gqa-p{p}d{d}-telemetry-off"] = {"geometry": GQA.name, "p_tp": p,
                                                     "d_tp": d, "mode": mode, "telemetry": "n"}
    return out



def run_ranks(name: str, spec: dict, timeout: float = 900.0) -> tuple[Path, list[dict]]:
    """Start every rank of a session and wait for them; return the session dir and
    what each process did (exit code and the tail of its log)."""
    d = scratch() / "kv-worker" / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    session = {**spec, "connector": "NixlConnector", "block_size": 32, "num_blocks": NUM_BLOCKS,
               "requests": REQUESTS,
               "dist_ports": {"prefill": free_port(), "decode": free_port()}}
    (d / "session.json").write_text(json.dumps(session))
    env = dict(os.environ, NIXL_TELEMETRY_ENABLE=spec["telemetry"])
    procs = []
    for role, tp in (("prefill", spec["p_tp"]), ("decode", spec["d_tp"])):
        for r in range(tp):
            log = (d / f"{role}{r}.log").open("w")
            procs.append((role, r, subprocess.Popen(
                [sys.executable, str(HERE / "kv_rank.py"), str(d), role, str(r)],
                env=env, stdout=log, stderr=subprocess.STDOUT)))
    end = time.time() + timeout
    status = []
    for role, r, p in procs:
        try:
            code = p.wait(timeout=max(1.0, end - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()  # this session's own child, by its handle
            code = "timeout"
        status.append({"role": role, "rank": r, "exit": code,
                       "log_tail": portable((d / f"{role}{r}.log").read_text()[-1500:])
                       if code != 0 else None})
    return d, status


def portable(text: str | None) -> str | None:
    """A traceback or log tail without this machine's paths: the release's
    installed files as <site-packages>/..., the harness's as <scenarios>/..."""
    if text is None:
        return None
    import sysconfig
    return (text.replace(sysconfig.get_paths()["purelib"], "<site-packages>")
            .replace(str(HERE), "<scenarios>"))


def region_of(addr: int, regions: list[list[int]]) -> tuple[int, int]:
    for i, (base, length, _dev) in enumerate(regions):
        if base <= addr < base + length:
            return i, addr - base
    raise ValueError(f"address {addr:#x} is in no registered region")


def descriptors(indices, dlist, regions) -> list[list[int]]:
    """[region, offset in region, length, device id] of each posted descriptor."""
    out = []
    for i in indices:
        addr, length, dev = dlist["descs"][i]
        reg, off = region_of(addr, regions)
        out.append([reg, off, length, dev])
    return out


def transfers_in(rank: dict, start_us: int, end_us: int,
                 peers: dict[str, tuple[int, dict]]) -> list[dict]:
    """The transfers a rank made in [start_us, end_us) of its own clock, with
    both sides' descriptors as regions and offsets; `remote_rank` is the rank of
    the other instance whose memory was read or written."""
    out = []
    for rec in rank["transfers"]:
        if not start_us <= rec["made_us"] < end_us:
            continue
        local = rank["dlists"][str(rec["local_dlist"])]
        remote = rank["dlists"][str(rec["remote_dlist"])]
        peer_rank, peer = peers[remote["agent"]]
        posts = rec["posts"]
        rel = lambda t: None if t is None else t - start_us  # noqa: E731
        out.append({"op": rec["op"], "notif": rec["notif"], "remote_rank": peer_rank,
                    "local": descriptors(rec["local_indices"], local, rank["registered"]),
                    "remote": descriptors(rec["remote_indices"], remote, peer["registered"]),
                    "telemetry": rec["telemetry"], "telemetry_error": rec["telemetry_error"],
                    "first_state": posts[0]["state"] if posts else None,
                    "final_state": rec["final_state"],
                    "wall_us": {"made": rel(rec["made_us"]),
                                "post_start": rel(posts[0]["start_us"]) if posts else None,
                                "post_end": rel(posts[0]["end_us"]) if posts else None,
                                "done": rel(rec["done_us"])}})
    return out


def listener_ports(d: Path) -> dict[int, str]:
    """The ports the handshake listeners got in this run, each with the
    placeholder that stands for it in recorded messages."""
    return {int(json.loads((d / f"{side}.listener.ready").read_text())): f"<{side}-listener-port>"
            for side in ("P", "D") if (d / f"{side}.listener.ready").exists()}


def hidden(text: str, ports: dict[int, str]) -> str:
    for port, placeholder in ports.items():
        text = re.sub(rf"\b{port}\b", placeholder, text)
    return text


def reported_in(rank: dict, start_us: int, end_us: int, ports: dict[int, str]) -> dict:
    """What the rank's worker said in [start_us, end_us) of its clock beside
    its transfers: `records` (WARNING and above), `handshakes` (those that ended
    then: `ok`, `error`) and `handshake_error` (the first failed one's
    exception, or null). Listener ports read as placeholders."""
    def plain(error):
        return None if error is None else {**error, "message": hidden(error["message"], ports)}
    records = [{**{k: v for k, v in r.items() if k != "us"},
                "message": hidden(r["message"], ports), "exception": plain(r["exception"])}
               for r in rank["records"] if start_us <= r["us"] < end_us]
    shakes = [{"ok": h["ok"], "error": plain(h["error"])} for h in rank["handshakes"]
              if h["end_us"] is not None and start_us <= h["end_us"] < end_us]
    errors = [h["error"] for h in shakes if h["error"] is not None]
    return {"records": records, "handshakes": shakes,
            "handshake_error": errors[0] if errors else None}


def regions(rank: dict) -> list[list[int]]:
    """Registered regions as [index, length, device id] (addresses are per run)."""
    return [[i, length, dev] for i, (_a, length, dev) in enumerate(rank["registered"])]


def frontend(spec: dict, shipped: list[list[list[dict]]], workers: int) -> dict:
    """Stats shipped by the ranks that record transfers (decode in pull mode,
    prefill in push mode), per request and rank, through vLLM's frontend: one
    interval per request (so each request gets its own line), steps aligned by
    step number, then the exposition."""
    import vllm_api
    from pipeline import Pipeline
    from vllm.config import DeviceConfig, KVTransferConfig, ModelConfig, VllmConfig
    from tiny_models import model_dir
    g = {GQA.name: GQA, MLA.name: MLA}[spec["geometry"]]
    vc = VllmConfig(model_config=ModelConfig(model=model_dir(g), skip_tokenizer_init=True,
                                             dtype=g.dtype, served_model_name=g.name),
                    device_config=DeviceConfig(device="cpu"),
                    kv_transfer_config=KVTransferConfig(
                        kv_connector="NixlConnector",
                        kv_role="kv_consumer" if spec["mode"] == "pull" else "kv_producer"))
    cap = vllm_api.capture_vllm_logs(vc)
    pipe = Pipeline(vc, cap, [0], workers)
    intervals = []
    for i, req in enumerate(REQUESTS):
        by_step = [{s["step"]: s["data"] for s in rank_shipped} for rank_shipped in shipped[i]]
        steps = [pipe.step(0, [rank.get(k) for rank in by_step], generation_tokens=100)
                 for k in sorted(set().union(*by_step))]
        intervals.append({"request": req["id"], "steps": steps, **pipe.log()})
    return {"loggers": pipe.loggers, "setup_records": pipe.setup_records,
            "intervals": intervals, "exposition": pipe.exposition(),
            "log_stats_interval_s": pipe.interval, "vllm_logging_level": os.environ.get(
                "VLLM_LOGGING_LEVEL", "INFO")}


def lost_port_race(failed: dict, status: list[dict]) -> bool:
    """A rank died because a port picked free was taken before it was bound
    (gloo's rendezvous port is picked by this process): a harness accident."""
    texts = list(failed.values()) + [s["log_tail"] or "" for s in status]
    return any("address already in use" in t.lower() for t in texts)


def case(name: str, spec: dict, attempts: int = 3) -> dict:
    t0 = time.time()
    for attempt in range(1, attempts + 1):
        d, status = run_ranks(name, spec)
        failed = {p.name: portable(json.loads(p.read_text()))
                  for p in sorted(d.glob("*.failed"))}
        if not lost_port_race(failed, status):
            break
    load = lambda p: json.loads(p.read_text()) if p.exists() else None  # noqa: E731
    p_ranks = [load(d / f"P{r}.json") for r in range(spec["p_tp"])]
    d_ranks = [load(d / f"D{r}.json") for r in range(spec["d_tp"])]
    model = {GQA.name: GQA, MLA.name: MLA}[spec["geometry"]].as_dict()
    out = {"name": name, "config": {**spec, "model": model, "block_size_requested": 32,
                                    "num_blocks": NUM_BLOCKS,
                                    "connector": "NixlConnector"},
           "processes": status, "failed": failed, "attempts": attempt,
           "seconds": round(time.time() - t0, 1)}
    if failed or any(r is None for r in p_ranks + d_ranks):
        out["ran"] = False
        return out
    peers = {r["agent_name"]: (r["rank"], r) for r in p_ranks + d_ranks}
    out["ran"] = True
    out["prefill"] = [{"rank": p["rank"], "geometry": p["geometry"], "regions": regions(p),
                       "done_sending": p["done_sending"]} for p in p_ranks]
    out["decode"] = [{"rank": r["rank"], "geometry": r["geometry"], "regions": regions(r),
                      "untouched_block0": r["untouched_block0"]} for r in d_ranks]
    out["requests"] = []
    ports = listener_ports(d)
    for i, req in enumerate(REQUESTS):
        decode_ranks = []
        for r in d_ranks:
            res = r["requests"][i]
            # Reports run to the next request's start: a late log line is kept.
            until = r["requests"][i + 1]["start_us"] if i + 1 < len(REQUESTS) else 2**62
            decode_ranks.append({
                "rank": r["rank"], "done": res["done"], "failed": res["failed"],
                "error": portable(res["error"]), "after_error": res.get("after_error"),
                "steps": res["steps"],
                "data_ok": res["data_ok"],
                "load_errors": res["load_errors"], "shipped": res["shipped"],
                "transfers": transfers_in(r, res["start_us"], res["end_us"], peers),
                **reported_in(r, res["start_us"], until, ports)})
        prefill_ranks = []
        for p in p_ranks:
            acks = [p["serving_us"]] + p["acks_us"]
            end = acks[i + 1] if i + 1 < len(acks) else 2**62
            prefill_ranks.append({
                "rank": p["rank"],
                "shipped": [{"step": s["step"], "data": s["data"]} for s in p["shipped"]
                            if s["request"] == i],
                "transfers": transfers_in(p, acks[i], end, peers),
                **reported_in(p, acks[i], end, ports)})
        out["requests"].append({**req, "blocks": len(req["local"]),
                                "decode_ranks": decode_ranks, "prefill_ranks": prefill_ranks})
    recorder = "decode_ranks" if spec["mode"] == "pull" else "prefill_ranks"
    shipped = [[rank["shipped"] for rank in q[recorder]] for q in out["requests"]]
    out["frontend"] = frontend(spec, shipped, len(shipped[0]))
    out["frontend"]["recorded_by"] = recorder
    return out


def has_push_connector() -> str | None:
    """None when the release has a push-mode NIXL worker, else why not."""
    import importlib
    try:
        importlib.import_module("vllm.distributed.kv_transfer.kv_connector.v1.nixl.push_worker")
    except ImportError as e:
        return f"no push-mode NIXL worker in this release ({e})"
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mode", choices=("pull", "push"), default="pull")
    ap.add_argument("--session", action="append", help="only these sessions")
    args = ap.parse_args()
    chosen = {k: v for k, v in sessions(args.mode).items()
              if not args.session or k in args.session}
    with args.out.open("w") as f:
        missing = has_push_connector() if args.mode == "push" else None
        if missing:
            f.write(json.dumps({"name": "push", "ran": False, "skipped": missing}) + "\n")
            return 0
        for name, spec in chosen.items():
            rec = case(name, spec)
            print(f"kv-worker: {name}: ran={rec['ran']} in {rec['seconds']} s", file=sys.stderr,
                  flush=True)
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
