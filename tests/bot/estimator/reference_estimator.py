"""The estimator as it was before the in-process speed work (issue #8), kept as the reference
the optimized code is checked against: ``estimate`` walked every layer of every request, and the
solvers re-ran it (``max_context`` bisected the context, the menus tried every preset and every
catalog device). Copied from bot/estimator/fit.py and solvers.py at that commit; only the
imports differ. If the estimator's rules change on purpose, change them here too.
"""
# ruff: noqa

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from catalog.loader import Catalog
from catalog.resolve import Device
from catalog.schemas import Architecture, HardwareSpec, ModelSpec, QuantPreset, RuntimeSpec

from bot.estimator import memory as mem
from bot.estimator.budget import DeviceBudget, device_budgets
from bot.estimator.fit import DeviceUse, FitRequest, FitResult
from bot.estimator.plan import default_backend
from bot.estimator.speed import (
    PREFILL_EFFICIENCY,
    APPLE_TFLOPS_PER_CORE,
    CPU_GFLOPS_PER_CORE,
    PREFILL_RANGE,
    Segment,
    decode_range,
    prefill_tok_s,
)
from bot.estimator.tensors import model_tensors

GIB = 1024**3
# Verdict thresholds (ours, documented in /about and docs/ESTIMATOR.md).
HEADROOM_COMFORTABLE = 0.10   # at least 10% of each device's usable memory left free
PLEASANT_TOK_S = 10.0         # expected decode speed below this is "tradeoffs"
DEFAULT_RAM_GIB = 32.0        # system RAM assumed for offload when the user does not say

LLAMACPP_FAMILY = {"llama.cpp", "ollama", "lm-studio", "koboldcpp", "text-generation-webui"}
PAGED_FAMILY = {"vllm", "sglang", "tensorrt-llm"}


def runtime_family(runtime: RuntimeSpec, quant: QuantPreset) -> str:
    if runtime.id in PAGED_FAMILY:
        return "paged"
    if runtime.id == "mlx":
        return "mlx"
    if quant.format == "gguf" or runtime.id in LLAMACPP_FAMILY:
        return "llamacpp"
    return "generic"


def _active_fraction(model: ModelSpec) -> dict[bool, float]:
    """Share of expert weights read per token (others are read in full)."""
    moe = model.architecture.moe
    if moe is None:
        return {True: 1.0, False: 1.0}
    return {True: moe.experts_per_token / moe.num_experts, False: 1.0}


@lru_cache(maxsize=1024)
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


def _layer_active_bytes(req: FitRequest, weights: mem.WeightsBreakdown) -> list[float]:
    """Weight bytes read per token per layer (MoE: only the routed experts' share)."""
    arch = req.model.architecture
    moe = arch.moe
    if moe is None:
        return [float(b) for b in weights.per_layer]
    share = moe.experts_per_token / moe.num_experts
    return [b * (1 - f) + b * f * share for b, f in zip(weights.per_layer, _expert_fraction(arch))]


def _host_bandwidth(req: FitRequest, catalog: Catalog) -> tuple[float, str]:
    for d in req.devices:
        if d.spec.kind in ("cpu", "unified"):
            return d.spec.memory_bandwidth_gbps, "cpu" if d.spec.kind == "cpu" else req.backend
    ref = catalog.hardware.get("ddr5-5600-dual-channel")
    if ref is not None:
        return ref.memory_bandwidth_gbps, "cpu"
    return 89.6, "cpu"  # dual-channel DDR5-5600: 2 channels x 5600 MT/s x 8 bytes


def _kv_and_compute(req: FitRequest, family: str) -> tuple[mem.KvPlan, int, int, str]:
    arch = req.model.architecture
    kv_type = req.kv_type
    if family == "llamacpp":
        v_type = kv_type
        if kv_type != "f16" and not req.flash_attn:
            # llama.cpp refuses a quantized V cache without flash attention; K alone can be quantized.
            v_type = "f16"
        plan = mem.llamacpp_kv(arch, req.ctx, kv_type, v_type, req.parallel, req.n_ubatch, req.kv_unified)
        compute = mem.llamacpp_compute(arch, plan, req.n_ubatch, req.flash_attn, req.n_outputs)
        output = mem.llamacpp_output(arch, req.parallel)
        return plan, compute, output, kv_type if v_type == kv_type else f"{kv_type} K / f16 V"
    cache_type = "fp8" if kv_type in ("fp8", "q8_0") and family == "paged" else "f16"
    tokens = req.ctx * (req.parallel if family != "paged" else 1)
    total = mem.plain_kv(arch, tokens, cache_type)
    per_layer = [total // arch.num_layers] * arch.num_layers
    plan = mem.KvPlan(tokens, tokens, tuple(per_layer))
    # Activation peak of one prefill chunk (fused attention): a few hidden-size and FFN tensors.
    chunk = 2048 if family == "mlx" else 8192
    ffn = arch.moe.expert_intermediate_size * arch.moe.experts_per_token if arch.moe else arch.intermediate_size
    compute = chunk * (ffn * 2 + arch.hidden_size * 4) * 2 + chunk * arch.vocab_size * 4 // 8
    return plan, compute, 0, cache_type


def estimate(req: FitRequest, catalog: Catalog) -> FitResult:
    arch = req.model.architecture
    family = runtime_family(req.runtime, req.quant)
    w = mem.weights(req.model, req.quant, catalog.ggml_types)
    kv, compute, output_buf, kv_eff = _kv_and_compute(req, family)
    budgets = device_budgets(req.devices, req.backend, req.wired_limit_gib)
    gpus = [b for b in budgets if b.is_gpu and req.backend != "cpu"]
    assumptions = list(req.assumptions)
    reasons: list[str] = []
    n_layers = arch.num_layers
    layer_cost = [w.per_layer[i] + kv.per_layer[i] for i in range(n_layers)]

    if family == "paged" and gpus:
        return _estimate_paged(req, catalog, w, kv, compute, gpus, assumptions, kv_eff)

    placed: list[list[int]] = [[] for _ in gpus]
    full_offload = False
    if gpus:
        full_offload, placed = _place_layers(gpus, layer_cost, compute, w.output + w.vision + output_buf)
        if not full_offload:
            placed = _place_partial(gpus, layer_cost, compute)
    gpu_layer_set = {i for group in placed for i in group}
    gpu_layers = len(gpu_layer_set)

    device_uses: list[DeviceUse] = []
    for gi, (b, group) in enumerate(zip(gpus, placed)):
        last = gi == len(gpus) - 1
        wts = sum(w.per_layer[i] for i in group) + ((w.output + w.vision) if full_offload and last else 0)
        kvb = sum(kv.per_layer[i] for i in group)
        device_uses.append(DeviceUse(b.label, wts, kvb, compute, b.overhead_bytes, b.usable_bytes, len(group)))

    cpu_layers = [i for i in range(n_layers) if i not in gpu_layer_set]
    host_weights = w.token_embd + sum(w.per_layer[i] for i in cpu_layers) + (
        0 if full_offload else w.output + w.vision)
    host_kv = sum(kv.per_layer[i] for i in cpu_layers)
    host_compute = output_buf + (compute if not gpus or cpu_layers else min(compute, arch.hidden_size * req.n_ubatch * 4 * 3))
    ram_budget, ram_rule = _ram_budget(req, budgets)
    host = DeviceUse("system RAM", host_weights, host_kv, host_compute, 0, ram_budget, len(cpu_layers))
    if req.ram_gib is None and gpus and cpu_layers and not _unified(req):
        assumptions.append(f"system RAM assumed {DEFAULT_RAM_GIB:g} GiB (say --ram to change)")
    assumptions.append(ram_rule)
    for b in budgets:
        assumptions.append(b.rule)

    # Verdict
    if not gpus:
        fits_ram = host.total <= host.usable
        tier = "tradeoffs" if fits_ram else "no"
        reasons.append("runs on the CPU from system RAM" if fits_ram else
                       f"needs {host.total / GIB:.1f} GiB of RAM, {host.usable / GIB:.1f} GiB usable")
    elif full_offload:
        low = min(d.headroom for d in device_uses)
        tier = "comfortable" if low >= HEADROOM_COMFORTABLE else "tradeoffs"
        if tier == "tradeoffs":
            reasons.append(f"fits on the GPU with only {low * 100:.0f}% headroom")
    else:
        fits_ram = host.total <= host.usable
        tier = "tradeoffs" if fits_ram and gpu_layers > 0 else "tradeoffs" if fits_ram else "no"
        if fits_ram:
            reasons.append(f"{gpu_layers} of {n_layers} layers on the GPU, the rest on the CPU (slow)")
        else:
            reasons.append(
                f"does not fit: {n_layers - gpu_layers} layers left for system RAM need "
                f"{host.total / GIB:.1f} GiB, {host.usable / GIB:.1f} GiB usable")

    # Speed
    active = _layer_active_bytes(req, w)
    kv_tok = [kv.per_layer[i] / kv.total_cells if kv.cells else 0.0 for i in range(n_layers)]
    if arch.sliding_window is not None:
        kv_tok = [0.0 if mem.is_swa_layer(arch, i) else kv_tok[i] for i in range(n_layers)]
    segments: list[Segment] = []
    for b, group in zip(gpus, placed):
        if group:
            segments.append(Segment(sum(active[i] for i in group), sum(kv_tok[i] for i in group),
                                    b.bandwidth_gbps, req.backend))
    out_bytes = w.output
    host_bw, host_backend = _host_bandwidth(req, catalog)
    cpu_active = sum(active[i] for i in cpu_layers) + (0 if full_offload else out_bytes)
    if segments and full_offload:
        s = segments[-1]
        segments[-1] = Segment(s.weight_bytes + out_bytes, s.kv_bytes_per_token, s.bandwidth_gbps, s.backend)
    if cpu_active or not segments:
        segments.append(Segment(cpu_active or sum(active) + out_bytes, sum(kv_tok[i] for i in cpu_layers) if segments else sum(kv_tok),
                                host_bw, host_backend if segments else ("cpu" if not gpus else req.backend)))
    decode = decode_full = None
    if tier != "no":
        decode = decode_range(segments, min(req.prompt_tokens, req.ctx))
        decode_full = decode_range(segments, req.ctx)
        if decode[1] < PLEASANT_TOK_S and tier == "comfortable":
            tier = "tradeoffs"
            reasons.append(f"expected {decode[1]:.1f} tok/s is below {PLEASANT_TOK_S:g} tok/s")
    prefill, ttft = _prefill(req, gpus, full_offload, tier)
    if tier == "comfortable":
        reasons.append("everything on the GPU with room to spare")

    total_overhead = sum(d.overhead for d in device_uses)
    return FitResult(
        request=req, weights=w.total, kv_cache=kv.total, compute=sum(d.compute for d in device_uses) + host.compute,
        overhead=total_overhead, devices=tuple(device_uses), host=host,
        budget=sum(b.usable_bytes for b in gpus) if gpus else ram_budget,
        fit=tier, gpu_layers=gpu_layers + (1 if full_offload else 0), total_layers=n_layers + 1,
        decode_tok_s=decode, decode_tok_s_full=decode_full, prefill_tok_s=prefill, ttft_s=ttft,
        reasons=tuple(reasons), assumptions=tuple(dict.fromkeys(assumptions)), kv_cells=kv.total_cells,
        kv_type_effective=kv_eff, extras={"file_bytes": w.file_bytes, "output_buffer": output_buf},
    )


def _unified(req: FitRequest) -> bool:
    return any(d.spec.kind == "unified" for d in req.devices)


def _ram_budget(req: FitRequest, budgets: list[DeviceBudget]) -> tuple[int, str]:
    from bot.estimator.budget import OS_RESERVE_GIB

    if req.ram_gib is not None:
        return int((req.ram_gib - OS_RESERVE_GIB) * GIB), (
            f"system RAM {req.ram_gib:g} GiB less {OS_RESERVE_GIB:g} GiB for the OS")
    for d in req.devices:
        if d.spec.kind in ("cpu", "unified"):
            # Unified memory: what the GPU does not take is left for CPU layers.
            gpu_share = sum(b.usable_bytes for b in budgets if b.is_gpu) if d.spec.kind == "unified" else 0
            left = int((d.memory_gib - OS_RESERVE_GIB) * GIB) - gpu_share
            return max(left, 0), f"{d.spec.name}: {d.memory_gib:g} GiB shared by CPU and GPU"
    return int((DEFAULT_RAM_GIB - OS_RESERVE_GIB) * GIB), (
        f"system RAM {DEFAULT_RAM_GIB:g} GiB assumed, less {OS_RESERVE_GIB:g} GiB for the OS")


def _place_layers(gpus: list[DeviceBudget], layer_cost: list[int], compute: int,
                  last_extra: int) -> tuple[bool, list[list[int]]]:
    """Split the layers over the GPUs in proportion to their free memory, as llama.cpp's
    default tensor split does; the output layer goes on the last GPU. Fits if every part fits."""
    free = [max(b.usable_bytes - b.overhead_bytes - compute, 0) for b in gpus]
    free[-1] -= last_extra
    total_free = sum(max(f, 0) for f in free)
    n = len(layer_cost)
    placed: list[list[int]] = [[] for _ in gpus]
    if total_free <= 0:
        return False, placed
    # Layer counts proportional to free memory (cumulative rounding, like llama.cpp's split).
    bounds, acc = [], 0.0
    for f in free:
        acc += max(f, 0) / total_free
        bounds.append(round(acc * n))
    start = 0
    for gi, end in enumerate(bounds):
        placed[gi] = list(range(start, end))
        start = end
    ok = all(sum(layer_cost[i] for i in grp) <= free[gi] for gi, grp in enumerate(placed))
    if not ok:
        # A greedy fill can still fit when per-layer costs are uneven (SWA, dense-first MoE).
        placed = [[] for _ in gpus]
        gi, used = 0, 0
        for i in range(n):
            while gi < len(gpus) and used + layer_cost[i] > free[gi]:
                gi, used = gi + 1, 0
            if gi == len(gpus):
                return False, placed
            placed[gi].append(i)
            used += layer_cost[i]
        ok = True
    return ok, placed


def _place_partial(gpus: list[DeviceBudget], layer_cost: list[int], compute: int) -> list[list[int]]:
    """Partial offload: llama.cpp puts the last -ngl layers on the GPUs, the output on the CPU."""
    placed: list[list[int]] = [[] for _ in gpus]
    free = [max(b.usable_bytes - b.overhead_bytes - compute, 0) for b in gpus]
    gi, used = len(gpus) - 1, 0
    for i in reversed(range(len(layer_cost))):
        while gi >= 0 and used + layer_cost[i] > free[gi]:
            gi, used = gi - 1, 0
        if gi < 0:
            break
        placed[gi].insert(0, i)
        used += layer_cost[i]
    return placed


def matmul_tflops(spec: HardwareSpec) -> float:
    """Peak matrix throughput for the prompt's matmuls, from the dense FP16 tensor figure.

    The catalog's figure is FP16 inputs with FP32 accumulation, which GeForce parts run at half
    rate; llama.cpp's CUDA prompt path uses INT8 (MMQ) or FP16-accumulate tensor ops, which they
    run at full rate. So GeForce gets 2x its catalog figure relative to workstation and
    datacenter parts (whitepapers). Fitted efficiency absorbs the rest (docs/ACCURACY.md).
    """
    tflops = spec.fp16_tensor_tflops or 0.0
    if spec.vendor == "nvidia" and spec.segment in ("consumer", "laptop"):
        return tflops * 2
    return tflops


def _prefill(req: FitRequest, gpus: list[DeviceBudget], full_offload: bool, tier: str
             ) -> tuple[tuple[float, float, float] | None, float | None]:
    if tier == "no":
        return None, None
    arch = req.model.architecture
    tflops = None
    if gpus:
        spec = req.devices[0].spec
        if spec.fp16_tensor_tflops:
            tflops = matmul_tflops(spec) * PREFILL_EFFICIENCY.get(req.backend, 0.2)
        elif spec.vendor == "apple" and spec.gpu_cores:
            tflops = spec.gpu_cores * APPLE_TFLOPS_PER_CORE * PREFILL_EFFICIENCY["metal"]
        if tflops and not full_offload:
            tflops *= 0.5  # CPU layers and PCIe transfers slow prompt processing
    else:
        spec = req.devices[0].spec if req.devices else None
        if spec is not None and spec.gpu_cores:
            tflops = spec.gpu_cores * CPU_GFLOPS_PER_CORE / 1000
    full_layers = sum(1 for i in range(arch.num_layers) if not mem.is_swa_layer(arch, i))
    hd = arch.head_dim if arch.mla is None else arch.mla.qk_nope_head_dim + arch.mla.qk_rope_head_dim
    prompt = max(1, min(req.prompt_tokens, req.ctx))
    expected = prefill_tok_s(tflops, req.model.active_params_b * 1e9, full_layers,
                             arch.num_attention_heads, hd, prompt)
    if expected is None:
        return None, None
    rng = (expected * PREFILL_RANGE[0], expected, expected * PREFILL_RANGE[1])
    return rng, prompt / expected


def _estimate_paged(req: FitRequest, catalog: Catalog, w: mem.WeightsBreakdown, kv: mem.KvPlan,
                    compute: int, gpus: list[DeviceBudget], assumptions: list[str], kv_eff: str
                    ) -> FitResult:
    """vLLM / SGLang: tensor parallel over all GPUs; a share of VRAM is claimed up front."""
    arch = req.model.architecture
    tp = len(gpus)
    util = req.gpu_memory_utilization
    weights_total = w.total
    per_gpu_weights = weights_total // tp
    per_gpu_kv = kv.total // tp
    per_gpu_compute = compute // tp + int(0.5 * GIB)  # + CUDA graphs and sampler buffers
    uses = []
    for b in gpus:
        claim = int(b.total_bytes * util)
        uses.append(DeviceUse(b.label, per_gpu_weights, per_gpu_kv, per_gpu_compute, b.overhead_bytes,
                              claim, arch.num_layers))
    low = min(d.headroom for d in uses)
    reasons = []
    if arch.num_attention_heads % tp or arch.num_kv_heads % tp and tp > arch.num_kv_heads and tp % arch.num_kv_heads:
        tier = "no"
        reasons.append(f"{arch.num_attention_heads} attention heads do not split over {tp} GPUs")
    elif low < 0:
        tier = "no"
        reasons.append("weights, activations and the KV cache for the context exceed "
                       f"gpu_memory_utilization {util:g} of the VRAM")
    else:
        tier = "comfortable" if low >= HEADROOM_COMFORTABLE else "tradeoffs"
        reasons.append("vLLM fills the rest of its share with KV cache for more parallel requests")
    active = _layer_active_bytes(req, w)
    kv_tok = kv.total / kv.cells / tp if kv.cells else 0.0
    seg = [Segment(sum(active) / tp + w.output / tp, kv_tok, gpus[0].bandwidth_gbps, req.backend)]
    decode = decode_range(seg, min(req.prompt_tokens, req.ctx)) if tier != "no" else None
    decode_full = decode_range(seg, req.ctx) if tier != "no" else None
    prefill, ttft = _prefill(req, gpus, True, tier)
    assumptions.append(f"vLLM claims gpu_memory_utilization {util:g} of each GPU's memory at start")
    assumptions.append(f"tensor parallel size {tp}")
    return FitResult(
        request=req, weights=weights_total, kv_cache=kv.total, compute=per_gpu_compute * tp,
        overhead=sum(d.overhead for d in uses), devices=tuple(uses), host=None,
        budget=sum(d.usable for d in uses), fit=tier, gpu_layers=arch.num_layers + 1,
        total_layers=arch.num_layers + 1, decode_tok_s=decode, decode_tok_s_full=decode_full,
        prefill_tok_s=prefill, ttft_s=ttft, reasons=tuple(reasons),
        assumptions=tuple(dict.fromkeys(assumptions)), kv_cells=kv.cells, kv_type_effective=kv_eff,
        extras={"file_bytes": w.file_bytes},
    )


# ---------------------------------------------------------------------------------------------
# The solvers and menus, by re-running the estimate (solvers.py and willitrun.py before #8)
# ---------------------------------------------------------------------------------------------

GGUF_LADDER = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "IQ3_M", "Q2_K", "IQ2_M", "IQ1_M")
OTHER_LADDER = {
    "mlx": ("MLX-8bit", "MLX-6bit", "MLX-4bit"),
    "paged": ("BF16-safetensors", "FP8", "AWQ-int4"),
}
_CTX_STEP = 256


def _fully_on_gpu(res: FitResult) -> bool:
    return res.fit != "no" and res.gpu_layers == res.total_layers


def max_context(req: FitRequest, catalog: Catalog, comfortable: bool = False) -> int | None:
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


def ladder_of(req: FitRequest) -> tuple[str, ...]:
    if req.quant.format == "gguf":
        return GGUF_LADDER
    if req.quant.format == "mlx":
        return OTHER_LADDER["mlx"]
    return OTHER_LADDER["paged"]


def best_quant(req: FitRequest, catalog: Catalog) -> str | None:
    for qid in ladder_of(req):
        q = catalog.quants.get(qid)
        if q is None or (q.format not in req.runtime.formats and q.format != "fp8"):
            continue
        if estimate(replace(req, quant=q), catalog).fit == "comfortable":
            return qid
    return None


def quant_choices(req: FitRequest, catalog: Catalog) -> list[tuple[str, str, int, tuple | None]]:
    """The quant menu's presets: (id, verdict, total bytes, decode range) of each that runs."""
    out = []
    for qid in ladder_of(req):
        q = catalog.quants.get(qid)
        if q is None or qid == req.quant.id or q.format not in req.runtime.formats:
            continue
        res = estimate(replace(req, quant=q), catalog)
        if res.fit != "no":
            out.append((qid, res.fit, res.total, res.decode_tok_s))
    return out


def comfortable_hardware(req: FitRequest, catalog: Catalog) -> list[tuple[str, float, tuple | None]]:
    """The hardware menu's scan: per catalog GPU/Mac, its smallest size that runs comfortably."""
    found = []
    for spec in catalog.hardware.values():
        backend = default_backend(spec)
        if spec.kind == "cpu" or backend not in req.runtime.backends:
            continue
        for mem_gib in spec.memory_gib:
            res = estimate(replace(req, devices=(Device(spec, 1, mem_gib),), backend=backend), catalog)
            if res.fit == "comfortable":
                found.append((spec.id, mem_gib, res.decode_tok_s))
                break
    return found
