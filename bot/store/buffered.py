"""A store front for the hot path: server settings cached for a few seconds, usage counters
added up in memory and written in one transaction every few seconds.

Without it every command costs two database round trips (read the server's settings, commit
one counter), which caps an HTTP front-end at a few hundred requests per second on SQLite.

What this trades, deliberately:
- Settings saved through *this* process are seen at once (write-through); a change made by
  another replica (PostgreSQL deployments) is seen within ``settings_ttl_s``. With SQLite the
  serving process is the only writer, so ``settings_ttl_s=None`` keeps them until evicted: a
  read through aiosqlite is a hop to its thread and back, which under load costs more in GIL
  hand-offs than the query itself.
- Usage counters are statistics, not acknowledged user data: a flush runs every
  ``flush_every_s`` and on ``close()`` (graceful shutdown); a SIGKILL loses at most the counts of
  the last interval. Submissions, reviews and settings are never buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from typing import Any

from .base import Platform, ServerSettings, Store

log = logging.getLogger(__name__)

UsageKey = tuple[str, str, str]   # (platform, command, outcome)


class BufferedStore:
    """Wraps a Store; every method not defined here goes straight to the wrapped store."""

    def __init__(self, store: Store, *, settings_ttl_s: float | None = 5.0, flush_every_s: float = 5.0,
                 max_cached_servers: int = 10_000) -> None:
        self._store = store
        self.settings_ttl_s = math.inf if settings_ttl_s is None else settings_ttl_s
        self.flush_every_s = flush_every_s
        self._max_cached = max_cached_servers
        self._settings: dict[tuple[str, str], tuple[float, ServerSettings]] = {}
        self._pending: Counter[UsageKey] = Counter()
        self._flusher: asyncio.Task[None] | None = None
        self._flush_lock: asyncio.Lock | None = None

    @property
    def wrapped(self) -> Store:
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    # -- settings ---------------------------------------------------------------------------------

    async def get_settings(self, platform: Platform, server_id: str) -> ServerSettings:
        key = (platform, server_id)
        now = time.monotonic()
        hit = self._settings.get(key)
        if hit is not None and now - hit[0] < self.settings_ttl_s:
            return hit[1]
        settings = await self._store.get_settings(platform, server_id)
        self._remember(key, settings, now)
        return settings

    async def save_settings(self, settings: ServerSettings) -> None:
        await self._store.save_settings(settings)
        self._remember((settings.platform, settings.server_id), settings, time.monotonic())

    def _remember(self, key: tuple[str, str], settings: ServerSettings, now: float) -> None:
        if len(self._settings) >= self._max_cached and key not in self._settings:
            # Drop what has expired; if everything is fresh, start over (bounded memory wins).
            self._settings = {k: v for k, v in self._settings.items() if now - v[0] < self.settings_ttl_s}
            if len(self._settings) >= self._max_cached:
                self._settings.clear()
        self._settings[key] = (now, settings)

    # -- usage counters ---------------------------------------------------------------------------

    async def count_usage(self, platform: str, command: str, outcome: str) -> None:
        self._pending[(platform, command, outcome)] += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later(), name="usage-flush")

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_every_s)
        await self.flush()

    async def flush(self) -> None:
        """Write the pending counts in one transaction; on failure keep them for the next try."""
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, Counter()
            try:
                await self._store.add_usage(dict(batch))
            except BaseException as exc:  # cancelled mid-write included: the counts are kept
                self._pending.update(batch)
                if not isinstance(exc, Exception):
                    raise
                log.exception("could not write %d usage counts; keeping them for the next flush",
                              sum(batch.values()))

    async def usage(self) -> dict[UsageKey, int]:
        """Stored counts plus those not yet written."""
        counts = Counter(await self._store.usage())
        counts.update(self._pending)
        return dict(counts)

    async def close(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
        await self._store.close()
