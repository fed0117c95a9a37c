"""Answers to Slack's ``response_url`` over one shared HTTP session.

bolt's ``respond()`` opens a new aiohttp session (and so a new TCP + TLS connection to
hooks.slack.com) for every answer. Under load that costs more than the command itself; one
session per app keeps the connections alive and reuses them. The message is what ``respond()``
sends: text, blocks, and the visibility / replace flags.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class ResponseUrlPoster:
    """Posts messages to response URLs; the session is opened on first use, in the running loop."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def _session_now(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._loop = loop
        return self._session

    async def post(self, url: str, message: dict[str, Any]) -> tuple[int, str]:
        """POST ``message`` as JSON; (HTTP status, body). Network errors propagate."""
        if self._closed:   # an answer finishing during shutdown still goes out, on its own session
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                return await self._post(session, url, message)
        return await self._post(self._session_now(), url, message)

    @staticmethod
    async def _post(session: aiohttp.ClientSession, url: str, message: dict[str, Any]) -> tuple[int, str]:
        async with session.post(url, json=message) as response:
            return response.status, await response.text()

    async def close(self, *_: Any) -> None:
        """Close the session (usable as an aiohttp ``on_cleanup`` hook)."""
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
