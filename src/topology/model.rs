//! The model's KV-cache geometry, and presets for real models.

/// The element type of the KV cache, and its size in bytes
/// ([`Dtype::bytes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// bfloat16, 2 bytes (vLLM's `auto` KV-cache dtype for BF16 models).
    Bf16,
    /// float16, 2 bytes.
    Fp16,
    /// An 8-bit float (`--kv-cache-dtype fp8`), 1 byte.
    Fp8,
}

impl Dtype {
    /// The size of one element in bytes.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::Dtype;
    /// assert_eq!(Dtype::Fp16.bytes(), 2);
    /// assert_eq!(Dtype::Fp8.bytes(), 1);
    /// ```
    pub const fn bytes(self) -> u32 {
        match self {
            Dtype::Bf16 | Dtype::Fp16 => 2,
            Dtype::Fp8 => 1,
        }
    }

    /// The name vLLM's `--kv-cache-dtype` (and a config's `torch_dtype`)
    /// gives it.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::Dtype;
    /// assert_eq!(Dtype::Bf16.name(), "bfloat16");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Dtype::Bf16 => "bfloat16",
            Dtype::Fp16 => "float16",
            Dtype::Fp8 => "fp8",
        }
    }
}

/// What the KV cache of one token looks like, and how it is paged.
///
/// For standard attention (multi-head or grouped-query), every layer keeps a
/// K and a V tensor of `kv_heads × head_dim` elements per token, split by
/// head across tensor-parallel ranks. For multi-head latent attention (MLA,
/// `mla_latent_width` set) every layer keeps one latent vector per token,
/// replicated on every rank; `kv_heads` and `head_dim` are then not used.
///
/// The presets take layer and head counts from the models' public
/// `config.json` on Hugging Face, with vLLM's default CUDA block size of 16
/// tokens and a BF16 cache; change them with [`ModelGeometry::with_dtype`]
/// and [`ModelGeometry::with_block_size`].
///
/// ```
/// use nixl_kv_metrics::topology::{Dtype, ModelGeometry};
///
/// let fp8 = ModelGeometry::LLAMA_3_1_8B.with_dtype(Dtype::Fp8);
/// assert_eq!(fp8.dtype_bytes, 1);
/// assert!(ModelGeometry::DEEPSEEK_V3.is_mla());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelGeometry {
    /// Decoder layers holding a KV cache (`num_hidden_layers`).
    pub layers: u32,
    /// KV heads of the whole model (`num_key_value_heads`). For MLA they
    /// size nothing (the latent is one per token and layer); only vLLM's
    /// pairing checks before 0.21.0 read them, and 0 stands for unknown
    /// ([`Deployment::for_release`](super::Deployment::for_release)).
    pub kv_heads: u32,
    /// Elements per head (`head_dim`); unused for MLA.
    pub head_dim: u32,
    /// Bytes per element (see [`Dtype`]).
    pub dtype_bytes: u32,
    /// Tokens per KV-cache block (vLLM's `--block-size`).
    pub block_size: u32,
    /// For MLA, the elements of the latent vector cached per token and layer.
    pub mla_latent_width: Option<u32>,
}

impl ModelGeometry {
    /// Qwen3-0.6B: 28 layers, 8 KV heads of 128 (`Qwen/Qwen3-0.6B`
    /// `config.json`: `num_hidden_layers`, `num_key_value_heads`,
    /// `head_dim`). The model of the NIXL connector's own docs, and the
    /// geometry behind the 70 MiB / 56-descriptor sample of vLLM PR #25388.
    pub const QWEN3_0_6B: ModelGeometry = ModelGeometry::attention(28, 8, 128);

    /// Llama-3.1-8B: 32 layers, 8 KV heads of 128 (`meta-llama/Llama-3.1-8B`
    /// `config.json`: `num_hidden_layers` 32, `num_key_value_heads` 8,
    /// `hidden_size` 4096 over `num_attention_heads` 32).
    pub const LLAMA_3_1_8B: ModelGeometry = ModelGeometry::attention(32, 8, 128);

    /// DeepSeek-V3 (MLA): 61 layers caching a 576-element latent per token,
    /// the compressed KV of `kv_lora_rank` 512 plus the `qk_rope_head_dim` 64
    /// rotary key, and 128 `num_key_value_heads` that no cache is sized by
    /// (`deepseek-ai/DeepSeek-V3` `config.json`). MLA backends
    /// often run with larger blocks (64 tokens): see
    /// [`ModelGeometry::with_block_size`].
    pub const DEEPSEEK_V3: ModelGeometry = ModelGeometry {
        layers: 61,
        kv_heads: 128,
        head_dim: 576,
        dtype_bytes: 2,
        block_size: 16,
        mla_latent_width: Some(512 + 64),
    };

    /// A standard-attention geometry with a BF16 cache and 16-token blocks.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::ModelGeometry;
    /// // The geometry of the example line of vLLM issue #41230.
    /// let model = ModelGeometry::attention(36, 8, 128);
    /// assert_eq!((model.dtype_bytes, model.block_size), (2, 16));
    /// ```
    pub const fn attention(layers: u32, kv_heads: u32, head_dim: u32) -> ModelGeometry {
        ModelGeometry {
            layers,
            kv_heads,
            head_dim,
            dtype_bytes: 2,
            block_size: 16,
            mla_latent_width: None,
        }
    }

    /// The same geometry with another cache dtype.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::{Dtype, ModelGeometry};
    /// assert_eq!(ModelGeometry::QWEN3_0_6B.with_dtype(Dtype::Fp8).dtype_bytes, 1);
    /// ```
    pub const fn with_dtype(self, dtype: Dtype) -> ModelGeometry {
        ModelGeometry {
            dtype_bytes: dtype.bytes(),
            ..self
        }
    }

    /// The same geometry with another block size (tokens per block), such
    /// as the 64 of many MLA backends.
    pub const fn with_block_size(self, block_size: u32) -> ModelGeometry {
        ModelGeometry { block_size, ..self }
    }

    /// True for multi-head latent attention.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::ModelGeometry;
    /// assert!(ModelGeometry::DEEPSEEK_V3.is_mla());
    /// assert!(!ModelGeometry::QWEN3_0_6B.is_mla());
    /// ```
    pub const fn is_mla(&self) -> bool {
        self.mla_latent_width.is_some()
    }
}
