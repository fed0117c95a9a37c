"""Autocomplete from the in-memory catalog indexes: up to 25 (name, value) pairs, instantly."""

from __future__ import annotations

from typing import Any

from bot.commands import build_registry
from bot.observability import observe_autocomplete
from bot.registry import Completer
from bot.render.limits import DISCORD, clamp
from catalog.resolve import get_resolver

LIMIT = DISCORD["choices"]


def _label(kind: str, entry: Any) -> str:
    """What the user sees in the list: the human name, with the id when it differs."""
    if kind == "glossary":
        return entry.term
    if kind in ("error", "quick"):
        return entry.title
    if kind == "api":
        return f"{entry.provider} {entry.model}"
    name = getattr(entry, "name", None) or entry.id
    return name if name.lower() == str(entry.id).lower() else f"{name} ({entry.id})"


@observe_autocomplete
def suggestions(kind: Completer, current: str, limit: int = LIMIT) -> list[tuple[str, str]]:
    """The best ``limit`` (display name, value) pairs for what the user has typed so far."""
    current = (current or "")[:100]
    limit = min(limit, LIMIT)
    if kind == "command":
        names = [n for n in build_registry().names() if n.startswith(current.lstrip("/").lower())]
        return [(f"/{n}", n) for n in names[:limit]]
    r = get_resolver()
    index = {"model": r.models, "hardware": r.hardware, "quant": r.quants, "runtime": r.runtimes,
             "glossary": r.glossary, "error": r.errors, "quick": r.quick, "api": r.api_prices}.get(kind)
    if index is None:
        return []
    out: list[tuple[str, str]] = []
    for entry in index.complete(current, limit):
        value = str(entry.id)
        out.append((clamp(_label(kind, entry), DISCORD["choice_name"]), value[: DISCORD["choice_value"]]))
    return out
