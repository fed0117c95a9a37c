"""The message shortcut "Troubleshoot this": the errors KB on any message, answered privately."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.registry import Request

from .answers import Answers, team_of

TROUBLESHOOT_CALLBACK_ID = "troubleshoot_message"


def troubleshoot_message(answers: Answers) -> Callable[..., Awaitable[None]]:
    async def on_troubleshoot_message(ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond,
                                      client: AsyncWebClient) -> None:
        await ack()
        answers.later(run(shortcut, respond, client), "shortcut Troubleshoot this")

    async def run(shortcut: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        text = str((shortcut.get("message") or {}).get("text") or "")
        request = Request(command="troubleshoot", options={"text": text},
                          user_id=str((shortcut.get("user") or {}).get("id", "")),
                          server_id=team_of(shortcut) or None, platform="slack")
        card = await answers.run(request, client)
        # The person who asked sees the fix; they can share it. Nobody else is pinged.
        await answers.send(respond, card, ephemeral=True)

    return on_troubleshoot_message
