"""One rank of a prefill or decode instance: vLLM's own NIXL connector worker.

    python kv_rank.py SESSION_DIR ROLE RANK     (started by kv_worker.py)

Builds what the model runner would hand the connector on CPU - a VllmConfig on
vLLM's CpuPlatform and the KV caches as the release makes them (0.31+: the KV
cache spec of the session's geometry, a KVCacheConfig from vLLM's own planner
and the tensors from vLLM's own allocator in the layout the engine core
resolves for the CPU attention backend; older: one tensor per layer in the CPU
attention backend's shape) - then constructs the release's NIXL worker and
registers the caches.

Prefill ranks fill their cache with a value per (layer, block, global KV head)
and serve the handshake with vLLM's listener (rank 0 serves every rank, as the
prefill scheduler does; in push mode the decode side serves one too). Decode
ranks receive each request's connector metadata as the decode scheduler would
build it (pull: the remote block ids; push: a registration for the prefill
side, which was told its finished blocks) and step the worker until the
request is done; every rank keeps what its worker ships as stats after each
step; the decode ranks compare the bytes that arrived. Requests run one at a
time across all ranks (files in the session directory are the barrier), so
what a rank ships can be attributed to one request.

Shims, none of them editing vLLM: VLLM_TARGET_DEVICE=cpu; Triton reported
present for the config checks (no kernel runs); the scheduler side is not run
(its metadata is built here).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
os.environ.setdefault("VLLM_NIXL_SIDE_CHANNEL_HOST", "127.0.0.1")

import vllm_api  # noqa: E402 - also sets the offline / cache environment
from nixl_spy import watch  # noqa: E402
from processes import free_port  # noqa: E402
from tiny_models import GQA, MLA, model_dir  # noqa: E402
from worker_watch import watch as watch_worker  # noqa: E402

GEOMETRIES = {g.name: g for g in (GQA, MLA)}
ORIGIN = time.perf_counter()


def value(layer: int, block: int, head: int) -> int:
    """The int16 written at (layer, block, global KV head) of the prefill cache."""
    return (layer * 4096 + block * 8 + head) % 32768


def layer_names(n: int) -> list[str]:
    return [f"model.layers.{i}.self_attn.attn" for i in range(n)]


def shape_axes(backend, kv_heads_present: bool) -> dict:
    """Where the block, head and K/V axes sit in a backend's cache shape, found
    by asking get_kv_cache_shape about sizes that cannot be confused."""
    shape = backend.get_kv_cache_shape(num_blocks=7, block_size=11, num_kv_heads=5,
                                       head_size=3)
    return {"block": shape.index(7), "head": shape.index(5) if kv_heads_present else None,
            "kv": shape.index(2) if 2 in shape else None}


class NixlPackage:
    """vLLM 0.31 and newer: the NIXL connector is a package with pull and push
    workers; the cache comes from the KV cache planner and allocator, one tensor
    for all layers, viewed per layer as [B, H, N, C]."""

    name = "nixl-package"

    def __init__(self, rank: "Rank"):
        self.r = rank

    def spec(self):
        from vllm.v1.kv_cache_interface import FullAttentionSpec, MLAAttentionSpec
        r = self.r
        bs = r.vc.cache_config.block_size  # the platform may have changed it
        if r.g.kind == "mla":
            return MLAAttentionSpec(block_size=bs, num_kv_heads=1,
                                    head_size=r.g.kv_lora_rank + r.g.qk_rope_head_dim,
                                    dtype=r.torch.float16)
        return FullAttentionSpec(block_size=bs, num_kv_heads=r.g.num_kv_heads // r.tp,
                                 head_size=r.g.head_dim, dtype=r.torch.float16)

    def backend(self):
        from vllm.v1.attention.backends.registry import AttentionBackendEnum
        return AttentionBackendEnum["CPU_MLA" if self.r.g.kind == "mla" else "CPU_ATTN"].get_class()

    def caches(self) -> tuple[dict, dict]:
        """The per-layer caches and what describes them."""
        from vllm.v1.attention.backends.utils import (get_supported_kv_cache_layouts,
                                                      record_kv_cache_layout,
                                                      resolve_kv_cache_layout)
        from vllm.v1.kv_cache_interface import KVCacheGroupSpec
        from vllm.v1.worker.utils import allocate_kv_cache
        r = self.r
        spec = self.spec()
        names = [x.name for x in get_supported_kv_cache_layouts([self.backend()])]
        with r.set_config(r.vc):
            layout = resolve_kv_cache_layout(r.vc, [names], [spec])
        record_kv_cache_layout(r.vc.cache_config, layout.name)
        plan = vllm_api.first("vllm.v1.core.kv_cache_planning:get_kv_cache_config_from_groups",
                              "vllm.v1.core.kv_cache_utils:get_kv_cache_config_from_groups")
        memory = r.session["num_blocks"] * spec.page_size_bytes * len(r.names)
        with r.set_config(r.vc):
            self.kcc = plan(r.vc, [KVCacheGroupSpec(r.names, spec)], memory)
            if hasattr(self.kcc, "kv_cache_layout"):
                self.kcc.kv_cache_layout = layout.name
            caches = allocate_kv_cache(self.kcc, r.torch.device("cpu"), layout)
        described = {"block_size": spec.block_size, "num_blocks": self.kcc.num_blocks,
                     "kv_heads_per_rank": spec.num_kv_heads,
                     "page_size_bytes": spec.page_size_bytes, "kv_cache_layout": layout.name,
                     "attention_backend": self.backend().__name__,
                     "kv_cache_tensors": [{"size": t.size, "layers": len(t.layers),
                                           "layer_stride": t.layer_stride,
                                           "block_stride": t.block_stride}
                                          for t in self.kcc.kv_cache_tensors]}
        self.axes = {"block": 0, "head": 1, "kv": None}  # the [B, H, N, C] views
        return caches, described

    def worker(self):
        from vllm.distributed.kv_transfer.kv_connector.v1.nixl import pull_worker, push_worker
        cls = (push_worker.NixlPushConnectorWorker if self.r.session["mode"] == "push"
               else pull_worker.NixlPullConnectorWorker)
        return cls(self.r.vc, self.r.engine_id, self.kcc)

    def listen(self, payloads: list[bytes], ready, stop, port: int) -> None:
        from vllm.distributed.kv_transfer.kv_connector.v1.nixl.base_scheduler import \
            NixlBaseConnectorScheduler
        encoded = {(0, q): p for q, p in enumerate(payloads)}
        NixlBaseConnectorScheduler._nixl_handshake_listener(encoded, ready, stop, "127.0.0.1",
                                                             port)

    @staticmethod
    def metadata_cls():
        from vllm.distributed.kv_transfer.kv_connector.v1.nixl.metadata import \
            NixlConnectorMetadata
        return NixlConnectorMetadata

    def recv(self, md, req: dict, params: dict) -> None:
        params = {**params, "remote_block_ids": (req["remote"],)}
        md.add_new_req_to_recv(req["id"], (req["local"],), params, awaiting_kvs=True)


class SingleModule:
    """vLLM before 0.31: one nixl_connector module with NixlConnectorWorker; the
    model runner gives each layer a tensor of the attention backend's shape."""

    name = "single-module"

    def __init__(self, rank: "Rank"):
        self.r = rank
        self.module = importlib.import_module(
            "vllm.distributed.kv_transfer.kv_connector.v1.nixl_connector")

    def backend(self):
        """The attention backend vLLM selects for the model, asked as the
        release's NIXL worker asks. For an MLA model these releases'
        CpuPlatform raises NotImplementedError ("MLA is not supported on CPU."):
        that is where such a session stops."""
        r = self.r
        utils = importlib.import_module("vllm.distributed.kv_transfer.kv_connector.utils")
        with r.set_config(r.vc):
            if hasattr(utils, "get_current_attn_backend"):
                return utils.get_current_attn_backend(r.vc)
            from vllm.attention.selector import get_attn_backend
            mc = r.vc.model_config
            return get_attn_backend(mc.get_head_size(), mc.dtype, r.vc.cache_config.cache_dtype,
                                    r.vc.cache_config.block_size, use_mla=mc.use_mla)

    def caches(self) -> tuple[dict, dict]:
        r = self.r
        be = self.backend()
        bs = r.vc.cache_config.block_size
        mla = r.g.kind == "mla"
        heads = 1 if mla else r.g.num_kv_heads // r.tp
        head_size = r.g.kv_lora_rank + r.g.qk_rope_head_dim if mla else r.g.head_dim
        shape = be.get_kv_cache_shape(num_blocks=r.session["num_blocks"], block_size=bs,
                                      num_kv_heads=heads, head_size=head_size)
        caches = {n: r.torch.zeros(shape, dtype=r.torch.float16) for n in r.names}
        self.axes = shape_axes(be, not mla)
        page = (1 if mla else 2) * bs * heads * head_size * 2
        return caches, {"block_size": bs, "num_blocks": r.session["num_blocks"],
                        "kv_heads_per_rank": heads, "page_size_bytes": page,
                        "kv_cache_layout": None, "attention_backend": be.__name__,
                        "kv_cache_shape": list(shape), "kv_cache_tensors": None}

    def worker(self):
        return self.module.NixlConnectorWorker(self.r.vc, self.r.engine_id)

    def listen(self, payloads: list[bytes], ready, stop, port: int) -> None:
        fn = self.module.NixlConnectorScheduler._nixl_handshake_listener
        encoded = dict(enumerate(payloads))
        if vllm_api.accepts(fn, "host"):
            fn(encoded, ready, stop, "127.0.0.1", port)
        else:  # the host comes from VLLM_NIXL_SIDE_CHANNEL_HOST
            fn(encoded, ready, stop, port)

    def metadata_cls(self):
        return self.module.NixlConnectorMetadata

    def recv(self, md, req: dict, params: dict) -> None:
        params = {**params, "remote_block_ids": req["remote"]}
        if hasattr(md, "add_new_req_to_recv"):
            md.add_new_req_to_recv(req["id"], req["local"], params)
        else:
            md.add_new_req(req["id"], req["local"], params, load_remote_cache=True)


def family(rank: "Rank"):
    try:
        importlib.import_module("vllm.distributed.kv_transfer.kv_connector.v1.nixl.pull_worker")
        return NixlPackage(rank)
    except ImportError:
        return SingleModule(rank)


def use_cpu_platform() -> str:
    """Make vLLM's CpuPlatform the current platform; say how. Releases that
    honour VLLM_TARGET_DEVICE=cpu pick it themselves; older ones pick it only
    for CPU builds of vLLM, so it is assigned before anything asks for it."""
    import vllm.platforms as platforms
    chosen = platforms.resolve_current_platform_cls_qualname()
    if chosen.endswith("CpuPlatform"):
        return "VLLM_TARGET_DEVICE=cpu"
    from vllm.platforms.cpu import CpuPlatform
    platforms._current_platform = CpuPlatform()
    return f"assigned CpuPlatform (the release resolved {chosen})"


class Rank:
    def __init__(self, session: dict, role: str, rank: int):
        self.platform_selection = use_cpu_platform()
        import torch
        import vllm.triton_utils as tu
        tu.HAS_TRITON = True  # config checks only: no kernel runs on this path
        from vllm.config import (CacheConfig, DeviceConfig, KVTransferConfig, ModelConfig,
                                 ParallelConfig, VllmConfig, set_current_vllm_config)
        from vllm.distributed import (ensure_model_parallel_initialized,
                                      init_distributed_environment)

        self.session, self.role, self.rank = session, role, rank
        self.tp = session["p_tp"] if role == "prefill" else session["d_tp"]
        self.g = GEOMETRIES[session["geometry"]]
        self.engine_id = "engine-P" if role == "prefill" else "engine-D"
        kv = KVTransferConfig(kv_connector=session["connector"],
                              kv_role="kv_producer" if role == "prefill" else "kv_consumer",
                              engine_id=self.engine_id, kv_buffer_device="cpu")
        mc = ModelConfig(model=model_dir(self.g), skip_tokenizer_init=True, dtype=self.g.dtype,
                         served_model_name=self.g.name)
        self.vc = VllmConfig(model_config=mc, device_config=DeviceConfig(device="cpu"),
                             parallel_config=ParallelConfig(tensor_parallel_size=self.tp),
                             cache_config=CacheConfig(block_size=session["block_size"]),
                             kv_transfer_config=kv)
        self.set_config = set_current_vllm_config
        with set_current_vllm_config(self.vc):
            port = session["dist_ports"][role]
            init_distributed_environment(world_size=self.tp, rank=rank,
                                         distributed_init_method=f"tcp://127.0.0.1:{port}",
                                         local_rank=rank, backend="gloo")
            ensure_model_parallel_initialized(self.tp, 1)
        self.torch = torch
        self.names = layer_names(self.g.num_layers)
        self.family = family(self)
        self.caches, self.described = self.family.caches()
        with set_current_vllm_config(self.vc):
            self.worker = self.family.worker()
        self.spy = watch(self.worker.nixl_wrapper, ORIGIN)
        self.watch = watch_worker(self.worker, self.spy.us)
        if role == "prefill":
            self.fill()
        with set_current_vllm_config(self.vc):
            self.worker.register_kv_caches(self.caches)

    # -- cache contents -------------------------------------------------------

    def heads(self) -> int:
        return self.described["kv_heads_per_rank"]

    def global_head(self, h: int) -> int:
        return 0 if self.g.kind == "mla" else self.rank * self.heads() + h

    def cell(self, name: str, block: int, head: int):
        """The int16 view of one (block, head) of a layer, K and V together."""
        t = self.caches[name].view(self.torch.int16)
        index = [slice(None)] * t.dim()
        index[self.family.axes["block"]] = block
        if self.family.axes["head"] is not None:
            index[self.family.axes["head"]] = head
        return t[tuple(index)]

    def fill(self) -> None:
        for li, name in enumerate(self.names):
            for b in range(self.session["num_blocks"]):
                for h in range(self.heads()):
                    self.cell(name, b, h).fill_(value(li, b, self.global_head(h)))

    def arrived(self, local: list[int], remote: list[int]) -> bool:
        return all(bool((self.cell(name, lb, h) == value(li, rb, self.global_head(h))).all())
                   for li, name in enumerate(self.names) for lb, rb in zip(local, remote)
                   for h in range(self.heads()))

    def untouched(self, block: int) -> bool:
        return all(not bool(self.cell(n, block, h).any())
                   for n in self.names for h in range(self.heads()))

    def geometry(self) -> dict:
        w = self.worker
        topo = getattr(w, "kv_topo", None)
        first = self.caches[self.names[0]]
        return {"model": self.g.as_dict(), "tp_size": self.tp, "tp_rank": self.rank,
                "block_size_requested": self.session["block_size"], **self.described,
                "cache_view_shape": list(first.shape),
                "cache_view_stride": list(first.stride()),
                "connector_family": self.family.name,
                "platform_selection": self.platform_selection,
                "use_mla": bool(getattr(w, "use_mla", False)),
                "split_k_and_v": getattr(topo, "split_k_and_v", None),
                "num_regions": getattr(w, "num_regions", None),
                "block_len_per_layer": list(getattr(w, "block_len_per_layer", []) or []),
                "num_descs": getattr(w, "num_descs", None),
                "worker_class": type(w).__name__}

    def report(self, extra: dict) -> dict:
        return {"role": self.role, "rank": self.rank, "agent_name": self.spy.agent_name,
                "geometry": self.geometry(), "registered": self.spy.registered,
                "dlists": {str(k): v for k, v in self.spy.dlists.items()},
                "transfers": self.spy.transfers, "records": self.watch.records.records,
                "handshakes": self.watch.handshakes, **extra}


def wait_for(path: Path, timeout: float = 300.0) -> None:
    end = time.time() + timeout
    while not path.exists():
        if time.time() > end:
            raise TimeoutError(f"waited {timeout:.0f} s for {path.name}")
        time.sleep(0.02)


def write(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, default=lambda o: o.decode() if isinstance(o, bytes)
                              else str(o)))
    tmp.rename(path)



def start_listener(r: "Rank", payloads: list[bytes], stop) -> int:
    """Run vLLM's handshake listener in a thread on a free port; return the
    port. A port found free can be taken before the listener binds it (UCX and
    gloo open ports too): then the listener thread dies and another is tried."""
    for _ in range(20):
        port, ready, died = free_port(), threading.Event(), []

        def serve(port=port, ready=ready, died=died):
            try:
                r.family.listen(payloads, ready, stop, port)
            except Exception as e:  # noqa: BLE001 - retried or reported below
                died.append(e)
                ready.set()
        threading.Thread(target=serve, daemon=True).start()
        ready.wait()
        if not died:
            return port
        if "Address already in use" not in str(died[0]):
            raise died[0]
    raise RuntimeError("no free port for the handshake listener after 20 tries")


def serve_handshakes(r: "Rank", d: Path, side: str, count: int, stop) -> None:
    """Publish this rank's handshake payload; rank 0 serves every rank's with
    vLLM's listener, as the side's scheduler does, and writes the port to
    `SIDE.listener.ready`."""
    import msgspec
    payload = msgspec.msgpack.Encoder().encode(r.worker.xfer_handshake_metadata)
    (d / f"{side}{r.rank}.payload.tmp").write_bytes(payload)
    (d / f"{side}{r.rank}.payload.tmp").rename(d / f"{side}{r.rank}.payload")
    if r.rank != 0:
        return
    for q in range(count):
        wait_for(d / f"{side}{q}.payload")
    payloads = [(d / f"{side}{q}.payload").read_bytes() for q in range(count)]
    write(d / f"{side}.listener.ready", start_listener(r, payloads, stop))


def listener_port(d: Path, side: str) -> int:
    wait_for(d / f"{side}.listener.ready")
    return int(json.loads((d / f"{side}.listener.ready").read_text()))


def step(r: "Rank", metadata) -> tuple[set[str], set[str], set[str], dict | None]:
    """One engine step as the model runner drives the connector: requests done
    sending, done receiving, failed receiving, and the stats it ships."""
    with r.set_config(r.vc):
        r.worker.start_load_kv(metadata)
        if hasattr(r.worker, "get_transfer_results"):
            res = r.worker.get_transfer_results()
            sending, recving = set(res.finished_sending or ()), set(res.finished_recving or ())
            failed = set(getattr(res, "failed_recving", None) or ())
        else:
            sending, recving = r.worker.get_finished()
            sending, recving, failed = set(sending or ()), set(recving or ()), set()
        st = r.worker.get_kv_connector_stats()
    return sending, recving, failed, (st.data if st is not None else None)


def settled(r: "Rank") -> bool:
    """Every transfer this rank made has been seen finished by its worker."""
    return all(t["final_state"] is not None and (t["telemetry"] or t["telemetry_error"]
                                                 or t["final_state"] != "DONE")
               for t in r.spy.transfers)


def held_after_error(r: "Rank") -> dict:
    """What the worker held when its step raised: the block ids it had
    marked invalid and the stats it had recorded. A real engine stops at
    that exception and never reports them; they are taken here, apart from
    `load_errors` and `shipped`, so that they are not read as the next
    request's."""
    with r.set_config(r.vc):
        blocks = sorted(r.worker.get_block_ids_with_load_errors())
        st = r.worker.get_kv_connector_stats()
    return {"load_errors": blocks, "stats": st.data if st is not None else None}


def prefill(session: dict, d: Path, rank: int) -> None:
    """Serve the requests until every decode rank is done. After each request
    the decode ranks finish, this rank waits until its own transfers (push
    mode) are settled and shipped, then acknowledges, so that what it ships
    belongs to one request."""
    r = Rank(session, "prefill", rank)
    stop = threading.Event()
    serve_handshakes(r, d, "P", session["p_tp"], stop)
    meta_cls = r.family.metadata_cls()
    md = meta_cls()
    ids = [q["id"] for q in session["requests"]]
    md.reqs_in_batch = set(ids)
    md.reqs_to_send = {i: time.perf_counter() + 600 for i in ids}
    if session["mode"] == "push":
        md.push_finished_blocks = {q["id"]: (q["remote"],) for q in session["requests"]}
    done, shipped, acks_us, steps, current = set(), [], [], 0, 0
    serving_us = r.spy.us()
    while not (d / "decode.done").exists():
        steps += 1
        sending, _, _, data = step(r, md)
        md = meta_cls()
        done |= sending
        if data is not None:
            shipped.append({"step": steps, "request": current, "data": data})
        if current < len(ids) and all((d / f"req{current}.D{q}.recv-done").exists()
                                      for q in range(session["d_tp"])) and settled(r):
            acks_us.append(r.spy.us())
            write(d / f"req{current}.P{rank}.ack", True)
            current += 1
        time.sleep(0.005)
    write(d / f"P{rank}.json", r.report({"done_sending": sorted(done), "steps": steps,
                                         "shipped": shipped, "serving_us": serving_us,
                                         "acks_us": acks_us}))
    stop.set()
    r.worker.shutdown()


def push_registration(session: dict, req: dict, ports: dict) -> dict:
    """What the push-mode decode scheduler stages for its worker to send to P."""
    return {"request_id": req["id"], "decode_engine_id": "engine-D",
            "decode_host": "127.0.0.1", "decode_port": ports["D"],
            "decode_tp_size": session["d_tp"], "local_block_ids": (req["local"],),
            "remote_engine_id": "engine-P", "remote_host": "127.0.0.1",
            "remote_port": ports["P"], "remote_tp_size": session["p_tp"],
            "remote_pp_size": 1}


def decode(session: dict, d: Path, rank: int) -> None:
    r = Rank(session, "decode", rank)
    meta_cls = r.family.metadata_cls()
    stop = threading.Event()
    push = session["mode"] == "push"
    ports = {"P": listener_port(d, "P")}
    if push:  # the prefill side handshakes back to write into this side
        serve_handshakes(r, d, "D", session["d_tp"], stop)
        ports["D"] = listener_port(d, "D")
    results = []
    for i, req in enumerate(session["requests"]):
        params = {"remote_engine_id": "engine-P", "remote_request_id": req["id"],
                  "remote_host": "127.0.0.1", "remote_port": ports["P"],
                  "tp_size": session["p_tp"]}
        md = meta_cls()
        r.family.recv(md, {**req, "remote": [] if push else req["remote"]}, params)
        if push:
            md.push_registrations = {req["id"]: push_registration(session, req, ports)}
        t0 = time.perf_counter()
        start_us = r.spy.us()
        shipped, steps, done, failed, load_errors, error = [], 0, False, False, set(), None
        after_error = None
        try:
            while time.perf_counter() - t0 < 120 and not done:
                steps += 1
                _, recving, failed_now, data = step(r, md)
                md = meta_cls()
                done = req["id"] in recving
                failed |= req["id"] in failed_now
                with r.set_config(r.vc):
                    load_errors |= r.worker.get_block_ids_with_load_errors()
                if data is not None:
                    shipped.append({"step": steps, "data": data})
                if not done:
                    time.sleep(0.005)
        except Exception:  # noqa: BLE001 - where vLLM stops is the finding
            import traceback
            error = traceback.format_exc()[-2000:]
            after_error = held_after_error(r)
        end_us = r.spy.us()
        write(d / f"req{i}.D{rank}.recv-done", True)
        for q in range(session["p_tp"]):
            wait_for(d / f"req{i}.P{q}.ack")
        data_ok = r.arrived(req["local"], req["remote"])
        # A later request may reuse these blocks, and in push mode one decode
        # rank's registration makes the prefill side write to every decode
        # rank: no rank moves on before all have checked this request.
        write(d / f"req{i}.D{rank}.checked", True)
        for q in range(session["d_tp"]):
            wait_for(d / f"req{i}.D{q}.checked")
        results.append({"id": req["id"], "done": done, "failed": failed, "steps": steps,
                        "error": error, "after_error": after_error,
                        "shipped": shipped, "load_errors": sorted(load_errors),
                        "data_ok": data_ok, "start_us": start_us, "end_us": end_us,
                        "seconds": round(time.perf_counter() - t0, 3)})
    write(d / f"D{rank}.json", r.report({"requests": results,
                                         "untouched_block0": r.untouched(0)}))
    write(d / f"D{rank}.done", True)
    for q in range(session["d_tp"]):
        wait_for(d / f"D{q}.done")
    write(d / "decode.done", True)
    stop.set()
    r.worker.shutdown()


def main() -> None:
    d, role, rank = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    session = json.loads((d / "session.json").read_text())
    try:
        (prefill if role == "prefill" else decode)(session, d, rank)
    except Exception:
        import traceback
        write(d / f"{role[0].upper()}{rank}.failed", traceback.format_exc()[-4000:])
        # Let the other ranks stop waiting for this one.
        write(d / "decode.done", True)
        raise


if __name__ == "__main__":
    main()
