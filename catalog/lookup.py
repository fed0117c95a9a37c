"""Resolve free text to catalog entries the way people type them in chat.

Order: exact (id, name or alias after normalisation) -> token containment (every word the user
typed appears in one name of the entry; the entry with the fewest extra words wins, a tie is
ambiguous) -> fuzzy (rapidfuzz) for did-you-mean. Hardware text may carry a count ("2x 3090",
"dual 3090", "3090 x2"), a memory option ("m3 max 64gb") and several cards ("3090 + 3060").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

T = TypeVar("T")

_SPLIT_RE = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_NON_TOKEN_RE = re.compile(r"[^a-z0-9.+]+")


def normalize(text: str) -> str:
    """Lower-case and drop everything but letters, digits and dots: 'Llama3.1:70B' -> 'llama3.170b'."""
    return _NON_TOKEN_RE.sub("", text.lower()).strip(".")


def tokens(text: str) -> frozenset[str]:
    """Words, with letter/digit boundaries split: 'rtx3090' -> {rtx, 3090}; 'a3b' -> {a, 3, b}."""
    spaced = _NON_TOKEN_RE.sub(" ", text.lower())
    spaced = _SPLIT_RE.sub(" ", spaced)
    return frozenset(t.strip(".") for t in spaced.split() if t.strip("."))


@dataclass(frozen=True)
class Match(Generic[T]):
    """The outcome of a lookup: one entry, or candidates to choose from, or suggestions."""

    query: str
    entry: T | None = None
    candidates: tuple[T, ...] = ()
    suggestions: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.entry is not None

    @property
    def ambiguous(self) -> bool:
        return self.entry is None and bool(self.candidates)


@dataclass
class _Row(Generic[T]):
    entry: T
    key: str
    label: str
    names: list[str]
    name_keys: list[str] = field(default_factory=list)
    name_tokens: list[frozenset[str]] = field(default_factory=list)


class Index(Generic[T]):
    """A lookup index over one kind of entry (models, hardware, glossary terms ...)."""

    def __init__(self, entries: Iterable[T], key: Callable[[T], str],
                 names: Callable[[T], list[str]], label: Callable[[T], str]) -> None:
        self._rows: list[_Row[T]] = []
        self._exact: dict[str, list[_Row[T]]] = {}
        for e in entries:
            all_names = [key(e), *names(e)]
            row = _Row(e, key(e), label(e), all_names)
            row.name_keys = [normalize(n) for n in all_names]
            row.name_tokens = [tokens(n) for n in all_names]
            self._rows.append(row)
            for k in set(row.name_keys):
                self._exact.setdefault(k, []).append(row)
        self._choices = {i: " | ".join(r.names) for i, r in enumerate(self._rows)}
        self._index_of = {id(r): i for i, r in enumerate(self._rows)}
        self._label_index = {r.label: i for i, r in enumerate(self._rows)}
        self._key_table = sorted({(k, i) for i, r in enumerate(self._rows) for k in r.name_keys})
        self._token_table = sorted({(t, i) for i, r in enumerate(self._rows) for ts in r.name_tokens for t in ts})
        self._rows_with: dict[str, set[int]] = {}   # token -> rows with a name that has it
        for t, i in self._token_table:
            self._rows_with.setdefault(t, set()).add(i)

    def __len__(self) -> int:
        return len(self._rows)

    def exact(self, query: str) -> T | None:
        """The entry whose id, name or alias is exactly the query (after normalisation)."""
        rows = self._exact.get(normalize(query), [])
        return rows[0].entry if len(rows) == 1 else None

    def resolve(self, query: str, limit: int = 5, *, suggest: bool = True) -> Match[T]:
        """Exact name, then the entries whose name contains every word of the query; on a miss,
        did-you-mean suggestions (fuzzy, the costly part: ``suggest=False`` skips them when the
        caller will try something else first)."""
        q = query.strip()
        if not q:
            return Match(query, suggestions=tuple(r.label for r in self._rows[:limit]))
        exact = self._exact.get(normalize(q), [])
        if len(exact) == 1:
            return Match(query, entry=exact[0].entry)
        if len(exact) > 1:
            return Match(query, candidates=tuple(r.entry for r in exact[:limit]))
        contained = self._contained(tokens(q))
        if contained:
            best = contained[0][0]
            tied = [r for extra, r in contained if extra == best]
            if len(tied) == 1:
                return Match(query, entry=tied[0].entry)
            return Match(query, candidates=tuple(r.entry for _, r in contained[:limit]))
        return Match(query, suggestions=tuple(self.suggest(q, limit)) if suggest else ())

    def _contained(self, q_tokens: frozenset[str]) -> list[tuple[int, _Row[T]]]:
        if not q_tokens:
            return []
        found: list[tuple[int, _Row[T]]] = []
        for row in self._rows:
            extras = [len(t - q_tokens) for t in row.name_tokens if q_tokens <= t]
            if extras:
                found.append((min(extras), row))
        found.sort(key=lambda p: (p[0], len(p[1].key)))
        return found

    def suggest(self, query: str, limit: int = 5) -> list[str]:
        """Did-you-mean labels, best first: the entries with a name the query contains whole
        (words typed around a name: 'kv cache please'), the longest such name first; then fuzzy
        matches."""
        q_tokens = tokens(query)
        within = []
        for i in set().union(*(self._rows_with.get(t, ()) for t in q_tokens)):
            row = self._rows[i]
            longest = max((len(t) for t in row.name_tokens if t and t <= q_tokens), default=0)
            if longest:
                within.append((-longest, len(row.key), i))
        within.sort()
        hits = process.extract(query.lower(), self._choices, scorer=fuzz.WRatio,
                               processor=str.lower, limit=limit, score_cutoff=50)
        ranked = [i for *_, i in within] + [i for _, _, i in hits]
        return [self._rows[i].label for i in dict.fromkeys(ranked)][:limit]

    def _prefix_rows(self, table: list[tuple[str, int]], prefix: str) -> set[int]:
        """Rows with an entry in ``table`` (sorted (text, row)) that starts with ``prefix``."""
        out: set[int] = set()
        i = bisect_left(table, (prefix, -1))
        while i < len(table) and table[i][0].startswith(prefix):
            out.add(table[i][1])
            i += 1
        return out

    def complete(self, prefix: str, limit: int = 25) -> list[T]:
        """Autocomplete, best first: exact name, a name starting with the prefix, then entries
        in which every typed word starts one of the entry's words; fuzzy only when none match.
        Sorted tables and bisection keep it well under a millisecond per keystroke."""
        p_key = normalize(prefix)
        if not p_key:
            return [r.entry for r in self._rows[:limit]]
        exact = {self._index_of[id(r)] for r in self._exact.get(p_key, [])}
        starts = self._prefix_rows(self._key_table, p_key) - exact
        words: set[int] | None = None
        for tok in tokens(prefix):
            hit = self._prefix_rows(self._token_table, tok)
            words = hit if words is None else words & hit
            if not words:
                break
        words = (words or set()) - exact - starts
        out: list[T] = []
        for group in (exact, starts, words):
            for i in sorted(group, key=lambda i: (len(self._rows[i].key), self._rows[i].key)):
                out.append(self._rows[i].entry)
                if len(out) == limit:
                    return out
        if not out and len(p_key) >= 3:
            seen = set()
            for label in self.suggest(prefix, limit):
                i = self._label_index.get(label)
                if i is not None and i not in seen:
                    seen.add(i)
                    out.append(self._rows[i].entry)
        return out[:limit]


# ---------------------------------------------------------------------------------------------
# Hardware set-ups: counts, memory options, several cards
# ---------------------------------------------------------------------------------------------

_COUNT_PATTERNS = [
    re.compile(r"^\s*(\d{1,2})\s*[x×*]\s*(.+)$", re.I),   # 2x 3090, 2 x 3090, 2*3090
    re.compile(r"^(.+?)\s+[x×*]\s*(\d{1,2})\s*$", re.I),  # 3090 x2
    re.compile(r"^\s*(dual|triple|quad)\s+(.+)$", re.I),  # dual 3090
]
_WORD_COUNT = {"dual": 2, "triple": 3, "quad": 4}
_MEMORY_RE = re.compile(r"\b(\d{1,4}(?:\.\d+)?)\s*(gb|gib|g)\b", re.I)
_SPLIT_SETUP_RE = re.compile(r"\s*(?:\+|,|&|\band\b|\bplus\b)\s*", re.I)


@dataclass(frozen=True)
class HardwarePart:
    """One kind of device in a set-up: what the user typed, how many, and a memory option."""

    text: str
    count: int = 1
    memory_gib: float | None = None


def parse_count(text: str) -> tuple[str, int]:
    """'2x 3090' / '3090 x2' / 'dual 3090' -> ('3090', 2); no count -> (text, 1)."""
    prefix, suffix, words = _COUNT_PATTERNS
    m = prefix.match(text)
    if m:
        return m.group(2).strip(), int(m.group(1))
    m = suffix.match(text)
    if m:
        return m.group(1).strip(), int(m.group(2))
    m = words.match(text)
    if m:
        return m.group(2).strip(), _WORD_COUNT[m.group(1).lower()]
    return text.strip(), 1


def parse_setup(text: str) -> list[HardwarePart]:
    """'2x 3090 + 3060 12gb' -> [HardwarePart('3090', 2), HardwarePart('3060', 1, 12.0)]."""
    parts: list[HardwarePart] = []
    for chunk in _SPLIT_SETUP_RE.split(text.strip()):
        if not chunk:
            continue
        name, count = parse_count(chunk)
        memory = None
        m = _MEMORY_RE.search(name)
        if m:
            memory = float(m.group(1))
            name = (name[: m.start()] + name[m.end():]).strip()
        parts.append(HardwarePart(name or chunk, count, memory))
    return parts
