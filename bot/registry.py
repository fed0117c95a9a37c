"""The single command registry: every command declared once, every platform generated from it.

A command has a name, a description, typed options and an async handler ``(Request) -> Card``.
Discord slash commands, Slack slash commands and CLI subcommands are all built from
``COMMANDS``; adapters only translate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.card import Card

OptionType = Literal["str", "int", "float", "bool"]
Permission = Literal["manage_server"]
Completer = Literal["model", "hardware", "quant", "runtime", "glossary", "error", "quick", "api", "command"]


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    type: OptionType = "str"
    required: bool = False
    choices: tuple[str, ...] = ()
    autocomplete: Completer | None = None
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Request:
    """One invocation, platform-neutral."""

    command: str
    options: dict[str, Any] = field(default_factory=dict)
    user_id: str = "console"
    server_id: str | None = None
    platform: Literal["console", "discord", "slack", "http"] = "console"


Handler = Callable[[Request], Awaitable[Card]]


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    handler: Handler
    options: tuple[Option, ...] = ()
    expensive: bool = False
    examples: tuple[str, ...] = ()
    # Who may run it, checked by the adapters: "manage_server" = Discord's Manage Server
    # permission, a Slack workspace admin/owner. None: everyone. The console is the operator.
    requires: Permission | None = None

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command /{command.name} is declared twice")
        if len(command.description) > 100:
            raise ValueError(f"/{command.name}: description over Discord's 100 characters")
        self._commands[command.name] = command

    def get(self, name: str) -> Command | None:
        return self._commands.get(name.lstrip("/").lower())

    def __iter__(self):
        return iter(self._commands.values())

    def __len__(self) -> int:
        return len(self._commands)

    def names(self) -> list[str]:
        return list(self._commands)

    def wrap_handlers(self, wrap: Callable[[str, Handler], Handler]) -> None:
        """Replace every handler by ``wrap(name, handler)`` (metrics; see bot.observability)."""
        for name, command in self._commands.items():
            self._commands[name] = replace(command, handler=wrap(name, command.handler))
