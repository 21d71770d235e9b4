//! vLLM's own NIXL worker moving real KV blocks between prefill and decode
//! ranks on CPU: the crate's topology predicts who transfers with whom,
//! bytes and descriptors per transfer; its worker and frontend turn what
//! the ranks recorded into the real line and exposition.

use std::collections::BTreeMap;

use nixl_kv_metrics::pipeline::{
    AfterFailedReceive, Done, EngineStep, KvOutputAggregator, StatLoggerManager, Worker,
};
use nixl_kv_metrics::release::{Event, Family, Release};
use nixl_kv_metrics::stats::NixlKvConnectorStats;
use nixl_kv_metrics::telemetry::{MakeXfer, Prepared, XferTelemetry, desc_count, total_bytes};
use nixl_kv_metrics::topology::{
    Backend, BlockLayout, Deployment, Dtype, KvRegistration, Mode, ModelGeometry, Parallelism,
    Refusal, cross_layer_saving,
};
use serde_json::Value;

use super::{
    Fixture, descriptors, ensure, frontend_config, list, same, same_exposition, same_records,
    stats, text, uint,
};

/// Checks every case that ran; returns how many (a release without a push
/// worker counts its one case saying so).
pub(super) fn check(fixture: &Fixture) -> usize {
    fixture.check_each(|case| {
        if case.get("skipped").is_some() {
            ensure!(case["ran"] == false, "a skipped case that ran");
            return Ok(true);
        }
        if case["ran"] != true {
            // vLLM stopped before the first request (the case's `failed` says
            // how far it got): only where the crate says this release does not
            // run the session on CPU, for the reason vLLM gave.
            ensure!(
                !list_or_empty(&case["failed"]),
                "a case that did not run, with no reason"
            );
            stopped_as_predicted(fixture.release, case)?;
            return Ok(true);
        }
        Session::new(fixture, case)?.check().map(|()| true)
    })
}

/// A session whose ranks stopped before any request: the crate's
/// [`Deployment::for_release`] must refuse it for what stopped vLLM. A
/// handshake refusal does not stop a session (its requests run and fail),
/// so only a refusal met at startup can: an MLA model on the CPU platform
/// before 0.28.0.
fn stopped_as_predicted(release: Release, case: &Value) -> Result<(), String> {
    let config = &case["config"];
    let model = model_geometry(
        &config["model"],
        uint(&config["block_size_requested"]) as u32,
    )?;
    let (p_tp, d_tp) = (uint(&config["p_tp"]) as u32, uint(&config["d_tp"]) as u32);
    let verdict = deployment(model, p_tp, d_tp, mode(config)?)?.for_release(release, Backend::Cpu);
    let said: Vec<&str> = case["failed"]
        .as_object()
        .map(|failed| failed.values().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match verdict {
        Err(Refusal::NoCpuMla(_)) => ensure!(
            said.iter()
                .all(|t| t.contains("MLA is not supported on CPU")),
            "the crate refuses MLA on CPU at startup, but vLLM stopped otherwise: {said:?}"
        ),
        Err(refusal) => {
            return Err(format!(
                "the crate refuses the session at a handshake ({refusal}), which would not \
                 stop it, but vLLM stopped: {said:?}"
            ));
        }
        Ok(_) => {
            return Err(format!(
                "the crate says vLLM {release} runs the session, but it stopped: {said:?}"
            ));
        }
    }
    Ok(())
}

/// A case's mode.
fn mode(config: &Value) -> Result<Mode, String> {
    match text(&config["mode"]) {
        "pull" => Ok(Mode::Pull),
        "push" => Ok(Mode::Push),
        other => Err(format!("mode {other:?}")),
    }
}

/// True when a JSON object or list is empty (or absent).
fn list_or_empty(value: &Value) -> bool {
    value.as_object().is_none_or(|o| o.is_empty())
}

/// One session: a deployment and the requests it served.
struct Session<'a> {
    release: Release,
    family: Family,
    case: &'a Value,
    mode: Mode,
    model: ModelGeometry,
    deployment: Deployment,
    /// The crate's verdict ([`Deployment::for_release`]): the release
    /// refuses this pairing at the handshake, so every request moves
    /// nothing and its blocks are load errors.
    handshake_refused: bool,
    /// The recording instance's ranks in the fixture (`decode_ranks` in
    /// pull mode, `prefill_ranks` in push mode), and the other one's.
    recorders: &'static str,
    others: &'static str,
    /// Each side's layer stride in its registered region, for how vLLM
    /// prepares descriptor lists (0 where each layer is a region of its own).
    layer_bytes: [u64; 2],
    /// Each side's blocks (decode, prefill).
    num_blocks: [u32; 2],
}

impl<'a> Session<'a> {
    fn new(fixture: &Fixture, case: &'a Value) -> Result<Session<'a>, String> {
        let config = &case["config"];
        let (p_tp, d_tp) = (uint(&config["p_tp"]) as u32, uint(&config["d_tp"]) as u32);
        let mode = mode(config)?;
        let decode = &list(&case["decode"])[0]["geometry"];
        let prefill = &list(&case["prefill"])[0]["geometry"];
        let in_force = |g: &Value| model_geometry(&g["model"], uint(&g["block_size"]) as u32);
        let model = in_force(decode)?;
        same!(in_force(prefill)?, model, "the prefill ranks' model");
        let registration = KvRegistration::of(fixture.release, Backend::Cpu, model.is_mla())
            .map_err(|e| e.to_string())?;
        for rank in list(&case["decode"]).iter().chain(list(&case["prefill"])) {
            let geometry = &rank["geometry"];
            // What the worker registered: one region per layer, or two (K, V).
            same!(
                registration.per_layer_and_block() * model.layers,
                uint(&geometry["num_regions"]) as u32,
                "the worker's regions per {} rank",
                text(&geometry["model"]["name"])
            );
            // The page of one layer and block, for the rank's own heads.
            let tp = uint(&geometry["tp_size"]) as u32;
            let one_block = deployment(model, tp, tp, mode)?
                .plan(model.block_size, 0)
                .map_err(|e| e.to_string())?;
            same!(
                one_block.transfers[0].bytes,
                u64::from(model.layers) * uint(&geometry["page_size_bytes"]),
                "one block's bytes at TP {tp}"
            );
        }
        // Whether the release refuses the pairing at a handshake, by the
        // crate's rules: a session vLLM runs cannot be refused otherwise.
        let handshake_refused =
            match deployment(model, p_tp, d_tp, mode)?.for_release(fixture.release, Backend::Cpu) {
                Ok(_) => false,
                Err(Refusal::DecodeTpSmaller { .. } | Refusal::Replicated { .. }) => true,
                Err(refusal) => {
                    return Err(format!(
                        "the crate refuses the session ({refusal}), but vLLM ran it"
                    ));
                }
            };
        let deployment = deployment(model, p_tp, d_tp, mode)?.with_registration(registration);
        let (recorders, others) = match mode {
            Mode::Pull => ("decode_ranks", "prefill_ranks"),
            Mode::Push => ("prefill_ranks", "decode_ranks"),
        };
        let layer = |g: &Value| {
            g["kv_cache_tensors"][0]["layer_stride"]
                .as_u64()
                .unwrap_or(0)
        };
        Ok(Session {
            release: fixture.release,
            family: fixture.family,
            case,
            mode,
            model,
            deployment,
            handshake_refused,
            recorders,
            others,
            layer_bytes: [layer(decode), layer(prefill)],
            num_blocks: [decode, prefill].map(|g| uint(&g["num_blocks"]) as u32),
        })
    }

    fn check(&self) -> Result<(), String> {
        same!(
            text(&self.case["frontend"]["recorded_by"]),
            self.recorders,
            "who records"
        );
        for request in list(&self.case["requests"]) {
            self.check_request(request)
                .map_err(|e| format!("request {}: {e}", text(&request["id"])))?;
        }
        self.check_frontend()
    }

    fn check_request(&self, request: &Value) -> Result<(), String> {
        let blocks =
            |key| -> Vec<u32> { list(&request[key]).iter().map(|b| uint(b) as u32).collect() };
        let (decode_blocks, prefill_blocks) = (blocks("local"), blocks("remote"));
        same!(
            decode_blocks.len(),
            uint(&request["blocks"]) as usize,
            "blocks"
        );
        let plan = self
            .deployment
            .plan(decode_blocks.len() as u32 * self.model.block_size, 0)
            .map_err(|e| e.to_string())?;
        // The recorder's own blocks first, as its descriptors list them.
        let (own, peer) = match self.mode {
            Mode::Pull => (&decode_blocks, &prefill_blocks),
            Mode::Push => (&prefill_blocks, &decode_blocks),
        };
        let descriptors = self.descriptors(own, peer);
        let refused = self.handshake_refused;
        for rank in list(&request[self.recorders]) {
            let r = uint(&rank["rank"]) as u32;
            let transfers = list(&rank["transfers"]);
            let planned: Vec<_> = plan
                .transfers
                .iter()
                .filter(|t| t.recorder_rank() == r)
                .collect();
            let peers: Vec<u32> = planned
                .iter()
                .map(|t| match self.mode {
                    Mode::Pull => t.prefill_rank,
                    Mode::Push => t.decode_rank,
                })
                .collect();
            same!(
                peers,
                self.deployment.peers(r),
                "rank {r}: the plan's peers"
            );
            let theirs: Vec<u32> = transfers
                .iter()
                .map(|t| uint(&t["remote_rank"]) as u32)
                .collect();
            if let Some(error) = rank.get("handshake_error") {
                // Fixtures from 83296af of the harness on say why nothing moved.
                same!(!error.is_null(), refused, "rank {r}: a failed handshake");
            }
            if refused {
                same!(
                    theirs,
                    Vec::<u32>::new(),
                    "rank {r}: transfers of a refused handshake"
                );
            } else {
                same!(theirs, peers, "rank {r}: ranks transferred with, in order");
            }
            for (t, (transfer, planned)) in transfers.iter().zip(&planned).enumerate() {
                self.check_transfer(transfer, planned.bytes, descriptors)
                    .map_err(|e| format!("rank {r} transfer {t}: {e}"))?;
            }
            // What the worker held when its step raised (fixtures written
            // before the harness recorded it have no such key: null).
            let after_error = rank.get("after_error").unwrap_or(&Value::Null);
            let failed = self
                .check_shipped(rank, after_error)
                .map_err(|e| format!("rank {r}: {e}"))?;
            if self.mode == Mode::Pull {
                // A failed receive: the blocks are reported as load errors,
                // or, where the step raises first, only held by the worker.
                let raises = (failed || refused)
                    && AfterFailedReceive::of(self.release) == AfterFailedReceive::StepRaises;
                same!(
                    raises,
                    !rank["error"].is_null(),
                    "rank {r}: the worker's step raised"
                );
                let sorted = |ids: &Value| -> Vec<u32> {
                    let mut ids: Vec<u32> = list(ids).iter().map(|b| uint(b) as u32).collect();
                    ids.sort_unstable();
                    ids
                };
                let mut invalid = decode_blocks.clone();
                invalid.sort_unstable();
                let (reported, held) = match (failed || refused, raises) {
                    (false, _) => (Vec::new(), None),
                    (true, false) => (invalid, None),
                    (true, true) => (Vec::new(), Some(invalid)),
                };
                same!(
                    reported,
                    sorted(&rank["load_errors"]),
                    "rank {r}: blocks reported as load errors"
                );
                same!(
                    held,
                    after_error.get("load_errors").map(sorted),
                    "rank {r}: blocks marked invalid when the step raised"
                );
                same!(
                    rank["data_ok"] == true,
                    !refused,
                    "rank {r}: the data arrived"
                );
            }
        }
        for rank in list(&request[self.others]) {
            // The other side records nothing here: no expiry, no late notification.
            ensure!(
                list(&rank["shipped"]).is_empty(),
                "{} rank {} shipped stats",
                self.others,
                rank["rank"]
            );
            if self.mode == Mode::Push {
                ensure!(
                    list(&rank["load_errors"]).is_empty(),
                    "decode load errors in push mode"
                );
                ensure!(
                    rank["data_ok"] == true,
                    "decode rank {}: the data did not arrive",
                    rank["rank"]
                );
            }
        }
        Ok(())
    }

    /// The descriptors of one transfer of `own[i]` ← `peer[i]`: the
    /// deployment's count, less the cross-layer merges of 0.29 – 0.32.
    fn descriptors(&self, own: &[u32], peer: &[u32]) -> u64 {
        let merged = self.deployment.descriptors(own, peer);
        let [decode_total, prefill_total] = self.num_blocks;
        let (own_total, peer_total) = match self.mode {
            Mode::Pull => (decode_total, prefill_total),
            Mode::Push => (prefill_total, decode_total),
        };
        // Whole blocks on both sides (no head slices) can merge across layers.
        let heads = |tp: u32| (self.model.kv_heads / tp).max(1);
        let whole = self.model.is_mla()
            || heads(self.deployment.prefill().tp) == heads(self.deployment.decode().tp);
        let saving = cross_layer_saving(
            self.release,
            self.model.layers,
            own,
            peer,
            own_total,
            peer_total,
        );
        if whole { merged - saving } else { merged }
    }

    /// One transfer against the plan: bytes, and descriptors from the raw
    /// lists (NIXL's merging) and from the block ids (the topology).
    fn check_transfer(&self, transfer: &Value, bytes: u64, predicted: u64) -> Result<(), String> {
        same!(text(&transfer["op"]), self.mode.operation(), "operation");
        let (local, remote) = (
            descriptors(&transfer["local"]),
            descriptors(&transfer["remote"]),
        );
        same!(total_bytes(&local), bytes, "bytes of the local list");
        same!(total_bytes(&remote), bytes, "bytes of the remote list");
        let [decode, prefill] = self.layer_bytes;
        let (own, peer) = match self.mode {
            Mode::Pull => (decode, prefill),
            Mode::Push => (prefill, decode),
        };
        let how = MakeXfer::Prepped {
            local: Prepared::vllm(self.release, own),
            remote: Prepared::vllm(self.release, peer),
            skip_desc_merge: false,
        };
        same!(
            desc_count(&local, &remote, how),
            predicted,
            "NIXL's merge of the lists vs the topology"
        );
        ensure!(
            transfer["final_state"] == "DONE",
            "final state {}",
            transfer["final_state"]
        );
        let telemetry = &transfer["telemetry"];
        if telemetry.is_null() {
            ensure!(
                text(&transfer["telemetry_error"]).starts_with("nixlNoTelemetryError"),
                "no telemetry, and no NIXL error"
            );
            same!(self.case["config"]["telemetry"], "n", "telemetry switch");
            return Ok(());
        }
        same!(uint(&telemetry["totalBytes"]), bytes, "totalBytes");
        same!(uint(&telemetry["descCount"]), predicted, "descCount");
        let (xfer, post) = (
            uint(&telemetry["xferDuration"]),
            uint(&telemetry["postDuration"]),
        );
        ensure!(
            xfer >= post,
            "xferDuration {xfer} below postDuration {post}"
        );
        if transfer["first_state"] == "DONE" {
            same!(xfer, post, "xferDuration of a transfer done when posted");
        }
        Ok(())
    }

    /// A recording rank's shipments for one request, rebuilt by the crate's
    /// worker from the telemetry of the rank's transfers (each once, the
    /// unreadable ones through the failure path); then what the worker held
    /// when its step raised (`after_error`), or, when no step raised, that
    /// nothing more would ship. Returns whether any transfer failed.
    fn check_shipped(&self, rank: &Value, after_error: &Value) -> Result<bool, String> {
        let telemetry: Vec<Option<XferTelemetry>> = list(&rank["transfers"])
            .iter()
            .map(|t| nixl_telemetry(&t["telemetry"]))
            .collect();
        let mut used = vec![false; telemetry.len()];
        let mut take = |wanted: &dyn Fn(&Option<XferTelemetry>) -> bool| {
            let i = (0..telemetry.len()).find(|&i| !used[i] && wanted(&telemetry[i]))?;
            used[i] = true;
            Some(telemetry[i])
        };
        let mut worker = Worker::new(self.family);
        let mut failed = false;
        for shipment in list(&rank["shipped"]) {
            let theirs = stats(self.family, &shipment["data"]).ok_or("a null shipment")?;
            for j in 0..theirs.transfer_duration().len() {
                let entry = (
                    theirs.transfer_duration()[j],
                    theirs.post_duration()[j],
                    theirs.bytes_transferred()[j],
                    theirs.num_descriptors()[j],
                );
                let matches = |t: &Option<XferTelemetry>| {
                    t.is_some_and(|t| {
                        (
                            t.xfer_seconds(),
                            t.post_seconds(),
                            t.total_bytes,
                            t.desc_count,
                        ) == entry
                    })
                };
                let t = take(&matches)
                    .ok_or_else(|| format!("shipped {entry:?}, which no transfer reported"))?;
                same!(
                    worker.transfer_done(t.as_ref()),
                    Ok(Done::Recorded),
                    "a transfer with telemetry"
                );
            }
            for _ in 0..theirs.event_count(Event::FailedTransfer) {
                take(&|t: &Option<XferTelemetry>| t.is_none())
                    .ok_or("a failure shipped for no such transfer")?;
                same!(
                    worker.transfer_done(None),
                    Ok(Done::Failed),
                    "a transfer without telemetry"
                );
                failed = true;
            }
            same!(
                worker.get_kv_connector_stats(),
                Some(theirs),
                "step {}: the shipment",
                shipment["step"]
            );
        }
        // Transfers never shipped: only failures, which a release that ships
        // failures-only stats never holds back (0.15.0 on), or which stay in
        // the live object until the step raises.
        for (i, t) in telemetry.iter().enumerate() {
            if used[i] {
                continue;
            }
            ensure!(
                t.is_none(),
                "a transfer with telemetry whose stats were never shipped"
            );
            same!(
                worker.transfer_done(None),
                Ok(Done::Failed),
                "a transfer without telemetry"
            );
            failed = true;
        }
        let held = after_error
            .get("stats")
            .and_then(|data| stats(self.family, data));
        same!(
            worker.get_kv_connector_stats(),
            held,
            "the stats left unshipped (held when the step raised)"
        );
        Ok(failed)
    }

    /// The recording ranks' shipments through the crate's frontend, one
    /// interval per request: the real records and exposition.
    fn check_frontend(&self) -> Result<(), String> {
        let frontend = &self.case["frontend"];
        let config = frontend_config(
            vec![0],
            text(&self.case["config"]["geometry"]),
            &frontend["vllm_logging_level"],
        );
        let intervals = list(&frontend["intervals"]);
        let interval_s = frontend["log_stats_interval_s"]
            .as_f64()
            .ok_or("no interval")?;
        let start_s = intervals[0]["clock"].as_f64().ok_or("no clock")? - interval_s;
        let mut manager =
            StatLoggerManager::new(self.release, &config, start_s).map_err(|e| e.to_string())?;
        same_records(
            manager.setup_records(),
            list(&frontend["setup_records"]),
            "setup",
        )?;
        let requests = list(&self.case["requests"]);
        same!(intervals.len(), requests.len(), "one interval per request");
        for (interval, request) in intervals.iter().zip(requests) {
            let what = format!("interval of {}", text(&request["id"]));
            same!(interval["request"], request["id"], "{what}");
            let steps = list(&interval["steps"]);
            let ours = self.steps(request);
            let theirs: Vec<Vec<Option<NixlKvConnectorStats>>> = steps
                .iter()
                .map(|s| {
                    list(&s["workers"])
                        .iter()
                        .map(|w| stats(self.family, w))
                        .collect()
                })
                .collect();
            same!(ours, theirs, "{what}: the steps' shipments");
            for (step, workers) in steps.iter().zip(ours) {
                let pooled = KvOutputAggregator::aggregate(workers);
                same!(
                    pooled,
                    stats(self.family, &step["scheduler_payload"]),
                    "{what}: scheduler payload"
                );
                let step = EngineStep {
                    kv_connector_stats: pooled,
                    num_generation_tokens: uint(&step["num_generation_tokens"]),
                    ..EngineStep::default()
                };
                manager.record(0, step).map_err(|e| e.to_string())?;
            }
            let clock = interval["clock"].as_f64().ok_or("no clock")?;
            same_records(&manager.log(clock), list(&interval["records"]), &what)?;
        }
        same_exposition(&manager, &frontend["exposition"])
    }

    /// One request's engine steps: at every step in which some recording
    /// rank shipped, what each rank shipped (or `None`), in rank order.
    fn steps(&self, request: &Value) -> Vec<Vec<Option<NixlKvConnectorStats>>> {
        let ranks = list(&request[self.recorders]);
        let mut steps: BTreeMap<u64, Vec<Option<NixlKvConnectorStats>>> = BTreeMap::new();
        for (r, rank) in ranks.iter().enumerate() {
            for shipment in list(&rank["shipped"]) {
                let workers = steps
                    .entry(uint(&shipment["step"]))
                    .or_insert_with(|| vec![None; ranks.len()]);
                workers[r] = stats(self.family, &shipment["data"]);
            }
        }
        steps.into_values().collect()
    }
}

/// The deployment of the fixture's model at prefill TP `p_tp` and decode TP
/// `d_tp`. (The block layout only matters to plans' descriptor counts, which
/// these checks take from the real block ids instead.)
fn deployment(
    model: ModelGeometry,
    p_tp: u32,
    d_tp: u32,
    mode: Mode,
) -> Result<Deployment, String> {
    let (prefill, decode) = (Parallelism::tp(p_tp), Parallelism::tp(d_tp));
    Deployment::new(model, prefill, decode, mode, BlockLayout::Contiguous)
        .map_err(|e| e.to_string())
}

/// The model a fixture's `model` dict describes, at `block_size`.
fn model_geometry(model: &Value, block_size: u32) -> Result<ModelGeometry, String> {
    let dtype = match text(&model["dtype"]) {
        "float16" => Dtype::Fp16,
        "bfloat16" => Dtype::Bf16,
        other => return Err(format!("dtype {other:?}")),
    };
    let field = |key: &str| uint(&model[key]) as u32;
    match text(&model["kind"]) {
        "gqa" => Ok(ModelGeometry::attention(
            field("num_layers"),
            field("num_kv_heads"),
            field("head_dim"),
        )
        .with_dtype(dtype)
        .with_block_size(block_size)),
        // MLA caches one latent per token: the compressed KV and the rotary key.
        "mla" => {
            let latent = field("kv_lora_rank") + field("qk_rope_head_dim");
            Ok(ModelGeometry {
                mla_latent_width: Some(latent),
                ..ModelGeometry::attention(field("num_layers"), 1, latent)
                    .with_dtype(dtype)
                    .with_block_size(block_size)
            })
        }
        other => Err(format!("model kind {other:?}")),
    }
}

/// A transfer's NIXL telemetry, or `None` where it could not be read.
fn nixl_telemetry(value: &Value) -> Option<XferTelemetry> {
    (!value.is_null()).then(|| {
        XferTelemetry::new(
            uint(&value["xferDuration"]),
            uint(&value["postDuration"]),
            uint(&value["totalBytes"]),
            uint(&value["descCount"]) as u32,
        )
    })
}
