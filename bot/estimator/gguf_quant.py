"""Which ggml type each tensor gets under a GGUF quantization preset, and what it weighs.

This mirrors llama.cpp's ``llama_tensor_get_type`` (src/llama-quant.cpp) for the presets the
catalog lists: K-quant mixes keep ``output.weight`` at Q6_K, give half of the ``attn_v`` and
``ffn_down`` layers more bits (``use_more_bits``), bump 8-expert models' attention, and fall
back to a 32-block type where a row does not divide into 256-value super-blocks. Tensors that
are never quantized (norms, biases, MoE routers) stay F32, as convert_hf_to_gguf writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from catalog.schemas import Architecture, GgmlType

from .tensors import Tensor, model_tensors

# ftype name -> the default ggml type of its tensors (llama_model_quantize_impl's switch).
PRESET_BASE_TYPE: dict[str, str] = {
    "F32": "F32", "F16": "F16", "BF16": "BF16", "Q8_0": "Q8_0", "Q4_0": "Q4_0", "Q4_1": "Q4_1",
    "Q5_0": "Q5_0", "Q5_1": "Q5_1", "Q2_K": "Q2_K", "Q2_K_S": "Q2_K", "Q3_K_S": "Q3_K",
    "Q3_K_M": "Q3_K", "Q3_K_L": "Q3_K", "Q4_K_S": "Q4_K", "Q4_K_M": "Q4_K", "Q5_K_S": "Q5_K",
    "Q5_K_M": "Q5_K", "Q6_K": "Q6_K", "IQ2_XXS": "IQ2_XXS", "IQ2_XS": "IQ2_XS", "IQ2_S": "IQ2_XS",
    "IQ2_M": "IQ2_S", "IQ3_XXS": "IQ3_XXS", "IQ3_XS": "IQ3_S", "IQ3_S": "IQ3_S", "IQ3_M": "IQ3_S",
    "IQ4_NL": "IQ4_NL", "IQ4_XS": "IQ4_XS", "IQ1_S": "IQ1_S", "IQ1_M": "IQ1_M",
    "MXFP4_MOE": "MXFP4", "TQ1_0": "TQ1_0", "TQ2_0": "TQ2_0",
}

_LOW_IQ = {"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M"}
_UNQUANTIZED = {"F32", "F16", "BF16"}
# convert_incompatible_tensor: a row that is not a multiple of the block size falls back.
_FALLBACK = {
    "TQ1_0": "IQ4_NL", "TQ2_0": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL",
    "IQ2_S": "IQ4_NL", "IQ3_XXS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ1_S": "IQ4_NL",
    "IQ1_M": "IQ4_NL", "Q2_K": "IQ4_NL", "Q3_K": "IQ4_NL", "IQ4_XS": "IQ4_NL",
    "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0",
}


def _use_more_bits(i_layer: int, n_layers: int) -> bool:
    return (
        i_layer < n_layers // 8
        or i_layer >= 7 * n_layers // 8
        or (i_layer - n_layers // 8) % 3 == 2
    )


@dataclass
class _State:
    """The counters llama.cpp keeps while it walks the tensors in file order."""

    n_attention_wv: int
    n_ffn_down: int
    i_attention_wv: int = 0
    i_ffn_down: int = 0


def _type_for(t: Tensor, ftype: str, base: str, arch: Architecture, st: _State,
              block_sizes: dict[str, int], is_70b: bool, has_output: bool) -> str:
    name = t.name
    n_expert = arch.moe.num_experts if arch.moe else 0
    gqa = arch.num_attention_heads // arch.num_kv_heads
    new = base
    if name == "output.weight" or (not has_output and name == "token_embd.weight"):
        if ftype == "MXFP4_MOE" or t.ne[0] % block_sizes[base] != 0:
            return "Q8_0"
        if ftype in _LOW_IQ or ftype == "IQ3_XXS":
            return "Q5_K"
        return "Q8_0" if base == "Q8_0" else "Q6_K"
    if ftype == "MXFP4_MOE":
        return "MXFP4" if t.is_expert else "Q8_0"
    if name == "token_embd.weight":
        if ftype in {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"}:
            return "Q2_K"
        if ftype in {"IQ2_S", "IQ2_M", "IQ3_XXS"}:
            return "IQ3_S"
        if ftype in {"TQ1_0", "TQ2_0"}:
            return "Q4_K"
        return base
    if ftype in _LOW_IQ:
        if "attn_v.weight" in name:
            st.i_attention_wv += 1
            if gqa >= 4 or n_expert >= 4:
                return "Q4_K"
            return "IQ3_S" if ftype in {"IQ2_S", "IQ2_M"} else "Q2_K"
        if n_expert == 8 and "attn_k.weight" in name:
            return "Q4_K"
        if "ffn_down" in name:
            low = st.i_ffn_down < st.n_ffn_down // 8
            st.i_ffn_down += 1
            if low:
                return "IQ3_S" if ftype in {"IQ2_S", "IQ2_M"} else "Q2_K"
            return new
        if "attn_output.weight" in name:
            if n_expert == 8:
                return "Q5_K"
            if ftype in {"IQ1_S", "IQ1_M"}:
                return "IQ2_XXS"
            if ftype in {"IQ2_S", "IQ2_M"}:
                return "IQ3_S"
        return new
    if "attn_v.weight" in name:
        i = st.i_attention_wv
        if ftype == "Q2_K":
            new = "Q4_K" if gqa >= 4 else "Q3_K"
        elif ftype == "Q2_K_S" and gqa >= 4:
            new = "Q4_K"
        elif ftype == "IQ3_XXS":
            new = "Q4_K" if gqa >= 4 else "IQ3_S"  # no imatrix assumed
        elif ftype in {"IQ3_XS", "IQ3_S"} and gqa >= 4:
            new = "Q4_K"
        elif ftype == "IQ3_M":
            new = "Q4_K"
        elif ftype == "Q3_K_M":
            new = "Q5_K" if i < 2 else "Q4_K"
        elif ftype == "Q3_K_L":
            new = "Q5_K"
        elif ftype in {"IQ4_NL", "IQ4_XS"} and gqa >= 4:
            new = "Q5_K"
        elif ftype in {"Q4_K_M", "Q5_K_M"} and _use_more_bits(i, st.n_attention_wv):
            new = "Q6_K"
        elif ftype == "Q4_K_S" and i < 4:
            new = "Q5_K"
        if is_70b and new in {"Q3_K", "Q4_K"}:
            new = "Q5_K"
        if n_expert == 8:
            new = "Q8_0"
        st.i_attention_wv += 1
        return new
    if "attn_k.weight" in name:
        if n_expert == 8:
            return "Q8_0"
        if ftype == "IQ3_XS":
            return "IQ3_XXS"
        if ftype == "IQ3_XXS":
            return "IQ2_S"
        return new
    if "attn_q.weight" in name:
        if ftype == "IQ3_XS":
            return "IQ3_XXS"
        if ftype == "IQ3_XXS":
            return "IQ2_S"
        return new
    if "ffn_down" in name:
        i_layer = t.layer if arch.moe is not None and t.layer is not None else st.i_ffn_down
        n_layer = st.n_ffn_down
        st.i_ffn_down += 1
        if ftype == "Q2_K":
            return "Q3_K"
        if ftype == "Q2_K_S":
            return "Q4_K" if i_layer < n_layer // 8 else new
        if ftype == "IQ3_XXS":
            return "Q4_K" if i_layer < n_layer // 8 else "Q3_K"  # no imatrix assumed
        if ftype == "Q3_K_M":
            return "Q5_K" if i_layer < n_layer // 16 else "Q4_K"
        if ftype == "IQ3_M":
            if i_layer < n_layer // 8 or (n_expert == 8 and _use_more_bits(i_layer, n_layer)):
                return "Q4_K"
            return new
        if ftype == "Q3_K_L":
            return "Q5_K"
        if ftype == "Q4_K_M":
            return "Q6_K" if _use_more_bits(i_layer, n_layer) else new
        if ftype in {"IQ4_NL", "IQ4_XS"} and i_layer < n_layer // 8:
            return "Q5_K"  # no imatrix assumed
        if ftype == "Q5_K_M" and _use_more_bits(i_layer, n_layer):
            return "Q6_K"
        if ftype == "Q4_K_S" and i_layer < n_layer // 8:
            return "Q5_K"
        return new
    if "attn_output.weight" in name:
        if n_expert == 8:
            if ftype in {"Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S",
                         "Q4_K_M", "IQ3_S", "IQ3_M", "IQ4_XS"}:
                return "Q5_K"
            return new
        return {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K",
                "IQ3_M": "Q4_K"}.get(ftype, new)
    if "attn_qkv.weight" in name:
        if ftype in {"Q3_K_M", "Q3_K_L", "IQ3_M"}:
            return "Q4_K"
        return {"Q4_K_M": "Q5_K", "Q5_K_M": "Q6_K"}.get(ftype, new)
    if ("ffn_gate" in name or "ffn_up" in name) and ftype == "IQ3_XS":
        n = arch.num_layers
        if t.layer is not None and n // 8 <= t.layer < 7 * n // 8:
            return "IQ3_XXS"
    return new


@lru_cache(maxsize=4096)
def tensor_types(arch: Architecture, ftype: str, block_sizes_key: tuple[tuple[str, int], ...]
                 ) -> tuple[tuple[Tensor, str], ...]:
    """Each tensor with the ggml type ``ftype`` gives it (llama.cpp, no imatrix, no overrides)."""
    block_sizes = dict(block_sizes_key)
    pure = ftype.startswith("PURE_")  # llama-quantize --pure: one type for every weight matrix
    base = ftype[5:] if pure else PRESET_BASE_TYPE[ftype]
    tensors = model_tensors(arch)
    has_output = not arch.tied_embeddings
    # llama.cpp's LLM_TYPE_70B for the Llama family is the 80-layer model.
    is_70b = arch.num_layers == 80 and arch.hf_architecture == "LlamaForCausalLM"
    st = _State(
        n_attention_wv=sum("attn_v.weight" in t.name for t in tensors),
        n_ffn_down=sum("ffn_down" in t.name for t in tensors),
    )
    out = []
    for t in tensors:
        if t.always_f32 or len(t.ne) == 1:
            out.append((t, "F32"))
            continue
        if base in _UNQUANTIZED:
            out.append((t, base))
            continue
        typ = base if pure else _type_for(t, ftype, base, arch, st, block_sizes, is_70b, has_output)
        if typ not in _UNQUANTIZED and t.ne[0] % block_sizes[typ] != 0:
            typ = _FALLBACK.get(typ, typ)
            if t.ne[0] % block_sizes[typ] != 0:
                typ = "F16"
        out.append((t, typ))
    return tuple(out)


def tensor_bytes(t: Tensor, typ: GgmlType) -> int:
    rows = t.n_elements // t.ne[0]
    return rows * (t.ne[0] // typ.block_size) * typ.type_size_bytes
