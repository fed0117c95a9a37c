"""Answering within a platform's deadline: let work run up to a budget, then decide.

Discord wants an interaction answered within 3 s, Slack a request acknowledged within 3 s. Both
front-ends put the answer in that first response when the work is done in time, and otherwise
acknowledge (defer) and deliver the answer when it is ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


async def finished_within(work: Awaitable[Any] | asyncio.Future[Any], seconds: float) -> bool:
    """Whether ``work`` finishes within ``seconds``; it keeps running either way."""
    done, _ = await asyncio.wait({asyncio.ensure_future(work)}, timeout=seconds)
    return bool(done)
