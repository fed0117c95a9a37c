"""The fit estimate: memory per device against its budget, GPU layers, speed and a verdict.

``estimate`` is pure and deterministic: a :class:`FitRequest` in, a :class:`FitResult` out.
``plan`` (in plan.py) turns what a user typed into a request with the runtime's defaults.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.loader import Catalog
from catalog.resolve import Device
from catalog.schemas import HardwareSpec, ModelSpec, QuantPreset, RuntimeSpec

from .budget import DeviceBudget, device_budgets
from .cost import ArchCost, KvCost, QuantCost, arch_cost
from .keys import value_token
from .memory import ggml_token, quant_key
from .speed import (
    APPLE_TFLOPS_PER_CORE,
    CPU_GFLOPS_PER_CORE,
    PREFILL_EFFICIENCY,
    PREFILL_RANGE,
    decode_range,
    decode_range_one,
    prefill_tok_s,
)

GIB = 1024**3
# Verdict thresholds (ours, documented in /about and docs/ESTIMATOR.md).
HEADROOM_COMFORTABLE = 0.10   # at least 10% of each device's usable memory left free
PLEASANT_TOK_S = 10.0         # expected decode speed below this is "tradeoffs"
DEFAULT_RAM_GIB = 32.0        # system RAM assumed for offload when the user does not say

LLAMACPP_FAMILY = {"llama.cpp", "ollama", "lm-studio", "koboldcpp", "text-generation-webui"}
PAGED_FAMILY = {"vllm", "sglang", "tensorrt-llm"}


@dataclass(frozen=True)
class FitRequest:
    model: ModelSpec
    devices: tuple[Device, ...]
    quant: QuantPreset
    runtime: RuntimeSpec
    backend: str
    ctx: int
    kv_type: str = "f16"
    flash_attn: bool = True
    parallel: int = 1
    ram_gib: float | None = None
    prompt_tokens: int = 512
    n_ubatch: int = 512
    wired_limit_gib: float | None = None
    gpu_memory_utilization: float = 0.9
    kv_unified: bool = False
    n_outputs: int | None = None     # logits rows the runtime reserves (None: a whole micro-batch)
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceUse:
    label: str
    weights: int
    kv_cache: int
    compute: int
    overhead: int
    usable: int
    layers: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.overhead

    @property
    def headroom(self) -> float:
        return (self.usable - self.total) / self.usable if self.usable > 0 else -1.0


@dataclass(frozen=True)
class FitResult:
    request: FitRequest
    weights: int
    kv_cache: int
    compute: int
    overhead: int
    devices: tuple[DeviceUse, ...]
    host: DeviceUse | None
    budget: int
    fit: str
    gpu_layers: int
    total_layers: int
    decode_tok_s: tuple[float, float, float] | None
    decode_tok_s_full: tuple[float, float, float] | None
    prefill_tok_s: tuple[float, float, float] | None
    ttft_s: float | None
    reasons: tuple[str, ...]
    assumptions: tuple[str, ...]
    kv_cells: int
    kv_type_effective: str
    extras: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.overhead

    @property
    def fits(self) -> bool:
        return self.fit != "no"


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


def _host_bandwidth(req: FitRequest, catalog: Catalog) -> tuple[float, str]:
    for d in req.devices:
        if d.spec.kind in ("cpu", "unified"):
            return d.spec.memory_bandwidth_gbps, "cpu" if d.spec.kind == "cpu" else req.backend
    ref = catalog.hardware.get("ddr5-5600-dual-channel")
    if ref is not None:
        return ref.memory_bandwidth_gbps, "cpu"
    return 89.6, "cpu"  # dual-channel DDR5-5600: 2 channels x 5600 MT/s x 8 bytes


class Setup:
    """The parts of a request that stay put while a solver varies the context or the preset:
    the architecture's tables, the device budgets, the RAM budget and the host's bandwidth.
    ``evaluate`` then gives the verdict, memory and decode speed in O(GPUs), not O(layers)."""

    __slots__ = ("_hardware", "_kv", "_memo", "ac", "budgets", "catalog", "ggml", "gpus", "host_bw", "keys",
                 "ram_budget", "req")

    def __init__(self, req: FitRequest, catalog: Catalog) -> None:
        self.req = req
        self.catalog = catalog
        self.ac = arch_cost(req.model.architecture)
        self.budgets = device_budgets(req.devices, req.backend, req.wired_limit_gib)
        self.gpus = [b for b in self.budgets if b.is_gpu and req.backend != "cpu"]
        self.ram_budget = _ram_budget_bytes(req, self.budgets)
        self.host_bw = _host_bandwidth(req, catalog)
        self.ggml = ggml_token(catalog.ggml_types)  # the ggml type table's value token
        self._hardware: int | None = None
        self._memo: dict[tuple, Evaluation] = {}  # (context, quant_key, full_speed) -> evaluation
        self._kv: dict[tuple[str, int], KvCost] = {}  # (family, context) -> KV cost of this request
        self.keys: dict[Any, Any] = {}  # solvers' cache keys for this request

    def at_context(self, req: FitRequest) -> Setup:
        """This setup for ``req``, which differs from ``self.req`` only in its context and
        assumptions (llama-server's fitted context): budgets, evaluations and the solvers'
        context-free cache keys carry over."""
        other = object.__new__(Setup)
        for name in ("catalog", "ac", "budgets", "gpus", "ram_budget", "host_bw", "ggml", "_hardware", "_kv", "_memo"):
            setattr(other, name, getattr(self, name))
        other.req = req
        # The solvers' keys that leave out the context (and their common part) stay valid.
        other.keys = {k: v for k, v in self.keys.items() if k == "base" or not k[0]}
        return other

    def hardware_token(self) -> int:
        """``value_token`` of the catalog's hardware table (looked up once per setup)."""
        if self._hardware is None:
            self._hardware = value_token(self.catalog.hardware)
        return self._hardware

    def family(self, quant: QuantPreset) -> str:
        return runtime_family(self.req.runtime, quant)

    def costs(self, ctx: int, quant: QuantPreset) -> tuple[QuantCost, KvCost]:
        return self._costs(ctx, quant_key(quant), runtime_family(self.req.runtime, quant))

    def _costs(self, ctx: int, qkey: tuple[str, str, float | None, float], family: str
               ) -> tuple[QuantCost, KvCost]:
        qc = self.ac.quant_by_key(qkey, self.ggml)
        kc = self._kv.get((family, ctx))
        if kc is None:
            req = self.req
            kc = self._kv[(family, ctx)] = self.ac.kv(family, ctx, req.kv_type, req.flash_attn, req.parallel,
                                                     req.n_ubatch, req.kv_unified, req.n_outputs)
        return qc, kc

    def evaluate(self, ctx: int | None = None, quant: QuantPreset | None = None,
                 full_speed: bool = False) -> Evaluation:
        """What ``estimate`` decides for this request at another context and/or preset
        (remembered for this setup: the solvers and menus of one answer ask the same)."""
        req = self.req
        ctx = req.ctx if ctx is None else ctx
        quant = req.quant if quant is None else quant
        qkey = quant_key(quant)
        memo = self._memo
        ev = memo.get((ctx, qkey, full_speed))
        if ev is None and not full_speed:  # the same, with the speed at full context as well
            ev = memo.get((ctx, qkey, True))
        if ev is None:
            family = runtime_family(req.runtime, quant)
            qc, kc = self._costs(ctx, qkey, family)
            if self.gpus and family == "paged":
                ev = _evaluate_paged(req, ctx, self.ac, qc, kc, self.gpus, full_speed)
            else:
                ev = _evaluate(req, ctx, self.ac, qc, kc, self.gpus, self.ram_budget, self.host_bw, full_speed)
            memo[(ctx, qkey, full_speed)] = ev
        return ev


class Evaluation:
    """The numbers behind a verdict (``estimate`` adds the words, prefill and assumptions).
    Per-device figures are kept as plain numbers; ``devices`` and ``host`` build the records."""

    __slots__ = (
        "compute",
        "cpu",
        "decode",
        "decode_full",
        "fits_ram",
        "full_offload",
        "gpu_layers",
        "gpus",
        "host_row",
        "kv_cache",
        "low",
        "n_layers",
        "overhead",
        "paged",
        "placed",
        "refused_heads",
        "rows",
        "tier",
        "weights",
    )

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.overhead

    @property
    def fully_on_gpu(self) -> bool:
        """Everything, the output layer included, on the GPU(s) (what ``max_context`` keeps)."""
        return self.tier != "no" and (self.paged or self.full_offload and self.gpu_layers == self.n_layers)

    @property
    def devices(self) -> list[DeviceUse]:
        # rows: (weights, KV, compute, usable, layers) per GPU
        return [DeviceUse(b.label, wts, kvb, comp, b.overhead_bytes, usable, layers)
                for b, (wts, kvb, comp, usable, layers) in zip(self.gpus, self.rows)]

    @property
    def host(self) -> DeviceUse | None:
        if self.host_row is None:
            return None
        return DeviceUse("system RAM", *self.host_row)


def _evaluate(req: FitRequest, ctx: int, ac: ArchCost, qc: QuantCost, kc: KvCost,
              gpus: list[DeviceBudget], ram_budget: int, host_bw: tuple[float, str],
              full_speed: bool = True) -> Evaluation:
    """Placement, memory per device, verdict tier and decode speed (llama.cpp-style runtimes)."""
    w = qc.w
    n_layers = ac.n
    compute = kc.compute
    prefix = qc.prefix
    placed: list[tuple[int, int]] = []
    full_offload = False
    if gpus:
        full_offload, placed = _place_layers(gpus, ac, qc, kc, compute, w.output + w.vision + kc.output_buf)
        if not full_offload:
            placed = _place_partial(gpus, ac, qc, kc, compute)
    gpu_layers = 0
    for s, e in placed:
        gpu_layers += e - s
    # The GPUs hold one contiguous run of layers (each split fills them in order).
    lo_run, hi_run = (placed[0][0], placed[-1][1]) if placed else (n_layers, n_layers)
    if not gpu_layers:
        cpu = [(0, n_layers)]
    else:
        cpu = [(0, lo_run)] if lo_run > 0 else []
        if n_layers > hi_run:
            cpu.append((hi_run, n_layers))

    rows = []
    low = None
    overhead = 0
    last_gi = len(gpus) - 1
    full_prefix, per_full, per_swa = ac.full_prefix, kc.per_full, kc.per_swa
    # Each GPU's speed segment as well (speed.Segment's fields, as plain tuples; the output's
    # bytes and system RAM are added below), for the speed if the verdict is not "no".
    active_sum, tok_run, backend = qc.active_sum, kc.tok_run, req.backend
    segments: list[tuple[float, float, float, str]] = []
    for gi, (b, (s, e)) in enumerate(zip(gpus, placed)):
        wts = prefix[e] - prefix[s] + ((w.output + w.vision) if full_offload and gi == last_gi else 0)
        nf = full_prefix[e] - full_prefix[s]
        kvb = nf * per_full + (e - s - nf) * per_swa  # ArchCost.kv_sum, inlined
        usable = b.usable_bytes
        overhead += b.overhead_bytes
        rows.append((wts, kvb, compute, usable, e - s))
        if full_offload:
            room = (usable - (wts + kvb + compute + b.overhead_bytes)) / usable if usable > 0 else -1.0
            low = room if low is None or room < low else low
        if e > s:  # ArchCost.kv_tok_sum, inlined
            segments.append((active_sum(s, e), tok_run(nf) if nf else 0.0, b.bandwidth_gbps, backend))

    cpu_count = n_layers - gpu_layers
    # Weights and KV of the CPU's runs (sums in run order, ArchCost.kv_sum inlined).
    cpu_weights = host_kv = 0
    for s, e in cpu:
        cpu_weights += prefix[e] - prefix[s]
        nf = full_prefix[e] - full_prefix[s]
        host_kv += nf * per_full + (e - s - nf) * per_swa
    host_weights = w.token_embd + cpu_weights + (0 if full_offload else w.output + w.vision)
    host_compute = kc.output_buf + (compute if not gpus or cpu_count else
                                    min(compute, ac.arch.hidden_size * req.n_ubatch * 4 * 3))

    # Verdict
    fits_ram = True
    if not gpus:
        fits_ram = host_weights + host_kv + host_compute <= ram_budget
        tier = "tradeoffs" if fits_ram else "no"
    elif full_offload:
        tier = "comfortable" if low >= HEADROOM_COMFORTABLE else "tradeoffs"
    else:
        fits_ram = host_weights + host_kv + host_compute <= ram_budget
        tier = "tradeoffs" if fits_ram else "no"

    # Speed
    decode = decode_full = None
    if tier != "no":
        out_bytes = w.output
        bw, host_backend = host_bw
        cpu_active = (_active_over(qc, cpu) if cpu else 0) + (0 if full_offload else out_bytes)
        if segments and full_offload:
            s_ = segments[-1]
            segments[-1] = (s_[0] + out_bytes, s_[1], s_[2], s_[3])
        if cpu_active or not segments:
            kv_cpu = _kv_tok_over(ac, kc, cpu) if segments else ac.kv_tok_sum(kc, 0, n_layers)
            segments.append((cpu_active or qc.active_total + out_bytes, kv_cpu, bw,
                             host_backend if segments else ("cpu" if not gpus else req.backend)))
        depth = min(req.prompt_tokens, ctx)
        if len(segments) == 1:
            decode = decode_range_one(*segments[0], depth)
            if full_speed:
                decode_full = decode_range_one(*segments[0], ctx)
        else:
            decode = decode_range(segments, depth)
            if full_speed:
                decode_full = decode_range(segments, ctx)
        if decode[1] < PLEASANT_TOK_S and tier == "comfortable":
            tier = "tradeoffs"

    ev = Evaluation()
    ev.paged, ev.refused_heads, ev.n_layers = False, False, n_layers
    ev.tier, ev.full_offload, ev.placed, ev.cpu = tier, full_offload, placed, cpu
    ev.gpus, ev.rows = gpus, rows
    ev.host_row = (host_weights, host_kv, host_compute, 0, ram_budget, cpu_count)
    ev.gpu_layers, ev.low, ev.fits_ram = gpu_layers, low, fits_ram
    ev.decode, ev.decode_full = decode, decode_full
    ev.weights, ev.kv_cache = qc.w_total, kc.total
    ev.compute = compute * len(gpus) + host_compute
    ev.overhead = overhead
    return ev


def _evaluate_paged(req: FitRequest, ctx: int, ac: ArchCost, qc: QuantCost, kc: KvCost,
                    gpus: list[DeviceBudget], full_speed: bool = True) -> Evaluation:
    """vLLM / SGLang: tensor parallel over all GPUs; a share of VRAM is claimed up front."""
    arch = ac.arch
    w = qc.w
    tp = len(gpus)
    util = req.gpu_memory_utilization
    per_gpu_weights = w.total // tp
    per_gpu_kv = kc.total // tp
    per_gpu_compute = kc.compute // tp + int(0.5 * GIB)  # + CUDA graphs and sampler buffers
    rows = []
    low = None
    for b in gpus:
        claim = int(b.total_bytes * util)
        rows.append((per_gpu_weights, per_gpu_kv, per_gpu_compute, claim, arch.num_layers))
        total = per_gpu_weights + per_gpu_kv + per_gpu_compute + b.overhead_bytes
        room = (claim - total) / claim if claim > 0 else -1.0
        low = room if low is None or room < low else low
    ev = Evaluation()
    ev.paged, ev.refused_heads, ev.n_layers = True, False, arch.num_layers
    if arch.num_attention_heads % tp or arch.num_kv_heads % tp and tp > arch.num_kv_heads and tp % arch.num_kv_heads:
        tier = "no"
        ev.refused_heads = True
    elif low < 0:
        tier = "no"
    else:
        tier = "comfortable" if low >= HEADROOM_COMFORTABLE else "tradeoffs"
    decode = decode_full = None
    if tier != "no":
        kv_tok = kc.total / kc.cells / tp if kc.cells else 0.0
        seg_w = qc.active_total / tp + w.output / tp
        bw = gpus[0].bandwidth_gbps
        decode = decode_range_one(seg_w, kv_tok, bw, req.backend, min(req.prompt_tokens, ctx))
        if full_speed:
            decode_full = decode_range_one(seg_w, kv_tok, bw, req.backend, ctx)
    ev.tier, ev.full_offload, ev.placed, ev.cpu = tier, True, [(0, arch.num_layers)] * tp, []
    ev.gpus, ev.rows, ev.host_row = gpus, rows, None
    ev.gpu_layers, ev.low, ev.fits_ram = arch.num_layers, low, True
    ev.decode, ev.decode_full = decode, decode_full
    ev.weights, ev.kv_cache = w.total, kc.total
    ev.compute = per_gpu_compute * tp
    ev.overhead = sum(b.overhead_bytes for b in gpus)
    return ev


def _active_over(qc: QuantCost, runs: list[tuple[int, int]]) -> float | int:
    """Active weight bytes of the layers in ``runs``, summed layer by layer in order."""
    if not runs:
        return 0
    if len(runs) == 1:
        return qc.active_sum(*runs[0])
    return sum(qc.active[i] for s, e in runs for i in range(s, e))


def _kv_tok_over(ac: ArchCost, kc: KvCost, runs: list[tuple[int, int]]) -> float | int:
    if not runs:
        return 0
    if len(runs) == 1:
        return ac.kv_tok_sum(kc, *runs[0])
    count = sum(ac.full_prefix[e] - ac.full_prefix[s] for s, e in runs)
    return kc.tok_run(count) if count else 0.0


def estimate(req: FitRequest, catalog: Catalog, setup: Setup | None = None) -> FitResult:
    """``setup``: ``Setup(req, catalog)`` when the caller has one (it is built otherwise)."""
    if setup is None or setup.req is not req:
        setup = Setup(req, catalog)
    ac = setup.ac
    arch = ac.arch
    n_layers = ac.n
    gpus, budgets = setup.gpus, setup.budgets
    qc, kc = setup.costs(req.ctx, req.quant)
    w = qc.w
    assumptions = list(req.assumptions)
    reasons: list[str] = []

    if setup.family(req.quant) == "paged" and gpus:
        ev = setup.evaluate(full_speed=True)  # _evaluate_paged, remembered for the solvers
        util = req.gpu_memory_utilization
        if ev.refused_heads:
            reasons.append(f"{arch.num_attention_heads} attention heads do not split over {len(gpus)} GPUs")
        elif ev.tier == "no":
            reasons.append("weights, activations and the KV cache for the context exceed "
                           f"gpu_memory_utilization {util:g} of the VRAM")
        else:
            reasons.append("vLLM fills the rest of its share with KV cache for more parallel requests")
        prefill, ttft = _prefill(req, gpus, True, ev.tier, ac)
        assumptions.append(f"vLLM claims gpu_memory_utilization {util:g} of each GPU's memory at start")
        assumptions.append(f"tensor parallel size {len(gpus)}")
        return FitResult(
            request=req, weights=ev.weights, kv_cache=ev.kv_cache, compute=ev.compute,
            overhead=ev.overhead, devices=tuple(ev.devices), host=None,
            budget=sum(d.usable for d in ev.devices), fit=ev.tier, gpu_layers=n_layers + 1,
            total_layers=n_layers + 1, decode_tok_s=ev.decode, decode_tok_s_full=ev.decode_full,
            prefill_tok_s=prefill, ttft_s=ttft, reasons=tuple(reasons),
            assumptions=tuple(dict.fromkeys(assumptions)), kv_cells=kc.cells, kv_type_effective=kc.kv_eff,
            extras={"file_bytes": w.file_bytes},
        )

    ev = setup.evaluate(full_speed=True)  # _evaluate, remembered for the solvers (best quant)
    host, gpu_layers, full_offload = ev.host, ev.gpu_layers, ev.full_offload
    assert host is not None
    if req.ram_gib is None and gpus and ev.cpu and not _unified(req):
        assumptions.append(f"system RAM assumed {DEFAULT_RAM_GIB:g} GiB (say --ram to change)")
    assumptions.append(_ram_rule(req))
    for b in budgets:
        assumptions.append(b.rule)

    if not gpus:
        reasons.append("runs on the CPU from system RAM" if ev.fits_ram else
                       f"needs {host.total / GIB:.1f} GiB of RAM, {host.usable / GIB:.1f} GiB usable")
    elif full_offload:
        if ev.low < HEADROOM_COMFORTABLE:
            reasons.append(f"fits on the GPU with only {ev.low * 100:.0f}% headroom")
    elif ev.fits_ram:
        reasons.append(f"{gpu_layers} of {n_layers} layers on the GPU, the rest on the CPU (slow)")
    else:
        reasons.append(
            f"does not fit: {n_layers - gpu_layers} layers left for system RAM need "
            f"{host.total / GIB:.1f} GiB, {host.usable / GIB:.1f} GiB usable")
    if ev.decode is not None and ev.decode[1] < PLEASANT_TOK_S and full_offload and gpus \
            and ev.low >= HEADROOM_COMFORTABLE:
        reasons.append(f"expected {ev.decode[1]:.1f} tok/s is below {PLEASANT_TOK_S:g} tok/s")
    tier = ev.tier
    prefill, ttft = _prefill(req, gpus, full_offload, tier, ac)
    if tier == "comfortable":
        reasons.append("everything on the GPU with room to spare")

    return FitResult(
        request=req, weights=ev.weights, kv_cache=ev.kv_cache, compute=ev.compute,
        overhead=ev.overhead, devices=tuple(ev.devices), host=host,
        budget=sum(b.usable_bytes for b in gpus) if gpus else setup.ram_budget,
        fit=tier, gpu_layers=gpu_layers + (1 if full_offload else 0), total_layers=n_layers + 1,
        decode_tok_s=ev.decode, decode_tok_s_full=ev.decode_full, prefill_tok_s=prefill, ttft_s=ttft,
        reasons=tuple(reasons), assumptions=tuple(dict.fromkeys(assumptions)), kv_cells=kc.total_cells,
        kv_type_effective=kc.kv_eff, extras={"file_bytes": w.file_bytes, "output_buffer": kc.output_buf},
    )


def _unified(req: FitRequest) -> bool:
    return any(d.spec.kind == "unified" for d in req.devices)


def _ram_budget(req: FitRequest, budgets: list[DeviceBudget]) -> tuple[int, str]:
    """System RAM left for CPU layers, and the sentence that says how it was taken."""
    return _ram_budget_bytes(req, budgets), _ram_rule(req)


def _ram_budget_bytes(req: FitRequest, budgets: list[DeviceBudget]) -> int:
    from .budget import OS_RESERVE_GIB

    if req.ram_gib is not None:
        return int((req.ram_gib - OS_RESERVE_GIB) * GIB)
    for d in req.devices:
        if d.spec.kind in ("cpu", "unified"):
            # Unified memory: what the GPU does not take is left for CPU layers.
            gpu_share = sum(b.usable_bytes for b in budgets if b.is_gpu) if d.spec.kind == "unified" else 0
            left = int((d.memory_gib - OS_RESERVE_GIB) * GIB) - gpu_share
            return max(left, 0)
    return int((DEFAULT_RAM_GIB - OS_RESERVE_GIB) * GIB)


def _ram_rule(req: FitRequest) -> str:
    from .budget import OS_RESERVE_GIB

    if req.ram_gib is not None:
        return f"system RAM {req.ram_gib:g} GiB less {OS_RESERVE_GIB:g} GiB for the OS"
    for d in req.devices:
        if d.spec.kind in ("cpu", "unified"):
            return f"{d.spec.name}: {d.memory_gib:g} GiB shared by CPU and GPU"
    return f"system RAM {DEFAULT_RAM_GIB:g} GiB assumed, less {OS_RESERVE_GIB:g} GiB for the OS"


def _cost_fn(ac: ArchCost, qc: QuantCost, kc: KvCost):
    """j -> weights + KV of layers [0, j)."""
    w, f, pf, ps = qc.prefix, ac.full_prefix, kc.per_full, kc.per_swa
    if pf == ps:
        return lambda j: w[j] + j * pf
    return lambda j: w[j] + f[j] * pf + (j - f[j]) * ps


def _place_layers(gpus: list[DeviceBudget], ac: ArchCost, qc: QuantCost, kc: KvCost, compute: int,
                  last_extra: int) -> tuple[bool, list[tuple[int, int]]]:
    """Split the layers over the GPUs in proportion to their free memory, as llama.cpp's
    default tensor split does; the output layer goes on the last GPU. Fits if every part fits.
    Returns whether everything fits and, if it does, each GPU's run of layers [start, end)."""
    n = ac.n
    if len(gpus) == 1:
        # One GPU takes every layer (its share is 1.0) if they fit, and a greedy fill cannot do better.
        b = gpus[0]
        free = max(b.usable_bytes - b.overhead_bytes - compute, 0) - last_extra
        if free <= 0:
            return False, [(0, n)]
        pf, ps = kc.per_full, kc.per_swa  # _cost_fn(...)(n), inlined
        nf = ac.full_prefix[n]
        return (qc.prefix[n] + n * pf if pf == ps else qc.prefix[n] + nf * pf + (n - nf) * ps) <= free, [(0, n)]
    # (``x if x > 0 else 0`` rather than ``max(x, 0)``: the builtin's call costs more, per GPU
    # and per probe.)
    free = []
    for b in gpus:
        f = b.usable_bytes - b.overhead_bytes - compute
        free.append(f if f > 0 else 0)  # noqa: FURB136
    free[-1] -= last_extra  # only the last GPU's free memory can be negative
    total_free = sum(free) - min(free[-1], 0)  # the sum of max(f, 0)
    if total_free <= 0:
        return False, [(0, 0)] * len(gpus)
    # Layer counts proportional to free memory (cumulative rounding, like llama.cpp's split),
    # each part checked as it is cut (the cost of layers [0, j) inlined: see _cost_fn).
    w, fp, pf, ps = qc.prefix, ac.full_prefix, kc.per_full, kc.per_swa
    same = pf == ps
    placed, acc, start = [], 0.0, 0
    c_start = w[0] + 0 * pf if same else w[0] + fp[0] * pf + (0 - fp[0]) * ps
    for f in free:
        acc += (f if f > 0 else 0) / total_free  # noqa: FURB136
        end = round(acc * n)
        placed.append((start, end))
        c_end = w[end] + end * pf if same else w[end] + fp[end] * pf + (end - fp[end]) * ps
        if c_end - c_start > f:
            break  # this part does not fit (callers use the runs only when everything fits)
        start, c_start = end, c_end
    else:
        return True, placed
    cost = _cost_fn(ac, qc, kc)
    if cost(n) - cost(0) > total_free:
        # The greedy fill's runs cost at most each GPU's free memory, so it cannot place every
        # layer either. (Callers use the runs only when everything fits.)
        return False, placed
    # A greedy fill can still fit when per-layer costs are uneven (SWA, dense-first MoE): each
    # GPU in turn takes as many of the next layers as fit in its free memory.
    placed, s = [], 0
    for f in free:
        e = s if f < 0 else max(s, bisect_right(range(n + 1), cost(s) + f, lo=s, key=cost) - 1)
        placed.append((s, e))
        s = e
    return s == n, placed


def _place_partial(gpus: list[DeviceBudget], ac: ArchCost, qc: QuantCost, kc: KvCost,
                   compute: int) -> list[tuple[int, int]]:
    """Partial offload: llama.cpp puts the last -ngl layers on the GPUs, the output on the CPU:
    from the last GPU back, each takes as many of the preceding layers as fit."""
    cost = _cost_fn(ac, qc, kc)
    placed: list[tuple[int, int]] = [(0, 0)] * len(gpus)
    e = ac.n
    for gi in reversed(range(len(gpus))):
        b = gpus[gi]
        free = max(b.usable_bytes - b.overhead_bytes - compute, 0)
        c_e = cost(e)
        # Layers [s, e) that fit in ``free``: first guessed as if every layer cost the average
        # of layers [0, e) (cost(0) is 0).
        s = _first_reaching(cost, c_e - free, e, e - free * e // c_e if c_e > 0 else 0)
        placed[gi] = (s, e)
        e = s
    return placed


def _first_reaching(cost: Callable[[int], int], target: int, hi: int, guess: int) -> int:
    """``bisect_left(range(hi + 1), target, key=cost)`` for a non-decreasing ``cost``: the first
    j in [0, hi] with cost(j) >= target (hi + 1 if none). Tries ``guess`` and its neighbour
    first (two calls when the guess is right, instead of ~log2(hi)), then bisects what is left."""
    j = min(max(guess, 0), hi)
    if cost(j) >= target:
        if j == 0 or cost(j - 1) < target:
            return j
        return bisect_left(range(hi + 1), target, 0, j - 1, key=cost)
    if j == hi or cost(j + 1) >= target:
        return j + 1
    return bisect_left(range(hi + 1), target, j + 2, hi + 1, key=cost)


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


def _prefill(req: FitRequest, gpus: list[DeviceBudget], full_offload: bool, tier: str,
             ac: ArchCost | None = None) -> tuple[tuple[float, float, float] | None, float | None]:
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
    full_layers = (ac or arch_cost(arch)).n_full  # layers that attend over the whole prompt
    hd = arch.head_dim if arch.mla is None else arch.mla.qk_nope_head_dim + arch.mla.qk_rope_head_dim
    prompt = max(1, min(req.prompt_tokens, req.ctx))
    expected = prefill_tok_s(tflops, req.model.active_params_b * 1e9, full_layers,
                             arch.num_attention_heads, hd, prompt)
    if expected is None:
        return None, None
    rng = (expected * PREFILL_RANGE[0], expected, expected * PREFILL_RANGE[1])
    return rng, prompt / expected
