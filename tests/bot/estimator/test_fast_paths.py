"""The optimized estimator gives exactly what the straightforward one gave (issue #8).

``reference_estimator`` is the estimator before the speed work: ``estimate`` walking every layer,
``max_context`` bisecting by re-running it, the menus estimating every preset and every catalog
device. Every figure must match it exactly (floats compared with ==), over a broad sweep: every
catalog model on one, two, mixed and Apple GPUs and on a CPU, with the llama.cpp, Ollama, vLLM
and MLX runtimes, several presets, contexts and options. The sweep is sized to run in seconds.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import replace

import pytest

from bot.estimator import Options, PlanError, estimate, plan, solvers
from bot.estimator.cost import arch_cost
from bot.estimator.fit import Setup
from bot.estimator.keys import ValueKey, value_token
from bot.estimator.memory import ggml_token, weights
from bot.estimator.speed import Segment, decode_range, decode_range_one
from catalog.loader import get_catalog
from catalog.resolve import get_resolver

from . import reference_estimator as ref

CAT = get_catalog()
R = get_resolver()
MODELS = sorted(CAT.models)
HARDWARE = ["rtx 3090", "rtx 4060", "2x 3090", "rtx 5090 + rtx 3060 12gb", "m4 max 64gb", "8x h100",
            "cpu-ddr5-5600-dual", "rx 7900 xtx", "arc b580"]


def fields(res) -> dict:
    return {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}


def requests(models=MODELS, hardware=HARDWARE, variants=None):
    """Plannable requests over models x hardware x variants (runtime/quant/ctx/options)."""
    variants = variants or [
        {},
        {"ctx": 32768, "quant": "Q8_0"},
        {"ctx": 131072, "kv_type": "q8_0", "flash_attn": False, "parallel": 3, "ram_gib": 96.0},
        {"runtime": "ollama", "quant": "Q2_K"},
        {"runtime": "vllm", "quant": "AWQ-int4", "ctx": 16384},
        {"runtime": "mlx", "ctx": 8192},
    ]
    for hw in hardware:
        devices = R.setup(hw).devices
        assert devices, hw
        for mid in models:
            for v in variants:
                v = dict(v)
                if "runtime" in v:
                    v["runtime"] = CAT.runtimes[v["runtime"]]
                if "quant" in v:
                    v["quant"] = CAT.quants[v["quant"]]
                try:
                    yield plan(CAT, CAT.models[mid], devices, Options(**v))
                except PlanError:
                    continue


@pytest.fixture(autouse=True)
def fresh_caches():
    solvers.clear_caches()
    yield
    solvers.clear_caches()


def test_estimate_matches_the_reference():
    """Every field of every estimate, over ~3,000 requests."""
    n = 0
    for req in requests():
        assert fields(estimate(req, CAT)) == fields(ref.estimate(req, CAT)), (req.model.id, req.devices)
        n += 1
    assert n > 2500


def test_max_context_matches_bisection_over_estimate():
    """Largest context, fully on the GPU and comfortable, for every model on several set-ups and
    runtimes; the new search probes fewer contexts where the answer is monotone in the context."""
    n = 0
    for req in requests(hardware=["rtx 3090", "2x 3090", "rtx 5090 + rtx 3060 12gb", "m4 max 64gb", "arc b580"],
                        variants=[{}, {"kv_type": "q8_0", "flash_attn": False, "parallel": 4},
                                  {"runtime": "vllm", "quant": "FP8"}, {"runtime": "mlx"},
                                  {"runtime": "ollama", "quant": "Q6_K"}]):
        for comfortable in (False, True):
            solvers.clear_caches()
            assert solvers.max_context(req, CAT, comfortable) == ref.max_context(req, CAT, comfortable), (
                req.model.id, req.devices, req.runtime.id, comfortable)
            n += 1
    assert n > 1000


def test_best_quant_and_quant_menu_match_estimating_each_preset():
    """``ref.best_quant`` and ``ref.quant_choices`` estimate the same presets; one pass here."""
    n = 0
    for req in [*requests(hardware=["rtx 3090"]),
                *requests(models=MODELS[::3], hardware=["2x 3090", "m4 max 64gb", "cpu-ddr5-5600-dual", "8x h100"])]:
        solvers.clear_caches()
        best, menu = None, []
        for qid in ref.ladder_of(req):
            q = CAT.quants.get(qid)
            if q is None or (q.format not in req.runtime.formats and q.format != "fp8"):
                continue
            res = ref.estimate(replace(req, quant=q), CAT)
            if best is None and res.fit == "comfortable":
                best = qid
            if qid != req.quant.id and q.format in req.runtime.formats and res.fit != "no":
                menu.append((qid, res.fit, res.total, res.decode_tok_s))
        assert solvers.best_quant(req, CAT) == best
        steps = [(s.quant, s.tier, s.total, s.decode) for s in solvers.ladder(req, CAT)
                 if s.loads and s.quant != req.quant.id and s.tier != "no"]
        assert steps == menu, (req.model.id, req.devices)
        n += 1
    assert n > 600


def test_hardware_scan_matches_estimating_every_device():
    """The hardware menu's scan: which devices run it comfortably, at which size, how fast."""
    rng = random.Random(8)
    n = 0
    picked = [r for r in requests(hardware=["rtx 3090", "m4 max 64gb"])]
    for req in rng.sample(picked, 60) + [
        plan(CAT, CAT.models["llama-3.1-8b"], R.setup("m4 max 64gb").devices, Options(wired_limit_gib=60.0)),
        plan(CAT, CAT.models["gemma-3-27b"], R.setup("m3 max 128gb").devices,
             Options(wired_limit_gib=20.0, runtime=CAT.runtimes["mlx"])),
    ]:
        solvers.clear_caches()
        got = [(spec.id, mem_gib, decode) for spec, mem_gib, decode in solvers.comfortable_hardware(req, CAT)]
        assert got == ref.comfortable_hardware(req, CAT), (req.model.id, req.runtime.id, req.ctx)
        n += 1
    assert n == 62


def test_menus_and_solvers_agree_with_a_setup_reused_at_another_context():
    """llama-server's fitted context reuses the Setup it was found with: same answers."""
    for mid in ("llama-3.1-8b", "qwen3-30b-a3b", "gemma-3-27b", "deepseek-v3"):
        req = plan(CAT, CAT.models[mid], R.setup("2x 3090").devices, Options())
        setup = Setup(req, CAT)
        solvers.max_context(req, CAT, True, setup=setup)
        other = replace(req, ctx=12288, assumptions=("x",))
        moved = setup.at_context(other)
        assert fields(estimate(other, CAT, moved)) == fields(ref.estimate(other, CAT))
        solvers.clear_caches()
        assert solvers.max_context(other, CAT, setup=moved) == ref.max_context(other, CAT)
        assert solvers.best_quant(other, CAT, setup=moved) == ref.best_quant(other, CAT)


def test_decode_range_one_is_decode_range_of_one_segment():
    rng = random.Random(1)
    for _ in range(5000):
        seg = (rng.uniform(1e6, 1e12), rng.uniform(0, 1e6), rng.uniform(10, 9000),
               rng.choice(["cuda", "metal", "rocm", "vulkan", "sycl", "cpu", "other"]))
        depth = rng.randint(1, 1_000_000)
        assert decode_range_one(*seg, depth) == decode_range([Segment(*seg)], depth)


# --- caches are keyed by value --------------------------------------------------------------


def test_weights_cache_is_keyed_by_value_not_identity():
    """An architecture that differs in one value gets its own figures; equal tables share them."""
    model = CAT.models["llama-3.1-8b"]
    quant = CAT.quants["Q4_K_M"]
    base = weights(model, quant, CAT.ggml_types)
    wider = model.model_copy(update={"architecture": model.architecture.model_copy(update={"hidden_size": 4352})})
    assert weights(wider, quant, CAT.ggml_types).total > base.total
    assert weights(model, quant, dict(CAT.ggml_types)) == base  # an equal table, another dict
    heavier = dict(CAT.ggml_types)
    heavier["Q4_K"] = heavier["Q4_K"].model_copy(update={"type_size_bytes": 200})
    assert ggml_token(heavier) != ggml_token(CAT.ggml_types)
    assert weights(model, quant, heavier).total > base.total
    assert arch_cost(model.architecture) is arch_cost(model.architecture.model_copy())


def test_solver_caches_see_changed_values():
    """A cached answer is never served for a request that differs in value."""
    req = plan(CAT, CAT.models["llama-3.1-8b"], R.setup("rtx 3060 12gb").devices, Options(ctx=8192))
    first = solvers.max_context(req, CAT)
    bigger = replace(req, model=req.model.model_copy(update={"architecture": req.model.architecture.model_copy(
        update={"num_layers": 64})}))
    assert solvers.max_context(bigger, CAT) == ref.max_context(bigger, CAT) != first
    assert solvers.max_context(req, CAT) == first
    tables = [dict(CAT.hardware), CAT.hardware]
    assert value_token(tables[0]) == value_token(tables[1])
    assert ValueKey((req.model.architecture, 1)) == ValueKey((req.model.architecture.model_copy(), 1))


def test_calibration_changes_are_not_served_from_cache(monkeypatch):
    """The speed constants are part of the key: calibration runs patch them between calls."""
    from bot.estimator import speed

    req = plan(CAT, CAT.models["llama-3.3-70b"], R.setup("m4 max 64gb").devices, Options(ctx=8192, quant=CAT.quants["Q4_K_M"]))
    before = solvers.best_quant(req, CAT)
    monkeypatch.setitem(speed.DECODE_CALIBRATION, "metal", (0.01, 50.0))  # a very slow Mac
    assert solvers.best_quant(req, CAT) == ref.best_quant(req, CAT) != before


def test_lowest_from_a_guess_is_the_bisection():
    """The hardware scan starts its threshold searches from a guess; any guess gives the same."""
    rng = random.Random(3)
    for _ in range(2000):
        values = tuple(sorted(set(rng.sample(range(1000), rng.randint(0, 12)))))
        cut = rng.randint(-5, 1005)
        guess = rng.choice([rng.uniform(-10, 1010), float("inf"), cut, cut - 0.5])
        passes = lambda v, c=cut: v >= c
        assert solvers._lowest_from(values, passes, guess) == solvers._lowest(values, passes)


def test_first_reaching_from_a_guess_is_the_bisection():
    """Partial offload finds each GPU's first layer from a guess; any guess gives bisect's answer."""
    from bisect import bisect_left

    from bot.estimator.fit import _first_reaching

    rng = random.Random(4)
    for _ in range(5000):
        prefix = [0]
        for _ in range(rng.randint(0, 20)):
            prefix.append(prefix[-1] + rng.choice([0, 0, 1, 2, 5, 9]))  # non-decreasing costs
        hi = len(prefix) - 1
        target = rng.randint(-3, prefix[-1] + 3)
        guess = rng.randint(-3, hi + 3)
        cost = prefix.__getitem__
        assert _first_reaching(cost, target, hi, guess) == bisect_left(range(hi + 1), target, key=cost)


def test_hardware_scan_smallest_first_is_found_sorted_by_size_then_bandwidth():
    """The hardware menu's order: ``smallest_first`` is ``found`` sorted by memory size, then the
    fastest memory, then catalog order."""
    for req in list(requests(models=MODELS[::7], hardware=["rtx 3090", "m4 max 64gb", "8x h100"]))[:40]:
        solvers.clear_caches()
        scan = solvers.hardware_scan(req, CAT)
        order = {spec.id: i for i, spec in enumerate(CAT.hardware.values())}
        expected = sorted(scan.found, key=lambda hit: (hit[1], -hit[0].memory_bandwidth_gbps, order[hit[0].id]))
        assert scan.smallest_first() == expected
