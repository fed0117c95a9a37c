"""/bench MODEL HARDWARE: measured records for a tuple, or the nearest ones."""

from __future__ import annotations

from catalog.loader import get_catalog

from bot.card import Card, error_card
from bot.registry import Command, Option, Request

from ._common import UserError, need, need_setup, resolver


def bench_card(model_text: str, hardware_text: str) -> Card:
    cat = get_catalog()
    r = resolver()
    model = need(r.models.resolve(model_text), "model", "llama 3.1 8b") if model_text else None
    hw_ids: set[str] = set()
    if hardware_text:
        s = r.setup(hardware_text)
        need_setup(s)
        hw_ids = {d.spec.id for d in s.devices}
    exact = [b for b in cat.benchmarks if (model is None or b.model == model.id) and (not hw_ids or b.hardware in hw_ids)]
    nearest = False
    records = exact
    if not records:
        nearest = True
        records = [b for b in cat.benchmarks if (model is not None and b.model == model.id) or b.hardware in hw_ids]
    title = " on ".join(x for x in ((model.name if model else ""), ", ".join(sorted(hw_ids))) if x) or "Benchmarks"
    card = Card(title=f"Measured: {title}", verdict="info")
    if not records:
        card.summary = "No measurements for that yet. /willitrun gives an estimate."
        return card
    card.summary = "No exact match; the nearest records:" if nearest else f"{len(records)} measured records."
    for b in records[:20]:
        hw = cat.hardware[b.hardware].name
        count = f"{b.count}x " if b.count > 1 else ""
        depth = f" @ d{b.depth}" if b.depth else ""
        card.add(f"{b.model} {b.quant}", f"{count}{hw} ({b.backend})\n{b.test}{depth}: **{b.tok_s:,.1f} tok/s**\n{b.source[:120]}")
    card.evidence = ["measured"]
    return card


async def handle(request: Request) -> Card:
    o = request.options
    if not o.get("model") and not o.get("hardware"):
        return error_card("Which benchmarks?", "Give a model and/or hardware: `/bench llama 3.1 8b on rtx 4080`.")
    try:
        return bench_card(str(o.get("model") or ""), str(o.get("hardware") or ""))
    except UserError as exc:
        return exc.card


COMMAND = Command("bench", "Measured tokens/s for a model and hardware (nearest records if none match).", handle,
                  (Option("model", "Model", autocomplete="model"), Option("hardware", "Hardware", autocomplete="hardware")),
                  examples=("/bench llama 3.1 8b on rtx 4080",))
