"""The weight tensors a model holds, named and shaped the way llama.cpp's GGUF files name them.

The inventory is derived from the architecture alone (config.json values in the catalog), so
the estimator can price every tensor with the type a quantization preset gives it. Shapes use
ggml's order: ``ne[0]`` is the row length (the dimension quantization blocks run along).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from catalog.schemas import Architecture


@dataclass(frozen=True, slots=True)
class Tensor:
    name: str
    ne: tuple[int, ...]
    layer: int | None = None
    always_f32: bool = False  # norms, biases, routers: llama.cpp never quantizes them

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.ne:
            n *= d
        return n

    @property
    def is_expert(self) -> bool:
        """A stacked expert tensor (ne[2] = experts), the MoE part of a layer."""
        return len(self.ne) == 3


_FUSED_QKV = {"Phi3ForCausalLM", "PhiMoEForCausalLM"}


def is_moe_layer(arch: Architecture, layer: int) -> bool:
    moe = arch.moe
    if moe is None or layer < moe.first_dense_layers:
        return False
    # Llama 4 Maverick interleaves: MoE on every ``moe_layer_step``-th layer (1-based), dense otherwise.
    return (layer + 1) % moe.moe_layer_step == 0


def _attention_tensors(arch: Architecture, il: int) -> list[Tensor]:
    h = arch.hidden_size
    p = f"blk.{il}."
    mla = arch.mla
    if mla is not None:
        qk_head = mla.qk_nope_head_dim + mla.qk_rope_head_dim
        heads = arch.num_attention_heads
        out: list[Tensor] = []
        if mla.q_lora_rank:
            out += [
                Tensor(p + "attn_q_a.weight", (h, mla.q_lora_rank), il),
                Tensor(p + "attn_q_a_norm.weight", (mla.q_lora_rank,), il, True),
                Tensor(p + "attn_q_b.weight", (mla.q_lora_rank, heads * qk_head), il),
            ]
        else:
            out.append(Tensor(p + "attn_q.weight", (h, heads * qk_head), il))
        out += [
            Tensor(p + "attn_kv_a_mqa.weight", (h, mla.kv_lora_rank + mla.qk_rope_head_dim), il),
            Tensor(p + "attn_kv_a_norm.weight", (mla.kv_lora_rank,), il, True),
            Tensor(p + "attn_kv_b.weight",
                   (mla.kv_lora_rank, heads * (mla.qk_nope_head_dim + mla.v_head_dim)), il),
            Tensor(p + "attn_output.weight", (heads * mla.v_head_dim, h), il),
        ]
        return out

    hd = arch.head_dim
    vhd = arch.value_head_dim or hd
    q = arch.num_attention_heads * hd
    k = arch.num_kv_heads * hd
    v = arch.num_kv_heads * vhd
    out = []
    if arch.hf_architecture in _FUSED_QKV:
        out.append(Tensor(p + "attn_qkv.weight", (h, q + k + v), il))
    else:
        out += [
            Tensor(p + "attn_q.weight", (h, q), il),
            Tensor(p + "attn_k.weight", (h, k), il),
            Tensor(p + "attn_v.weight", (h, v), il),
        ]
        if arch.attention_bias:
            out += [
                Tensor(p + "attn_q.bias", (q,), il, True),
                Tensor(p + "attn_k.bias", (k,), il, True),
                Tensor(p + "attn_v.bias", (v,), il, True),
            ]
    out.append(Tensor(p + "attn_output.weight", (arch.num_attention_heads * vhd, h), il))
    return out


def _ffn_tensors(arch: Architecture, il: int) -> list[Tensor]:
    h = arch.hidden_size
    p = f"blk.{il}."
    moe = arch.moe
    if moe is None or not is_moe_layer(arch, il):
        ff = arch.intermediate_size
        if arch.hf_architecture in _FUSED_QKV and moe is None:
            # Phi-3 stores gate and up fused as one ffn_up of twice the width.
            return [Tensor(p + "ffn_up.weight", (h, 2 * ff), il),
                    Tensor(p + "ffn_down.weight", (ff, h), il)]
        return [
            Tensor(p + "ffn_gate.weight", (h, ff), il),
            Tensor(p + "ffn_up.weight", (h, ff), il),
            Tensor(p + "ffn_down.weight", (ff, h), il),
        ]
    eff, n = moe.expert_intermediate_size, moe.num_experts
    out = [
        Tensor(p + "ffn_gate_inp.weight", (h, n), il, True),
        Tensor(p + "ffn_gate_exps.weight", (h, eff, n), il),
        Tensor(p + "ffn_up_exps.weight", (h, eff, n), il),
        Tensor(p + "ffn_down_exps.weight", (eff, h, n), il),
    ]
    if moe.num_shared_experts:
        sff = (moe.shared_expert_intermediate_size or eff) * moe.num_shared_experts
        out += [
            Tensor(p + "ffn_gate_shexp.weight", (h, sff), il),
            Tensor(p + "ffn_up_shexp.weight", (h, sff), il),
            Tensor(p + "ffn_down_shexp.weight", (sff, h), il),
        ]
    return out


@lru_cache(maxsize=512)
def model_tensors(arch: Architecture) -> tuple[Tensor, ...]:
    """Every weight tensor of the text model, in GGUF order."""
    h = arch.hidden_size
    tensors: list[Tensor] = [Tensor("token_embd.weight", (h, arch.vocab_size))]
    for il in range(arch.num_layers):
        tensors.append(Tensor(f"blk.{il}.attn_norm.weight", (h,), il, True))
        tensors += _attention_tensors(arch, il)
        tensors.append(Tensor(f"blk.{il}.ffn_norm.weight", (h,), il, True))
        tensors += _ffn_tensors(arch, il)
    tensors.append(Tensor("output_norm.weight", (h,), None, True))
    if not arch.tied_embeddings:
        tensors.append(Tensor("output.weight", (h, arch.vocab_size)))
    return tuple(tensors)


def layer_param_count(arch: Architecture) -> dict[int | None, int]:
    """Parameters per layer (``None`` holds embeddings, output and final norm)."""
    counts: dict[int | None, int] = {}
    for t in model_tensors(arch):
        counts[t.layer] = counts.get(t.layer, 0) + t.n_elements
    return counts
