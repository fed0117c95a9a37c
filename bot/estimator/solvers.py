"""Questions answered by re-running the estimate: largest context, best quant, smallest hardware.

Each answer is exactly what calling ``estimate`` on the varied request would give; the solvers
only avoid the work that does not change. A :class:`Setup` keeps a request's devices, budgets and
per-architecture tables, so a probe at another context or preset costs O(GPUs), and
``comfortable_hardware`` prices the model once and compares it with each device's budget.
Results are kept in small LRU caches keyed by the request's value (see ``request_key``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from operator import itemgetter
from threading import Lock
from typing import Any, NamedTuple, TypeVar

from catalog.loader import Catalog
from catalog.resolve import Device
from catalog.schemas import HardwareSpec

from . import fit as fit_mod
from . import speed
from .budget import GIB, overhead_bytes, usable_bytes
from .fit import FitRequest, Setup, _place_layers, estimate, runtime_family
from .keys import ValueKey
from .memory import ggml_token, quant_key
from .plan import default_backend
from .speed import decode_range_one

# GGUF presets from most to fewest bits: the first that fits comfortably is the best.
GGUF_LADDER = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "IQ3_M", "Q2_K", "IQ2_M", "IQ1_M")
OTHER_LADDER = {
    "mlx": ("MLX-8bit", "MLX-6bit", "MLX-4bit"),
    "paged": ("BF16-safetensors", "FP8", "AWQ-int4"),
}
_CTX_STEP = 256

T = TypeVar("T")


_MISSING = object()


class LRU:
    """A small least-recently-used cache. Keys are values (tuples of plain data, ValueKey),
    never ``id()``. Safe to share between threads (the value is computed outside the lock)."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = Lock()

    def get_or(self, key: Any, make: Callable[[], T]) -> T:
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is not _MISSING:
                self._data.move_to_end(key)
                return value
        value = make()
        with self._lock:
            self._data[key] = value
            if len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


_MAX_CONTEXT = LRU()
_LADDER = LRU()
_HARDWARE = LRU(256)


def clear_caches() -> None:
    """Forget every solver result (the per-architecture tables of cost.py stay)."""
    for cache in (_MAX_CONTEXT, _LADDER, _HARDWARE):
        cache.clear()


def request_key(req: FitRequest, catalog: Catalog, *, ctx: bool = True, devices: bool = True) -> ValueKey:
    """Everything an estimate's verdict, memory and decode speed depend on, as a hashable value:
    the architecture, the preset's weight-deciding fields, the runtime, the devices' specs, every
    setting, the ggml table, and the calibration constants in force (calibration patches them).
    Names, sources and other text that do not change a number are left out; ``ctx=False``
    leaves out the context, ``devices=False`` the devices and backend."""
    return _variant(_base_key(req, ggml_token(catalog.ggml_types)), req, catalog, ctx, devices)


def _base_key(req: FitRequest, ggml: int) -> ValueKey:
    return ValueKey((
        req.model.architecture, quant_key(req.quant), ggml,
        req.runtime.id, tuple(req.runtime.formats), tuple(req.runtime.backends),
        req.kv_type, req.flash_attn, req.parallel, req.ram_gib, req.prompt_tokens, req.n_ubatch,
        req.wired_limit_gib, req.gpu_memory_utilization, req.kv_unified, req.n_outputs,
        tuple(speed.DECODE_CALIBRATION.items()), speed.DECODE_RANGE,
        fit_mod.HEADROOM_COMFORTABLE, fit_mod.PLEASANT_TOK_S, fit_mod.DEFAULT_RAM_GIB,
    ))


def _variant(base: ValueKey, req: FitRequest, catalog: Catalog, ctx: bool, devices: bool) -> ValueKey:
    key: tuple = (base,)
    if ctx:
        key += (req.ctx,)
    if devices:
        key += (req.backend, _host_ref(catalog), tuple(
            (d.spec.id, d.spec.kind, d.spec.vendor, d.spec.memory_bandwidth_gbps, d.spec.name,
             d.count, d.memory_gib) for d in req.devices))
    return ValueKey(key)


def _host_ref(catalog: Catalog) -> float | None:
    ref = catalog.hardware.get("ddr5-5600-dual-channel")
    return None if ref is None else ref.memory_bandwidth_gbps


def _setup(req: FitRequest, catalog: Catalog, setup: Setup | None) -> Setup:
    if setup is None:
        return Setup(req, catalog)
    assert setup.req is req and setup.catalog is catalog, "a Setup made for another request"
    return setup


def _key(setup: Setup, ctx: bool = True, devices: bool = True) -> ValueKey:
    """``request_key`` of the setup's request, built once per setup (the common part hashed once)."""
    memo = setup.keys
    got = memo.get((ctx, devices))
    if got is None:
        base = memo.get("base")
        if base is None:
            base = memo["base"] = _base_key(setup.req, setup.ggml)
        got = memo[(ctx, devices)] = _variant(base, setup.req, setup.catalog, ctx, devices)
    return got


def ladder_key(setup: Setup) -> ValueKey:
    """What ``ladder`` depends on (for callers that cache what they build from it)."""
    return _key(setup)


def max_context(req: FitRequest, catalog: Catalog, comfortable: bool = False,
                setup: Setup | None = None) -> int | None:
    """The largest context (multiple of 256, up to the model's maximum) that stays fully on
    the GPU(s) (with ``comfortable``: with the comfortable headroom) at the request's quant and
    cache type; None if even 2,048 does not. ``setup``: ``Setup(req, catalog)``, if at hand."""
    setup = _setup(req, catalog, setup)
    return _MAX_CONTEXT.get_or((comfortable, _key(setup, ctx=False)), lambda: _max_context(setup, comfortable))


def _max_context(setup: Setup, comfortable: bool) -> int | None:
    hi = setup.req.model.architecture.max_context
    lo = 2048
    ok_lo, m_lo = _probe(setup, lo, comfortable)
    if not ok_lo:
        return None
    ok_hi, m_hi = _probe(setup, hi, comfortable)
    if ok_hi:
        return hi
    lo_s, hi_s = lo // _CTX_STEP, hi // _CTX_STEP
    if _monotone(setup, comfortable):
        return _boundary(setup, comfortable, lo_s, m_lo, hi_s, m_hi) * _CTX_STEP
    while hi_s - lo_s > 1:  # bisection, over multiples of 256 (hi_s itself is never tried)
        mid = (lo_s + hi_s) // 2
        if _probe(setup, mid * _CTX_STEP, comfortable)[0]:
            lo_s = mid
        else:
            hi_s = mid
    return lo_s * _CTX_STEP


def _monotone(setup: Setup, comfortable: bool) -> bool:
    """Whether "runs at ctx" can only turn from true to false as ctx grows, so that any search
    finds the bisection's answer:

    - fully on the GPU(s): per-layer KV bytes and the compute buffer never shrink as the context
      grows, and a greedy fill (which fits whenever the proportional split does) fits a
      non-shrinking sequence of layers into non-growing free memory less and less; vLLM's
      headroom only shrinks;
    - comfortable on one GPU with llama.cpp's cache: memory as above, and the decode speed only
      falls (weights fixed; KV bytes per cell fixed; depth min(prompt, ctx) non-decreasing);
      vLLM's comfortable is its headroom alone.

    Not proven, so bisected as before: comfortable over several GPUs (the split moves layers
    between GPUs as the context grows) and MLX/other caches (their per-token KV read changes
    with the context through windows and rounding, and so does the speed)."""
    if not comfortable:
        return True
    family = runtime_family(setup.req.runtime, setup.req.quant)
    return family == "paged" or (family == "llamacpp" and len(setup.gpus) == 1)


def _boundary(setup: Setup, comfortable: bool, a: int, m_a: float, b: int, m_b: float) -> int:
    """The largest step s in [a, b) that runs, given that a runs, b is taken not to, and
    running is monotone. The margin (bytes or headroom left) is near-linear in the context, so
    its zero crossing is guessed by false position (Illinois variant: an end kept twice has its
    margin halved) for up to 4 probes. Those land close to the boundary but can stall on one
    side of it where the margin is flat (KV cells are padded, per sequence with parallel
    slots), so the search then gallops from the end probed last and bisects what is left.
    Over the 249 monotone searches of the test sweep (test_fast_paths.py): 3.3 probes on
    average, 13 at most (false position then bisection: 3.6 and 15; bisection: ~8.7)."""
    side, guesses = 0, 4
    while b - a > 1 and guesses and m_a > 0 > m_b:
        guess = min(max(a + int((b - a) * (m_a / (m_a - m_b))), a + 1), b - 1)
        guesses -= 1
        ok, m = _probe(setup, guess * _CTX_STEP, comfortable)
        if ok:
            a, m_a = guess, m
            if side == 1:
                m_b /= 2
            side = 1
        else:
            b, m_b = guess, m
            if side == -1:
                m_a /= 2
            side = -1
    if side:
        a, b = _gallop(setup, comfortable, a, b, from_b=side == -1)
    while b - a > 1:
        mid = (a + b) // 2
        if _probe(setup, mid * _CTX_STEP, comfortable)[0]:
            a = mid
        else:
            b = mid
    return a


def _gallop(setup: Setup, comfortable: bool, a: int, b: int, from_b: bool) -> tuple[int, int]:
    """Narrow [a, b] (a runs, b does not) from one end: probe 1, 2, 4 ... steps inside it,
    moving that end, until a probe lands on the other side of the boundary."""
    step = 1
    while True:
        guess = b - step if from_b else a + step
        if not a < guess < b:
            return a, b
        if _probe(setup, guess * _CTX_STEP, comfortable)[0]:
            a = guess
            if from_b:
                return a, b
        else:
            b = guess
            if not from_b:
                return a, b
        step *= 2


def _probe(setup: Setup, ctx: int, comfortable: bool) -> tuple[bool, float]:
    """Whether ``estimate`` at ``ctx`` is "comfortable" (``comfortable``) or has every layer and
    the output on the GPU(s), and a margin that guides the search (positive when it runs;
    bytes or headroom; only its sign near zero matters)."""
    req = setup.req
    gpus = setup.gpus
    if not gpus:
        return False, -1.0  # nothing on a GPU is never "fully on the GPU", nor comfortable
    if runtime_family(req.runtime, req.quant) == "paged":
        ev = setup.evaluate(ctx=ctx)
        if ev.refused_heads:
            return False, -1.0
        if comfortable:
            return ev.tier == "comfortable", ev.low - fit_mod.HEADROOM_COMFORTABLE
        return ev.fully_on_gpu, ev.low
    ac = setup.ac
    qc, kc = setup.costs(ctx, req.quant)
    w = qc.w
    last_extra = w.output + w.vision + kc.output_buf
    # The placement estimate() starts with: comfortable needs it to fit too, so a context
    # where it does not costs no full evaluation.
    full, placed = _place_layers(gpus, ac, qc, kc, kc.compute, last_extra)
    if not full:
        return False, min(_free_margin(gpus, ac, qc, kc, last_extra), -1.0)
    if comfortable:
        ev = setup.evaluate(ctx=ctx)
        usable = min(b.usable_bytes for b in gpus)
        if ev.tier == "comfortable":
            return True, max((ev.low - fit_mod.HEADROOM_COMFORTABLE) * usable, 1.0)
        # too little headroom (or too slow: then the sign is all that counts)
        return False, min((ev.low - fit_mod.HEADROOM_COMFORTABLE) * usable, -1.0)
    if sum(e - s for s, e in placed) != ac.n:
        return False, -1.0
    return True, max(_free_margin(gpus, ac, qc, kc, last_extra), 1.0)


def _free_margin(gpus, ac, qc, kc, last_extra: int) -> float:
    """Free memory over all GPUs less what every layer and the output need (bytes)."""
    return float(sum(max(b.usable_bytes - b.overhead_bytes - kc.compute, 0) for b in gpus)
                 - last_extra - ac.cost_prefix(qc, kc, ac.n))


def best_quant(req: FitRequest, catalog: Catalog, setup: Setup | None = None) -> str | None:
    """The highest-precision preset the runtime loads that runs comfortably at this context."""
    for step in ladder(req, catalog, setup):
        if step.best_candidate and step.tier == "comfortable":
            return step.quant
    return None


def ladder_for(fmt: str) -> tuple[str, ...]:
    if fmt == "gguf":
        return GGUF_LADDER
    if fmt == "mlx":
        return OTHER_LADDER["mlx"]
    return OTHER_LADDER["paged"]


class Step(NamedTuple):
    """One preset of the request's ladder, as ``estimate`` with that preset sees it."""

    quant: str
    loads: bool            # the runtime loads its format (what the quant menu offers)
    best_candidate: bool   # what best_quant considers (FP8 weights also count)
    tier: str
    total: int             # bytes
    decode: tuple[float, float, float] | None


def ladder(req: FitRequest, catalog: Catalog, setup: Setup | None = None) -> tuple[Step, ...]:
    """The presets of the request's family, most bits first, each estimated at the request's
    context and devices (those the runtime cannot load at all are left out)."""
    setup = _setup(req, catalog, setup)
    return _LADDER.get_or(_key(setup), lambda: _ladder(setup))


def _ladder(setup: Setup) -> tuple[Step, ...]:
    req, catalog = setup.req, setup.catalog
    out = []
    for qid in ladder_for(req.quant.format):
        q = catalog.quants.get(qid)
        if q is None:
            continue
        loads = q.format in req.runtime.formats
        candidate = loads or q.format == "fp8"
        if not candidate:
            continue
        ev = setup.evaluate(quant=q)
        out.append(Step(qid, loads, candidate, ev.tier, ev.total, ev.decode))
    return tuple(out)


def comfortable_hardware(req: FitRequest, catalog: Catalog, setup: Setup | None = None
                         ) -> list[tuple[HardwareSpec, float, tuple[float, float, float] | None]]:
    """Each single GPU or Mac of the catalog (CPU systems left out) that runs ``req``
    comfortably on its default backend, at its smallest memory size that does, in catalog order,
    with its decode speed: what ``estimate`` gives on ``(spec, 1, size)``."""
    scan = hardware_scan(req, catalog, setup)
    return [(spec, mem_gib, scan.decode(spec)) for spec, mem_gib in scan.found]


class HardwareScan:
    """The result of ``hardware_scan``: ``found`` is (spec, smallest memory size that runs
    comfortably) in catalog order; ``smallest_first()`` the same pairs ordered by memory size,
    then the fastest memory first, then catalog order; ``decode(spec)`` is that device's decode
    speed range."""

    __slots__ = ("_depth", "_groups", "_kv", "_table", "_weight")

    def __init__(self, groups: tuple[tuple[tuple[_Hit, ...], float], ...], table: _HardwareTable,
                 weight: float, kv: float, depth: int) -> None:
        self._groups, self._table = groups, table  # groups: (hits, the least bandwidth kept)
        self._weight, self._kv, self._depth = weight, kv, depth

    def _hits(self) -> list[_Hit]:
        return [hit for group, min_bw in self._groups for hit in group if hit[3] >= min_bw]

    def smallest_first(self) -> list[tuple[HardwareSpec, float]]:
        hits = self._hits()
        hits.sort()  # by rank; each group is already in that order
        rows = self._table.rows
        return [(rows[idx][0], size) for _, idx, size, _ in hits]

    @property
    def found(self) -> tuple[tuple[HardwareSpec, float], ...]:
        rows = self._table.rows
        return tuple((rows[idx][0], size) for _, idx, size, _ in sorted(self._hits(), key=itemgetter(1)))

    def decode(self, spec: HardwareSpec) -> tuple[float, float, float]:
        return decode_range_one(self._weight, self._kv, spec.memory_bandwidth_gbps, self._table.backend[spec.id],
                                self._depth)


def hardware_scan(req: FitRequest, catalog: Catalog, setup: Setup | None = None) -> HardwareScan:
    """``comfortable_hardware`` without computing every speed (the menu shows ten).

    On one device the weights, KV cache and compute buffer do not depend on which device it is,
    so they are priced once; each size of each device then costs a few comparisons with its
    budget (its backend adds its overhead). The speed test (at least 10 tok/s) is the same at
    every size of a device and only rises with its bandwidth, so it is a threshold per backend,
    found by bisection over the bandwidths in play."""
    setup = _setup(req, catalog, setup)
    return _HARDWARE.get_or(hardware_key(setup), lambda: _hardware_scan(setup))


def hardware_key(setup: Setup) -> tuple[ValueKey, int]:
    """What ``hardware_scan`` depends on: the request without its devices, and the catalog's
    hardware table."""
    return _key(setup, devices=False), setup.hardware_token()


_HARDWARE_TABLES = LRU(8)


class _HardwareTable(NamedTuple):
    """The catalog's GPUs and Macs, as the hardware scan reads them."""

    # In catalog order: (spec, default backend, bandwidth, sizes, usable bytes per size (macOS's
    # default GPU limit for Macs), bytes per size).
    rows: tuple[tuple[HardwareSpec, str, float, tuple[float, ...], tuple[int, ...], tuple[int, ...]], ...]
    backend: dict[str, str]                     # default backend by hardware id
    overhead: dict[str, int]                    # per backend
    usable: dict[str, tuple[int, ...]]          # per backend: distinct usable bytes, ascending
    claims: dict[str, tuple[int, ...]]          # per backend: distinct memory bytes, ascending
    bandwidths: dict[str, tuple[float, ...]]    # per backend: distinct bandwidths, ascending
    rank: dict[tuple[int, float], int]          # (row index, size) -> its place in ``_Hit`` order
    # (paged, backend) -> threshold (a value of ``claims`` for paged, else of ``usable``) -> a
    # hit for each row that has a size at or above the threshold (its smallest), in rank order:
    # the scan's answer for a memory threshold, before the speed test.
    at_least: dict[tuple[bool, str], dict[int, tuple[_Hit, ...]]]


# A device the hardware scan finds: (rank, row index, memory size, bandwidth). Ranks order the
# catalog's (device, size) pairs by size, then the fastest memory first, then catalog order.
_Hit = tuple[int, int, float, float]


def _hardware_table(catalog: Catalog, token: int) -> _HardwareTable:
    """``token``: ``value_token(catalog.hardware)``."""
    def build() -> _HardwareTable:
        rows = []
        for spec in catalog.hardware.values():
            if spec.kind == "cpu":
                continue
            sizes = tuple(spec.memory_gib)
            rows.append((spec, default_backend(spec), spec.memory_bandwidth_gbps, sizes,
                         tuple(usable_bytes(spec, m) for m in sizes), tuple(int(m * GIB) for m in sizes)))
        pairs = sorted((size, -r[2], idx) for idx, r in enumerate(rows) for size in r[3])
        rank = {(idx, size): k for k, (size, _, idx) in enumerate(pairs)}
        backends = {r[1] for r in rows}
        usable = {b: tuple(sorted({u for r in rows if r[1] == b for u in r[4]})) for b in backends}
        claims = {b: tuple(sorted({m for r in rows if r[1] == b for m in r[5]})) for b in backends}
        at_least: dict[tuple[bool, str], dict[int, tuple[_Hit, ...]]] = {}
        for paged, values, col in ((False, usable, 4), (True, claims, 5)):
            for b in backends:
                per: dict[int, tuple[_Hit, ...]] = {}
                for threshold in values[b]:
                    hits = []
                    for idx, r in enumerate(rows):
                        if r[1] != b:
                            continue
                        i = bisect_left(r[col], threshold)
                        if i < len(r[3]):
                            hits.append((rank[idx, r[3][i]], idx, r[3][i], r[2]))
                    per[threshold] = tuple(sorted(hits))
                at_least[(paged, b)] = per
        return _HardwareTable(
            tuple(rows), {r[0].id: r[1] for r in rows}, {b: overhead_bytes(b) for b in backends}, usable, claims,
            {b: tuple(sorted({r[2] for r in rows if r[1] == b})) for b in backends}, rank, at_least)

    return _HARDWARE_TABLES.get_or(token, build)


def _lowest(values: tuple, passes: Callable[[Any], bool]) -> Any:
    """The lowest of ascending ``values`` that passes a test true from some point on (None: none)."""
    lo, hi = 0, len(values)
    while lo < hi:
        mid = (lo + hi) // 2
        if passes(values[mid]):
            hi = mid
        else:
            lo = mid + 1
    return values[lo] if lo < len(values) else None


def _lowest_from(values: tuple, passes: Callable[[Any], bool], guess: float) -> Any:
    """``_lowest``, starting from a guess of the threshold: when the first value at or above
    the guess passes and the one before it does not, that is the answer (two tests); otherwise
    it bisects."""
    k = bisect_left(values, guess)
    if (k == len(values) or passes(values[k])) and (k == 0 or not passes(values[k - 1])):
        return values[k] if k < len(values) else None
    return _lowest(values, passes)


def _hardware_scan(setup: Setup) -> HardwareScan:
    req, catalog, ac = setup.req, setup.catalog, setup.ac
    family = runtime_family(req.runtime, req.quant)
    qc, kc = setup.costs(req.ctx, req.quant)
    w, n = qc.w, ac.n
    depth = min(req.prompt_tokens, req.ctx)
    comfortable, pleasant = fit_mod.HEADROOM_COMFORTABLE, fit_mod.PLEASANT_TOK_S
    wired = req.wired_limit_gib
    paged = family == "paged"
    compute = kc.compute
    if paged:
        # One GPU, tensor parallel size 1: the whole model, its KV and compute on it.
        util = req.gpu_memory_utilization
        need = w.total // 1 + kc.total // 1 + (compute // 1 + int(0.5 * GIB))
        seg_w = qc.active_total / 1 + w.output / 1
        seg_kv = kc.total / kc.cells / 1 if kc.cells else 0.0
        layers = last_extra = 0
    else:
        layers = ac.cost_prefix(qc, kc, n)               # weights + KV of every layer
        last_extra = w.output + w.vision + kc.output_buf  # what the last GPU also holds
        need = (qc.prefix[n] + w.output + w.vision) + ac.kv_sum(kc, 0, n) + compute
        seg_w = qc.active_sum(0, n) + w.output
        seg_kv = ac.kv_tok_sum(kc, 0, n)

    # What estimate() decides on one device of a backend, by its usable bytes (or, vLLM, its
    # memory bytes): comfortable iff every layer fits and 10% stays free. Both only get truer as
    # the memory grows, so each backend has a threshold.
    def fits(usable: int, overhead: int) -> bool:
        if paged:
            claim = int(usable * util)
            low = (claim - (need + overhead)) / claim if claim > 0 else -1.0
            return not (low < 0 or low < comfortable)
        if layers > max(usable - overhead - compute, 0) - last_extra:
            return False  # not every layer on the GPU
        low = (usable - (need + overhead)) / usable if usable > 0 else -1.0
        return low >= comfortable

    table = _hardware_table(catalog, setup.hardware_token())
    runs_on = set(req.runtime.backends) - {"cpu"}  # no GPU backend: never comfortable
    threshold: dict[str, tuple[int | None, float | None]] = {}
    # Where the thresholds lie, solved from the formulas (only a starting point for the search:
    # the answer is what the tests themselves say).
    room = need / (1 - comfortable) if comfortable < 1 else float("inf")
    moved = seg_w + seg_kv * depth
    for backend in runs_on & table.overhead.keys():
        overhead = table.overhead[backend]
        if paged:
            guess = (room + overhead / (1 - comfortable)) / util if comfortable < 1 and util > 0 else 0.0
        else:
            guess = max(layers + last_extra + overhead + compute,
                        room + overhead / (1 - comfortable) if comfortable < 1 else 0.0)
        memory = _lowest_from(table.claims[backend] if paged else table.usable[backend],
                              lambda u, o=overhead: fits(u, o), guess)
        # The speed test (at least 10 tok/s; vLLM's verdict has none) is the same at every
        # size and only rises with the bandwidth: exact as a threshold too.
        if paged:
            min_bw = 0.0
        else:
            eff, fixed_ms = speed.DECODE_CALIBRATION.get(backend, speed.DECODE_CALIBRATION["cpu"])
            per_token = 1 / pleasant - max(0.0, fixed_ms / 1000) if pleasant > 0 else 0.0
            bw_guess = moved / (per_token * 1e9 * eff) if per_token > 0 and eff > 0 else float("inf")
            min_bw = _lowest_from(
                table.bandwidths[backend],
                lambda bw, b=backend: decode_range_one(seg_w, seg_kv, bw, b, depth)[1] >= pleasant, bw_guess)
        threshold[backend] = (memory, min_bw)
    if wired is None:
        # Each backend's rows at its memory threshold are in the table; those at or above its
        # speed threshold run it comfortably.
        return HardwareScan(tuple((table.at_least[(paged, backend)][memory], min_bw)
                                  for backend, (memory, min_bw) in threshold.items()
                                  if memory is not None and min_bw is not None),
                            table, seg_w, seg_kv, depth)
    found = []
    for idx, (spec, backend, bandwidth, sizes, usables, mem_bytes) in enumerate(table.rows):
        memory, min_bw = threshold.get(backend, (None, None))
        if min_bw is None or bandwidth < min_bw:
            continue
        if paged:
            i = bisect_left(mem_bytes, memory) if memory is not None else len(sizes)
        else:  # an iogpu.wired_limit_mb override (Macs): their usable bytes change
            overhead = table.overhead[backend]
            i = next((j for j, m in enumerate(sizes) if fits(usable_bytes(spec, m, wired), overhead)), len(sizes))
        if i < len(sizes):  # the smallest size that runs it comfortably
            found.append((table.rank[idx, sizes[i]], idx, sizes[i], bandwidth))
    return HardwareScan(((tuple(found), float("-inf")),), table, seg_w, seg_kv, depth)


def smallest_hardware(req: FitRequest, catalog: Catalog, limit: int = 3) -> list[str]:
    """Catalog hardware (one device, largest memory option) that runs the request comfortably,
    smallest memory first; GPUs before unified memory, CPU systems left out."""
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
