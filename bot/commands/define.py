"""/define TERM: a glossary entry, with the deeper dive behind a "more" follow-up."""

from __future__ import annotations

from bot.card import Action, Card, Menu, MenuChoice, Source, error_card
from bot.content import render
from bot.registry import Command, Option, Request
from catalog.loader import get_catalog

from ._common import UserError, need, resolver


async def handle(request: Request) -> Card:
    term = str(request.options.get("term", "")).strip()
    if not term:
        cats = sorted({g.category for g in get_catalog().glossary.values()})
        return error_card("Which term?", "Ask `/define kv cache` or `/define gguf`. Categories: " + ", ".join(cats))
    try:
        g = need(resolver().glossary.resolve(term), "term", "kv cache")
    except UserError as exc:
        return exc.card
    more = str(request.options.get("more", "")).lower() in ("1", "true", "yes", "on")
    card = Card(title=g.term, summary=render(g.definition), verdict="info")
    if more:
        card.add("How it works", render(g.deep_dive), inline=False)
        card.add("Example", render(g.example), inline=False)
        card.add("Try it", f"```\n{g.workflow}\n```", inline=False)
    else:
        card.actions.append(Action("More", command="define", args=(("term", g.id), ("more", "yes"))))
    if g.aliases:
        card.add("Also called", ", ".join(g.aliases[:8]))
    if g.related:
        cat = get_catalog()
        related = [cat.glossary[r] for r in g.related if r in cat.glossary]
        card.add("Related", ", ".join(r.term for r in related[:8]))
        if related:
            card.menus.append(Menu("Related terms", "define", "term", tuple(
                MenuChoice(r.term, r.id, render(r.definition)) for r in related)))
    card.footer = f"Glossary · {g.category}"
    if g.source:
        card.sources.append(Source("source", g.source))
    return card


COMMAND = Command(
    name="define",
    description="Explain a local-AI term (KV cache, GGUF, GQA, offloading ...).",
    handler=handle,
    options=(Option("term", "The term, e.g. 'kv cache'", required=True, autocomplete="glossary"),
             Option("more", "Show the deeper dive and an example", choices=("yes", "no"))),
    examples=("/define kv cache", "/define q4_k_m"),
)
