"""``/config``: per-guild settings (auto-help channels, ephemeral answers, default runtime) in the store.

The logic is here, transport-free, for both front-ends; ``config_group`` is the gateway's slash
command group. Discord shows the group only to members with Manage Server
(``default_member_permissions``), and the callbacks check again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable

import discord
from discord import app_commands
from discord.abc import Snowflake

from bot.card import Card, error_card
from bot.store.base import ServerSettings, Store
from catalog.resolve import get_resolver

from .autocomplete import suggestions
from .respond import answer_with

MANAGE_GUILD = discord.Permissions(manage_guild=True)
AUTOHELP_CHANNEL_TYPES = (discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum,
                          discord.ChannelType.media)
CLEAR_WORDS = ("none", "default", "off", "clear")


def not_allowed() -> Card:
    return error_card("Not allowed", "Changing settings needs Manage Server.")


def servers_only() -> Card:
    return error_card("Servers only", "Settings belong to a server.")


def _saved(title: str, summary: str) -> Card:
    return Card(title=title, summary=summary, verdict="comfortable", ephemeral=True, footer="/config")


NameOf = Callable[[str], str | None]


def _no_names(channel_id: str) -> str | None:
    return None


def _channels(ids: Iterable[str], name_of: NameOf = _no_names) -> str:
    """Channels by name where known (a <#id> mention would be neutralised by the renderer)."""
    return ", ".join(f"#{name_of(i) or i}" for i in sorted(ids)) or "none"


async def set_autohelp(store: Store, guild_id: str, channel_id: str, enabled: bool,
                       name_of: NameOf = _no_names) -> Card:
    current = await store.get_settings("discord", guild_id)
    channels = set(current.autohelp_channels)
    (channels.add if enabled else channels.discard)(channel_id)
    await store.save_settings(dataclasses.replace(current, autohelp_channels=frozenset(channels)))
    state = "on" if enabled else "off"
    where = name_of(channel_id) or channel_id
    return _saved(f"Auto-help {state}", f"Auto-help is {state} in #{where}. When a new thread or message "
                  "there contains a known error, I reply once per thread with the fix (never to bots). "
                  f"Auto-help channels: {_channels(channels, name_of)}.")


async def set_ephemeral(store: Store, guild_id: str, enabled: bool) -> Card:
    current = await store.get_settings("discord", guild_id)
    await store.save_settings(dataclasses.replace(current, ephemeral=enabled))
    return _saved("Answers are now " + ("private" if enabled else "public"),
                  "Command answers are visible only to the person who asked." if enabled else
                  "Command answers are visible to the channel.")


async def set_runtime(store: Store, guild_id: str, runtime: str) -> Card:
    current = await store.get_settings("discord", guild_id)
    if runtime.strip().lower() in CLEAR_WORDS:
        await store.save_settings(dataclasses.replace(current, default_runtime=None))
        return _saved("Default runtime cleared", "/willitrun uses each command's own default again.")
    m = get_resolver().runtimes.resolve(runtime)
    if not m.found:
        return error_card("Unknown runtime", f"I don't know the runtime '{runtime}'.",
                          [label for label, _ in suggestions("runtime", runtime, 8)] or list(m.suggestions))
    entry = m.entry
    assert entry is not None
    await store.save_settings(dataclasses.replace(current, default_runtime=entry.id))
    return _saved("Default runtime set",
                  f"Commands that take a runtime use **{entry.name}** unless one is given.")


def show(settings: ServerSettings, name_of: NameOf = _no_names) -> Card:
    card = Card(title="Server settings", verdict="info", ephemeral=True, footer="/config")
    card.add("Auto-help channels", _channels(settings.autohelp_channels, name_of), inline=False)
    card.add("Private answers", "on" if settings.ephemeral else "off")
    card.add("Default runtime", settings.default_runtime or "none")
    return card


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
