//! `nixl-kv-metrics plan` (and `explain --model`), run as a user runs them,
//! against what real vLLM did: every case of the real-stack fixtures
//! (`tests/golden/realstack/vllm-*/kv-worker*.jsonl`, vLLM's own NIXL worker
//! on CPU, real NIXL transfers) and the book's worked examples.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use nixl_kv_metrics::topology::{cross_layer_saving, runs};
use serde_json::{Value, json};

use crate::support::run;

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

/// Writes `config` as `config.json` in a directory of its own, named
/// `name`, in Cargo's scratch space; returns the directory.
fn model_dir(name: &str, config: &Value) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plan")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir
}

/// `plan ARGS --format json`: the plan's object, or the run's stderr.
fn plan(args: &[&str]) -> Result<Value, String> {
    let all: Vec<&str> = ["plan", "--format", "json"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    let output = run(&all, b"");
    match output.status.code() {
        Some(0) => Ok(serde_json::from_slice(&output.stdout).expect("plan prints JSON")),
        _ => Err(refusal(&output)),
    }
}

/// `plan --model MODEL ARGS --format json`, the other arguments written as
/// one string.
fn plan_of(model: &Path, args: &str) -> Result<Value, String> {
    let mut all = vec!["--model", model.to_str().unwrap()];
    all.extend(args.split_whitespace());
    plan(&all)
}

/// The refusal contract: exit 2, nothing on stdout, one line on stderr.
/// Returns the line without its `nixl-kv-metrics: error: ` prefix.
fn refusal(output: &Output) -> String {
    let stderr = text(&output.stderr);
    let line = stderr.strip_suffix('\n').unwrap_or(&stderr);
    assert!(
        output.status.code() == Some(2) && output.stdout.is_empty() && !line.contains('\n'),
        "a refusal is exit 2, no stdout, one stderr line; got {:?}, {:?}, {stderr:?}",
        output.status.code(),
        text(&output.stdout)
    );
    line.strip_prefix("nixl-kv-metrics: error: ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string()
}

/// The Hugging Face config of a real-stack case's model, as transformers
/// writes the keys vLLM reads.
fn hf_config(model: &Value) -> Value {
    let mut config = json!({
        "model_type": if model["kind"] == "mla" { "deepseek_v2" } else { "llama" },
        "num_hidden_layers": model["num_layers"],
        "num_attention_heads": model["num_heads"],
        "num_key_value_heads": model["num_kv_heads"],
        "torch_dtype": model["dtype"],
    });
    if model["kind"] == "mla" {
        config["kv_lora_rank"] = model["kv_lora_rank"].clone();
        config["qk_rope_head_dim"] = model["qk_rope_head_dim"].clone();
    } else {
        config["head_dim"] = model["head_dim"].clone();
    }
    config
}

/// The real-stack fixture files of the KV-worker scenarios, pull and push.
fn kv_worker_fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/realstack");
    let mut files = Vec::new();
    for release in std::fs::read_dir(&root).expect("tests/golden/realstack exists") {
        for file in std::fs::read_dir(release.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("kv-worker") && name.ends_with(".jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What one case's transfers of one request were, as the real stack
/// recorded them, against the plan for that request; the differences.
fn compare(release: &str, case: &Value, request: &Value, planned: &Value) -> Vec<String> {
    let push = case["config"]["mode"] == "push";
    let ranks = if push {
        &request["prefill_ranks"]
    } else {
        &request["decode_ranks"]
    };
    let transfers: Vec<&Value> = ranks
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rank| rank["transfers"].as_array().unwrap())
        .collect();
    let mut differences = Vec::new();
    // (what, real, planned): the counts that must be equal.
    let mut counts: Vec<(&str, u64, u64)> = Vec::new();
    let mut differ = |what, real, plan| counts.push((what, real, plan));
    let number = |v: &Value| v.as_u64().unwrap();
    differ(
        "transfers per request",
        transfers.len() as u64,
        number(&planned["transfers_per_request"]),
    );
    let expected_recorder = if push { "prefill" } else { "decode" };
    if planned["recorded_by"] != expected_recorder {
        differences.push(format!("recorded by {}", planned["recorded_by"]));
    }
    let ids = |key: &str| -> Vec<u32> {
        request[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_u64().unwrap() as u32)
            .collect()
    };
    let blocks = number(&request["blocks"]);
    let runs = runs(&ids("local"), &ids("remote"));
    let descriptors = &planned["descriptors_per_transfer"];
    for transfer in transfers {
        let posted: Vec<&Value> = transfer["local"].as_array().unwrap().iter().collect();
        let posted_bytes: u64 = posted.iter().map(|d| number(&d[2])).sum();
        differ(
            "bytes posted",
            posted_bytes,
            number(&planned["bytes_per_transfer"]),
        );
        differ(
            "descriptors posted",
            posted.len() as u64,
            number(&descriptors["posted"]),
        );
        let telemetry = &transfer["telemetry"];
        if telemetry.is_null() {
            continue; // NIXL telemetry off: nothing more was measured
        }
        differ(
            "telemetry bytes",
            number(&telemetry["totalBytes"]),
            number(&planned["bytes_per_transfer"]),
        );
        let count = number(&telemetry["descCount"]);
        let (fewest, most) = (
            number(&descriptors["adjacent"]),
            number(&descriptors["scattered"]),
        );
        // A READ of the whole cache merges across layers on some releases
        // (never in serving: block 0 is vLLM's null block); whole blocks only.
        let whole_blocks = fewest < number(&descriptors["posted"]);
        let geometry = |side: &str| &case[side][0]["geometry"];
        let saving = if whole_blocks {
            cross_layer_saving(
                release.parse().unwrap(),
                number(&geometry("decode")["model"]["num_layers"]) as u32,
                &ids("local"),
                &ids("remote"),
                number(&geometry("decode")["num_blocks"]) as u32,
                number(&geometry("prefill")["num_blocks"]) as u32,
            )
        } else {
            0
        };
        if runs == 1 {
            differ("descriptors, blocks adjacent", count, fewest - saving);
        } else if runs == blocks {
            differ("descriptors, blocks scattered", count, most);
        } else if !(fewest..=most).contains(&count) {
            differences.push(format!("descriptors {count} outside {fewest} – {most}"));
        }
    }
    differences.extend(
        counts
            .into_iter()
            .filter(|(_, real, plan)| real != plan)
            .map(|(what, real, plan)| format!("{what}: real {real}, plan {plan}")),
    );
    differences
}

/// One case of a real-stack fixture: its release, name and JSON.
struct Case {
    file: PathBuf,
    release: String,
    json: Value,
}

/// Every case of every real-stack KV-worker fixture file.
fn real_stack_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for file in kv_worker_fixtures() {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines();
        let label: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let release = label["label"]["vllm"].as_str().unwrap().to_string();
        for line in lines {
            let mut case: Value = serde_json::from_str(line).unwrap();
            cases.push(Case {
                file: file.clone(),
                release: release.clone(),
                json: case["case"].take(),
            });
        }
    }
    cases
}

/// `plan` for a real-stack case: the case's model (`model`, its fixture
/// geometry) written as a Hugging Face config, its TP sizes, mode and
/// release, the CPU backend, `block_size` and `tokens`.
fn plan_case(case: &Case, model: &Value, block_size: u64, tokens: u64) -> Result<Value, String> {
    let config = &case.json["config"];
    let name = case.json["name"].as_str().unwrap();
    let dir = model_dir(&format!("{}-{name}", case.release), &hf_config(model));
    let args = format!(
        "--prefill-tp {} --decode-tp {} --mode {} --vllm {} --backend CPU_ATTN \
         --block-size {block_size} --tokens {tokens}",
        config["p_tp"],
        config["d_tp"],
        config["mode"].as_str().unwrap(),
        case.release
    );
    plan_of(&dir, &args)
}

/// Every case of every real-stack KV-worker fixture: `plan` from the case's
/// model written as a Hugging Face config, with the case's TP sizes, mode,
/// release, the CPU backend and block size, and the tokens of each request,
/// gives the transfers, bytes and descriptors the real stack recorded; and
/// refuses what that release refused: pairings whose every load failed with
/// no transfer made, and sessions vLLM itself stopped (or a push mode the
/// release does not have).
#[test]
fn plan_matches_every_real_stack_case() {
    let cases = real_stack_cases();
    // The harness's models by name, from the cases that ran.
    let models: BTreeMap<String, Value> = cases
        .iter()
        .filter(|case| case.json["ran"] == true)
        .map(|case| {
            let model = &case.json["decode"][0]["geometry"]["model"];
            (case.json["config"]["geometry"].to_string(), model.clone())
        })
        .collect();
    let mut checked = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let (json, release) = (&case.json, &case.release);
        let place = format!("{}: {}", case.file.display(), json["name"]);
        if json["ran"] != true {
            // Stopped by vLLM (or no push worker at all): plan refuses too.
            let outcome = match json.get("skipped") {
                Some(_) => plan_of(
                    &real_model("llama-3.1-8b"),
                    &format!("--tp 1 --tokens 16 --mode push --vllm {release}"),
                ),
                None => plan_case(
                    case,
                    &models[&json["config"]["geometry"].to_string()],
                    16,
                    16,
                ),
            };
            if outcome.is_ok() {
                failures.push(format!("{place}: vLLM stopped, plan did not refuse"));
            }
            continue;
        }
        let geometry = &json["decode"][0]["geometry"];
        let block_size = geometry["block_size"].as_u64().unwrap();
        let mut planned = BTreeMap::new();
        for request in json["requests"].as_array().unwrap() {
            let blocks = request["blocks"].as_u64().unwrap();
            let outcome = planned.entry(blocks).or_insert_with(|| {
                plan_case(case, &geometry["model"], block_size, blocks * block_size)
            });
            let place = format!("{place}: {}", request["id"]);
            let declined = request["decode_ranks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|rank| {
                    // The blocks marked invalid: reported as load errors, or
                    // held when the worker's step raised (0.12.0 – 0.13.x).
                    let invalid = |ids: &Value| ids.as_array().is_some_and(|ids| !ids.is_empty());
                    rank["transfers"].as_array().unwrap().is_empty()
                        && (invalid(&rank["load_errors"])
                            || invalid(&rank["after_error"]["load_errors"]))
                });
            match (outcome, declined) {
                (Err(refusal), true) if refusal.contains(&format!("vLLM {release} refuses")) => {}
                (Ok(_), true) => failures.push(format!("{place}: vLLM refused, plan did not")),
                (Err(refusal), _) => failures.push(format!("{place}: {refusal}")),
                (Ok(planned), false) => {
                    for difference in compare(release, json, request, planned) {
                        failures.push(format!("{place}: {difference}"));
                    }
                }
            }
            *checked.entry(release.clone()).or_insert(0) += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 0.31.0, 0.33.0 and 0.34.0 each: 14 sessions × 8 requests, pull mode.
    for release in ["0.31.0", "0.33.0", "0.34.0"] {
        assert!(checked.get(release) >= Some(&112), "{checked:?}");
    }
}

/// A real model's directory in `tests/fixtures/models`, holding its
/// Hugging Face `config.json` as published: `llama-3.1-8b`
/// (meta-llama/Llama-3.1-8B), `qwen3-8b` (Qwen/Qwen3-8B: 36 layers, 8 KV
/// heads of 128, the geometry of vLLM issue #41230's line), `deepseek-v3`
/// (deepseek-ai/DeepSeek-V3, MLA).
fn real_model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(name)
}

/// `plan_of` that must succeed.
fn planned(model: &Path, args: &str) -> Value {
    plan_of(model, args).unwrap_or_else(|refusal| panic!("{args}: {refusal}"))
}

/// The book's one request (tensor-parallelism.md): Llama-3.1-8B, 640
/// tokens, the same TP on both sides: one READ per decode rank, 80 MiB in all.
#[test]
fn llama_640_tokens_at_every_tp() {
    let llama = real_model("llama-3.1-8b");
    for tp in [1u64, 2, 4, 8] {
        let p = planned(&llama, &format!("--tp {tp} --tokens 640"));
        assert_eq!(p["blocks"], 40);
        assert_eq!(p["transfers_per_request"], tp);
        assert_eq!(p["recorded_by"], "decode");
        assert_eq!(p["bytes_per_transfer"], (80 << 20) / tp);
        assert_eq!(p["mib_per_transfer"], 80.0 / tp as f64);
        assert_eq!(p["mib_per_request"], 80.0);
        let descriptors = json!({"adjacent": 32, "scattered": 1280, "posted": 1280});
        assert_eq!(p["descriptors_per_transfer"], descriptors);
    }
}

/// The book's pairings of unequal TP (disaggregated.md), and where the
/// releases draw the line.
#[test]
fn unequal_tp_as_the_book_tabulates_it() {
    let llama = real_model("llama-3.1-8b");
    let at = |p: u32, d: u32, release: &str| {
        let args = format!("--prefill-tp {p} --decode-tp {d} --tokens 640 --vllm {release}");
        plan_of(&llama, &args)
    };
    // (P, D, READs per request, bytes per READ): head slices, never merged.
    for (p, d, reads, bytes) in [(2, 4, 4, 20 << 20), (8, 2, 8, 10 << 20)] {
        let planned = at(p, d, "0.34.0").unwrap();
        assert_eq!(planned["transfers_per_request"], reads, "P{p} D{d}");
        assert_eq!(planned["bytes_per_transfer"], bytes, "P{p} D{d}");
        assert_eq!(planned["descriptors_per_transfer"]["adjacent"], 1280);
        assert_eq!(planned["mib_per_request"], 80.0);
    }
    // Eight prefill ranks for 8 KV heads count as replicated until 0.20.0.
    let replicated = at(8, 2, "0.19.1").unwrap_err();
    assert!(
        replicated.contains("prefill TP ≥ the model's 8 KV heads"),
        "{replicated}"
    );
    assert!(at(8, 2, "0.20.0").is_ok());
    let old = at(2, 1, "0.13.0").unwrap_err();
    assert!(old.contains("require decode TP ≥ prefill TP"), "{old}");
    // DeepSeek-V3 at prefill TP 8, decode TP 2: one READ of the whole latent
    // per decode rank, the other three prefill ranks only notified.
    let mla = planned(
        &real_model("deepseek-v3"),
        "--prefill-tp 8 --decode-tp 2 --tokens 640",
    );
    assert_eq!(mla["transfers_per_request"], 2);
    assert_eq!(mla["notifications_per_request"], 6);
    assert_eq!(mla["bytes_per_transfer"], 44_974_080);
    assert_eq!(mla["mib_per_transfer"], 42.890625);
    assert_eq!(mla["descriptors_per_transfer"]["adjacent"], 61);
    assert_eq!(mla["model"]["mla_latent_width"], 576);
}

/// The line of vLLM issue #41230: four READs of 2.25 MiB in 72
/// descriptors. A one-block request of a 36-layer, 8-KV-head model is
/// 2.25 MiB at TP 1; 72 descriptors where K and V are two regions
/// (FlashAttention up to 0.22), or half blocks (0.23 – 0.25), 36 from 0.26.
#[test]
fn issue_41230_line_by_release() {
    let qwen = real_model("qwen3-8b");
    let line = |release: &str| {
        planned(
            &qwen,
            &format!("--tp 1 --tokens 16 --rate 0.4 --vllm {release}"),
        )
    };
    for (release, descriptors, printed) in [
        ("0.22.1", 72, 72.0),
        ("0.23.0", 72, 72.0),
        ("0.26.0", 36, 36.0),
        ("0.34.0", 36, 36.0),
    ] {
        let p = line(release);
        assert_eq!(p["bytes_per_transfer"], 2_359_296, "{release}");
        assert_eq!(p["mib_per_transfer"], 2.25, "{release}");
        let adjacent = &p["descriptors_per_transfer"]["adjacent"];
        assert_eq!(*adjacent, descriptors, "{release}");
        let expected = &p["line"];
        assert_eq!(expected["num_successful_transfers"], 4.0, "{release}");
        assert_eq!(expected["avg_mb_per_transfer"], 2.25, "{release}");
        let avg = &expected["avg_number_of_descriptors"]["adjacent"];
        assert_eq!(*avg, printed, "{release}");
    }
    assert_eq!(line("0.22.1")["registration"], "two_regions");
    assert_eq!(line("0.23.0")["registration"], "half_blocks");
}

/// The same figures from the geometry as flags, and the KV-cache dtype
/// overridden: fp8 halves the bytes.
#[test]
fn flags_and_dtypes() {
    let qwen = real_model("qwen3-8b");
    let flags = "--layers 36 --kv-heads 8 --head-dim 128 --tp 1 --tokens 16";
    let from_flags = plan_words(flags).unwrap();
    let from_config = planned(&qwen, "--tp 1 --tokens 16");
    let bytes = &from_flags["bytes_per_transfer"];
    assert_eq!(*bytes, from_config["bytes_per_transfer"]);
    assert_eq!(from_flags["model"]["source"], "flags");
    let fp8 = planned(&qwen, "--tp 1 --tokens 16 --kv-cache-dtype fp8");
    assert_eq!(fp8["bytes_per_transfer"], 2_359_296 / 2);
    assert_eq!(fp8["model"]["kv_cache_dtype"], "fp8");
    let mla = "--layers 61 --kv-lora-rank 512 --qk-rope-head-dim 64 --tokens 640";
    let at_tp2 = plan_words(&format!("{mla} --tp 2")).unwrap();
    assert_eq!(at_tp2["bytes_per_transfer"], 44_974_080);
    // An MLA model's KV heads decide 0.20's pairing check; as flags they are unknown.
    let unknown = plan_words(&format!("{mla} --prefill-tp 2 --decode-tp 1 --vllm 0.20.0"));
    assert!(unknown.unwrap_err().contains("--kv-heads"));
}

/// `plan ARGS`, the arguments written as one string.
fn plan_words(args: &str) -> Result<Value, String> {
    plan(&args.split_whitespace().collect::<Vec<_>>())
}

/// Configs that are not one uniform KV cache, and input that is not a
/// config: one line naming the file and the key.
#[test]
fn bad_configs_are_refused_by_key() {
    let base = json!({"num_hidden_layers": 32, "num_attention_heads": 32, "hidden_size": 4096,
                      "torch_dtype": "bfloat16"});
    let with = |name: &str, key: &str, value: Value| {
        let mut config = base.clone();
        config[key] = value;
        model_dir(name, &config)
    };
    let refused = |model: &Path| plan_of(model, "--tp 1 --tokens 16").expect_err("refused");
    for (name, key, value, message) in [
        (
            "zero-layers",
            "num_hidden_layers",
            json!(0),
            "num_hidden_layers: 0 is not a size",
        ),
        (
            "float-heads",
            "num_key_value_heads",
            json!(8.5),
            "8.5 is not a whole number",
        ),
        (
            "odd-hidden",
            "hidden_size",
            json!(4097),
            "4097 is not a multiple of",
        ),
        (
            "mistral",
            "sliding_window",
            json!(4096),
            "sliding_window: sliding-window",
        ),
        (
            "gemma",
            "layer_types",
            json!(["sliding_attention"]),
            "\"sliding_attention\" layers",
        ),
        (
            "nemotron-h",
            "hybrid_override_pattern",
            json!("M-M*-"),
            "a hybrid",
        ),
        (
            "fp32",
            "torch_dtype",
            json!("float32"),
            "torch_dtype: \"float32\"",
        ),
        (
            "no-layers",
            "num_hidden_layers",
            Value::Null,
            "num_hidden_layers: missing",
        ),
    ] {
        let dir = with(name, key, value);
        let line = refused(&dir);
        let file = dir.join("config.json");
        assert!(line.starts_with(&format!("{}: ", file.display())), "{line}");
        assert!(line.contains(message), "{line}");
    }
    // The dtype can be given when the config's cannot be used.
    let fp32 = with("fp32", "torch_dtype", json!("float32"));
    assert!(plan_of(&fp32, "--tp 1 --tokens 16 --kv-cache-dtype float16").is_ok());
    let nested = model_dir("nested", &json!({"text_config": {"num_hidden_layers": 2}}));
    assert!(refused(&nested).ends_with("text_config.num_attention_heads: missing"));
    // TP must split the attention heads, as vLLM requires.
    let tp3 = plan_of(&real_model("llama-3.1-8b"), "--tp 3 --tokens 16").unwrap_err();
    assert!(
        tp3.contains("32 attention heads do not split over TP 3"),
        "{tp3}"
    );
    // Not a config at all.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan");
    std::fs::write(dir.join("large.json"), vec![b' '; 5 << 20]).unwrap();
    let large = refused(&dir.join("large.json"));
    assert!(large.ends_with("larger than 4 MiB: not a model's config.json"));
    std::fs::write(dir.join("list.json"), "[1, 2]").unwrap();
    assert!(refused(&dir.join("list.json")).ends_with("not a JSON object"));
    let empty = dir.join("empty-model");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(refused(&empty).contains("config.json: cannot read: "));
}

/// Deployments the release does not run, and missing flags.
#[test]
fn refusals_say_what_vllm_does() {
    let llama = real_model("llama-3.1-8b");
    let refused = |args: &str| plan_of(&llama, args).expect_err("refused");
    let push = refused("--tp 1 --tokens 16 --mode push --vllm 0.23.0");
    assert!(push.contains("vLLM 0.23.0 has no push mode"), "{push}");
    let cpu = refused("--tp 1 --tokens 16 --backend CPU_ATTN --vllm 0.24.0");
    assert!(cpu.contains("cannot register a CPU_ATTN KV cache"), "{cpu}");
    // Push mode, decode TP above the KV heads: prefill's handshake with decode refuses it.
    let wide = refused("--prefill-tp 1 --decode-tp 16 --tokens 16 --mode push");
    assert!(
        wide.contains("refuses decode TP 16 > prefill TP 1"),
        "{wide}"
    );
    assert!(refused("--tp 1 --tokens 16 --vllm 0.10.0").starts_with("--vllm: "));
    assert!(refused("--tokens 16").contains("--tp N"));
    assert!(refused("--tp 1 --tokens 0").starts_with("--tokens: "));
    assert!(refused("--tp 1 --tokens 16 --rate=-1").starts_with("--rate: "));
    let no_model = plan_words("--tp 1 --tokens 16").unwrap_err();
    assert!(no_model.contains("plan needs a model"), "{no_model}");
    let half = plan_words("--layers 4 --tp 1 --tokens 16").unwrap_err();
    assert!(half.contains("--kv-heads: missing"), "{half}");
}

/// `explain --model`: the line of vLLM issue #41230 read against a
/// 36-layer model: one block per request, and 72 descriptors fit the
/// releases that register K and V apart, not 0.34.0.
#[test]
fn explain_reads_a_line_against_the_model() {
    let line = "KV Transfer metrics: Num successful transfers=4, Avg xfer time (ms)=1.381, \
        P90 xfer time (ms)=2.601, Avg post time (ms)=0.672, P90 post time (ms)=0.801, \
        Avg MB per transfer=2.25, Throughput (MB/s)=1629.549, Avg number of descriptors=72.0";
    let qwen = real_model("qwen3-8b");
    let model = qwen.to_str().unwrap();
    let explain = |release: &str| {
        let output = run(
            &[
                "explain", "--tp", "1", "--model", model, "--vllm", release, line,
            ],
            b"",
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        text(&output.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let old = explain("0.22.1");
    assert!(
        old.contains("blocks per request 1.000 Avg MB per transfer / 2.25 MiB"),
        "{old}"
    );
    assert!(old.contains("tokens per request 1 – 16"), "{old}");
    assert!(old.contains("descriptors 72.0 – 72.0"), "{old}");
    assert!(
        old.contains("the line's 72.0 is within this range"),
        "{old}"
    );
    let new = explain("0.34.0");
    assert!(new.contains("the line's 72.0 is outside it"), "{new}");
    // A model needs TP sizes.
    let output = run(&["explain", "--model", model, line], b"");
    assert!(refusal(&output).contains("a model needs the TP sizes"));
}

/// Sizes whose products pass 64 bits (bytes per transfer, descriptors) are
/// refused in one line, never wrapped or a panic.
#[test]
fn sizes_past_64_bits_are_refused() {
    let max = u32::MAX.to_string();
    for geometry in [
        format!("--layers {max} --kv-heads {max} --head-dim {max}"),
        format!("--layers {max} --kv-lora-rank 4294967000 --qk-rope-head-dim 64"),
    ] {
        let args = format!("{geometry} --tp 1 --tokens {max} --block-size 16");
        let refused = plan_words(&args).expect_err(&args);
        assert!(refused.contains("too large to represent"), "{refused}");
    }
}
