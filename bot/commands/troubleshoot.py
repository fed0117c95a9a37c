"""/troubleshoot [TEXT]: match a pasted error or log against the errors KB."""

from __future__ import annotations

from collections import Counter

from catalog.loader import get_catalog

from bot.card import Action, Card, Source
from bot.errors_kb import MAX_LOG_BYTES, match_errors
from bot.registry import Command, Option, Request

COMPUTED_FIX_HINT = {
    "max_ctx": "Run /willitrun with your model and GPU: it computes the largest context that fits.",
    "best_quant": "Run /willitrun with your model and GPU: it finds the best quant that fits.",
    "gpu_layers": "Run /willitrun with your model and GPU: it tells how many layers (-ngl) fit.",
    "kv_cache_type": "Run /willitrun with kv_cache=q8_0 to see what a quantized cache saves.",
}


def troubleshoot_card(text: str) -> Card:
    cat = get_catalog()
    if not text.strip():
        counts = Counter(e.category for e in cat.errors.values())
        card = Card(title="Troubleshooting", verdict="info",
                    summary="Paste an error message or a log (up to 100 KB) and I'll match it against "
                            f"{len(cat.errors)} known errors.")
        card.add("Categories", "\n".join(f"{k}: {v}" for k, v in sorted(counts.items())), inline=False)
        return card
    truncated = len(text) > MAX_LOG_BYTES
    hits = match_errors(text, cat)
    if not hits:
        card = Card(title="No known error found", verdict="info",
                    summary="I didn't recognise an error in that text. Paste the lines around the first "
                            "'error' or 'failed', or ask in the channel with your model, GPU and runtime.")
        if truncated:
            card.footer = "Only the first 100 KB were read."
        return card
    top = hits[0].entry
    card = Card(title=top.title, verdict="error", summary=top.cause)
    card.add("Matched", f"`{hits[0].line[:200]}`", inline=False)
    card.add("Fix", "\n".join(f"{i}. {s}" for i, s in enumerate(top.fix_steps, 1)), inline=False)
    if top.computed_fix:
        card.add("Compute it", COMPUTED_FIX_HINT[top.computed_fix], inline=False)
    others = [h.entry for h in hits[1:]]
    if others:
        card.add("Also matched", "\n".join(f"• {e.title}" for e in others), inline=False)
        for e in others[:2]:
            card.actions.append(Action(e.title[:40], command="troubleshoot", args=(("entry", e.id),)))
    card.footer = f"Errors KB · {top.category}" + (" · only the first 100 KB were read" if truncated else "")
    if top.source:
        card.sources.append(Source("where it's printed", top.source))
    return card


def entry_card(entry_id: str) -> Card | None:
    e = get_catalog().errors.get(entry_id)
    if e is None:
        return None
    return troubleshoot_card(e.examples[0])


async def handle(request: Request) -> Card:
    entry = request.options.get("entry")
    if entry:
        card = entry_card(str(entry))
        if card is not None:
            return card
    return troubleshoot_card(str(request.options.get("text", "")))


COMMAND = Command(
    name="troubleshoot",
    description="Paste an error or log: I match it against known errors and give the fix.",
    handler=handle,
    options=(Option("text", "The error message or log"),
             Option("entry", "A known error id", autocomplete="error")),
    examples=("/troubleshoot CUDA out of memory. Tried to allocate 2.00 GiB",),
)
