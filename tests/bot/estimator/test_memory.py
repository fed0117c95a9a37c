"""Memory estimates against llama.cpp's own load logs (shared/calibration/memory.csv)."""

import pytest

from bot.estimator import memory as mem
from catalog.loader import get_catalog

CAT = get_catalog()
MIB = 1024**2
GIB = 1024**3


def weights_gib(model_id: str, quant: str) -> float:
    return mem.weights(CAT.models[model_id], CAT.quants[quant], CAT.ggml_types).file_bytes / GIB


@pytest.mark.parametrize("model,quant,reported_gib", [
    ("llama-3.1-8b", "Q4_K_M", 4.575),   # Meta-Llama-3-8B Q4_K_M, same tensors
    ("llama-3.1-70b", "Q4_0", 37.217),   # Llama-3.1-70B Q4_0 (RPC log)
])
def test_gguf_weights_match_llamacpp(model, quant, reported_gib):
    """Per-tensor typing reproduces the model buffer llama.cpp logs, to 0.1%."""
    assert weights_gib(model, quant) == pytest.approx(reported_gib, rel=1e-3)


def test_kv_cache_exact_llama3_8b():
    """8192 cells x 32 layers x 8 KV heads x 128 x (K+V) x 2 bytes = 1024 MiB; q8_0 is 34/64 of it."""
    arch = CAT.models["llama-3.1-8b"].architecture
    assert mem.llamacpp_kv(arch, 8192, "f16", "f16", 1, 512).total == 1024 * MIB
    assert mem.llamacpp_kv(arch, 8192, "q8_0", "q8_0", 1, 512).total == 544 * MIB


def test_kv_cells_padded_to_256():
    """llama.cpp pads the cache to 256 cells: 1000 tokens take 1024 cells."""
    arch = CAT.models["llama-3.1-8b"].architecture
    assert mem.llamacpp_kv(arch, 1000, "f16", "f16", 1, 512).cells == 1024


def test_swa_cache_gpt_oss():
    """gpt-oss-20b at 131072: 12 full layers hold 3072 MiB, 12 windowed layers 768 cells (18 MiB)."""
    arch = CAT.models["gpt-oss-20b"].architecture
    plan = mem.llamacpp_kv(arch, 131072, "f16", "f16", 1, 512)
    assert plan.swa_cells == 768
    assert plan.total == (3072 + 18) * MIB


def test_swa_cache_grows_with_sequences():
    """With 4 unified sequences the window part is 128*4+512 = 1024 cells (llama-server log)."""
    arch = CAT.models["gpt-oss-20b"].architecture
    assert mem.llamacpp_kv(arch, 131072, "f16", "f16", 4, 512, unified=True).swa_cells == 1024
    split = mem.llamacpp_kv(arch, 131072, "f16", "f16", 4, 512)
    assert (split.streams, split.cells, split.swa_cells) == (4, 32768, 768)


def test_per_sequence_padding_rounds_each_stream():
    """5000 tokens over 3 sequences: 5120 cells, 1706 -> 1792 per stream, 5376 in all (llama.cpp)."""
    arch = CAT.models["llama-3.1-8b"].architecture
    plan = mem.llamacpp_kv(arch, 5000, "f16", "f16", 3, 512)
    assert plan.total_cells == 5376


@pytest.mark.parametrize("ctx,fa,n_out,reported_mib", [
    (8192, False, None, 572.01),   # CPU harness; the CUDA ./main log of the same case says 560
    (8192, True, None, 266.50),
    (8192, True, 1, 124.01),       # llama-server: one logits row per slot
    (131072, True, 1, 244.01),
    (131072, False, 1, 8492.01),
])
def test_compute_buffer_llama3_8b(ctx, fa, n_out, reported_mib):
    """Compute buffer of Llama-3.1-8B against llama.cpp's own report (within 3%)."""
    arch = CAT.models["llama-3.1-8b"].architecture
    kv = mem.llamacpp_kv(arch, ctx, "f16", "f16", 1, 512)
    got = mem.llamacpp_compute(arch, kv, 512, flash_attn=fa, n_outputs=n_out)
    assert got == pytest.approx(reported_mib * MIB, rel=0.03)


def test_mla_caches_latent_only():
    """DeepSeek-V3 caches kv_lora_rank + rope dims in K only, not full heads (V is read from K)."""
    arch = CAT.models["deepseek-v3"].architecture
    k, v = mem.kv_dims(arch)
    assert (k, v) == (576, 0)


def test_moe_holds_all_experts():
    """Qwen3-30B-A3B weights count every expert (about 30B parameters)."""
    w = weights_gib("qwen3-30b-a3b", "Q8_0")
    assert 28 < w < 34
