"""Recognise pasted error logs: which errors-KB entries a text matches, best first."""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.loader import Catalog
from catalog.schemas import ErrorEntry

MAX_LOG_BYTES = 100_000


@dataclass(frozen=True)
class ErrorHit:
    entry: ErrorEntry
    line: str          # the first matching line, trimmed
    count: int         # how many patterns matched


_COMPILED: dict[int, tuple[tuple[ErrorEntry, tuple[re.Pattern[str], ...]], ...]] = {}


def _compiled(catalog: Catalog) -> tuple[tuple[ErrorEntry, tuple[re.Pattern[str], ...]], ...]:
    """Patterns compiled once per loaded catalog."""
    key = id(catalog.errors)
    if key not in _COMPILED:
        _COMPILED[key] = tuple(
            (e, tuple(re.compile(p, re.IGNORECASE) for p in e.patterns)) for e in catalog.errors.values()
        )
    return _COMPILED[key]


def match_errors(text: str, catalog: Catalog, limit: int = 3) -> list[ErrorHit]:
    """Entries whose patterns occur in ``text`` (the first 100 KB), most specific first."""
    text = text[:MAX_LOG_BYTES]
    hits: list[tuple[int, int, ErrorHit]] = []
    for entry, patterns in _compiled(catalog):
        first_pos, line, count = None, "", 0
        for p in patterns:
            m = p.search(text)
            if m:
                count += 1
                if first_pos is None or m.start() < first_pos:
                    first_pos = m.start()
                    start = text.rfind("\n", 0, m.start()) + 1
                    end = text.find("\n", m.end())
                    line = text[start : end if end != -1 else len(text)].strip()[:300]
        if count:
            # Later lines in a log are usually the fatal ones; more matching patterns, more certain.
            hits.append((-count, -(first_pos or 0), ErrorHit(entry, line, count)))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [h[2] for h in hits[:limit]]
