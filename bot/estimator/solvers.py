"""Questions answered by re-running the estimate: largest context, best quant, smallest hardware."""

from __future__ import annotations

from dataclasses import replace

from catalog.loader import Catalog
from catalog.resolve import Device

from .fit import FitRequest, FitResult, estimate

# GGUF presets from most to fewest bits: the first that fits comfortably is the best.
GGUF_LADDER = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "IQ3_M", "Q2_K", "IQ2_M", "IQ1_M")
OTHER_LADDER = {
    "mlx": ("MLX-8bit", "MLX-6bit", "MLX-4bit"),
    "paged": ("BF16-safetensors", "FP8", "AWQ-int4"),
}
_CTX_STEP = 256


def _fully_on_gpu(res: FitResult) -> bool:
    return res.fit != "no" and res.gpu_layers == res.total_layers


def max_context(req: FitRequest, catalog: Catalog, comfortable: bool = False) -> int | None:
    """The largest context (multiple of 256, up to the model's maximum) that stays fully on
    the GPU(s) (with ``comfortable``: with the comfortable headroom) at the request's quant and
    cache type; None if even 2,048 does not."""
    hi = req.model.architecture.max_context
    lo = 2048

    def ok(ctx: int) -> bool:
        res = estimate(replace(req, ctx=ctx), catalog)
        return res.fit == "comfortable" if comfortable else _fully_on_gpu(res)

    if not ok(lo):
        return None
    if ok(hi):
        return hi
    lo_s, hi_s = lo // _CTX_STEP, hi // _CTX_STEP
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if ok(mid * _CTX_STEP):
            lo_s = mid
        else:
            hi_s = mid
    return lo_s * _CTX_STEP


def best_quant(req: FitRequest, catalog: Catalog) -> str | None:
    """The highest-precision preset the runtime loads that runs comfortably at this context."""
    if req.quant.format == "gguf":
        ladder = GGUF_LADDER
    elif req.quant.format == "mlx":
        ladder = OTHER_LADDER["mlx"]
    else:
        ladder = OTHER_LADDER["paged"]
    for qid in ladder:
        q = catalog.quants.get(qid)
        if q is None or (q.format not in req.runtime.formats and q.format != "fp8"):
            continue
        if estimate(replace(req, quant=q), catalog).fit == "comfortable":
            return qid
    return None


def smallest_hardware(req: FitRequest, catalog: Catalog, limit: int = 3) -> list[str]:
    """Catalog hardware (one device, largest memory option) that runs the request comfortably,
    smallest memory first; GPUs before unified memory, CPU systems left out."""
    from .plan import default_backend

    found: list[tuple[float, str]] = []
    for spec in catalog.hardware.values():
        if spec.kind == "cpu":
            continue
        backend = default_backend(spec)
        if backend not in req.runtime.backends:
            continue
        for mem_gib in spec.memory_gib:
            trial = replace(req, devices=(Device(spec, 1, mem_gib),), backend=backend)
            if estimate(trial, catalog).fit == "comfortable":
                found.append((mem_gib, f"{spec.name}" + (f" {mem_gib:g}GB" if len(spec.memory_gib) > 1 else "")))
                break
    found.sort()
    return [name for _, name in found[:limit]]
