"""Tiny model configurations for vLLM on CPU: a config.json and nothing else.

vLLM's ModelConfig reads only a model directory's config.json here (no weights,
no tokenizer), so each geometry the scenarios need is written with transformers'
own config classes into a scratch directory outside the repository.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Geometry:
    """What decides a model's KV cache: the numbers a fixture records."""

    name: str
    kind: str  # "gqa" (Llama) or "mla" (DeepSeek-V2 style, kv_lora_rank)
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    dtype: str = "float16"
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


GQA = Geometry("tiny-llama-gqa", "gqa", num_layers=4, num_heads=8, num_kv_heads=4, head_dim=64)
MLA = Geometry("tiny-deepseek-mla", "mla", num_layers=2, num_heads=4, num_kv_heads=1,
               head_dim=96, kv_lora_rank=64, qk_rope_head_dim=32)


def scratch() -> Path:
    path = Path(os.environ.get("REALSTACK_SCRATCH", "/tmp/realstack-scratch"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_dir(g: Geometry) -> str:
    """Write (once) and return the directory holding the geometry's config.json."""
    d = scratch() / "models" / g.name
    if (d / "config.json").exists():
        return str(d)
    if g.kind == "gqa":
        from transformers import LlamaConfig
        c = LlamaConfig(vocab_size=256, hidden_size=g.num_heads * g.head_dim,
                        intermediate_size=256, num_hidden_layers=g.num_layers,
                        num_attention_heads=g.num_heads, num_key_value_heads=g.num_kv_heads,
                        head_dim=g.head_dim, max_position_embeddings=4096,
                        torch_dtype=g.dtype)
        c.architectures = ["LlamaForCausalLM"]
    else:
        from transformers import DeepseekV2Config
        c = DeepseekV2Config(vocab_size=256, hidden_size=256, intermediate_size=256,
                             moe_intermediate_size=64, num_hidden_layers=g.num_layers,
                             num_attention_heads=g.num_heads, num_key_value_heads=g.num_heads,
                             kv_lora_rank=g.kv_lora_rank, q_lora_rank=None,
                             qk_rope_head_dim=g.qk_rope_head_dim,
                             qk_nope_head_dim=g.head_dim - g.qk_rope_head_dim,
                             v_head_dim=64, n_routed_experts=4, n_shared_experts=1,
                             num_experts_per_tok=2, first_k_dense_replace=g.num_layers,
                             max_position_embeddings=4096, torch_dtype=g.dtype)
        c.architectures = ["DeepseekV2ForCausalLM"]
    d.mkdir(parents=True, exist_ok=True)
    c.save_pretrained(str(d))
    return str(d)
