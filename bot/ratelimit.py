"""Per-user cooldowns and per-server rate limits (in memory: they only matter for seconds)."""

from __future__ import annotations

import time
from collections import OrderedDict


class Cooldown:
    """At most ``rate`` calls per ``per`` seconds for each key (a token bucket), bounded in size."""

    def __init__(self, rate: int, per: float, max_keys: int = 100_000) -> None:
        if rate < 1 or per <= 0:
            raise ValueError(f"a rate limit needs rate >= 1 and per > 0, not {rate}/{per}")
        self.rate, self.per, self.max_keys = rate, per, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, key: str, now: float | None = None) -> float:
        """0 if the call may go ahead (and is counted), else seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (float(self.rate), now))
        tokens = min(float(self.rate), tokens + (now - last) * self.rate / self.per)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) * self.per / self.rate
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait
