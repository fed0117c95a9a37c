"""What every Slack listener shares: run a core command for a Slack user (permission, cooldown,
usage count), decide who sees the answer, and send the Card through ``respond()``.

Listeners ack first and compute after: bolt answers Slack as soon as ``ack()`` is called and the
listener keeps running. The core runs on the event loop (its handlers may use the store, whose
connection belongs to this loop); the catalog is loaded at start-up (``app.warm_up``) so a
command costs milliseconds, not the two seconds of a cold load.
"""

from __future__ import annotations

import logging
import re
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

log = logging.getLogger(__name__)

_TRUE = {"yes", "true", "on", "1", "y"}
_FALSE = {"no", "false", "off", "0", "n"}
_EPHEMERAL_KV_RE = re.compile(r"(?<!\S)(?:--)?ephemeral=(\S*)(?!\S)", re.I)
_TRAILING_WORD_RE = re.compile(r"(?:^|\s+)(?:--)?(public|private)\s*$", re.I)


def split_visibility(text: str) -> tuple[str, bool | None, str | None]:
    """Take the visibility words out of slash command text.

    ``ephemeral=yes|no`` anywhere, or a trailing ``public``/``private`` word.
    Returns (the rest of the text, True for ephemeral / False for in channel / None when not
    asked, a problem message or None).
    """
    requested: bool | None = None
    m = _EPHEMERAL_KV_RE.search(text)
    if m:
        value = m.group(1).lower()
        if value not in _TRUE | _FALSE:
            return text, None, f"ephemeral takes yes or no, not {m.group(1)!r}"
        requested = value in _TRUE
        text = (text[: m.start()] + " " + text[m.end():]).strip()
    m = _TRAILING_WORD_RE.search(text)
    if m and requested is None:
        requested = m.group(1).lower() == "private"
        text = text[: m.start()].strip()
    return text.strip(), requested, None


def team_of(body: dict[str, Any]) -> str:
    """The workspace id of any bolt payload (slash command, interaction or event)."""
    team = (body.get("team_id") or (body.get("team") or {}).get("id")
            or (body.get("user") or {}).get("team_id"))
    return str(team or "")


class Answers:
    """Runs core commands for Slack users and sends the Cards back."""

    def __init__(self, store: Store, *, cooldown_seconds: float = 3.0) -> None:
        self.store = store
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

    async def send(self, respond: AsyncRespond, card: Card, *, ephemeral: bool,
                   replace_original: bool = False) -> None:
        """The Card as Block Kit to response_url: a new message, or in place of the clicked one."""
        message = render_slack(card)
        kwargs: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}
        if replace_original:
            kwargs["replace_original"] = True
        else:
            kwargs["response_type"] = "ephemeral" if ephemeral else "in_channel"
        response = await respond(text=message["text"], blocks=message["blocks"], **kwargs)
        if response.status_code != 200:
            log.warning("response_url answered %s: %.200s", response.status_code, response.body)

    async def _counted(self, command: str, card: Card, outcome: str) -> Card:
        try:
            await self.store.count_usage("slack", command, outcome)
        except Exception:  # noqa: BLE001 - counters must never cost the user an answer
            log.exception("could not count usage of /%s", command)
        return card
