"""``/config``: per-guild settings (auto-help channels, ephemeral answers, default runtime) in the store.

The logic is here, transport-free (no discord.py: the HTTP endpoint runs without it), for both
front-ends; ``config_command.config_group`` is the gateway's slash command group. Discord shows the
group only to members with Manage Server (``default_member_permissions``), and the callbacks
check again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from bot.card import Card, error_card
from bot.store.base import ServerSettings, Store
from catalog.resolve import get_resolver

from .autocomplete import suggestions

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


def __getattr__(name: str) -> Any:
    """The gateway's parts, moved to ``config_command`` (which imports discord.py), by their old names."""
    if name in ("config_group", "HelpChannel", "MANAGE_GUILD", "AUTOHELP_CHANNEL_TYPES"):
        from . import config_command

        return getattr(config_command, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
