"""Memory, in bytes, of what a runtime allocates for a model: weights, KV cache, compute buffers.

The llama.cpp family (llama.cpp, Ollama, LM Studio, KoboldCpp) is modelled on llama.cpp's own
allocation: per-tensor weight types (gguf_quant), KV cells padded to 256, sliding-window layers
holding only ``window * n_seq + n_ubatch`` cells, MLA caching the latent, and the graph's
compute buffer (attention scores without flash attention, the logits of one micro-batch).
Other runtimes (vLLM, MLX, ExLlama) use the format's bits per weight and their own cache rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from catalog.schemas import Architecture, GgmlType, ModelSpec, QuantPreset

from .gguf_quant import tensor_bytes, tensor_types
from .keys import value_token
from .tensors import model_tensors

MIB = 1024**2
GIB = 1024**3
KV_CELL_PAD = 256  # llama.cpp pads the KV cache size to a multiple of 256 cells

# Bytes per value of a KV cache type: ggml block size / bytes per block.
KV_TYPES: dict[str, tuple[int, int]] = {
    "f32": (1, 4), "f16": (1, 2), "bf16": (1, 2), "q8_0": (32, 34), "q5_1": (32, 24),
    "q5_0": (32, 22), "q4_1": (32, 20), "q4_0": (32, 18), "iq4_nl": (32, 18),
    "fp8": (1, 1),  # vLLM's fp8 (e4m3/e5m2) cache
}


def pad(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


def kv_type_bytes(kv_type: str, n_values: int) -> int:
    block, size = KV_TYPES[kv_type]
    return n_values // block * size if n_values % block == 0 else n_values * 2


@dataclass(frozen=True)
class WeightsBreakdown:
    """Weight bytes split the way a layer split places them."""

    per_layer: tuple[int, ...]     # repeating layers, in order
    token_embd: int                # stays in host memory (the input layer is not offloaded)
    output: int                    # output head (+ final norm); for tied models a copy of embd
    vision: int = 0                # vision tower + projector (mmproj), when the model has one

    @property
    def total(self) -> int:
        """What the weights occupy on the devices plus host, as loaded."""
        return sum(self.per_layer) + self.token_embd + self.output + self.vision

    @property
    def file_bytes(self) -> int:
        """Tensor data in the GGUF file (a tied output is stored once, as token_embd)."""
        return sum(self.per_layer) + self.token_embd + self.output_file

    output_file: int = 0


def gguf_weights(arch: Architecture, ftype: str, ggml: tuple[tuple[str, GgmlType], ...]
                 ) -> WeightsBreakdown:
    """Every tensor priced at the ggml type the preset gives it (uncached; ``weights`` caches)."""
    types = dict(ggml)
    block_key = tuple(sorted((n, t.block_size) for n, t in types.items()))
    per_layer = [0] * arch.num_layers
    token_embd = output = output_file = 0
    embd_type = None
    for t, typ in tensor_types(arch, ftype, block_key):
        b = tensor_bytes(t, types[typ])
        if t.layer is not None:
            per_layer[t.layer] += b
        elif t.name == "token_embd.weight":
            token_embd = b
            embd_type = typ
        else:
            output += b
            output_file += b
    if arch.tied_embeddings and embd_type is not None:
        # llama.cpp loads the tied matrix twice: on the host as input, on the device as output.
        output += token_embd
    return WeightsBreakdown(tuple(per_layer), token_embd, output, 0, output_file)


def flat_weights(model: ModelSpec, quant: QuantPreset) -> WeightsBreakdown:
    """Non-GGUF formats: linear layers at the format's bits, embeddings and norms at 16/32 bits."""
    return _flat_weights(model.architecture, quant.format, quant.bits_per_weight, quant.unquantized_bits)


def _flat_weights(arch: Architecture, fmt: str, bits_per_weight: float | None,
                  unquantized_bits: float) -> WeightsBreakdown:
    bits = bits_per_weight or 16
    per_layer = [0] * arch.num_layers
    token_embd = output = 0
    for t in model_tensors(arch):
        if len(t.ne) == 1 or t.always_f32:
            b = t.n_elements * 2
        elif t.layer is None:
            b = int(t.n_elements * (bits if fmt == "mlx" else unquantized_bits) / 8)
        else:
            b = int(t.n_elements * bits / 8)
        if t.layer is not None:
            per_layer[t.layer] += b
        elif t.name == "token_embd.weight":
            token_embd = b
        else:
            output += b
    return WeightsBreakdown(tuple(per_layer), token_embd, output, 0, output)


# The sorted items of each ggml type table by its value token (keys.value_token).
_GGML_ITEMS: dict[int, tuple[tuple[str, GgmlType], ...]] = {}


def ggml_token(ggml: dict[str, GgmlType]) -> int:
    """A small integer naming the *value* of a ggml type table, for cache keys."""
    token = value_token(ggml)
    if token not in _GGML_ITEMS:
        _GGML_ITEMS[token] = tuple(sorted(ggml.items()))
    return token


def quant_key(quant: QuantPreset) -> tuple[str, str, float | None, float]:
    """What of a preset decides the weight bytes (the preset's id is its llama.cpp ftype)."""
    return quant.id, quant.format, quant.bits_per_weight, quant.unquantized_bits


@lru_cache(maxsize=4096)
def _weights_by_value(arch: Architecture, qkey: tuple[str, str, float | None, float],
                      table: int) -> WeightsBreakdown:
    ftype, fmt, bits, unquantized = qkey
    if fmt == "gguf":
        w = gguf_weights(arch, ftype, _GGML_ITEMS[table])
    else:
        w = _flat_weights(arch, fmt, bits, unquantized)
    if arch.vision_params_b:
        # The vision projector ships as an f16 mmproj file next to the GGUF (or inside the repo).
        vision = int(arch.vision_params_b * 1e9 * 2)
        w = WeightsBreakdown(w.per_layer, w.token_embd, w.output, vision, w.output_file)
    return w


def weights(model: ModelSpec, quant: QuantPreset, ggml: dict[str, GgmlType]) -> WeightsBreakdown:
    """Weight bytes of ``model`` at ``quant``, cached by value (architecture, preset, type table)."""
    return _weights_by_value(model.architecture, quant_key(quant), ggml_token(ggml))


# ---------------------------------------------------------------------------------------------
# KV cache
# ---------------------------------------------------------------------------------------------


def is_swa_layer(arch: Architecture, il: int) -> bool:
    sw = arch.sliding_window
    if sw is None:
        return False
    return sw.pattern == 0 or il % sw.pattern < sw.pattern - 1


def kv_dims(arch: Architecture) -> tuple[int, int]:
    """Values cached per token per layer for K and for V (llama.cpp's n_embd_k_gqa / v_gqa)."""
    if arch.mla is not None:
        # llama.cpp caches only the compressed latent (kv_lora_rank) plus the shared rope key, in
        # the K cache; V is read out of the same rows.
        return arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim, 0
    vhd = arch.value_head_dim or arch.head_dim
    return arch.num_kv_heads * arch.head_dim, arch.num_kv_heads * vhd


@dataclass(frozen=True)
class KvPlan:
    cells: int            # cells per stream of a full-attention layer
    swa_cells: int        # cells per stream of a sliding-window layer
    per_layer: tuple[int, ...]
    streams: int = 1      # llama.cpp keeps one stream per sequence unless the cache is unified

    @property
    def total(self) -> int:
        return sum(self.per_layer)

    @property
    def total_cells(self) -> int:
        return self.cells * self.streams


def llamacpp_kv_layout(arch: Architecture, n_ctx: int, k_type: str, v_type: str, n_seq: int,
                       n_ubatch: int, unified: bool = False) -> tuple[int, int, int, int, int]:
    """llama.cpp's KV cache in closed form: (cells per stream of a full-attention layer, cells per
    stream of a windowed layer, streams, bytes of one full-attention layer, bytes of one windowed
    layer). Every layer holds one of the two sizes; ``llamacpp_kv`` lists them per layer."""
    cells = pad(n_ctx, KV_CELL_PAD)
    streams = 1
    if n_seq > 1 and not unified:
        streams = n_seq
        cells = pad(cells // n_seq, KV_CELL_PAD)
    swa_cells = cells
    if arch.sliding_window is not None:
        window_seqs = n_seq if unified else 1
        swa_cells = min(cells, pad(arch.sliding_window.window * window_seqs + n_ubatch, KV_CELL_PAD))
    k_dim, v_dim = kv_dims(arch)
    full_c, swa_c = cells * streams, swa_cells * streams
    full = kv_type_bytes(k_type, k_dim * full_c) + kv_type_bytes(v_type, v_dim * full_c)
    swa = kv_type_bytes(k_type, k_dim * swa_c) + kv_type_bytes(v_type, v_dim * swa_c)
    return cells, swa_cells, streams, full, swa


@lru_cache(maxsize=8192)
def llamacpp_kv(arch: Architecture, n_ctx: int, k_type: str, v_type: str, n_seq: int,
                n_ubatch: int, unified: bool = False) -> KvPlan:
    """llama.cpp's KV cache. ``n_ctx`` (``-c``) is the total over all sequences: padded to 256,
    then split into ``n_seq`` streams of ``ceil256(n_ctx / n_seq)`` cells (one stream when
    unified). Windowed layers hold ``ceil256(window * (n_seq if unified else 1) + n_ubatch)``
    cells per stream at most. Verified byte for byte against llama.cpp (bench/accuracy)."""
    cells, swa_cells, streams, full, swa = llamacpp_kv_layout(arch, n_ctx, k_type, v_type, n_seq,
                                                              n_ubatch, unified)
    per_layer = tuple(swa if is_swa_layer(arch, il) else full for il in range(arch.num_layers))
    return KvPlan(cells, swa_cells, per_layer, streams)


def kv_bytes_per_token(arch: Architecture, kv_type: str = "f16") -> float:
    """KV bytes one more token of context adds, over the layers that keep every token."""
    k_dim, v_dim = kv_dims(arch)
    full_layers = sum(1 for il in range(arch.num_layers) if not is_swa_layer(arch, il))
    return full_layers * (kv_type_bytes(kv_type, k_dim * 32) + kv_type_bytes(kv_type, v_dim * 32)) / 32


def plain_kv(arch: Architecture, n_tokens: int, kv_type: str) -> int:
    """A cache without padding or windows trimmed to the runtime (vLLM pages, MLX arrays)."""
    k_dim, v_dim = kv_dims(arch)
    total = 0
    for il in range(arch.num_layers):
        c = n_tokens
        if is_swa_layer(arch, il) and arch.sliding_window is not None:
            c = min(n_tokens, arch.sliding_window.window)
        total += kv_type_bytes(kv_type, k_dim * c) + kv_type_bytes(kv_type, v_dim * c)
    return total


# ---------------------------------------------------------------------------------------------
# Compute and output buffers (llama.cpp)
# ---------------------------------------------------------------------------------------------


def llamacpp_compute(arch: Architecture, kv: KvPlan, n_ubatch: int, flash_attn: bool,
                     n_outputs: int | None = None) -> int:
    """The compute buffer for a KV plan (see ``llamacpp_compute_cells``)."""
    return llamacpp_compute_cells(arch, kv.cells, kv.swa_cells, n_ubatch, flash_attn, n_outputs)


def llamacpp_compute_cells(arch: Architecture, cells: int, swa_cells: int, n_ubatch: int,
                           flash_attn: bool, n_outputs: int | None = None) -> int:
    """The graph allocator's peak for one micro-batch, fitted term by term on llama.cpp's own
    reports (bench/accuracy/llamacpp_ground_truth.jsonl; see docs/ACCURACY.md).

    Three phases compete and ggml-alloc reuses memory between them (f32 activations, per token
    of the micro-batch): attention — without flash attention the n_kv x n_head score matrix plus
    2 Q + 3 hidden + 2 KV widths, and the f32 mask; the FFN — 3 x FFN width + 4 x hidden (routed
    MoE: 6 x experts-per-token x expert width), with the mask (f16 under flash attention) still
    live; and the output head — logits for ``n_outputs`` rows (llama-server reserves one per
    slot; the library default reserves the whole micro-batch) plus 2 x hidden.
    """
    f32 = 4
    ub = n_ubatch
    h = arch.hidden_size
    q_head = arch.head_dim if arch.mla is None else arch.mla.qk_nope_head_dim + arch.mla.qk_rope_head_dim
    q_width = arch.num_attention_heads * q_head
    k_width = kv_dims(arch)[0]
    has_full = arch.sliding_window is None or arch.sliding_window.pattern != 0
    has_swa = arch.sliding_window is not None
    n_kv = cells if has_full else swa_cells
    mask_cells = (cells if has_full else 0) + (swa_cells if has_swa else 0)
    mask = ub * mask_cells * (2 if flash_attn else 4)
    if flash_attn:
        attn = 0
    else:
        attn = ub * n_kv * arch.num_attention_heads * f32 + ub * (2 * q_width + 3 * h + 2 * k_width) * f32 + mask
    if arch.moe is not None:
        ffn_width = 6 * arch.moe.experts_per_token * arch.moe.expert_intermediate_size
    else:
        ffn_width = 3 * arch.intermediate_size
    ffn = ub * (ffn_width + 4 * h) * f32 + mask
    outputs = ub if n_outputs is None else min(n_outputs, ub)
    logits = outputs * arch.vocab_size * f32 + 2 * ub * h * f32
    return max(attn, ffn, logits)


def llamacpp_output(arch: Architecture, n_seq: int) -> int:
    """Host buffer for the logits of the last token of each sequence."""
    return arch.vocab_size * 4 * n_seq
