"""Housekeeping while serving: forget dedupe claims once they can no longer matter.

Replay claims (bot/replay.py) matter only within the platforms' five-minute signature window;
other claims (auto-help once per thread, Slack event retries) are kept for ``KEEP_OTHER_CLAIMS``.
Without this the claims table grows by one row per HTTP request for ever.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from .replay import CLAIM_PREFIX, REPLAY_CLAIM_AGE

log = logging.getLogger(__name__)

EVERY_S = 60.0
KEEP_OTHER_CLAIMS = dt.timedelta(days=90)


async def prune_once(store: Any) -> int:
    """One round; the number of claims forgotten."""
    return (await store.prune_claims(REPLAY_CLAIM_AGE, prefix=CLAIM_PREFIX)
            + await store.prune_claims(KEEP_OTHER_CLAIMS))


async def run_maintenance(store: Any, every_s: float = EVERY_S) -> None:
    """Prune every ``every_s`` seconds until cancelled; a failed round is logged and retried."""
    while True:
        await asyncio.sleep(every_s)
        try:
            pruned = await prune_once(store)
            if pruned:
                log.debug("pruned %d dedupe claims", pruned)
        except Exception:  # noqa: BLE001 - housekeeping must never stop the bot
            log.exception("housekeeping failed; will retry in %.0f s", every_s)
