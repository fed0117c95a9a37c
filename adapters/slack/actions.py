"""Buttons on our answers: follow-ups re-run a command in place; link buttons only need an ack."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.card import Card
from bot.registry import Request
from bot.render.actions import decode_action

from .answers import Answers, team_of

log = logging.getLogger(__name__)

FOLLOW_UP_ACTION_ID = re.compile(r"^rl_followup_")
LINK_ACTION_ID = re.compile(r"^link_")


def replaces_original(card: Card, original_private: bool) -> bool:
    """A follow-up's answer takes the clicked message's place, except an error (the clicker alone
    sees it and keeps the answer) and a private card on a message everyone sees."""
    if card.verdict == "error":
        return False
    return original_private or not card.ephemeral


def follow_up(answers: Answers) -> Callable[..., Awaitable[None]]:
    """A follow-up button ("Try Q5_K_M", "Largest context"): run it and replace the answer."""

    async def on_follow_up(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        decoded = decode_action(str(action.get("value", "")))
        if decoded is None:
            log.warning("ignoring a follow-up button whose value is not ours: %.80r", action.get("value"))
            return
        command, args = decoded
        user_id = str((body.get("user") or {}).get("id", ""))
        request = Request(command=command, options=dict(args), user_id=user_id,
                          server_id=team_of(body) or None, platform="slack")
        card = await answers.run(request, client)
        original_private = bool((body.get("container") or {}).get("is_ephemeral"))
        if replaces_original(card, original_private):
            await answers.send(respond, card, ephemeral=original_private, replace_original=True)
        else:
            await answers.send(respond, card, ephemeral=True)

    return on_follow_up


async def ack_link(ack: AsyncAck) -> None:
    """Slack sends block_actions for URL buttons too; without an ack the user sees a warning."""
    await ack()
