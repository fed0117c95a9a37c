"""Buttons and select menus on our answers: follow-ups re-run a command in place; link buttons only
need an ack.

A follow-up button's ``value`` is its follow-up id (``rl|command|k=v``); a follow-up select's
``action_id`` carries the menu id after the prefix (``rl_followup_rm|command|option|k=v``) and
Slack sends the chosen value as ``selected_option.value``.
"""

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
from bot.render.actions import decode_action, decode_choice
from bot.render.slack import FOLLOW_UP

from .answers import Answers, team_of

log = logging.getLogger(__name__)

FOLLOW_UP_ACTION_ID = re.compile("^" + re.escape(FOLLOW_UP))
LINK_ACTION_ID = re.compile(r"^link_")


def replaces_original(card: Card, original_private: bool) -> bool:
    """A follow-up's answer takes the clicked message's place, except an error (the clicker alone
    sees it and keeps the answer) and a private card on a message everyone sees."""
    if card.verdict == "error":
        return False
    return original_private or not card.ephemeral


def decode_follow_up(action: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
    """The command and arguments a follow-up button or a choice in a follow-up select runs, or
    None when the element is not ours or malformed."""
    if action.get("type") == "static_select":
        menu_id = str(action.get("action_id", "")).removeprefix(FOLLOW_UP)
        chosen = (action.get("selected_option") or {}).get("value")
        return decode_choice(menu_id, chosen) if isinstance(chosen, str) else None
    return decode_action(str(action.get("value", "")))


def follow_up(answers: Answers) -> Callable[..., Awaitable[None]]:
    """A follow-up button ("Try Q5_K_M", "Largest context") or a choice in a follow-up select
    ("Try another quant"): run it and replace the answer."""

    async def on_follow_up(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        decoded = decode_follow_up(action)
        if decoded is None:
            log.warning("ignoring a follow-up %s that is not ours: %.80r", action.get("type"),
                        action.get("value") or action.get("action_id"))
            return
        answers.later(run(decoded, body, respond, client), f"follow-up {decoded[0]}")

    async def run(decoded: tuple[str, dict[str, str]], body: dict[str, Any], respond: AsyncRespond,
                  client: AsyncWebClient) -> None:
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
