"""Memory estimator vs llama.cpp's own allocations (llamacpp_ground_truth.jsonl).

For every row llama.cpp accepted, the estimator computes weights, KV cache, compute buffer and
output buffer for the same architecture, tensor types, context, micro-batch, flash attention,
cache types, sequences and reserved outputs, and the totals are compared. Exit 1 when the
median error is 2% or more, or the worst 5% or more (the targets of issue #3).

Run from the repo root: python bench/accuracy/compare_memory.py [--rows]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.estimator import memory as mem  # noqa: E402
from bot.estimator.gguf_quant import tensor_bytes, tensor_types  # noqa: E402
from catalog.loader import get_catalog  # noqa: E402
from catalog.schemas import Architecture  # noqa: E402

DATA = Path(__file__).with_name("llamacpp_ground_truth.jsonl")


def ftype_for(row: dict) -> str:
    t = row["inputs"]["tensor_type"]
    if isinstance(t, dict) or str(t).startswith("{"):
        return "MXFP4_MOE"          # experts MXFP4, every other matrix Q8_0 (how gpt-oss ships)
    return t if t in ("Q4_K_M",) else f"PURE_{t}"


def estimate_row(row: dict, cat) -> dict[str, int]:
    arch = Architecture.model_validate(row["arch"])
    i = row["inputs"]
    ftype = ftype_for(row)
    weights = sum(tensor_bytes(t, cat.ggml_types[typ])
                  for t, typ in tensor_types(arch, ftype, cat.block_sizes_key))
    kv = mem.llamacpp_kv(arch, i["ctx"], i["type_k"], i["type_v"], i["n_seq"], i["n_ubatch"],
                         unified=i["kv_unified"])
    n_out = i.get("n_outputs_max") or min(i["n_batch"], i["n_ubatch"])
    compute = mem.llamacpp_compute(arch, kv, i["n_ubatch"], i["flash_attn"], n_out)
    output = mem.llamacpp_output(arch, i["n_seq"])
    return {"model": weights, "kv": kv.total, "compute": compute, "output": output,
            "total": weights + kv.total + compute + output}


def main(argv: list[str]) -> int:
    cat = get_catalog()
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("ok") and not r["inputs"].get("swa_full")]
    errors: list[float] = []
    parts: dict[str, list[float]] = {"model": [], "kv": [], "compute": []}
    worst: list[tuple[float, str]] = []
    for r in rows:
        got = estimate_row(r, cat)
        real = r["bytes"]
        err = got["total"] / real["total"] - 1
        errors.append(abs(err))
        for k in parts:
            if real[k]:
                parts[k].append(abs(got[k] / real[k] - 1))
        i = r["inputs"]
        label = (f"{r['arch_name']} ctx={i['ctx']} fa={int(i['flash_attn'])} kv={i['type_k']}/{i['type_v']} "
                 f"seq={i['n_seq']} unified={int(i['kv_unified'])} ub={i['n_ubatch']} out={i.get('n_outputs_max')}")
        worst.append((abs(err), label))
        if "--rows" in argv:
            print(f"{err * 100:+6.2f}%  {label}")
    worst.sort(reverse=True)
    med, mx = statistics.median(errors), max(errors)
    print(f"rows {len(rows)} (llama.cpp {rows[0]['llama_cpp']['llama_cpp_commit']}, CPU backend)")
    print(f"total:   median error {med * 100:.2f}%   p90 {sorted(errors)[int(0.9 * len(errors))] * 100:.2f}%   "
          f"worst {mx * 100:.2f}%")
    for k, xs in parts.items():
        print(f"{k:>7}: median error {statistics.median(xs) * 100:.2f}%   worst {max(xs) * 100:.2f}%")
    print("worst rows:")
    for e, label in worst[:5]:
        print(f"  {e * 100:.2f}%  {label}")
    ok = med < 0.02 and mx < 0.05
    print("OK" if ok else "MISSED: target median < 2% and worst < 5%")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
