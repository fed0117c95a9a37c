"""What every Slack listener shares: run a core command for a Slack user (permission, cooldown,
usage count), decide who sees the answer, and deliver the Card.

The app runs with ``process_before_response``: a listener runs inside the request, so what it
passes to ``ack()`` is the HTTP answer (or the Socket Mode envelope's). A slash command whose
answer is ready within ``ACK_BUDGET_S`` is answered right there, in the ack; anything slower
(and every expensive command) is acknowledged at once and answered through ``response_url``
from a background task (``later``). Without this, bolt starts every listener as a task and
polls every 10 ms for its ack, which costs each command at least 10 ms and a second request.
Background work is tracked so shutdown can let it finish (``close``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import dispatch
from bot.card import Card, error_card
from bot.commands import build_registry
from bot.ratelimit import Cooldown
from bot.registry import Request
from bot.render.slack import render_slack
from bot.store.base import ServerSettings, Store

from .permissions import is_admin
from .response_url import ResponseUrlPoster

log = logging.getLogger(__name__)

def team_of(body: dict[str, Any]) -> str:
    """The workspace id of any bolt payload (slash command, interaction or event)."""
    team = (body.get("team_id") or (body.get("team") or {}).get("id")
            or (body.get("user") or {}).get("team_id"))
    return str(team or "")


class Answers:
    """Runs core commands for Slack users and sends the Cards back."""

    def __init__(self, store: Store, *, cooldown_seconds: float = 3.0) -> None:
        self.store = store
        self.poster = ResponseUrlPoster()
        self._background: set[asyncio.Task[None]] = set()
        self._cooldown = Cooldown(rate=1, per=cooldown_seconds) if cooldown_seconds > 0 else None

    async def _refusal(self, command: str, user_id: str, team_id: str,
                       client: AsyncWebClient) -> tuple[Card, str] | None:
        """Why this user may not run this command now, as (card, usage outcome), or None."""
        cmd = build_registry().get(command)
        if cmd is None:
            return None  # the core answers unknown commands
        if cmd.requires == "manage_server" and not await is_admin(client, user_id):
            return error_card("Admins only", f"/{cmd.name} is for workspace admins and owners."), "forbidden"
        if self._cooldown is not None and cmd.expensive:
            wait_s = self._cooldown.retry_after(f"slack:{team_id}:{user_id}")
            if wait_s > 0:
                return error_card("One moment", f"/{cmd.name} does a lot of work; you can run it again in "
                                  f"{max(wait_s, 0.1):.1f} s."), "cooldown"
        return None

    async def run_text(self, command: str, text: str, *, user_id: str, team_id: str,
                       client: AsyncWebClient) -> Card:
        """A slash command's free text, parsed by the core's option parser, then run."""
        refusal = await self._refusal(command, user_id, team_id, client)
        if refusal is not None:
            return await self._counted(command, *refusal)
        card = await dispatch.run_text(command, text, user_id=user_id, server_id=team_id or None,
                                       platform="slack")
        return await self._counted(command, card, "error" if card.verdict == "error" else "ok")

    async def run(self, request: Request, client: AsyncWebClient) -> Card:
        """Typed options (follow-up buttons, the shortcut), with the same checks."""
        refusal = await self._refusal(request.command, request.user_id, request.server_id or "", client)
        if refusal is not None:
            return await self._counted(request.command, *refusal)
        card = await dispatch.run(request)
        return await self._counted(request.command, card, "error" if card.verdict == "error" else "ok")

    async def workspace(self, team_id: str) -> ServerSettings:
        """This workspace's settings; the defaults when the store cannot answer (logged)."""
        try:
            return await self.store.get_settings("slack", team_id)
        except Exception:  # noqa: BLE001 - an answer with default visibility beats no answer
            log.exception("could not read settings of Slack workspace %s", team_id)
            return ServerSettings(platform="slack", server_id=team_id)

    async def is_ephemeral(self, card: Card, team_id: str, requested: bool | None) -> bool:
        """Errors (and other private cards) stay private; then the user's choice; then the workspace's."""
        if card.ephemeral:
            return True
        if requested is not None:
            return requested
        return (await self.workspace(team_id)).ephemeral

    @staticmethod
    def message(card: Card, *, ephemeral: bool | None = None, replace_original: bool = False) -> dict[str, Any]:
        """The Card as a Slack message: Block Kit, link unfurling off, and who sees it (``ephemeral``
        None leaves it out: the ack of an interaction has no visibility of its own)."""
        rendered = render_slack(card)
        message: dict[str, Any] = {"text": rendered["text"], "blocks": rendered["blocks"],
                                   "unfurl_links": False, "unfurl_media": False}
        if replace_original:
            message["replace_original"] = True
        elif ephemeral is not None:
            message["response_type"] = "ephemeral" if ephemeral else "in_channel"
        return message

    async def send(self, respond: AsyncRespond, card: Card, *, ephemeral: bool,
                   replace_original: bool = False) -> None:
        """The Card to response_url: a new message, or in place of the clicked one."""
        if not respond.response_url:
            raise ValueError("this Slack request has no response_url to answer")
        message = self.message(card, ephemeral=ephemeral, replace_original=replace_original)
        status, body = await self.poster.post(respond.response_url, message)
        if status != 200:
            log.warning("response_url answered %s: %.200s", status, body)

    def later(self, work: Awaitable[None], what: str) -> None:
        """Run ``work`` after the ack; a failure is logged with ``what`` (nobody else awaits it)."""
        task = asyncio.ensure_future(self._logged(work, what))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _logged(work: Awaitable[None], what: str) -> None:
        try:
            await work
        except Exception:  # noqa: BLE001 - background work has no caller to raise to
            log.exception("Slack %s failed", what)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Let answers still being worked on finish (up to ``timeout_s``), then close the session."""
        pending = set(self._background)
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout_s)
            if late:
                log.warning("shutdown: %d Slack answers still running after %.0f s; cancelling", len(late), timeout_s)
                for task in late:
                    task.cancel()
        await self.poster.close()

    async def _counted(self, command: str, card: Card, outcome: str) -> Card:
        try:
            await self.store.count_usage("slack", command, outcome)
        except Exception:  # noqa: BLE001 - counters must never cost the user an answer
            log.exception("could not count usage of /%s", command)
        return card
