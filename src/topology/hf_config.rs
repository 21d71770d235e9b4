//! A model's KV-cache geometry, read from its Hugging Face `config.json`.
//!
//! vLLM sizes the KV cache from a handful of keys of the model's config
//! (`vllm/transformers_utils/model_arch_config_convertor.py` in 0.34.0,
//! `vllm/config/model.py` before): the decoder layers, the KV heads (under
//! one of several names, defaulting to the attention heads), the head size
//! (`head_dim`, else `hidden_size / num_attention_heads`), and for
//! DeepSeek-style multi-head latent attention (MLA) the latent,
//! `kv_lora_rank + qk_rope_head_dim`. Multimodal configs keep these in a
//! nested `text_config`. [`ModelConfig`] reads the same keys the same way,
//! and refuses, naming the key, a config it cannot turn into one uniform
//! geometry: a missing or malformed key, sizes that do not divide, or
//! layers of another kind (sliding-window, linear or state-space) whose KV
//! cache vLLM pages and transfers differently.
//!
//! ```
//! use nixl_kv_metrics::topology::{Dtype, ModelConfig};
//!
//! let llama = ModelConfig::from_json(br#"{
//!     "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
//!     "hidden_size": 4096, "torch_dtype": "bfloat16"
//! }"#)?;
//! assert_eq!((llama.layers, llama.kv_heads, llama.head_dim), (32, 8, 128));
//! assert_eq!(llama.dtype, Ok(Dtype::Bf16));
//!
//! let mla = ModelConfig::from_json(br#"{"num_hidden_layers": 61, "num_attention_heads": 128,
//!     "hidden_size": 7168, "kv_lora_rank": 512, "qk_rope_head_dim": 64}"#)?;
//! assert_eq!(mla.mla_latent_width, Some(576));
//!
//! let err = ModelConfig::from_json(br#"{"num_hidden_layers": 0}"#).unwrap_err();
//! assert_eq!(err.to_string(), "num_hidden_layers: 0 is not a size (a whole number from 1)");
//! # Ok::<(), nixl_kv_metrics::topology::ConfigError>(())
//! ```

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Dtype, ModelGeometry};
use crate::printer::words::excerpt;

/// The names vLLM reads the KV-head count under, first found first
/// (`CONFIG_FIELD_ALIASES["total_num_kv_heads"]`, 0.34.0
/// `vllm/transformers_utils/config.py`); absent, it is the attention heads.
const KV_HEAD_KEYS: [&str; 5] = [
    "n_head_kv",
    "num_kv_heads",
    "num_key_value_heads",
    "multi_query_group_num",
    "num_attention_groups",
];

/// Keys of configs whose layers are not all full attention, and why such a
/// model is not one uniform KV cache. A key counts only when it is present
/// and not `null`, `false` or `0`; `layer_types` and `layers_block_type`
/// count only when some layer is of another kind.
const OTHER_LAYER_KEYS: [(&str, &str); 12] = [
    (
        "sliding_window",
        "sliding-window attention keeps only a window of each prompt's blocks",
    ),
    (
        "interleaved_sliding_window",
        "sliding-window attention keeps only a window of each prompt's blocks",
    ),
    (
        "sliding_window_pattern",
        "sliding-window attention keeps only a window of each prompt's blocks",
    ),
    (
        "attention_chunk_size",
        "chunked local attention keeps only the current chunk's blocks",
    ),
    (
        "layer_types",
        "layers that are not full attention have KV caches of their own kind",
    ),
    (
        "layers_block_type",
        "layers that are not full attention have KV caches of their own kind",
    ),
    (
        "hybrid_override_pattern",
        "a hybrid of attention and state-space (Mamba) layers",
    ),
    (
        "attn_layer_period",
        "a hybrid of attention and state-space (Mamba) layers",
    ),
    (
        "mamba_d_state",
        "state-space (Mamba) layers keep a state, not blocks",
    ),
    (
        "ssm_state_size",
        "state-space (Mamba) layers keep a state, not blocks",
    ),
    (
        "state_size",
        "state-space (Mamba) layers keep a state, not blocks",
    ),
    (
        "index_topk",
        "DeepSeek sparse attention keeps an indexer cache beside the latent",
    ),
];

/// What a config must hold for one `--model`: `config.json` is a few KB,
/// even for the largest models; more is not a model's config.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// The KV-cache geometry of a model, as read from its config (the KV-cache
/// dtype and block size are chosen at serving time: see
/// [`ModelConfig::geometry`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// `num_hidden_layers`.
    pub layers: u32,
    /// `num_attention_heads`, which the TP size must divide
    /// ([`ModelConfig::check_tp`]).
    pub attention_heads: u32,
    /// KV heads, under the first of vLLM's names present, else the
    /// attention heads. For MLA only vLLM's pairing checks read them
    /// ([`ModelGeometry::kv_heads`]).
    pub kv_heads: u32,
    /// Elements per head (standard attention; the latent for MLA).
    pub head_dim: u32,
    /// MLA: `kv_lora_rank + qk_rope_head_dim`.
    pub mla_latent_width: Option<u32>,
    /// The KV-cache dtype vLLM's `--kv-cache-dtype auto` gives: the model's
    /// `torch_dtype` (`dtype` in newer configs), or why it cannot be told.
    pub dtype: Result<Dtype, ConfigError>,
    /// `""`, or `"text_config."` when the keys were read from there.
    prefix: &'static str,
}

impl ModelConfig {
    /// The config file of `path`: `path` itself, or a model directory's
    /// `config.json`.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::ModelConfig;
    /// use std::path::Path;
    /// let dir = std::env::temp_dir();
    /// assert_eq!(ModelConfig::file(&dir), dir.join("config.json"));
    /// assert_eq!(ModelConfig::file(Path::new("m.json")), Path::new("m.json"));
    /// ```
    pub fn file(path: &Path) -> PathBuf {
        if path.is_dir() {
            path.join("config.json")
        } else {
            path.to_path_buf()
        }
    }

    /// Reads the config `file`, refusing one over [`MAX_CONFIG_BYTES`]
    /// without reading the rest.
    pub fn read(file: &Path) -> Result<ModelConfig, ConfigError> {
        let mut text = Vec::new();
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut text))
            .map_err(|e| ConfigError::Unreadable(e.to_string()))?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge);
        }
        ModelConfig::from_json(&text)
    }

    /// Reads a config from its JSON text.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::ModelConfig;
    ///
    /// // A multimodal config: the language model's keys are in text_config.
    /// let vl = ModelConfig::from_json(br#"{"torch_dtype": "float16", "text_config":
    ///     {"num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
    ///      "head_dim": 128}}"#)?;
    /// assert_eq!((vl.layers, vl.kv_heads, vl.head_dim), (28, 8, 128));
    ///
    /// let gemma = br#"{"num_hidden_layers": 26, "num_attention_heads": 8,
    ///     "head_dim": 256, "layer_types": ["sliding_attention", "full_attention"]}"#;
    /// let err = ModelConfig::from_json(gemma).unwrap_err().to_string();
    /// assert!(err.starts_with("layer_types: \"sliding_attention\" layers:"), "{err}");
    /// # Ok::<(), nixl_kv_metrics::topology::ConfigError>(())
    /// ```
    pub fn from_json(text: &[u8]) -> Result<ModelConfig, ConfigError> {
        let root: Value =
            serde_json::from_slice(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        let root = root.as_object().ok_or(ConfigError::NotAnObject)?;
        let keys = match present(root, "text_config") {
            None => Keys {
                map: root,
                prefix: "",
            },
            Some(Value::Object(map)) => Keys {
                map,
                prefix: "text_config.",
            },
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: "text_config".to_string(),
                    value: String::new(),
                    expected: "an object",
                });
            }
        };
        keys.refuse_other_layers()?;
        let layers = keys.size("num_hidden_layers")?;
        let attention_heads = keys.size("num_attention_heads")?;
        let dtype = keys
            .dtype()
            .or_else(|| {
                (!keys.prefix.is_empty())
                    .then(|| Keys::top(root).dtype())
                    .flatten()
            })
            .unwrap_or(Err(ConfigError::NoDtype));
        if let Some(rank) = keys.optional_size("kv_lora_rank")? {
            let rope = keys.size("qk_rope_head_dim")?;
            let latent = rank
                .checked_add(rope)
                .ok_or_else(|| keys.too_large("kv_lora_rank"))?;
            return Ok(ModelConfig {
                layers,
                attention_heads,
                kv_heads: keys.kv_heads()?.unwrap_or(attention_heads),
                head_dim: latent,
                mla_latent_width: Some(latent),
                dtype,
                prefix: keys.prefix,
            });
        }
        let kv_heads = match keys.kv_heads()? {
            Some(heads) => heads,
            None => attention_heads,
        };
        // vLLM takes a `head_dim` of 0 for an absent one, as some configs write it.
        let head_dim = match keys.optional_whole("head_dim")? {
            Some(dim) if dim > 0 => dim,
            _ => {
                let hidden = keys.size("hidden_size")?;
                if !hidden.is_multiple_of(attention_heads) {
                    return Err(ConfigError::Inconsistent {
                        key: keys.name("hidden_size"),
                        why: format!(
                            "{hidden} is not a multiple of num_attention_heads \
                             {attention_heads}, and there is no head_dim"
                        ),
                    });
                }
                hidden / attention_heads
            }
        };
        if !attention_heads.is_multiple_of(kv_heads) {
            return Err(ConfigError::Inconsistent {
                key: keys.name("num_attention_heads"),
                why: format!(
                    "{attention_heads} attention heads do not group evenly over {kv_heads} KV heads"
                ),
            });
        }
        Ok(ModelConfig {
            layers,
            attention_heads,
            kv_heads,
            head_dim,
            mla_latent_width: None,
            dtype,
            prefix: keys.prefix,
        })
    }

    /// True for multi-head latent attention.
    pub fn is_mla(&self) -> bool {
        self.mla_latent_width.is_some()
    }

    /// vLLM's first check of a TP size against the model: the attention
    /// heads split evenly over the ranks (`verify_with_parallel_config`).
    ///
    /// ```
    /// use nixl_kv_metrics::topology::ModelConfig;
    /// let qwen = ModelConfig::from_json(br#"{"num_hidden_layers": 28,
    ///     "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128}"#)?;
    /// assert!(qwen.check_tp(8).is_ok());
    /// assert_eq!(qwen.check_tp(3).unwrap_err().to_string(),
    ///     "num_attention_heads: 16 attention heads do not split over TP 3: \
    ///      vLLM requires the TP size to divide them");
    /// # Ok::<(), nixl_kv_metrics::topology::ConfigError>(())
    /// ```
    pub fn check_tp(&self, tp: u32) -> Result<(), ConfigError> {
        if self.attention_heads.is_multiple_of(tp) {
            return Ok(());
        }
        Err(ConfigError::Inconsistent {
            key: format!("{}num_attention_heads", self.prefix),
            why: format!(
                "{} attention heads do not split over TP {tp}: vLLM requires the TP size to \
                 divide them",
                self.attention_heads
            ),
        })
    }

    /// The geometry with the KV cache in `dtype` and paged in blocks of
    /// `block_size` tokens.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::{Dtype, ModelConfig, ModelGeometry};
    /// let config = ModelConfig::from_json(br#"{"num_hidden_layers": 32,
    ///     "num_attention_heads": 32, "num_key_value_heads": 8, "hidden_size": 4096}"#)?;
    /// assert_eq!(config.geometry(Dtype::Bf16, 16), ModelGeometry::LLAMA_3_1_8B);
    /// # Ok::<(), nixl_kv_metrics::topology::ConfigError>(())
    /// ```
    pub fn geometry(&self, dtype: Dtype, block_size: u32) -> ModelGeometry {
        ModelGeometry {
            layers: self.layers,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            dtype_bytes: dtype.bytes(),
            block_size,
            mla_latent_width: self.mla_latent_width,
        }
    }
}

/// The object the geometry keys are read from, and its path for messages.
struct Keys<'a> {
    map: &'a Map<String, Value>,
    /// `""`, or `"text_config."` for a multimodal config's language model.
    prefix: &'static str,
}

impl<'a> Keys<'a> {
    fn top(map: &'a Map<String, Value>) -> Keys<'a> {
        Keys { map, prefix: "" }
    }

    /// The key's name as the config spells it, nested keys with their path.
    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn too_large(&self, key: &str) -> ConfigError {
        ConfigError::Invalid {
            key: self.name(key),
            value: String::new(),
            expected: "a size below 2^32",
        }
    }

    /// A non-negative whole number below 2^32, or `None` when absent.
    fn optional_whole(&self, key: &str) -> Result<Option<u32>, ConfigError> {
        let Some(value) = present(self.map, key) else {
            return Ok(None);
        };
        let invalid = || ConfigError::Invalid {
            key: self.name(key),
            value: quoted(value),
            expected: "a whole number",
        };
        let n = value.as_u64().ok_or_else(invalid)?;
        u32::try_from(n).map(Some).map_err(|_| self.too_large(key))
    }

    /// A size (a whole number from 1), or `None` when absent.
    fn optional_size(&self, key: &str) -> Result<Option<u32>, ConfigError> {
        match self.optional_whole(key)? {
            Some(0) => Err(ConfigError::Invalid {
                key: self.name(key),
                value: "0".to_string(),
                expected: "a size (a whole number from 1)",
            }),
            n => Ok(n),
        }
    }

    /// A size that must be there.
    fn size(&self, key: &str) -> Result<u32, ConfigError> {
        self.optional_size(key)?
            .ok_or_else(|| ConfigError::Missing(self.name(key)))
    }

    /// The KV heads under the first of vLLM's names present; Falcon's
    /// `multi_query` (one KV head) where its older architecture says so.
    fn kv_heads(&self) -> Result<Option<u32>, ConfigError> {
        for key in KV_HEAD_KEYS {
            if let Some(heads) = self.optional_size(key)? {
                return Ok(Some(heads));
            }
        }
        let flag = |key| present(self.map, key) == Some(&Value::Bool(true));
        Ok((flag("multi_query") && !flag("new_decoder_architecture")).then_some(1))
    }

    /// `torch_dtype` or `dtype` read as the KV cache's `auto` dtype, if
    /// either is there.
    fn dtype(&self) -> Option<Result<Dtype, ConfigError>> {
        let (key, value) = ["torch_dtype", "dtype"]
            .into_iter()
            .find_map(|key| present(self.map, key).map(|value| (key, value)))?;
        let name = value.as_str().unwrap_or_default();
        let name = name.strip_prefix("torch.").unwrap_or(name);
        Some(match name {
            "bfloat16" => Ok(Dtype::Bf16),
            "float16" | "half" => Ok(Dtype::Fp16),
            _ => Err(ConfigError::Dtype {
                key: self.name(key),
                value: quoted(value),
            }),
        })
    }

    /// Refuses a model whose layers are not all full attention.
    fn refuse_other_layers(&self) -> Result<(), ConfigError> {
        let disabled = present(self.map, "use_sliding_window") == Some(&Value::Bool(false));
        for (key, why) in OTHER_LAYER_KEYS {
            let Some(value) = present(self.map, key) else {
                continue;
            };
            let kind = match value {
                Value::Bool(false) => None,
                Value::Number(n) if n.as_u64() == Some(0) => None,
                _ if key == "sliding_window" && disabled => None,
                Value::Array(kinds) => kinds
                    .iter()
                    .find(|kind| !matches!(kind.as_str(), Some("full_attention" | "attention")))
                    .map(|kind| format!("{} layers: ", quoted(kind))),
                _ => Some(String::new()),
            };
            if let Some(kind) = kind {
                return Err(ConfigError::Unsupported {
                    key: self.name(key),
                    why: format!("{kind}{why}, which is not modelled"),
                });
            }
        }
        Ok(())
    }
}

/// The value of `key`, unless absent or `null` (vLLM reads both as unset).
fn present<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).filter(|value| !value.is_null())
}

/// A JSON value quoted back in a message, shortened and escaped.
fn quoted(value: &Value) -> String {
    match value {
        Value::String(text) => excerpt(text.as_bytes()),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "an object".to_string(),
        // Numbers and booleans as JSON writes them, cut to an excerpt.
        other => excerpt(other.to_string().as_bytes())
            .trim_matches('"')
            .to_string(),
    }
}

/// Why a config cannot be read as one uniform KV-cache geometry. `Display`
/// starts with the key concerned, when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The file cannot be opened or read (the system's reason).
    Unreadable(String),
    /// Larger than [`MAX_CONFIG_BYTES`].
    TooLarge,
    /// Not JSON (serde_json's reason, with line and column).
    Json(String),
    /// JSON, but not an object.
    NotAnObject,
    /// A key the geometry needs is absent or `null`.
    Missing(String),
    /// A key's value has the wrong type or range.
    Invalid {
        /// The key.
        key: String,
        /// The value, quoted (empty when not worth quoting).
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// Values that contradict each other.
    Inconsistent {
        /// The key concerned.
        key: String,
        /// Why, in words.
        why: String,
    },
    /// Layers whose KV cache this model does not cover.
    Unsupported {
        /// The key that says so.
        key: String,
        /// Why, in words.
        why: String,
    },
    /// A dtype that is not one of vLLM's 16-bit KV-cache dtypes.
    Dtype {
        /// `torch_dtype` or `dtype`.
        key: String,
        /// The value, quoted.
        value: String,
    },
    /// Neither `torch_dtype` nor `dtype` is given.
    NoDtype,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unreadable(why) => write!(f, "cannot read: {why}"),
            ConfigError::TooLarge => write!(
                f,
                "larger than {} MiB: not a model's config.json",
                MAX_CONFIG_BYTES >> 20
            ),
            ConfigError::Json(why) => write!(f, "not JSON: {why}"),
            ConfigError::NotAnObject => f.write_str("not a JSON object"),
            ConfigError::Missing(key) => write!(f, "{key}: missing"),
            ConfigError::Invalid {
                key,
                value,
                expected,
            } if value.is_empty() => write!(f, "{key}: not {expected}"),
            ConfigError::Invalid {
                key,
                value,
                expected,
            } => write!(f, "{key}: {value} is not {expected}"),
            ConfigError::Inconsistent { key, why } | ConfigError::Unsupported { key, why } => {
                write!(f, "{key}: {why}")
            }
            ConfigError::Dtype { key, value } => write!(
                f,
                "{key}: {value}: the auto KV-cache dtype is the model's only for bfloat16 and \
                 float16 models (vLLM serves others in a 16-bit dtype of its choosing); give \
                 --kv-cache-dtype"
            ),
            ConfigError::NoDtype => f.write_str(
                "torch_dtype: missing (nor is there a dtype), so the auto KV-cache dtype is \
                 unknown; give --kv-cache-dtype",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        ModelConfig::from_json(json.as_bytes())
            .unwrap_err()
            .to_string()
    }

    const BASE: &str = r#""num_hidden_layers": 4, "num_attention_heads": 8"#;

    #[test]
    fn sizes_are_whole_numbers_from_one() {
        for (value, message) in [
            (
                "0",
                "num_key_value_heads: 0 is not a size (a whole number from 1)",
            ),
            ("-1", "num_key_value_heads: -1 is not a whole number"),
            ("2.0", "num_key_value_heads: 2.0 is not a whole number"),
            ("true", "num_key_value_heads: true is not a whole number"),
            ("\"4\"", "num_key_value_heads: \"4\" is not a whole number"),
            ("[4]", "num_key_value_heads: a list is not a whole number"),
            ("4294967296", "num_key_value_heads: not a size below 2^32"),
        ] {
            let json = format!(r#"{{{BASE}, "num_key_value_heads": {value}, "head_dim": 64}}"#);
            assert_eq!(error(&json), message, "{value}");
        }
    }

    #[test]
    fn head_dim_defaults_to_hidden_size_over_heads() {
        let config = |extra: &str| ModelConfig::from_json(format!("{{{BASE}{extra}}}").as_bytes());
        assert_eq!(config(r#", "hidden_size": 512"#).unwrap().head_dim, 64);
        assert_eq!(
            config(r#", "hidden_size": 512, "head_dim": 0"#)
                .unwrap()
                .head_dim,
            64
        );
        assert_eq!(
            config(r#", "hidden_size": 512, "head_dim": null"#)
                .unwrap()
                .head_dim,
            64
        );
        assert_eq!(
            error(&format!(r#"{{{BASE}, "hidden_size": 513}}"#)),
            "hidden_size: 513 is not a multiple of num_attention_heads 8, and there is no head_dim"
        );
        assert_eq!(error(&format!("{{{BASE}}}")), "hidden_size: missing");
        // Without KV heads, every attention head is a KV head.
        assert_eq!(config(r#", "head_dim": 64"#).unwrap().kv_heads, 8);
    }

    #[test]
    fn kv_heads_follow_vllms_names() {
        let heads = |extra: &str| {
            let json = format!(r#"{{{BASE}, "head_dim": 64{extra}}}"#);
            ModelConfig::from_json(json.as_bytes()).unwrap().kv_heads
        };
        assert_eq!(heads(r#", "num_key_value_heads": 2"#), 2);
        assert_eq!(heads(r#", "multi_query_group_num": 2"#), 2);
        assert_eq!(heads(r#", "n_head_kv": 4, "num_key_value_heads": 2"#), 4);
        assert_eq!(heads(r#", "num_key_value_heads": null"#), 8);
        assert_eq!(heads(r#", "multi_query": true"#), 1);
        assert_eq!(
            heads(r#", "multi_query": true, "new_decoder_architecture": true"#),
            8
        );
        assert_eq!(
            error(&format!(
                r#"{{{BASE}, "head_dim": 64, "num_key_value_heads": 3}}"#
            )),
            "num_attention_heads: 8 attention heads do not group evenly over 3 KV heads"
        );
    }

    #[test]
    fn mla_needs_the_rope_part() {
        let json = format!(r#"{{{BASE}, "kv_lora_rank": 64}}"#);
        assert_eq!(error(&json), "qk_rope_head_dim: missing");
        let json = format!(r#"{{{BASE}, "kv_lora_rank": null, "head_dim": 64}}"#);
        assert!(!ModelConfig::from_json(json.as_bytes()).unwrap().is_mla());
    }

    #[test]
    fn other_layers_are_refused_by_key() {
        for (extra, key) in [
            (r#""sliding_window": 4096"#, "sliding_window"),
            (
                r#""layers_block_type": ["attention", "mamba"]"#,
                "layers_block_type",
            ),
            (
                r#""hybrid_override_pattern": "M-M*""#,
                "hybrid_override_pattern",
            ),
            (r#""mamba_d_state": 128"#, "mamba_d_state"),
            (r#""attention_chunk_size": 8192"#, "attention_chunk_size"),
            (r#""index_topk": 2048"#, "index_topk"),
        ] {
            let json = format!(r#"{{{BASE}, "head_dim": 64, {extra}}}"#);
            let message = error(&json);
            assert!(message.starts_with(&format!("{key}: ")), "{message}");
            assert!(message.ends_with("which is not modelled"), "{message}");
        }
        // Qwen2-style: a window that is switched off; layers all full attention.
        let json = format!(
            r#"{{{BASE}, "head_dim": 64, "sliding_window": 4096, "use_sliding_window": false,
                "layer_types": ["full_attention", "full_attention"]}}"#
        );
        assert!(ModelConfig::from_json(json.as_bytes()).is_ok());
    }

    #[test]
    fn dtype_is_the_auto_kv_cache_dtype() {
        let dtype = |extra: &str| {
            let json = format!(r#"{{{BASE}, "head_dim": 64{extra}}}"#);
            ModelConfig::from_json(json.as_bytes()).unwrap().dtype
        };
        assert_eq!(dtype(r#", "torch_dtype": "float16""#), Ok(Dtype::Fp16));
        assert_eq!(dtype(r#", "dtype": "bfloat16""#), Ok(Dtype::Bf16));
        assert_eq!(dtype(""), Err(ConfigError::NoDtype));
        let float32 = dtype(r#", "torch_dtype": "float32""#)
            .unwrap_err()
            .to_string();
        assert!(
            float32.starts_with("torch_dtype: \"float32\": "),
            "{float32}"
        );
        // A multimodal config's dtype may sit at the top only.
        let nested =
            format!(r#"{{"dtype": "float16", "text_config": {{{BASE}, "head_dim": 64}}}}"#);
        assert_eq!(
            ModelConfig::from_json(nested.as_bytes()).unwrap().dtype,
            Ok(Dtype::Fp16)
        );
    }

    #[test]
    fn not_a_config() {
        assert_eq!(error("[1]"), "not a JSON object");
        assert!(error("{").starts_with("not JSON: EOF while parsing"));
        assert_eq!(error(r#"{"text_config": 3}"#), "text_config: not an object");
        let key = "k".repeat(1000);
        let long = format!(r#"{{{BASE}, "head_dim": "{key}"}}"#);
        assert!(error(&long).len() < 100);
        let escape = format!(r#"{{{BASE}, "head_dim": "\u001b[2J"}}"#);
        assert_eq!(
            error(&escape),
            r#"head_dim: "\u{1b}[2J" is not a whole number"#
        );
    }
}
