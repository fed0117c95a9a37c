"""The App Home tab: a short guide, built from the registry so it lists every command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.card import Card
from bot.commands import build_registry
from bot.commands.meta import help_card
from bot.render.slack import render_slack

from .answers import Answers
from .workspace_config import CONFIG_COMMAND


def home_card() -> Card:
    card = help_card(list(build_registry()))
    card.summary += (" Type a command with plain words, e.g. `/willitrun llama 3.1 8b on rtx 3060`. "
                     "Add `private` at the end to get the answer just for you, `public` to post it.")
    card.add("Troubleshoot this", "On any message: ⋮ More actions → *Troubleshoot this* matches it "
             "against known errors and shows you the fix.", inline=False)
    card.add("Auto-help", f"Admins can turn on `/{CONFIG_COMMAND} autohelp on` in a help channel: a message "
             "with a known error then gets one reply in its thread.", inline=False)
    card.footer = "Numbers are computed from real model architectures and hardware specs; see /about."
    return card


def home_view() -> dict[str, Any]:
    return {"type": "home", "blocks": render_slack(home_card())["blocks"]}


def on_app_home_opened(answers: Answers) -> Callable[..., Awaitable[None]]:
    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            answers.later(client.views_publish(user_id=str(event["user"]), view=home_view()), "App Home")

    return on_home
