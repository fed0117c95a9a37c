"""Sending to an interaction's webhook from the HTTP endpoint (the follow-ups of deferred answers),
with bounded retries that honour Discord's rate limits. aiohttp only: the endpoint runs without
discord.py.

- 429 from Discord: wait ``retry_after`` (the JSON body's, else the Retry-After header) and try
  again, unless Discord asks for longer than ``max_wait_s``. A 429 without Discord's ``Via``
  header is Cloudflare refusing the address: never retried (retrying prolongs the block), as in
  discord.py.
- 500, 502, 503, 504, 524: try again after ``backoff_s`` × the attempt number.
- A timeout or a dropped connection: retried for PATCH and DELETE only. Editing or deleting the
  original response twice is harmless; a POST that timed out may have been delivered, and a
  retry would post the message twice.
- Other 4xx: not retried.
- At most ``max_tries`` attempts. Each retry logs a warning and giving up logs an error, with the
  interaction's context. The webhook token is cut from every URL that is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504, 524})
SAFE_TO_REPEAT = frozenset({"GET", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int = 3
    max_wait_s: float = 10.0      # the longest rate limit waited out; the interaction token lives 15 min
    backoff_s: float = 1.0        # after a 5xx or a timeout: 1 s, then 2 s
    timeout_s: float = 10.0       # per attempt


POLICY = RetryPolicy()


def redact(url: str) -> str:
    """The URL with the webhook (interaction) token replaced by an ellipsis."""
    return re.sub(r"(/webhooks/\d+/)[^/?]+", r"\1…", url)


async def send(session: aiohttp.ClientSession, method: str, url: str,
               body: Callable[[], dict[str, Any]] = dict, *, context: str = "",
               policy: RetryPolicy | None = None) -> int | None:
    """Send ``method url`` with the request arguments ``body()`` builds (fresh for every attempt: a
    multipart body is single-use), retrying as the module describes. Returns the last HTTP status,
    or None when Discord never answered."""
    policy = policy or POLICY
    where = f"{method} {redact(url)}"
    status: int | None = None
    for attempt in range(1, policy.max_tries + 1):
        try:
            async with session.request(method, url, timeout=aiohttp.ClientTimeout(total=policy.timeout_s),
                                       **body()) as resp:
                status, text = resp.status, await resp.text()
                if status < 400:
                    return status
                wait, problem = _retry_wait(resp.headers, status, text, attempt, policy)
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:   # 3.11: asyncio's is TimeoutError
            status, problem = None, f"no answer ({type(exc).__name__})"
            wait = policy.backoff_s * attempt if method in SAFE_TO_REPEAT else None
            if wait is None:
                log.error("Discord webhook %s: %s, not retried: it may have been delivered (%s)",
                          where, problem, context)
                return None
        if wait is None or attempt == policy.max_tries:
            log.error("Discord webhook %s: %s; gave up after %d attempt(s) (%s)", where, problem, attempt,
                      context)
            return status
        log.warning("Discord webhook %s: %s; retrying in %.2f s (attempt %d of %d) (%s)", where, problem,
                    wait, attempt + 1, policy.max_tries, context)
        await asyncio.sleep(wait)
    return status


def _retry_wait(headers: Any, status: int, text: str, attempt: int,
                policy: RetryPolicy) -> tuple[float | None, str]:
    """(seconds to wait before retrying, or None for "don't"; what went wrong, for the log)."""
    if status == 429:
        if not headers.get("Via"):
            return None, "429 from Cloudflare, not Discord (no Via header): not retried"
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
        retry_after = data.get("retry_after") if isinstance(data, dict) else None
        if retry_after is None:
            retry_after = headers.get("Retry-After") or headers.get("X-RateLimit-Reset-After")
        wait = float(retry_after) if retry_after is not None else policy.backoff_s * attempt
        scope = "global rate limit" if (isinstance(data, dict) and data.get("global")) else "rate limited"
        if wait > policy.max_wait_s:
            return None, f"429 ({scope} for {wait:.1f} s, longer than the {policy.max_wait_s:.0f} s waited out)"
        return wait, f"429 ({scope}, retry_after {wait:.2f} s)"
    if status in RETRY_STATUSES:
        return policy.backoff_s * attempt, f"{status} {text[:200]!r}"
    return None, f"{status} {text[:300]!r}"
