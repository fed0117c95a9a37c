"""/bestgpu: ranked hardware for a budget and a target model, computed from the catalog."""

from __future__ import annotations

from catalog.loader import get_catalog
from catalog.resolve import Device

from bot.card import Card, error_card
from bot.estimator import Options, estimate, plan
from bot.registry import Command, Option, Request

from ._common import UserError, need, resolver


def rank(budget: float | None, model_text: str | None, platform: str | None, ctx: int) -> Card:
    cat = get_catalog()
    model = need(resolver().models.resolve(model_text), "model", "llama 3.1 8b") if model_text else None
    rows = []
    for h in cat.hardware.values():
        if h.kind == "cpu" or (platform and h.vendor != platform):
            continue
        if budget is not None and (h.launch_price_usd is None or h.launch_price_usd > budget):
            continue
        mem = h.memory_gib[-1]
        if model is None:
            rows.append((mem, h.memory_bandwidth_gbps, h, f"{mem:g} GB · {h.memory_bandwidth_gbps:g} GB/s", None))
            continue
        try:
            res = estimate(plan(cat, model, (Device(h, 1, mem),), Options(ctx=ctx)), cat)
        except Exception:  # noqa: BLE001 - runtime cannot use that backend: skip
            continue
        if res.fit != "comfortable" or not res.decode_tok_s:
            continue
        speed = res.decode_tok_s[1]
        rows.append((speed, mem, h, f"~{speed:.0f} tok/s · {mem:g} GB · {h.memory_bandwidth_gbps:g} GB/s", speed))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    what = f" for {model.name} at {ctx:,} ctx" if model else ""
    cap = f" under ${budget:,.0f}" if budget is not None else ""
    card = Card(title=f"Best hardware{what}{cap}", verdict="info")
    if not rows:
        card.verdict = "no"
        card.summary = ("Nothing in the catalog with a known launch price fits that. Raise the budget, pick a "
                        "smaller model, or ask /willitrun about a specific card.")
        return card
    card.summary = ("Ranked by memory first (what fits), then bandwidth (how fast). " if model is None else
                    "Only hardware that runs it comfortably (fully on the GPU with headroom), ranked by expected decode speed. ")
    card.summary += "Prices are launch MSRPs from the catalog; used prices are not tracked."
    for i, (_, _, h, why, _) in enumerate(rows[:8], 1):
        price = f" · ${h.launch_price_usd:,.0f}" if h.launch_price_usd else ""
        card.add(f"{i}. {h.name}", why + price, inline=False)
    card.evidence = ["estimated", "launch prices from sources"]
    return card


async def handle(request: Request) -> Card:
    o = request.options
    budget = o.get("budget")
    if budget is not None and not (50 <= float(budget) <= 1_000_000):
        return error_card("Budget out of range", "Give a budget in US dollars between 50 and 1,000,000, e.g. `budget=800`.")
    if o.get("condition") == "used":
        note = "used"
    else:
        note = "new"
    try:
        card = rank(float(budget) if budget is not None else None, o.get("model"), o.get("platform"),
                    int(o.get("ctx") or 8192))
    except UserError as exc:
        return exc.card
    if note == "used":
        card.footer = "Used-market prices vary too much to compute; launch prices shown."
    return card


COMMAND = Command("bestgpu", "Best GPU or Mac for a budget and a model, ranked from the catalog.", handle,
                  (Option("budget", "Budget in USD", type="float", min_value=50),
                   Option("model", "Target model, e.g. 'qwen3 32b'", autocomplete="model"),
                   Option("platform", "Vendor", choices=("nvidia", "amd", "apple", "intel")),
                   Option("condition", "New or used", choices=("new", "used")),
                   Option("ctx", "Context to plan for (tokens)", type="int", min_value=512)),
                  expensive=True, examples=("/bestgpu budget 1000 for qwen3 32b",))
