"""Slash commands: one Slack command per registry command, free text parsed by the core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.card import error_card

from .answers import Answers, split_visibility, team_of


def slash_command(answers: Answers) -> Callable[..., Awaitable[None]]:
    """The listener for every registry command: ack first, compute, then respond()."""

    async def on_slash_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                               client: AsyncWebClient) -> None:
        await ack()
        name = str(command.get("command", "")).lstrip("/").lower()
        team_id = team_of(command)
        text, requested, problem = split_visibility(str(command.get("text") or ""))
        if problem is not None:
            card = error_card("I couldn't read that", problem + ". Add `private` or `public` at the end, "
                              "or `ephemeral=yes`.")
        else:
            user_id = str(command.get("user_id", ""))
            card = await answers.run_text(name, text, user_id=user_id, team_id=team_id, client=client)
        ephemeral = await answers.is_ephemeral(card, team_id, requested)
        await answers.send(respond, card, ephemeral=ephemeral)

    return on_slash_command
