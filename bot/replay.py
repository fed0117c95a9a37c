"""Replay memory for signed platform requests (Discord Ed25519, Slack HMAC).

A validly signed request may be captured and sent again within the signature window (five
minutes); each request must be accepted once. One process remembers what it accepted in
memory. HTTP replicas behind a load balancer each see only part of the traffic, so when the
store is shared (PostgreSQL) the first acceptance is also claimed in the store
(``Store.claim_once``): a replay that reaches another replica is refused there too.

When the shared claim cannot be made (the database is down), the request is accepted and the
failure logged: the signature and timestamp were valid, and refusing every command while the
database is away would cost more than a replay within five minutes could.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

WINDOW_S = 300            # the platforms' signature window; older requests are refused as stale
MAX_REMEMBERED = 200_000  # bound on the in-memory part; the oldest are forgotten first
CLAIM_PREFIX = "replay:"  # claims in the store; pruned after the window by bot.maintenance


class ReplayMemory:
    """Remembers the keys (signatures) of accepted requests for ``window_s`` seconds."""

    def __init__(self, namespace: str, *, store: Any = None, window_s: float = WINDOW_S,
                 max_remembered: int = MAX_REMEMBERED) -> None:
        self.namespace = namespace
        self.store = store          # shared when set: claims go to the store too
        self.window_s = window_s
        self.max_remembered = max_remembered
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def is_new(self, key: str, now: float | None = None) -> bool:
        """True the first time ``key`` is accepted: by this process within the window, and by any
        replica sharing the store. Remembers it either way."""
        return self.first_here(key, now) and await self._claim_shared(key)

    def first_here(self, key: str, now: float | None = None) -> bool:
        """True the first time this process sees ``key`` within the window (and remembers it)."""
        now = time.monotonic() if now is None else now
        cutoff = now - self.window_s
        seen = self._seen
        while seen and (next(iter(seen.values())) < cutoff or len(seen) >= self.max_remembered):
            seen.popitem(last=False)
        if key in seen:
            return False
        seen[key] = now
        return True

    async def _claim_shared(self, key: str) -> bool:
        """True the first time any replica sharing the store claims ``key``; without a shared
        store, this process answers for itself."""
        if self.store is None:
            return True
        try:
            return bool(await self.store.claim_once(f"{CLAIM_PREFIX}{self.namespace}:{key}"))
        except Exception:  # noqa: BLE001 - see the module docstring: fail open, loudly
            log.exception("could not record a %s request in the shared replay memory; accepted it", self.namespace)
            return True


def shared_store_for_replays(settings: Any, store: Any) -> Any:
    """The store to share replay claims through: PostgreSQL deployments (the only backend HTTP
    replicas can share) unless turned off; None for SQLite, where one process serves."""
    if store is None or settings.sqlite_path is not None or not settings.replay_shared:
        return None
    return store


REPLAY_CLAIM_AGE = dt.timedelta(seconds=2 * WINDOW_S)   # how long bot.maintenance keeps claims
