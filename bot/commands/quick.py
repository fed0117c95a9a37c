"""/quick TOPIC: short answers to the most asked questions."""

from __future__ import annotations

from bot.card import Action, Card
from bot.content import render
from bot.registry import Command, Option, Request
from catalog.loader import get_catalog

from ._common import UserError, need, resolver


async def handle(request: Request) -> Card:
    topic = str(request.options.get("topic", "")).strip()
    cat = get_catalog()
    if not topic:
        card = Card(title="Quick answers", verdict="info", summary="Ask `/quick TOPIC`. Topics:")
        card.add("Topics", "\n".join(f"• {q.id}: {q.title}" for q in list(cat.quick.values())[:40]), inline=False)
        return card
    try:
        q = need(resolver().quick.resolve(topic), "topic", "which quant")
    except UserError as exc:
        return exc.card
    card = Card(title=q.title, summary=render(q.answer), verdict="info")
    for rel in q.related[:3]:
        if rel in cat.quick:
            card.actions.append(Action(cat.quick[rel].title[:60], command="quick", args=(("topic", rel),)))
        elif rel in cat.glossary:
            card.actions.append(Action(f"Define {cat.glossary[rel].term}"[:60], command="define", args=(("term", rel),)))
    return card


COMMAND = Command("quick", "Short answers to common questions (which quant, Mac vs PC, Ollama context ...).",
                  handle, (Option("topic", "Topic, e.g. 'which quant'", autocomplete="quick"),),
                  examples=("/quick which quant",))
