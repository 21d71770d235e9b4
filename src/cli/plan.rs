//! `nixl-kv-metrics plan`: what a deployment's transfers, and its line,
//! should look like; and the model flags `explain` shares.

use std::num::NonZeroU32;
use std::path::PathBuf;

use clap::ValueEnum;
use nixl_kv_metrics::printer::plan::{Json, Plan, Rate, Setup, Text};
use nixl_kv_metrics::printer::words::excerpt;
use nixl_kv_metrics::release::Release;
use nixl_kv_metrics::topology::{
    Backend, BlockLayout, Deployment, Dtype, Mode, ModelConfig, ModelGeometry, Parallelism,
};

use super::flags::{self, IntervalFlag};
use super::{Outcome, Output, family_of};

/// Plan a P/D deployment: the transfers, bytes and descriptors of one
/// request, and the line to expect.
///
/// For a model (a Hugging Face config.json, or its geometry as flags), the
/// TP sizes of the prefill and decode instances, pull or push mode, and a
/// prompt length: how many NIXL transfers one request makes and which
/// instance records them, the bytes and MiB of each, its descriptors (the
/// fewest when the request's blocks are adjacent on both sides, the most
/// when none are) as the vLLM release registers the backend's KV cache, and
/// the MiB per request. With --rate, the size fields of the line the
/// recording instance logs each interval (its timings depend on the link).
///
/// A pairing or backend the release refuses is an error that says what vLLM
/// does, as is a config that is not one uniform KV cache (sliding-window,
/// hybrid or state-space layers) or lacks a key: one line on stderr, exit
/// status 2.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelFlags,
    #[command(flatten)]
    deployment: DeploymentFlags,
    /// Prompt tokens of one request (all moved: no prefix-cache hit on decode).
    #[arg(long, value_name = "N", value_parser = size)]
    tokens: u32,
    /// Requests per second: print the line to expect at that rate.
    #[arg(long, value_name = "R", value_parser = rate)]
    rate: Option<f64>,
    #[command(flatten)]
    interval: IntervalFlag,
    /// `text`: for reading; `json`: one object, the same figures.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// The TP sizes of the two instances, and pull or push: `plan`'s, and
/// `explain`'s.
#[derive(clap::Args)]
pub struct DeploymentFlags {
    /// Tensor-parallel size of both instances.
    #[arg(long, value_name = "N", value_parser = flags::tp_size, conflicts_with_all = ["prefill_tp", "decode_tp"])]
    tp: Option<u32>,
    /// Tensor-parallel size of the prefill instance (with --decode-tp).
    #[arg(long, value_name = "N", value_parser = flags::tp_size, requires = "decode_tp")]
    prefill_tp: Option<u32>,
    /// Tensor-parallel size of the decode instance (with --prefill-tp).
    #[arg(long, value_name = "N", value_parser = flags::tp_size, requires = "prefill_tp")]
    decode_tp: Option<u32>,
    /// `pull`: decode READs (vLLM's default NixlConnector); `push`: prefill
    /// WRITEs (NixlPushConnector).
    #[arg(long, value_enum, default_value_t = ModeArg::Pull)]
    mode: ModeArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Pull,
    Push,
}

impl DeploymentFlags {
    /// Prefill and decode TP, if given.
    pub fn tp_sizes(&self) -> Option<(u32, u32)> {
        match (self.tp, self.prefill_tp, self.decode_tp) {
            (Some(tp), _, _) => Some((tp, tp)),
            (None, Some(prefill), Some(decode)) => Some((prefill, decode)),
            _ => None,
        }
    }

    /// Pull or push.
    pub fn mode(&self) -> Mode {
        match self.mode {
            ModeArg::Pull => Mode::Pull,
            ModeArg::Push => Mode::Push,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The model, its KV cache and the release: `plan`'s, and `explain
/// --model`'s.
#[derive(clap::Args)]
pub struct ModelFlags {
    /// The model's Hugging Face config.json, or a model directory holding
    /// one (instead of --layers and the others).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["layers", "kv_heads", "head_dim", "kv_lora_rank", "qk_rope_head_dim"])]
    model: Option<PathBuf>,
    /// Decoder layers (num_hidden_layers), for a model given as flags.
    #[arg(long, value_name = "N", value_parser = size)]
    layers: Option<u32>,
    /// KV heads of the whole model (num_key_value_heads).
    #[arg(long, value_name = "N", value_parser = size)]
    kv_heads: Option<u32>,
    /// Elements per head (head_dim).
    #[arg(long, value_name = "N", value_parser = size)]
    head_dim: Option<u32>,
    /// MLA (DeepSeek-style): the compressed KV width, kv_lora_rank (with
    /// --qk-rope-head-dim).
    #[arg(long, value_name = "N", value_parser = size, requires = "qk_rope_head_dim", conflicts_with = "head_dim")]
    kv_lora_rank: Option<u32>,
    /// MLA: the rotary key width, qk_rope_head_dim (with --kv-lora-rank).
    #[arg(long, value_name = "N", value_parser = size, requires = "kv_lora_rank")]
    qk_rope_head_dim: Option<u32>,
    /// The KV-cache dtype (vLLM's --kv-cache-dtype): `auto` is the config's
    /// torch_dtype, and bfloat16 for a model given as flags.
    #[arg(long, value_name = "DTYPE", value_enum, default_value_t = CacheDtype::Auto)]
    kv_cache_dtype: CacheDtype,
    /// Tokens per KV-cache block (vLLM's --block-size).
    #[arg(long, value_name = "TOKENS", value_parser = size, default_value_t = 16)]
    block_size: u32,
    /// The vLLM release: its pairing rules and KV registration.
    #[arg(long = "vllm", value_name = "VERSION", value_parser = flags::release, default_value_t = Release::NEWEST_KNOWN)]
    vllm: Release,
    /// The attention backend (VLLM_ATTENTION_BACKEND): FLASH_ATTN,
    /// FLASHINFER, TRITON_ATTN or CPU_ATTN.
    #[arg(long, value_name = "NAME", value_parser = |s: &str| s.parse::<Backend>(), default_value = "FLASH_ATTN")]
    backend: Backend,
}

#[derive(Clone, Copy, ValueEnum)]
enum CacheDtype {
    Auto,
    Bfloat16,
    Float16,
    Fp8,
}

impl ModelFlags {
    /// True when a model is given, by config or by flags.
    pub fn given(&self) -> bool {
        let sizes = [self.layers, self.kv_heads, self.head_dim, self.kv_lora_rank];
        self.model.is_some() || sizes.iter().any(Option::is_some)
    }

    /// The deployment of the model at these TP sizes, as the release runs
    /// it; `None` when no model is given.
    pub fn setup(&self, prefill: u32, decode: u32, mode: Mode) -> Result<Option<Setup>, String> {
        family_of(self.vllm)?;
        let release = self.vllm;
        let Some((geometry, dtype, source)) = self.geometry(&[prefill, decode])? else {
            return Ok(None);
        };
        let tp = Parallelism::tp;
        let deployment = Deployment::new(
            geometry,
            tp(prefill),
            tp(decode),
            mode,
            BlockLayout::Contiguous,
        )
        .map_err(|e| format!("TP sizes: {e}"))?
        .for_release(release, self.backend)
        .map_err(|e| e.to_string())?;
        Ok(Some(Setup {
            source,
            dtype,
            deployment,
            release,
            backend: self.backend,
        }))
    }

    /// The KV cache's dtype: the flag's, or for `auto` the config's
    /// (`config`), else bfloat16.
    fn dtype(&self, config: Option<(&ModelConfig, &str)>) -> Result<Dtype, String> {
        Ok(match self.kv_cache_dtype {
            CacheDtype::Bfloat16 => Dtype::Bf16,
            CacheDtype::Float16 => Dtype::Fp16,
            CacheDtype::Fp8 => Dtype::Fp8,
            CacheDtype::Auto => match config {
                Some((config, file)) => config.dtype.clone().map_err(|e| format!("{file}: {e}"))?,
                None => Dtype::Bf16,
            },
        })
    }

    /// The geometry, from the config or the flags, and where it came from;
    /// a config's attention heads checked against `tp_sizes`.
    fn geometry(&self, tp_sizes: &[u32]) -> Result<Option<(ModelGeometry, Dtype, String)>, String> {
        if let Some(path) = &self.model {
            let file = ModelConfig::file(path);
            let name = file.display().to_string();
            let config = ModelConfig::read(&file).map_err(|e| format!("{name}: {e}"))?;
            for &tp in tp_sizes {
                config.check_tp(tp).map_err(|e| format!("{name}: {e}"))?;
            }
            let dtype = self.dtype(Some((&config, &name)))?;
            return Ok(Some((config.geometry(dtype, self.block_size), dtype, name)));
        }
        if !self.given() {
            return Ok(None);
        }
        let layers = self
            .layers
            .ok_or("--layers: missing (the model's num_hidden_layers)")?;
        let dtype = self.dtype(None)?;
        let geometry = match (self.kv_lora_rank, self.qk_rope_head_dim) {
            (Some(rank), Some(rope)) => {
                let latent = rank
                    .checked_add(rope)
                    .ok_or("--kv-lora-rank + --qk-rope-head-dim: above 2^32 − 1")?;
                ModelGeometry {
                    layers,
                    // Unknown (0) unless given: only pairing checks read it.
                    kv_heads: self.kv_heads.unwrap_or(0),
                    head_dim: latent,
                    dtype_bytes: dtype.bytes(),
                    block_size: self.block_size,
                    mla_latent_width: Some(latent),
                }
            }
            _ => {
                let kv_heads = self
                    .kv_heads
                    .ok_or("--kv-heads: missing (the model's num_key_value_heads)")?;
                let head_dim = self
                    .head_dim
                    .ok_or("--head-dim: missing (elements per head, head_dim)")?;
                ModelGeometry::attention(layers, kv_heads, head_dim)
                    .with_dtype(dtype)
                    .with_block_size(self.block_size)
            }
        };
        Ok(Some((geometry, dtype, "flags".to_string())))
    }
}

/// `--layers` and the other sizes: a whole number from 1.
fn size(text: &str) -> Result<u32, String> {
    text.parse::<NonZeroU32>()
        .map(NonZeroU32::get)
        .map_err(|_| {
            format!(
                "{} is not a whole number from 1 to {}",
                excerpt(text.as_bytes()),
                u32::MAX
            )
        })
}

/// The highest `--rate` accepted: a million requests per second.
const MAX_RATE: f64 = 1e6;

/// `--rate`: requests per second, above 0 and at most [`MAX_RATE`].
fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= MAX_RATE => Ok(r),
        _ => Err(format!(
            "{} is not a rate: requests per second, above 0 and at most {MAX_RATE}",
            excerpt(text.as_bytes())
        )),
    }
}

/// Prints the plan.
pub fn run(args: Args, out: &Output) -> Outcome {
    let (prefill, decode) = args
        .deployment
        .tp_sizes()
        .ok_or_else(|| "plan needs --tp N, or --prefill-tp P with --decode-tp D".to_string())?;
    let setup = args
        .model
        .setup(prefill, decode, args.deployment.mode())?
        .ok_or_else(|| {
            "plan needs a model: --model PATH, or --layers with --kv-heads and --head-dim \
             (MLA: --kv-lora-rank and --qk-rope-head-dim)"
                .to_string()
        })?;
    let figures = setup
        .deployment
        .figures(args.tokens)
        .map_err(|e| format!("--tokens {}: {e}", args.tokens))?;
    let rate = args.rate.map(|per_second| {
        let interval = args.interval.duration();
        let family = setup
            .release
            .family()
            .expect("family_of accepted the release");
        Rate {
            per_second,
            interval,
            line: figures.line(family, per_second * interval.as_secs_f64()),
        }
    });
    let plan = Plan {
        setup: &setup,
        figures,
        rate,
    };
    match args.format {
        Format::Text => out.text(Text(&plan)),
        Format::Json => out.json_line(&Json(&plan)),
    }
}
