"""In-process latency of lookups, autocomplete and the estimator: p50/p99, exits 1 on a missed target.

Run: python bench/perf_core.py   (targets: autocomplete p99 < 2 ms, estimate p99 < 1 ms,
/troubleshoot on a 100 KB log p99 < 5 ms)
"""

from __future__ import annotations

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


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(p * len(s)))]


def main() -> int:
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
    for name, xs, target in (("autocomplete", auto, 2.0), ("estimate", est, 1.0), ("troubleshoot", trouble, 5.0)):
        p50, p99 = statistics.median(xs), pct(xs, 0.99)
        status = "OK" if p99 < target else "MISSED"
        ok &= p99 < target
        print(f"{name:>12}: n={len(xs)} p50={p50:.3f} ms p99={p99:.3f} ms (target p99 < {target} ms) {status}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
