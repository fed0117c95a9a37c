"""Answering a gateway interaction with a Card: embed + persistent buttons, deferral, follow-ups.

The message JSON comes from the core's ``render_discord`` (limits and mention-neutralising live
there); this module only turns it into discord.py objects and picks the right response call:

- a slash command or context menu answers with a new message (ephemeral when the card or the
  guild's setting says so);
- a follow-up button (or a choice in a select menu) edits the message it sits on when the person
  who pressed it is the one who asked, and otherwise answers them privately, so nobody rewrites
  someone else's answer;
- anything that may pass Discord's 3-second deadline is deferred first and then filled in;
- an error card after a public deferral replaces the "thinking…" message with an ephemeral one.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.card import Card, error_card
from bot.deadlines import finished_within
from bot.registry import Request
from bot.render.actions import MENU_PREFIX, PREFIX
from bot.render.discord import CHART_FILENAME, render_discord

from .answer import (BUDGET_S, STALE_BUTTON, cooldown_card, failure_card, is_expensive,
                     permission_card, produce)
from .translate import request_from_choice, request_from_custom_id, server_settings, with_server_defaults

if TYPE_CHECKING:
    from .bot import RunLocalAIBot

log = logging.getLogger(__name__)

Mode = Literal["new", "update", "reply"]   # new message / edit the pressed message / private reply


class ActionButton(discord.ui.DynamicItem[discord.ui.Button], template=re.escape(PREFIX) + r"\|[^|]+\|.*"):
    """A follow-up button (``rl|command|k=v``). Registered with ``add_dynamic_items``, so a press
    works on any message the bot ever sent, across restarts, with no view kept in memory."""

    def __init__(self, custom_id: str, label: str | None = None, row: int | None = None) -> None:
        super().__init__(discord.ui.Button(style=discord.ButtonStyle.secondary, label=label,
                                           custom_id=custom_id, row=row))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ActionButton:
        return cls(match.string, getattr(item, "label", None))

    async def callback(self, interaction: discord.Interaction) -> None:
        await follow_up(interaction, self.item.custom_id or "")


class ActionSelect(discord.ui.DynamicItem[discord.ui.Select],
                   template=re.escape(MENU_PREFIX) + r"\|[^|]+\|[^|]+\|.*"):
    """A follow-up select menu (``rm|command|option|k=v``): the chosen value fills ``option``.
    Persistent like ``ActionButton``: dispatched by its custom id on any message, across restarts."""

    def __init__(self, custom_id: str, placeholder: str | None = None,
                 options: list[discord.SelectOption] | None = None, row: int | None = None) -> None:
        super().__init__(discord.ui.Select(custom_id=custom_id, placeholder=placeholder,
                                           options=options or [], row=row))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ActionSelect:
        return cls(match.string, getattr(item, "placeholder", None), list(getattr(item, "options", [])))

    async def callback(self, interaction: discord.Interaction) -> None:
        await choose(interaction, self.item.custom_id or "", list(self.item.values))


@dataclass
class CardMessage:
    embed: discord.Embed
    view: discord.ui.View | None
    ephemeral: bool
    chart_png: bytes | None = None

    def files(self) -> list[discord.File]:
        """The chart the embed shows as ``attachment://chart.png`` (a File is single-use: fresh each call)."""
        return [discord.File(io.BytesIO(self.chart_png), CHART_FILENAME)] if self.chart_png else []

    def new_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a new message (send_message / followup.send)."""
        kw: dict[str, Any] = {"embed": self.embed}
        if self.chart_png:
            kw["files"] = self.files()
        if self.view is not None:
            kw["view"] = self.view
        return kw

    def edit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for an edit: buttons and chart replaced (or removed) too."""
        return {"embed": self.embed, "view": self.view, "attachments": self.files()}


def card_message(card: Card, *, ephemeral: bool = False) -> CardMessage:
    """The rendered card as discord.py objects: one embed, a view of link and follow-up buttons
    and select menus, and the chart image when the card has one."""
    body = render_discord(card)
    embed = discord.Embed.from_dict(body["embeds"][0])
    view: discord.ui.View | None = None
    for row_index, row in enumerate(body.get("components", [])):
        for component in row["components"]:
            view = view or discord.ui.View(timeout=None)
            if component["type"] == 3:
                options = [discord.SelectOption(label=o["label"], value=o["value"],
                                                description=o.get("description"))
                           for o in component["options"]]
                view.add_item(ActionSelect(component["custom_id"], component.get("placeholder"), options,
                                           row_index))
            elif "url" in component:
                view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=component["label"],
                                                url=component["url"], row=row_index))
            else:
                view.add_item(ActionButton(component["custom_id"], component["label"], row_index))
    return CardMessage(embed, view, ephemeral or bool(body.get("flags", 0) & 64), card.chart_png)


def describe(interaction: discord.Interaction) -> str:
    """Who did what where, for the log."""
    data = interaction.data or {}
    command = interaction.command
    name = command.qualified_name if command else data.get("name") or data.get("custom_id")
    return (f"command={name!r} user={interaction.user.id} guild={interaction.guild_id} "
            f"channel={interaction.channel_id}")


async def answer(interaction: discord.Interaction, request: Request, mode: Mode = "new") -> None:
    """Run a registry command for this interaction and answer with its card."""
    bot: RunLocalAIBot = interaction.client  # type: ignore[assignment]
    settings = await server_settings(bot.store, request.server_id)
    request = with_server_defaults(request, settings)
    can_manage = interaction.guild_id is not None and interaction.permissions.manage_guild
    blocked = permission_card(request, can_manage_server=can_manage) or cooldown_card(bot.cooldown, request)
    if blocked is not None:
        await interaction.response.send_message(embed=card_message(blocked).embed, ephemeral=True)
        return
    await answer_with(interaction, lambda: produce(bot.store, request), mode=mode,
                      expensive=is_expensive(request.command),
                      ephemeral=bool(settings and settings.ephemeral))


async def answer_with(interaction: discord.Interaction, make_card: Callable[[], Awaitable[Card]], *,
                      mode: Mode = "new", expensive: bool = False, ephemeral: bool = False) -> None:
    """Answer with the card ``make_card`` builds, deferring when it is expensive or runs long.
    Any failure is logged with its context and answered with a short ephemeral message."""
    try:
        if mode != "new":
            # A private reply is always ephemeral; an edit keeps the message as it is (only an
            # error card, sent on the side, is ephemeral then).
            ephemeral = mode == "reply"
        task = asyncio.ensure_future(make_card())
        deferred = False
        if expensive or not await finished_within(task, BUDGET_S):
            if mode == "update":
                await interaction.response.defer()
            else:
                await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            deferred = True
        card = await task
        await _deliver(interaction, card_message(card, ephemeral=ephemeral), mode, deferred,
                       deferred_ephemeral=ephemeral)
    except Exception:  # noqa: BLE001 - the user always gets an answer, the log gets the traceback
        log.exception("Discord interaction failed (%s)", describe(interaction))
        await tell_failure(interaction)


async def _deliver(interaction: discord.Interaction, msg: CardMessage, mode: Mode, deferred: bool, *,
                   deferred_ephemeral: bool) -> None:
    response = interaction.response
    if mode == "update" and not msg.ephemeral:
        if deferred:
            await interaction.edit_original_response(**msg.edit_kwargs())
        else:
            await response.edit_message(**msg.edit_kwargs())
    elif mode == "update":  # an error after a button press: tell the presser, keep the message
        if deferred:
            await interaction.followup.send(ephemeral=True, **msg.new_kwargs())
        else:
            await response.send_message(ephemeral=True, **msg.new_kwargs())
    elif not deferred:
        await response.send_message(ephemeral=msg.ephemeral, **msg.new_kwargs())
    elif msg.ephemeral and not deferred_ephemeral:
        # The public "thinking…" message would show an error to everyone: replace it privately.
        await interaction.delete_original_response()
        await interaction.followup.send(ephemeral=True, **msg.new_kwargs())
    else:
        await interaction.edit_original_response(**msg.edit_kwargs())


async def tell_failure(interaction: discord.Interaction, text: str | None = None) -> None:
    """A short ephemeral "that failed" whatever state the interaction is in; never raises."""
    card = failure_card() if text is None else error_card("That didn't work", text)
    embed = card_message(card).embed
    try:
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)
    except Exception:  # noqa: BLE001 - the last word of a failed interaction must not raise
        # (an HTTP error, a timeout, a dropped connection: each is logged, none escapes)
        log.exception("could not even report a failure (%s)", describe(interaction))


def follow_up_mode(interaction: discord.Interaction) -> Mode:
    """Edit the pressed message when it is private or the presser asked for it; else reply privately."""
    message = interaction.message
    if message is None:
        return "reply"
    if message.flags.ephemeral:
        return "update"
    meta = message.interaction_metadata
    return "update" if meta is not None and meta.user.id == interaction.user.id else "reply"


async def follow_up(interaction: discord.Interaction, custom_id: str) -> None:
    """A follow-up button: decode its id and run that command in place."""
    request = request_from_custom_id(custom_id, user_id=interaction.user.id, server_id=interaction.guild_id)
    if request is None:
        await tell_failure(interaction, STALE_BUTTON)
        return
    await answer(interaction, request, follow_up_mode(interaction))


async def choose(interaction: discord.Interaction, custom_id: str, values: list[str]) -> None:
    """A choice in a follow-up select menu: run its command with the chosen value, in place."""
    request = request_from_choice(custom_id, values, user_id=interaction.user.id,
                                  server_id=interaction.guild_id)
    if request is None:
        await tell_failure(interaction, STALE_BUTTON)
        return
    await answer(interaction, request, follow_up_mode(interaction))
