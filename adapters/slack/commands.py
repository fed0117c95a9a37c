"""Slash commands: one Slack command per registry command, free text parsed by the core.

A command whose answer is ready within ``ACK_BUDGET_S`` is answered in the ack itself (one
request, no second round trip); an expensive or slow one is acknowledged at once and answered
through response_url when it is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.card import Card, error_card
from bot.commands import build_registry
from bot.deadlines import finished_within
from bot.parse import split_visibility

from .answers import Answers, team_of

ACK_BUDGET_S = 2.0   # Slack wants the ack within 3 s; leave room for the network


def slash_command(answers: Answers) -> Callable[..., Awaitable[None]]:
    """The listener for every registry command."""

    async def answer(command: dict[str, Any], client: AsyncWebClient) -> tuple[Card, bool]:
        name = str(command.get("command", "")).lstrip("/").lower()
        team_id = team_of(command)
        text, requested, problem = split_visibility(str(command.get("text") or ""))
        if problem is not None:
            card = error_card("I couldn't read that", problem + ". Add `private` or `public` at the end, "
                              "or `ephemeral=yes`.")
        else:
            user_id = str(command.get("user_id", ""))
            card = await answers.run_text(name, text, user_id=user_id, team_id=team_id, client=client)
        return card, await answers.is_ephemeral(card, team_id, requested)

    async def deliver(work: asyncio.Future[tuple[Card, bool]], respond: AsyncRespond) -> None:
        card, ephemeral = await work
        await answers.send(respond, card, ephemeral=ephemeral)

    async def on_slash_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                               client: AsyncWebClient) -> None:
        registered = build_registry().get(str(command.get("command", "")))
        work = asyncio.ensure_future(answer(command, client))
        if not (registered and registered.expensive) and await finished_within(work, ACK_BUDGET_S) \
                and work.exception() is None:
            card, ephemeral = work.result()
            await ack(**answers.message(card, ephemeral=ephemeral))
            return
        await ack()
        answers.later(deliver(work, respond), str(command.get("command") or "slash command"))

    return on_slash_command
