"""``/runlocalai-config``: a workspace's settings, changed by its admins only.

    /runlocalai-config                   show the settings (anyone)
    /runlocalai-config autohelp on|off   auto-help in this channel
    /runlocalai-config answers private|public
                                         default visibility of slash command answers

Slack-only (the registry's commands are platform-neutral; this one is about Slack channels and
Slack admins), so it is declared here and added to the manifest next to the registry's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.card import Card, error_card
from bot.store.base import ServerSettings

from .answers import Answers, team_of
from .permissions import is_admin

CONFIG_COMMAND = "runlocalai-config"
CONFIG_DESCRIPTION = ("Admins: auto-help in this channel, and whether answers are private or public "
                      "by default.")
CONFIG_USAGE = "autohelp on | autohelp off | answers private | answers public"


def settings_card(settings: ServerSettings, channel_id: str, title: str = "runlocalai settings") -> Card:
    card = Card(title=title, verdict="info", ephemeral=True)
    card.add("Answers", "private (only the asker sees them)" if settings.ephemeral
             else "public (in the channel)")
    card.add("Auto-help here", "on" if channel_id in settings.autohelp_channels else "off")
    card.add("Auto-help channels", str(len(settings.autohelp_channels)))
    card.footer = f"Change: /{CONFIG_COMMAND} {CONFIG_USAGE} (workspace admins)"
    return card


def apply(settings: ServerSettings, words: list[str], channel_id: str) -> ServerSettings | None:
    """The settings after ``words``, or None when the words are not a known change."""
    match words:
        case ["autohelp", "on"]:
            return replace(settings, autohelp_channels=settings.autohelp_channels | {channel_id})
        case ["autohelp", "off"]:
            return replace(settings, autohelp_channels=settings.autohelp_channels - {channel_id})
        case ["answers", "private" | "public" as visibility]:
            return replace(settings, ephemeral=visibility == "private")
    return None


def config_command(answers: Answers) -> Callable[..., Awaitable[None]]:
    store = answers.store

    async def on_config(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                        client: AsyncWebClient) -> None:
        await ack()
        answers.later(run(command, respond, client), f"/{CONFIG_COMMAND}")

    async def run(command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        team_id, channel_id = team_of(command), str(command.get("channel_id", ""))
        words = str(command.get("text") or "").lower().split()
        settings = await answers.workspace(team_id)
        if words in ([], ["show"]):
            card = settings_card(settings, channel_id)
        elif (changed := apply(settings, words, channel_id)) is None:
            card = error_card("Unknown setting", f"Use `/{CONFIG_COMMAND} {CONFIG_USAGE}`.")
        elif not await is_admin(client, str(command.get("user_id", ""))):
            card = error_card("Admins only", "Only workspace admins and owners can change these settings.")
        else:
            await store.save_settings(changed)
            card = settings_card(changed, channel_id, title="Saved")
            if words[0] == "autohelp" and words[1] == "on":
                card.add("Note", "I only see channels I'm in: invite me here if you haven't.", inline=False)
        await answers.send(respond, card, ephemeral=True)

    return on_config
