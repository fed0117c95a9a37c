"""``/config`` on the gateway: the discord.py slash command group over ``server_config``'s logic.

Discord shows the group only to members with Manage Server (``default_member_permissions``),
and the callbacks check again. The HTTP endpoint serves the same subcommands without discord.py
(see ``http_endpoint``); only this module and the gateway import it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.abc import Snowflake

from bot.card import Card
from bot.store.base import Store

from .autocomplete import suggestions
from .respond import answer_with
from .server_config import NameOf, not_allowed, servers_only, set_autohelp, set_ephemeral, set_runtime, show

MANAGE_GUILD = discord.Permissions(manage_guild=True)
AUTOHELP_CHANNEL_TYPES = (discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum,
                          discord.ChannelType.media)


class HelpChannel(app_commands.Transformer):
    """A text or forum channel, taken as Discord sent it (no cache needed: only the id is used)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(AUTOHELP_CHANNEL_TYPES)

    async def transform(self, interaction: discord.Interaction, value: Snowflake) -> Snowflake:
        return value


def config_group() -> app_commands.Group:
    """The gateway's ``/config`` group; each subcommand answers with an ephemeral card."""
    group = app_commands.Group(name="config", default_permissions=MANAGE_GUILD, guild_only=True,
                               description="Server settings for this bot (needs Manage Server).")

    def names(interaction: discord.Interaction) -> NameOf:
        def name_of(channel_id: str) -> str | None:
            channel = interaction.guild.get_channel(int(channel_id)) if interaction.guild else None
            return getattr(channel, "name", None)

        return name_of

    async def reply(interaction: discord.Interaction, work: Callable[[Store, str], Awaitable[Card]]) -> None:
        store = interaction.client.store  # type: ignore[attr-defined]
        if interaction.guild_id is None or store is None:
            await answer_with(interaction, _const(servers_only()))
            return
        if not interaction.permissions.manage_guild:
            await answer_with(interaction, _const(not_allowed()))
            return
        await answer_with(interaction, lambda: work(store, str(interaction.guild_id)))

    @group.command(name="autohelp", description="Turn auto-help on or off in a help channel (text or forum).")
    @app_commands.describe(channel="The help channel", enabled="On or off")
    async def autohelp(interaction: discord.Interaction,
                       channel: app_commands.Transform[Snowflake, HelpChannel], enabled: bool) -> None:
        known = {str(channel.id): getattr(channel, "name", None)}

        def name_of(channel_id: str) -> str | None:
            return known.get(channel_id) or names(interaction)(channel_id)

        await reply(interaction,
                    lambda store, gid: set_autohelp(store, gid, str(channel.id), enabled, name_of))

    @group.command(name="ephemeral", description="Make command answers visible only to the person who asked.")
    @app_commands.describe(enabled="On: private answers; off: answers in the channel")
    async def ephemeral(interaction: discord.Interaction, enabled: bool) -> None:
        await reply(interaction, lambda store, gid: set_ephemeral(store, gid, enabled))

    @group.command(name="runtime", description="Default runtime for /willitrun ('none' to clear).")
    @app_commands.describe(runtime="llama.cpp, Ollama, LM Studio, vLLM, MLX ... or 'none'")
    async def runtime(interaction: discord.Interaction, runtime: str) -> None:
        await reply(interaction, lambda store, gid: set_runtime(store, gid, runtime))

    @runtime.autocomplete("runtime")
    async def runtime_choices(interaction: discord.Interaction,
                              current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=v) for n, v in suggestions("runtime", current)]

    @group.command(name="show", description="Show this server's settings.")
    async def show_settings(interaction: discord.Interaction) -> None:
        async def work(store: Store, gid: str) -> Card:
            return show(await store.get_settings("discord", gid), names(interaction))

        await reply(interaction, work)

    return group


def _const(card: Card):
    async def make() -> Card:
        return card

    return make
