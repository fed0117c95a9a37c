"""/compare A B: two hardware entries (or two models) side by side."""

from __future__ import annotations

from bot.card import Card, Source, error_card
from bot.estimator import FitResult, Options, PlanError, estimate, plan
from bot.estimator import memory as mem
from bot.registry import Command, Option, Request
from catalog.loader import get_catalog
from catalog.resolve import Device

from ._common import UserError, gib, need, need_setup, resolver

PROBE_MODELS = ("llama-3.1-8b", "qwen3-14b", "qwen3-30b-a3b", "qwen2.5-32b", "llama-3.3-70b", "gpt-oss-120b")


def _probe(devices: tuple[Device, ...]) -> list[tuple[str, FitResult]]:
    """The probe models' estimates at 8K context on a set-up (models it cannot plan are skipped)."""
    cat = get_catalog()
    out = []
    for mid in PROBE_MODELS:
        m = cat.models.get(mid)
        if m is None:
            continue
        try:
            out.append((m.name, estimate(plan(cat, m, devices, Options(ctx=8192)), cat)))
        except PlanError:  # a backend or format the runtime lacks: not listed
            continue
    return out


def _speeds(devices: tuple[Device, ...]) -> dict[str, float | None]:
    """Expected decode tok/s per probe model; None where it does not fit."""
    return {name: res.decode_tok_s[1] if res.decode_tok_s and res.fit != "no" else None
            for name, res in _probe(devices)}


def _runs(devices: tuple[Device, ...]) -> list[str]:
    out = []
    for name, res in _probe(devices):
        mark = {"comfortable": "🟢", "tradeoffs": "🟡", "no": "🔴"}[res.fit]
        speed = f" ~{res.decode_tok_s[1]:.0f} tok/s" if res.decode_tok_s else ""
        out.append(f"{mark} {name}{speed}")
    return out


def compare_hardware(a: str, b: str, chart: bool = False) -> Card:
    r = resolver()
    sa, sb = r.setup(a), r.setup(b)
    need_setup(sa)
    need_setup(sb)
    card = Card(title=f"{sa.devices[0].label} vs {sb.devices[0].label}", verdict="info")
    for s in (sa, sb):
        total = sum(d.memory_gib * d.count for d in s.devices)
        h = s.devices[0].spec
        lines = [f"{total:g} GB · {h.memory_bandwidth_gbps:g} GB/s",
                 f"FP16 tensor: {h.fp16_tensor_tflops:g} TFLOPS" if h.fp16_tensor_tflops else "FP16 tensor: unknown"]
        if h.tdp_w:
            lines.append(f"{h.tdp_w * s.devices[0].count:g} W")
        lines += _runs(s.devices)
        card.add(s.devices[0].label, "\n".join(lines))
        card.sources.append(Source(h.name, h.source))
    bw_a, bw_b = sa.devices[0].spec.memory_bandwidth_gbps, sb.devices[0].spec.memory_bandwidth_gbps
    faster = sa.devices[0].label if bw_a > bw_b else sb.devices[0].label
    card.summary = (f"Decode speed follows memory bandwidth: {faster} is about {max(bw_a, bw_b) / min(bw_a, bw_b):.1f}x "
                    "faster on a model both can hold. Memory decides what fits at all.")
    card.evidence = ["estimated (8K context, default quant)"]
    if chart:
        from bot.charts import compare_chart

        sa_speed, sb_speed = _speeds(sa.devices), _speeds(sb.devices)
        rows = [(name, sa_speed.get(name), sb_speed.get(name)) for name in sa_speed]
        card.chart_png = compare_chart((sa.devices[0].label, sb.devices[0].label), rows)
    return card


def compare_models(a: str, b: str) -> Card:
    cat = get_catalog()
    r = resolver()
    ma, mb = need(r.models.resolve(a), "model", "llama 3.1 8b"), need(r.models.resolve(b), "model", "qwen3 8b")
    card = Card(title=f"{ma.name} vs {mb.name}", verdict="info",
                summary="Sizes at Q4_K_M and the KV cache each needs per 8K tokens of context.")
    for m in (ma, mb):
        w = mem.weights(m, cat.quants["Q4_K_M"], cat.ggml_types)
        kv = mem.llamacpp_kv(m.architecture, 8192, "f16", "f16", 1, 512)
        card.add(m.name, f"{m.params_total_b:g}B" + (f" ({m.params_active_b:g}B active)" if m.params_active_b else "")
                 + f"\nQ4_K_M {gib(w.file_bytes)}\nKV @8K {gib(kv.total)}\ncontext {m.architecture.max_context:,}")
        card.sources.append(Source(m.name, m.source))
    card.evidence = ["estimated"]
    return card


async def handle(request: Request) -> Card:
    a, b = str(request.options.get("a", "")).strip(), str(request.options.get("b", "")).strip()
    if not a or not b:
        return error_card("Compare what?", "Give two things: `/compare 4090 vs m4 max 128gb` or `/compare qwen3 8b vs llama 3.1 8b`.")
    r = resolver()
    try:
        if r.models.resolve(a).found and r.models.resolve(b).found:
            return compare_models(a, b)
        from .willitrun import wants_chart

        return compare_hardware(a, b, chart=wants_chart(request))
    except UserError as exc:
        return exc.card


COMMAND = Command("compare", "Compare two GPUs/Macs (or two models) side by side.", handle,
                  (Option("a", "First hardware or model", required=True, autocomplete="hardware"),
                   Option("b", "Second hardware or model", required=True, autocomplete="hardware"),
                   Option("chart", "Attach a chart", choices=("yes", "no"))),
                  expensive=True, examples=("/compare 4090 vs m4 max 128gb",))
