"""What the estimate needs of a model, computed once and kept by value.

An estimate prices every tensor (weights), every layer's KV cache and the compute buffer, then
places layers on devices. The first two depend only on the architecture, the preset and the
cache settings, never on the hardware, so they are computed once per (architecture, preset) and
per (architecture, cache settings, context) and kept as prefix sums: the bytes of any run of
layers is then a subtraction, and a placement over N GPUs costs O(N) instead of O(layers).

Caches are keyed by value (the frozen ``Architecture`` itself, a preset's weight-deciding fields,
the ggml type table's token), never by ``id()``; they hold memory figures only, so calibration
constants (speed.py) can change between calls.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import accumulate
from typing import Any

from catalog.schemas import Architecture, GgmlType, QuantPreset

from . import memory as mem
from .tensors import model_tensors

_MEMO_LIMIT = 512  # entries per architecture for presets and for cache settings x context


class QuantCost:
    """Weights of one architecture at one preset, with prefix sums over the layers."""

    __slots__ = ("_active_runs", "active", "active_total", "prefix", "w", "w_total")

    def __init__(self, w: mem.WeightsBreakdown, active: tuple[float, ...]) -> None:
        self.w = w
        self.w_total = w.total                            # (a property that sums every layer)
        self.prefix = (0, *accumulate(w.per_layer))     # prefix[j] = bytes of layers [0, j)
        self.active = active                              # weight bytes read per token, per layer
        self.active_total = sum(active)
        self._active_runs: dict[tuple[int, int], float] = {}

    def active_sum(self, start: int, end: int) -> float:
        """``sum(active[i] for i in range(start, end))``, summed in that order (floats)."""
        key = (start, end)
        got = self._active_runs.get(key)
        if got is None:
            if len(self._active_runs) > _MEMO_LIMIT:
                self._active_runs.clear()
            got = self._active_runs[key] = sum(self.active[start:end])
        return got


class KvCost:
    """The KV cache and compute buffer of one architecture at one context and cache setting.

    Every layer holds one of two sizes: ``per_full`` (full attention) or ``per_swa`` (sliding
    window); runtimes without per-layer windows spread their total evenly (both equal)."""

    __slots__ = (
        "_tok_runs",
        "cells",
        "compute",
        "kv_eff",
        "output_buf",
        "per_full",
        "per_swa",
        "streams",
        "swa_cells",
        "tok",
        "total",
    )

    def __init__(self, cells: int, swa_cells: int, streams: int, per_full: int, per_swa: int,
                 n_full: int, n_layers: int, compute: int, output_buf: int, kv_eff: str) -> None:
        self.cells, self.swa_cells, self.streams = cells, swa_cells, streams
        self.per_full, self.per_swa = per_full, per_swa
        self.total = per_full * n_full + per_swa * (n_layers - n_full)
        self.compute, self.output_buf, self.kv_eff = compute, output_buf, kv_eff
        total_cells = cells * streams
        # KV bytes read per token of context on a full-attention layer (windowed layers: none).
        self.tok = per_full / total_cells if cells else 0.0
        self._tok_runs: dict[int, float] = {}

    def tok_run(self, count: int) -> float:
        """``tok`` added up ``count`` times, as ``sum`` adds a per-layer list (cached per count)."""
        got = self._tok_runs.get(count)
        if got is None:
            got = self._tok_runs[count] = sum([self.tok] * count)
        return got

    @property
    def total_cells(self) -> int:
        return self.cells * self.streams


class ArchCost:
    """Per-architecture tables: which layers are full attention, expert shares, and memos of the
    weights per preset and of the KV cache per (cache settings, context)."""

    __slots__ = ("_kv", "_quants", "arch", "expert_fraction", "full_prefix", "n", "n_full")

    def __init__(self, arch: Architecture) -> None:
        self.arch = arch
        self.n = arch.num_layers
        full = [0 if mem.is_swa_layer(arch, i) else 1 for i in range(self.n)]
        self.full_prefix = (0, *accumulate(full))          # full-attention layers in [0, j)
        self.n_full = self.full_prefix[-1]
        self.expert_fraction = _expert_fraction(arch)
        self._quants: dict[tuple[Any, ...], QuantCost] = {}
        self._kv: dict[tuple[Any, ...], KvCost] = {}

    # -- weights -----------------------------------------------------------------------------

    def quant(self, quant: QuantPreset, ggml: dict[str, GgmlType]) -> QuantCost:
        return self.quant_by_key(mem.quant_key(quant), mem.ggml_token(ggml))

    def quant_by_key(self, qkey: tuple[str, str, float | None, float], ggml_token: int) -> QuantCost:
        key = (qkey, ggml_token)
        got = self._quants.get(key)
        if got is None:
            if len(self._quants) > _MEMO_LIMIT:
                self._quants.clear()
            w = mem._weights_by_value(self.arch, qkey, ggml_token)
            got = self._quants[key] = QuantCost(w, self._active(w))
        return got

    def _active(self, w: mem.WeightsBreakdown) -> tuple[float, ...]:
        """Weight bytes read per token per layer (MoE: only the routed experts' share)."""
        moe = self.arch.moe
        if moe is None:
            return tuple(float(b) for b in w.per_layer)
        share = moe.experts_per_token / moe.num_experts
        return tuple(b * (1 - f) + b * f * share for b, f in zip(w.per_layer, self.expert_fraction))

    # -- KV cache and compute buffer ---------------------------------------------------------

    def kv(self, family: str, ctx: int, kv_type: str, flash_attn: bool, parallel: int, n_ubatch: int,
           kv_unified: bool, n_outputs: int | None) -> KvCost:
        key = (family, ctx, kv_type, flash_attn, parallel, n_ubatch, kv_unified, n_outputs)
        got = self._kv.get(key)
        if got is None:
            if len(self._kv) > _MEMO_LIMIT:
                self._kv.clear()
            got = self._kv[key] = self._kv_cost(*key)
        return got

    def _kv_cost(self, family: str, ctx: int, kv_type: str, flash_attn: bool, parallel: int,
                 n_ubatch: int, kv_unified: bool, n_outputs: int | None) -> KvCost:
        arch = self.arch
        if family == "llamacpp":
            v_type = kv_type
            if kv_type != "f16" and not flash_attn:
                # llama.cpp refuses a quantized V cache without flash attention; K alone can be quantized.
                v_type = "f16"
            cells, swa_cells, streams, full, swa = mem.llamacpp_kv_layout(
                arch, ctx, kv_type, v_type, parallel, n_ubatch, kv_unified)
            compute = mem.llamacpp_compute_cells(arch, cells, swa_cells, n_ubatch, flash_attn, n_outputs)
            output = mem.llamacpp_output(arch, parallel)
            eff = kv_type if v_type == kv_type else f"{kv_type} K / f16 V"
            return KvCost(cells, swa_cells, streams, full, swa, self.n_full, self.n, compute, output, eff)
        cache_type = "fp8" if kv_type in ("fp8", "q8_0") and family == "paged" else "f16"
        tokens = ctx * (parallel if family != "paged" else 1)
        each = mem.plain_kv(arch, tokens, cache_type) // arch.num_layers  # spread evenly over layers
        # Activation peak of one prefill chunk (fused attention): a few hidden-size and FFN tensors.
        chunk = 2048 if family == "mlx" else 8192
        ffn = arch.moe.expert_intermediate_size * arch.moe.experts_per_token if arch.moe else arch.intermediate_size
        compute = chunk * (ffn * 2 + arch.hidden_size * 4) * 2 + chunk * arch.vocab_size * 4 // 8
        return KvCost(tokens, tokens, 1, each, each, self.n_full, self.n, compute, 0, cache_type)

    # -- runs of layers ----------------------------------------------------------------------

    def kv_sum(self, kv: KvCost, start: int, end: int) -> int:
        nf = self.full_prefix[end] - self.full_prefix[start]
        return nf * kv.per_full + (end - start - nf) * kv.per_swa

    def kv_tok_sum(self, kv: KvCost, start: int, end: int) -> float:
        """KV bytes read per token of context by layers [start, end), summed layer by layer as
        the per-layer list would be (windowed layers read a bounded window: counted as 0)."""
        nf = self.full_prefix[end] - self.full_prefix[start]
        return kv.tok_run(nf) if nf else (0.0 if end > start else 0)

    def cost_prefix(self, qc: QuantCost, kv: KvCost, j: int) -> int:
        """Weights + KV of layers [0, j)."""
        nf = self.full_prefix[j]
        return qc.prefix[j] + nf * kv.per_full + (j - nf) * kv.per_swa


@lru_cache(maxsize=256)
def arch_cost(arch: Architecture) -> ArchCost:
    return ArchCost(arch)


def _expert_fraction(arch: Architecture) -> tuple[float, ...]:
    """Per layer, the share of parameters that sit in routed experts (0 for dense layers)."""
    expert = [0] * arch.num_layers
    total = [0] * arch.num_layers
    for t in model_tensors(arch):
        if t.layer is None:
            continue
        total[t.layer] += t.n_elements
        if t.is_expert:
            expert[t.layer] += t.n_elements
    return tuple(e / n if n else 0.0 for e, n in zip(expert, total))
