"""Registry commands as discord.py slash commands, generated: nothing about a command is written twice.

Each ``bot.registry.Command`` becomes an ``app_commands.Command`` whose callback signature is
built from the command's options (typed, ranged, with choices or autocomplete), so discord.py
produces the option schema Discord receives and validates/transforms what users send back.
"""

from __future__ import annotations

import inspect
from typing import Any

import discord
from discord import app_commands

from bot.commands import build_registry
from bot.registry import Command, Completer, Option

from .autocomplete import suggestions
from .respond import answer
from .translate import request_for

_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


def annotation_for(option: Option) -> Any:
    """The Python annotation discord.py turns into the option's type (and min/max)."""
    base = _TYPES[option.type]
    if base in (int, float) and (option.min_value is not None or option.max_value is not None):
        low = None if option.min_value is None else base(option.min_value)
        high = None if option.max_value is None else base(option.max_value)
        return app_commands.Range[base, low, high]
    return base


def completer(kind: Completer):
    """An autocomplete callback over the in-memory catalog index ``kind``."""

    async def autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=value) for name, value in suggestions(kind, current)]

    autocomplete.__qualname__ = autocomplete.__name__ = f"autocomplete_{kind}"
    return autocomplete


def slash_command(command: Command) -> app_commands.Command:
    """One registry command as a slash command whose callback builds a Request and answers it."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        request = request_for(command, values, user_id=interaction.user.id, server_id=interaction.guild_id)
        await answer(interaction, request)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=discord.Interaction)]
    for option in command.options:
        params.append(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY,
                                        default=inspect.Parameter.empty if option.required else None,
                                        annotation=annotation_for(option)))
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = command.name
    # The public decorators record descriptions, choices and autocomplete for discord.py to read.
    app_commands.describe(**{o.name: o.description[:100] for o in command.options})(callback)
    choices = {o.name: [app_commands.Choice(name=c, value=c) for c in o.choices[:25]]
               for o in command.options if o.choices}
    if choices:
        app_commands.choices(**choices)(callback)
    if command.requires == "manage_server":   # shown to members with Manage Server, in servers only
        app_commands.default_permissions(manage_guild=True)(callback)
        app_commands.guild_only()(callback)
    completers = {o.name: completer(o.autocomplete) for o in command.options
                  if o.autocomplete and not o.choices}
    if completers:
        app_commands.autocomplete(**completers)(callback)
    return app_commands.Command(name=command.name, description=command.description, callback=callback,
                                extras={"registry": command.name})


def slash_commands() -> list[app_commands.Command]:
    return [slash_command(c) for c in build_registry()]
