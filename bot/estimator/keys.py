"""Value keys for caches: a small integer that names the *content* of a catalog table, and a
key object that hashes its parts once.

Tables such as ``catalog.ggml_types`` or ``catalog.hardware`` are dicts of frozen pydantic
models. Hashing them per call would cost tens of microseconds, and keying a cache by ``id()``
would go stale when a table is garbage-collected and its address reused. A table's token is
found by comparing it with a stored copy (a dict comparison, about a microsecond when the
values are the same objects); equal tables get the same token, a changed table a new one.
"""

from __future__ import annotations

from itertools import count
from typing import Any

_KEEP = 16
_seen: list[tuple[Any, Any, int]] = []  # (last table seen, a shallow copy of it, token)
_tokens = count()


def value_token(table: dict[Any, Any] | list[Any]) -> int:
    """The token of a dict or list's content (its items compared with ``==``)."""
    for ref, copy, token in _seen:
        if ref is table and copy == table:
            return token
    for i, (_, copy, token) in enumerate(_seen):
        if type(copy) is type(table) and copy == table:  # equal content elsewhere (a reloaded catalog)
            _seen[i] = (table, table.copy(), token)
            return token
    token = next(_tokens)
    _seen.insert(0, (table, table.copy(), token))
    del _seen[_KEEP:]
    return token


class ValueKey:
    """A tuple of plain values (frozen pydantic models included) whose hash is computed once:
    cache lookups with it cost a dict probe, not a walk over every part."""

    __slots__ = ("_hash", "parts")

    def __init__(self, parts: tuple[Any, ...]) -> None:
        self.parts = parts
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, ValueKey) and self._hash == other._hash
                                 and self.parts == other.parts)

    def __repr__(self) -> str:
        return f"ValueKey{self.parts!r}"
