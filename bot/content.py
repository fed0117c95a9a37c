"""Catalog prose with estimator placeholders rendered, so stated numbers match the estimator.

``{{kv_cache model=llama-3.1-8b ctx=8192 kv=f16}}``, ``{{weights model=... quant=Q4_K_M}}`` and
``{{bpw type=Q4_K}}`` are replaced by values computed from the catalog.
"""

from __future__ import annotations

import re
from functools import lru_cache

from catalog.loader import Catalog, get_catalog

from .estimator import memory as mem

PLACEHOLDER_RE = re.compile(r"\{\{\s*(\w+)((?:\s+[\w-]+=[^\s}]+)*)\s*\}\}")
GIB = 1024**3


class PlaceholderError(ValueError):
    pass


def _args(raw: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in raw.split())


def evaluate(name: str, args: dict[str, str], catalog: Catalog) -> str:
    if name == "bpw":
        t = catalog.ggml_types.get(args.get("type", ""))
        if t is None:
            raise PlaceholderError(f"unknown ggml type {args.get('type')!r}")
        return f"{t.bits_per_weight:.2f}"
    model = catalog.models.get(args.get("model", ""))
    if model is None:
        raise PlaceholderError(f"unknown model {args.get('model')!r}")
    if name == "kv_cache":
        kv = args.get("kv", "f16")
        if kv not in mem.KV_TYPES:
            raise PlaceholderError(f"unknown KV type {kv!r}")
        ctx = int(args.get("ctx", "4096"))
        plan = mem.llamacpp_kv(model.architecture, ctx, kv, kv, 1, 512)
        return _gib(plan.total)
    if name == "weights":
        quant = catalog.quants.get(args.get("quant", ""))
        if quant is None:
            raise PlaceholderError(f"unknown quant {args.get('quant')!r}")
        return _gib(mem.weights(model, quant, catalog.ggml_types).file_bytes)
    raise PlaceholderError(f"unknown placeholder {name!r}")


def _gib(n: int) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB / 10 else f"{n / 1024**2:.0f} MiB"


@lru_cache(maxsize=2048)
def _render_cached(text: str) -> str:
    return render(text, get_catalog())


def render(text: str, catalog: Catalog | None = None) -> str:
    if "{{" not in text:
        return text
    if catalog is None:
        return _render_cached(text)
    return PLACEHOLDER_RE.sub(lambda m: evaluate(m.group(1), _args(m.group(2)), catalog), text)
