"""Decode and prefill speed from bytes moved and FLOPs done, calibrated per backend.

Decode is memory-bound: every active weight byte and the KV cache read at the current depth
cross the memory bus once per token. Per backend, two physical parameters are fitted on the
public measurements in shared/calibration (see bench/accuracy/calibrate_speed.py): the
fraction of peak bandwidth achieved and a fixed per-token cost (kernel launches, sampling).
Prefill is compute-bound: 2 FLOPs per active parameter per token plus attention, over the
device's dense FP16 tensor throughput times a fitted efficiency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

# Fitted by bench/accuracy/calibrate_speed.py on shared/calibration/throughput.csv.
# Fit of 2026-11-28 (docs/ACCURACY.md): decode median error 8.8%, p90 29.7% (94 rows); prefill median 12.8%, p90 33.0% (68 rows); fitted: cuda, metal, rocm (1 row, eff only), prefill cuda, APPLE_TFLOPS_PER_CORE (metal eff held at 0.5), ranges (p10/p90 of measured/expected); the rest are unfitted priors (no rows).
# bandwidth_eff: achieved / peak memory bandwidth; fixed_ms: per-token cost independent of size.
DECODE_CALIBRATION: dict[str, tuple[float, float]] = {
    "cuda": (0.835, 2.85),
    "rocm": (0.755, 2.85),
    "vulkan": (0.60, 2.0),
    "sycl": (0.50, 3.0),
    "metal": (0.695, 6.7),
    "cpu": (0.60, 2.0),
}
# Achieved fraction of dense FP16 tensor throughput during prefill.
PREFILL_EFFICIENCY: dict[str, float] = {
    "cuda": 0.255, "rocm": 0.25, "vulkan": 0.20, "sycl": 0.20, "metal": 0.5, "cpu": 0.50,
}
# Apple publishes no tensor throughput: FP16 TFLOPS per GPU core, fitted on Metal rows.
APPLE_TFLOPS_PER_CORE = 0.445
# CPU prefill: sustained GFLOPS per core with llama.cpp's SIMD kernels, fitted on CPU rows.
CPU_GFLOPS_PER_CORE = 60.0

# Spread of the calibration residuals: expected speed x (low, high).
DECODE_RANGE = (0.77, 1.13)
PREFILL_RANGE = (0.76, 1.57)


class Segment(NamedTuple):
    """A share of the per-token work on one device (a plain tuple in that order works too)."""

    weight_bytes: float       # active weight bytes read per token
    kv_bytes_per_token: float  # KV bytes read per token of context held on this device
    bandwidth_gbps: float
    backend: str


def decode_seconds(segments: Sequence[tuple[float, float, float, str]], depth: int) -> float:
    """Seconds per generated token at a context depth: devices run one after another."""
    total = 0.0
    fixed = 0.0
    for weight_bytes, kv_bytes_per_token, bandwidth_gbps, backend in segments:
        eff, fixed_ms = DECODE_CALIBRATION.get(backend, DECODE_CALIBRATION["cpu"])
        moved = weight_bytes + kv_bytes_per_token * depth
        total += moved / (bandwidth_gbps * 1e9 * eff)
        if fixed_ms / 1000 > fixed:  # noqa: PLR1730 (max() without a builtin call per segment)
            fixed = fixed_ms / 1000
    return total + fixed


def decode_range(segments: Sequence[tuple[float, float, float, str]], depth: int) -> tuple[float, float, float]:
    expected = 1.0 / decode_seconds(segments, depth)
    return expected * DECODE_RANGE[0], expected, expected * DECODE_RANGE[1]


def decode_range_one(weight_bytes: float, kv_bytes_per_token: float, bandwidth_gbps: float,
                     backend: str, depth: int) -> tuple[float, float, float]:
    """``decode_range`` of a single segment, without building it (the same arithmetic, in the
    same order: 0.0 + t is t, and max(0.0, f) is f for the non-negative fixed costs)."""
    eff, fixed_ms = DECODE_CALIBRATION.get(backend, DECODE_CALIBRATION["cpu"])
    moved = weight_bytes + kv_bytes_per_token * depth
    expected = 1.0 / (0.0 + moved / (bandwidth_gbps * 1e9 * eff) + max(0.0, fixed_ms / 1000))
    return expected * DECODE_RANGE[0], expected, expected * DECODE_RANGE[1]


def prefill_flops(active_params: float, n_layers_full: int, n_heads: int, head_dim: int,
                  prompt_tokens: int) -> float:
    """FLOPs to process a prompt: matmuls plus attention over the growing context."""
    dense = 2.0 * active_params * prompt_tokens
    attention = 2.0 * n_layers_full * n_heads * head_dim * prompt_tokens * prompt_tokens
    return dense + attention


def prefill_tok_s(effective_tflops: float | None, active_params: float, n_layers_full: int,
                  n_heads: int, head_dim: int, prompt_tokens: int) -> float | None:
    if not effective_tflops:
        return None
    flops = prefill_flops(active_params, n_layers_full, n_heads, head_dim, prompt_tokens)
    return prompt_tokens / (flops / (effective_tflops * 1e12))
