"""From what a user asked to a complete :class:`FitRequest`, with each default said out loud.

Anything the user leaves out takes the runtime's real default (from catalog/data/runtimes.yaml)
and the choice is recorded in ``assumptions`` so the answer can show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.loader import Catalog
from catalog.resolve import Device
from catalog.schemas import HardwareSpec, ModelSpec, QuantPreset, RuntimeSpec

from .fit import FitRequest

GIB = 1024**3


class PlanError(ValueError):
    """The request cannot be planned (e.g. a runtime that does not run on that hardware)."""


@dataclass(frozen=True)
class Options:
    """What the user said; ``None`` means "use the default"."""

    quant: QuantPreset | None = None
    runtime: RuntimeSpec | None = None
    backend: str | None = None
    ctx: int | None = None
    kv_type: str | None = None
    flash_attn: bool | None = None
    parallel: int | None = None
    ram_gib: float | None = None
    prompt_tokens: int | None = None
    wired_limit_gib: float | None = None


def default_backend(spec: HardwareSpec) -> str:
    order = ("cuda", "metal", "rocm", "sycl", "vulkan", "cpu")
    return next(b for b in order if b in spec.backends)


def default_runtime(catalog: Catalog, devices: tuple[Device, ...]) -> RuntimeSpec:
    return catalog.runtimes["llama.cpp"]


def default_quant(catalog: Catalog, model: ModelSpec, runtime: RuntimeSpec) -> QuantPreset:
    if "gguf" in runtime.formats:
        if model.id.startswith("gpt-oss"):
            return catalog.quants["MXFP4_MOE"]
        return catalog.quants["Q4_K_M"]
    if runtime.id == "mlx":
        return catalog.quants["MLX-4bit"]
    if "exl2" in runtime.formats and "safetensors" not in runtime.formats:
        return catalog.quants["EXL2-4.0bpw"]
    return catalog.quants["BF16-safetensors"]


def default_context(runtime: RuntimeSpec, model: ModelSpec, devices: tuple[Device, ...]) -> tuple[int, str]:
    d = runtime.defaults
    total_gib = sum(x.memory_gib * x.count for x in devices if x.spec.kind != "cpu")
    if d.context_tiers:
        ctx = d.context_tiers[0].context
        for tier in d.context_tiers:
            if total_gib >= tier.min_memory_gib:
                ctx = tier.context
        why = f"{runtime.name}'s default context for {total_gib:g} GiB of GPU memory"
    elif d.context:
        ctx, why = d.context, f"{runtime.name}'s default context"
    else:
        ctx, why = min(model.architecture.max_context, 32768), "32K (or the model's maximum) assumed"
    ctx = min(ctx, model.architecture.max_context)
    return ctx, f"context {ctx:,} tokens: {why}"


def plan(catalog: Catalog, model: ModelSpec, devices: tuple[Device, ...], opts: Options) -> FitRequest:
    assumptions: list[str] = []
    runtime = opts.runtime or default_runtime(catalog, devices)
    if opts.runtime is None:
        assumptions.append(f"runtime {runtime.name} (default)")
    primary = devices[0].spec if devices else None
    backend = opts.backend or (default_backend(primary) if primary else "cpu")
    if primary is not None and backend not in primary.backends:
        raise PlanError(f"{primary.name} does not run {backend}; it supports "
                        + ", ".join(primary.backends))
    if backend not in runtime.backends:
        raise PlanError(f"{runtime.name} has no {backend} backend; it runs on "
                        + ", ".join(runtime.backends))
    quant = opts.quant or default_quant(catalog, model, runtime)
    if opts.quant is None:
        assumptions.append(f"quantization {quant.id} (the usual download)")
    if quant.format not in runtime.formats and not (quant.format == "fp8" and "fp8" in runtime.formats):
        raise PlanError(f"{runtime.name} does not load {quant.format.upper()} ({quant.id}); it loads "
                        + ", ".join(runtime.formats))
    if opts.ctx is not None:
        ctx = opts.ctx
        if ctx > model.architecture.max_context:
            assumptions.append(f"context {ctx:,} is above the model's trained maximum "
                               f"{model.architecture.max_context:,}")
    else:
        ctx, why = default_context(runtime, model, devices)
        assumptions.append(why)
    d = runtime.defaults
    kv = opts.kv_type or (d.kv_cache_type if d.kv_cache_type in ("f16", "q8_0", "q4_0", "fp8") else "f16")
    if opts.flash_attn is None:
        fa_default = d.flash_attention or "auto"
        # llama.cpp's auto turns flash attention on where the backend supports it (all GPU backends
        # and the CPU in current builds).
        flash = fa_default != "off"
        assumptions.append(f"flash attention {'on' if flash else 'off'} ({runtime.name} default: {fa_default})")
    else:
        flash = opts.flash_attn
    parallel = opts.parallel or d.parallel or 1
    n_ubatch = d.n_ubatch or 512
    # llama-server: its automatic slots share one unified KV buffer, and it reserves logits for
    # one token per slot; other llama.cpp front-ends reserve a whole micro-batch of logits.
    server = runtime.id == "llama.cpp"
    kv_unified = server and opts.parallel is None
    n_outputs = parallel if server else None
    return FitRequest(
        model=model, devices=devices, quant=quant, runtime=runtime, backend=backend, ctx=ctx,
        kv_type=kv, flash_attn=flash, parallel=parallel, ram_gib=opts.ram_gib,
        prompt_tokens=opts.prompt_tokens or 512, n_ubatch=n_ubatch,
        wired_limit_gib=opts.wired_limit_gib,
        gpu_memory_utilization=d.gpu_memory_utilization or 0.9,
        kv_unified=kv_unified, n_outputs=n_outputs,
        assumptions=tuple(assumptions),
    )
