"""Message context menus (right-click → Apps): "Troubleshoot this" and "Explain terms"."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.card import Card

from .message_tools import (EXPLAIN_TERMS, TROUBLESHOOT_THIS, AttachmentRef, explain_terms_card,
                            troubleshoot_message_card)
from .respond import answer_with
from .translate import server_settings

__all__ = ["EXPLAIN_TERMS", "TROUBLESHOOT_THIS", "context_menus", "explain_terms", "troubleshoot_this"]


def _attachments(message: discord.Message) -> list[AttachmentRef]:
    return [AttachmentRef(a.filename, a.size, a.read) for a in message.attachments]


async def _ephemeral_default(interaction: discord.Interaction) -> bool:
    settings = await server_settings(getattr(interaction.client, "store", None),
                                     None if interaction.guild_id is None else str(interaction.guild_id))
    return bool(settings and settings.ephemeral)


async def troubleshoot_this(interaction: discord.Interaction, message: discord.Message) -> None:
    """The errors KB on the message and its .txt/.log attachments."""

    async def make_card() -> Card:
        return await troubleshoot_message_card(message.content or "", _attachments(message))

    await answer_with(interaction, make_card, ephemeral=await _ephemeral_default(interaction))


async def explain_terms(interaction: discord.Interaction, message: discord.Message) -> None:
    """Short definitions of the glossary terms the message uses."""

    async def make_card() -> Card:
        return explain_terms_card(message.content or "")

    await answer_with(interaction, make_card, ephemeral=await _ephemeral_default(interaction))


def context_menus() -> list[app_commands.ContextMenu]:
    return [app_commands.ContextMenu(name=TROUBLESHOOT_THIS, callback=troubleshoot_this),
            app_commands.ContextMenu(name=EXPLAIN_TERMS, callback=explain_terms)]
