"""Verdicts, layer splits, solvers and commands from the estimator."""

import time

import pytest

from bot.estimator import Options, estimate, plan
from bot.estimator.repro import commands
from bot.estimator.solvers import best_quant, max_context
from catalog.loader import get_catalog
from catalog.resolve import get_resolver

CAT = get_catalog()
R = get_resolver()


def run(model, hw, **opts):
    m = R.models.resolve(model).entry
    req = plan(CAT, m, R.setup(hw).devices, Options(**opts))
    return req, estimate(req, CAT)


def test_small_model_comfortable():
    """An 8B Q4 at 8K fits a 24 GB card with room to spare."""
    _, res = run("llama 3.1 8b", "rtx 3090", ctx=8192)
    assert res.fit == "comfortable" and res.gpu_layers == res.total_layers


def test_70b_needs_offload_on_one_card():
    """A 70B Q4_K_M does not fit one 24 GB card: partial offload, slow."""
    _, res = run("llama 3.3 70b", "rtx 3090", ctx=8192)
    assert res.fit == "tradeoffs" and 0 < res.gpu_layers < res.total_layers


def test_two_gpus_are_not_one_pool():
    """Two cards each pay their own compute buffer and overhead."""
    _, res = run("llama 3.3 70b", "2x 3090", ctx=8192)
    assert len(res.devices) == 2
    assert all(d.compute > 0 and d.overhead > 0 for d in res.devices)
    assert all(d.total <= d.usable for d in res.devices)


def test_does_not_fit_at_all():
    """DeepSeek-V3 on one 8 GB card with 32 GB RAM: no."""
    _, res = run("deepseek v3", "rtx 4060", ctx=4096, ram_gib=32)
    assert res.fit == "no"


def test_quantized_v_without_fa_falls_back():
    """llama.cpp needs flash attention for a quantized V cache: V stays f16."""
    _, res = run("llama 3.1 8b", "rtx 3090", ctx=8192, kv_type="q8_0", flash_attn=False)
    assert res.kv_type_effective == "q8_0 K / f16 V"


def test_apple_working_set_limit():
    """A 64 GB Mac offers 48 GiB to the GPU by default (3/4)."""
    _, res = run("llama 3.1 8b", "m4 max 64gb", ctx=8192)
    assert res.devices[0].usable == 48 * 1024**3


def test_solvers_and_commands():
    """Largest context and best quant are consistent with the verdict; commands carry the flags."""
    req, res = run("qwen3 8b", "rtx 4060 ti 16gb", ctx=16384)
    mc = max_context(req, CAT)
    assert mc is not None and mc >= 16384
    assert best_quant(req, CAT) in ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M")
    cmd = commands(res)["llama.cpp"]
    assert "-c 16384" in cmd and "-ngl 99" in cmd


def test_estimate_is_fast():
    """Well under a millisecond per estimate once warm (the benchmark measures p99)."""
    req, _ = run("llama 3.1 8b", "rtx 3090", ctx=8192)
    start = time.perf_counter()
    for _ in range(200):
        estimate(req, CAT)
    assert (time.perf_counter() - start) / 200 < 0.005


@pytest.mark.parametrize("runtime,quant", [("vllm", "AWQ-int4"), ("mlx", "MLX-4bit")])
def test_other_runtimes(runtime, quant):
    """vLLM and MLX estimates produce a verdict and a command."""
    hw = "rtx 4090" if runtime == "vllm" else "m4 max 64gb"
    _, res = run("qwen3 8b", hw, ctx=8192, runtime=CAT.runtimes[runtime], quant=CAT.quants[quant])
    assert res.fit in ("comfortable", "tradeoffs") and commands(res)
