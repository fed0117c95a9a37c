"""What the message context menus answer: "Troubleshoot this" and "Explain terms".

Shared by the gateway and the HTTP endpoint; each passes the message text and its attachments
(with a way to read them), and gets a Card back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

from bot.card import Action, Card
from bot.commands.troubleshoot import troubleshoot_card
from bot.content import render
from bot.errors_kb import MAX_LOG_BYTES
from catalog.loader import get_catalog
from catalog.schemas import GlossaryEntry

log = logging.getLogger(__name__)

# The message context menus' names (also how the HTTP endpoint recognises them).
TROUBLESHOOT_THIS = "Troubleshoot this"
EXPLAIN_TERMS = "Explain terms"
LOG_SUFFIXES = (".txt", ".log")
MAX_TERMS = 8


@dataclass(frozen=True)
class AttachmentRef:
    """An attachment as both front-ends see it: name, size in bytes, and how to fetch its bytes."""

    filename: str
    size_bytes: int
    read: Callable[[], Awaitable[bytes]]


def _kb(n: int) -> str:
    return f"{n / 1000:.0f} KB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


async def message_text(content: str, attachments: list[AttachmentRef]) -> tuple[str, list[str]]:
    """The message text plus its readable .txt/.log attachments (up to 100 KB in all), and a note
    for every attachment that was skipped and why."""
    parts = [content] if content.strip() else []
    notes: list[str] = []
    budget = MAX_LOG_BYTES - len(content)
    for a in attachments:
        name = a.filename.replace("`", "'")[:80]
        if not a.filename.lower().endswith(LOG_SUFFIXES):
            notes.append(f"`{name}`: not a .txt or .log file, not read")
            continue
        if a.size_bytes > MAX_LOG_BYTES:
            notes.append(f"`{name}`: {_kb(a.size_bytes)}, over the 100 KB I read; "
                         "paste the lines around the error")
            continue
        if budget <= 0:
            notes.append(f"`{name}`: not read, the 100 KB limit was reached")
            continue
        try:
            data = await a.read()
        except Exception:  # noqa: BLE001 - a failed download is reported, not fatal
            log.warning("could not download attachment %r", a.filename, exc_info=True)
            notes.append(f"`{name}`: could not be downloaded")
            continue
        if len(data) > MAX_LOG_BYTES:
            notes.append(f"`{name}`: {_kb(len(data))}+, over the 100 KB I read")
            continue
        if b"\x00" in data:
            notes.append(f"`{name}`: binary, not a text log")
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            notes.append(f"`{name}`: not UTF-8 text, not read")
            continue
        parts.append(text[:budget])
        budget -= len(text)
    return "\n".join(parts), notes


async def troubleshoot_message_card(content: str, attachments: list[AttachmentRef]) -> Card:
    """The errors KB on a message and its log attachments; skipped files are named, never ignored."""
    text, notes = await message_text(content, attachments)
    if not text.strip():
        card = Card(title="Nothing to troubleshoot", verdict="info", ephemeral=True,
                    summary="That message has no text and no .txt/.log attachment I could read.")
    else:
        card = troubleshoot_card(text)
    if notes:
        card.add("Attachments", "\n".join(notes), inline=False)
    return card


def _names(entry: GlossaryEntry) -> list[str]:
    """Every way a term is written: 'Grouped-query attention (GQA)' -> itself, the words, 'GQA'."""
    names = [entry.term, *entry.aliases]
    m = re.fullmatch(r"\s*(.+?)\s*\(([^)]+)\)\s*", entry.term)
    if m:
        names += [m.group(1), m.group(2)]
    return [n for n in names if len(n.strip()) >= 2]


@lru_cache(maxsize=4)
def _term_pattern(catalog_key: int) -> tuple[re.Pattern[str], dict[str, GlossaryEntry]]:
    by_name: dict[str, GlossaryEntry] = {}
    for entry in get_catalog().glossary.values():
        for name in _names(entry):
            by_name.setdefault(name.lower(), entry)
    # Longest first, so "multi-head attention" wins over "attention".
    alternatives = sorted(by_name, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in alternatives) + r")(?![\w-])", re.I)
    return pattern, by_name


def glossary_terms_in(text: str, limit: int = MAX_TERMS) -> list[GlossaryEntry]:
    """Glossary entries named in ``text`` (term, alias or abbreviation), in order of appearance."""
    pattern, by_name = _term_pattern(id(get_catalog().glossary))
    found: list[GlossaryEntry] = []
    for m in pattern.finditer(text[:MAX_LOG_BYTES]):
        entry = by_name[m.group(1).lower()]
        if entry not in found:
            found.append(entry)
            if len(found) >= limit:
                break
    return found


def explain_terms_card(text: str) -> Card:
    """Short definitions of the glossary terms a message uses, with "more" buttons."""
    entries = glossary_terms_in(text)
    if not entries:
        return Card(title="No glossary terms found", verdict="info", ephemeral=True,
                    summary="I didn't find a term from my glossary in that message. "
                            "Try `/define` with a term.")
    card = Card(title="Terms in this message", verdict="info",
                summary=f"{len(entries)} term{'s' if len(entries) > 1 else ''} from the glossary.")
    for entry in entries:
        card.add(entry.term, render(entry.definition), inline=False)
    for entry in entries[:5]:
        card.actions.append(Action(f"More: {entry.term}", command="define",
                                   args=(("term", entry.id), ("more", "yes"))))
    card.footer = "Glossary"
    return card
