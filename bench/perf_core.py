"""In-process latency: lookups, autocomplete, the estimator, the /willitrun handler, /troubleshoot
and the renderers. Prints p50/p99 and exits 1 on a missed target.

Run: python bench/perf_core.py   (targets, p99: autocomplete < 2 ms, estimate < 1 ms, /willitrun
handler < 1 ms, /troubleshoot on a 100 KB log < 5 ms, render_discord / render_slack < 1 ms)

The /willitrun handler is the registered command's handler, awaited as the dispatcher awaits it,
on the questions in HANDLER_CASES (small/large/MoE models, one and several GPUs, mixed cards,
Macs, CPU only, llama.cpp/Ollama/LM Studio/vLLM/MLX, with and without quant/ctx/options, ones that
don't fit), 125 rounds of 17. It runs without a database (``get_store()`` is None, as the bot runs
without DATABASE_URL): the community-evidence lookup then returns at once; with a store it is one
SQLite query through aiosqlite's thread, I/O that bench/load_http.py measures. No chart (console).

Three conditions:
- ``willitrun`` (target): a running bot answering questions it has seen: the answer caches
  (resolved set-ups, largest context, the preset ladder, the hardware scan and menu; LRUs keyed
  by value) are warm; the estimate, the card and the menus' assembly run every time.
- ``willitrun (new)`` (reported): every question new: those caches cleared before each call,
  except resolved set-up texts. The per-architecture tables (weights per preset, KV per context),
  built once per model like the lookup indexes, stay.
- ``willitrun (cold)`` (reported): also the set-up text is new: catalog/resolve.py then spends
  ~1-2.5 ms on "2x 3090" or "m4 max 64gb" (fuzzy suggestions for the whole text).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.estimator import Options, estimate, plan  # noqa: E402
from catalog.loader import get_catalog  # noqa: E402
from catalog.resolve import get_resolver  # noqa: E402

PREFIXES = ["l", "ll", "lla", "llama 3", "qwen3 3", "gpt", "deepseek r1", "gem", "phi", "mis", "3090",
            "rtx 40", "m4 m", "m3 max", "a100", "h1", "rx 79", "arc", "strix", "x", "zz", "q4", "kv"]

# What people ask, typed the way they type it.
HANDLER_CASES: list[dict[str, object]] = [
    {"model": "llama 3.1 8b", "hardware": "rtx 3090"},                                   # small, defaults
    {"model": "llama 3.3 70b", "hardware": "2x 3090", "quant": "q4_k_m", "ctx": 32768},  # 2 GPUs, offload
    {"model": "qwen3 30b a3b", "hardware": "m4 max 64gb"},                               # MoE on a Mac
    {"model": "deepseek v3", "hardware": "8x h100"},                                     # 671B MoE, 8 GPUs
    {"model": "gpt-oss-20b", "hardware": "rtx 4060 ti 16gb", "runtime": "ollama"},       # MoE, Ollama
    {"model": "llama 3.1 405b", "hardware": "rtx 4090", "quant": "q4_k_m"},              # does not fit
    {"model": "mixtral 8x7b", "hardware": "rtx 3060", "ctx": 8192, "kv_cache": "q8_0"},  # MoE, offload
    {"model": "qwen2.5 7b", "hardware": "rtx 3090", "runtime": "vllm"},                  # vLLM
    {"model": "gemma 3 27b", "hardware": "m3 max 128gb", "runtime": "mlx"},              # MLX, windows
    {"model": "qwen3 8b", "hardware": "rx 7900 xtx", "quant": "q8_0", "ctx": 131072},    # ROCm, long ctx
    {"model": "llama 3.2 3b", "hardware": "arc b580", "flash_attn": "off", "parallel": 4},
    {"model": "qwen3 235b a22b", "hardware": "4x rtx 3090", "ram": 128},                 # MoE, offload
    {"model": "phi 4", "hardware": "4090 + 3090"},                                       # mixed cards
    {"model": "llama 3.1 70b", "hardware": "m2 ultra 192gb", "quant": "q8_0", "ctx": 65536},
    {"model": "qwen2.5 0.5b", "hardware": "cpu-ddr5-5600-dual"},                         # no GPU
    {"model": "gemma 2 9b", "hardware": "rtx 4060", "ctx": 200000},                      # above max ctx
    {"model": "mistral nemo 12b", "hardware": "rtx 3080 10gb", "runtime": "lm studio", "kv_cache": "q4_0"},
]
HANDLER_ROUNDS = 125  # x 17 cases = 2,125 calls per condition


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(p * len(s)))]


async def _time_handler(handler, requests, rounds: int, reset=None) -> list[float]:
    out: list[float] = []
    for _ in range(rounds):
        for req in requests:
            if reset is not None:
                reset()
            t = time.perf_counter()
            await handler(req)
            out.append((time.perf_counter() - t) * 1000)
    return out


def handler_samples() -> tuple[list[float], list[float], list[float], list]:
    """(/willitrun warm, new questions, cold, the cards) in milliseconds."""
    from bot.commands import build_registry
    from bot.commands.willitrun import clear_caches
    from bot.registry import Request
    from bot.store import get_store, set_store

    set_store(None)  # no database: see the module docstring
    assert get_store() is None
    handler = build_registry().get("willitrun").handler
    requests = [Request("willitrun", dict(case)) for case in HANDLER_CASES]

    async def run():
        cards = [await handler(r) for r in requests]  # warm-up: per-architecture tables, caches
        assert all(c.verdict != "error" for c in cards), [c.title for c in cards if c.verdict == "error"]
        warm = await _time_handler(handler, requests, HANDLER_ROUNDS)
        new = await _time_handler(handler, requests, HANDLER_ROUNDS, reset=lambda: clear_caches(setups=False))
        cold = await _time_handler(handler, requests, HANDLER_ROUNDS // 5, reset=clear_caches)
        return warm, new, cold, cards

    return asyncio.run(run())


def render_samples(cards) -> tuple[list[float], list[float]]:
    from bot.render.discord import render_discord
    from bot.render.slack import render_slack

    out: tuple[list[float], list[float]] = ([], [])
    for render, samples in ((render_discord, out[0]), (render_slack, out[1])):
        for card in cards:
            render(card)
        for _ in range(HANDLER_ROUNDS):
            for card in cards:
                t = time.perf_counter()
                render(card)
                samples.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    from bot.cli import start

    start()   # as every mode of the bot starts: catalog and registry loaded, then frozen out of the GC's way
    cat = get_catalog()
    r = get_resolver()
    for index in (r.models, r.hardware, r.glossary):  # build the indexes first
        index.complete("a")
    auto: list[float] = []
    for _ in range(50):
        for p in PREFIXES:
            for index in (r.models, r.hardware, r.glossary):
                t = time.perf_counter()
                index.complete(p, 25)
                auto.append((time.perf_counter() - t) * 1000)
    cases = [("llama-3.1-8b", "rtx 3090"), ("llama-3.3-70b", "2x 3090"), ("qwen3-30b-a3b", "m4 max 64gb"),
             ("deepseek-v3", "8x h100"), ("gpt-oss-20b", "rtx 4060 ti 16gb")]
    reqs = [plan(cat, cat.models[m], r.setup(h).devices, Options(ctx=16384)) for m, h in cases]
    for req in reqs:
        estimate(req, cat)
    est: list[float] = []
    for _ in range(400):
        for req in reqs:
            t = time.perf_counter()
            estimate(req, cat)
            est.append((time.perf_counter() - t) * 1000)
    warm, new, cold, cards = handler_samples()
    discord, slack = render_samples(cards)
    from bot.errors_kb import match_errors

    log = ("llama_model_loader: - kv  12: general.file_type u32 = 15\n" * 1700)[:99_000]
    logs = [log + "\nggml_backend_cuda_buffer_type_alloc_buffer: allocating 9000.00 MiB on device 0: cudaMalloc failed: out of memory",
            log, "x" * 100_000]
    match_errors("warm up", cat)
    trouble: list[float] = []
    for _ in range(40):
        for text in logs:
            t = time.perf_counter()
            match_errors(text, cat)
            trouble.append((time.perf_counter() - t) * 1000)
    ok = True
    for name, xs, target in (("autocomplete", auto, 2.0), ("estimate", est, 1.0),
                             ("willitrun", warm, 1.0), ("willitrun (new)", new, None),
                             ("willitrun (cold)", cold, None),
                             ("render_discord", discord, 1.0), ("render_slack", slack, 1.0),
                             ("troubleshoot", trouble, 5.0)):
        p50, p99 = statistics.median(xs), pct(xs, 0.99)
        line = f"{name:>16}: n={len(xs)} p50={p50:.3f} ms p99={p99:.3f} ms max={max(xs):.3f} ms"
        if target is None:
            print(f"{line} (reported)")
            continue
        ok &= p99 < target
        print(f"{line} (target p99 < {target} ms) {'OK' if p99 < target else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    gc.collect()
    raise SystemExit(main())
