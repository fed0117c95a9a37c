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


Compiled = tuple[tuple[ErrorEntry, tuple[tuple[str, re.Pattern[str]], ...]], ...]
_COMPILED: dict[int, Compiled] = {}


def required_literal(pattern: str) -> str:
    """The longest run of literal characters every match must contain (lower-cased), or ''.

    Only top-level literals count (not inside groups, classes or before a quantifier that makes
    them optional), and a top-level alternation disables the filter, so checking
    ``literal in text`` first is a safe, fast pre-filter before running the regex.
    """
    best, run = "", ""
    depth, i, n = 0, 0, len(pattern)

    def flush() -> None:
        nonlocal best, run
        if len(run) > len(best):
            best = run
        run = ""

    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            literal = None if nxt.isalnum() else nxt
            i += 2
        elif c == "[":
            j = pattern.find("]", i + 2)
            i = n if j == -1 else j + 1
            literal = None
        elif c in "()":
            depth += 1 if c == "(" else -1
            i += 1
            literal = None
        elif c == "|":
            if depth == 0:
                return ""
            i += 1
            literal = None
        elif c in ".^$":
            i += 1
            literal = None
        else:
            literal = c
            i += 1
        if i < n and pattern[i] in "*?{" and literal is not None:
            literal = None  # the character may be absent
        elif i < n and pattern[i] == "+" and literal is not None and depth == 0:
            run += literal      # one occurrence is required, more may follow
            literal = None
            flush()
            continue
        if literal is None or depth != 0:
            flush()
        else:
            run += literal
    flush()
    return best.lower() if len(best) >= 4 else ""


def _compiled(catalog: Catalog) -> Compiled:
    """Patterns compiled once per loaded catalog, each with its literal pre-filter."""
    key = id(catalog.errors)
    if key not in _COMPILED:
        _COMPILED[key] = tuple(
            (e, tuple((required_literal(p), re.compile(p, re.IGNORECASE)) for p in e.patterns))
            for e in catalog.errors.values()
        )
    return _COMPILED[key]


def match_errors(text: str, catalog: Catalog, limit: int = 3) -> list[ErrorHit]:
    """Entries whose patterns occur in ``text`` (the first 100 KB), most specific first."""
    text = text[:MAX_LOG_BYTES]
    lowered = text.lower()
    hits: list[tuple[int, int, ErrorHit]] = []
    for entry, patterns in _compiled(catalog):
        first_pos, line, count = None, "", 0
        for literal, p in patterns:
            if literal and literal not in lowered:
                continue
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
