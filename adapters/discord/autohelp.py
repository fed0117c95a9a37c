"""Auto-help in opted-in channels: reply when a new thread or message contains a known error.

Once per thread (forum posts and threads under an opted-in channel; the store's ``claim_once``
makes it once across restarts, duplicate events and several bot processes), once per message in a
plain text channel, never to bots, webhooks or the bot itself, and only when the errors KB matches
(``bot.autohelp.autohelp_card`` decides; silence otherwise).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

import discord

from bot.autohelp import autohelp_card
from bot.card import Card

from .message_tools import AttachmentRef, message_text
from .respond import card_message

if TYPE_CHECKING:
    from .bot import RunLocalAIBot

log = logging.getLogger(__name__)

USER_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def claim_key(place_id: int) -> str:
    """The dedupe key: a thread's id (once per thread) or a message's id (once per message)."""
    return f"discord:autohelp:{place_id}"


class AutoHelp:
    """The listeners; ``setup`` registers ``on_message`` and ``on_thread_create`` with the bot."""

    def __init__(self, bot: RunLocalAIBot, max_cached_parents: int = 10_000) -> None:
        self.bot = bot
        self._parents: OrderedDict[int, int | None] = OrderedDict()   # channel id -> thread parent id
        self._max_cached_parents = max_cached_parents

    async def _opted_in(self, guild_id: int) -> frozenset[str]:
        if self.bot.store is None:
            return frozenset()
        try:
            return (await self.bot.store.get_settings("discord", str(guild_id))).autohelp_channels
        except Exception:  # noqa: BLE001 - auto-help is best effort; the log says why it is quiet
            log.exception("auto-help: could not read settings of guild %s", guild_id)
            return frozenset()

    async def _thread_parent(self, channel: discord.abc.Messageable) -> int | None:
        """The parent channel id when ``channel`` is a thread, else None; uncached channels are
        looked up once over REST and remembered."""
        if isinstance(channel, discord.Thread):
            return channel.parent_id
        if not isinstance(channel, discord.PartialMessageable):
            return None
        if channel.id in self._parents:
            return self._parents[channel.id]
        resolved = self.bot.get_channel(channel.id)
        if resolved is None:
            try:
                resolved = await self.bot.fetch_channel(channel.id)
            except discord.HTTPException:
                log.warning("auto-help: cannot see channel %s", channel.id)
        parent = resolved.parent_id if isinstance(resolved, discord.Thread) else None
        self._parents[channel.id] = parent
        while len(self._parents) > self._max_cached_parents:
            self._parents.popitem(last=False)
        return parent

    async def on_message(self, message: discord.Message) -> None:
        if (message.guild is None or message.author.bot or message.webhook_id is not None
                or message.type not in USER_MESSAGE_TYPES
                or (self.bot.user is not None and message.author.id == self.bot.user.id)):
            return
        opted = await self._opted_in(message.guild.id)
        if not opted:
            return
        if str(message.channel.id) in opted and not isinstance(message.channel, discord.Thread):
            place = message.id                          # a plain help channel: once per message
        else:
            parent = await self._thread_parent(message.channel)
            if parent is None or str(parent) not in opted:
                return
            place = message.channel.id                  # a thread under a help channel: once per thread
        text, _ = await message_text(message.content or "", [
            AttachmentRef(a.filename, a.size, a.read) for a in message.attachments])
        card = autohelp_card(text)
        if card is None or not await self._claim(place):
            return
        await self._send(card, message.reply, where=f"message {message.id} in channel {message.channel.id}",
                         mention_author=False)

    async def on_thread_create(self, thread: discord.Thread) -> None:
        if thread.parent_id is None or (thread.owner_id is not None and thread.owner_id == self.bot.user.id):
            return
        opted = await self._opted_in(thread.guild.id)
        if str(thread.parent_id) not in opted:
            return
        starter = thread.starter_message   # cached when the post's message arrived first
        if starter is not None and starter.author.bot:
            return
        text = "\n".join(filter(None, [thread.name, starter.content if starter else ""]))
        card = autohelp_card(text)
        if card is None or not await self._claim(thread.id):
            return
        await self._send(card, thread.send, where=f"thread {thread.id}")

    async def _claim(self, place_id: int) -> bool:
        try:
            return await self.bot.store.claim_once(claim_key(place_id))  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - without the claim we cannot promise "once": stay quiet
            log.exception("auto-help: claim failed for %s", place_id)
            return False

    async def _send(self, card: Card, send, *, where: str, **kwargs) -> None:
        msg = card_message(card)
        try:
            await send(**msg.new_kwargs(), **kwargs)
        except discord.HTTPException:
            log.exception("auto-help: could not reply to %s", where)
