"""Discord input -> the core's Request: option values, follow-up custom ids, per-server defaults.

Both front-ends (gateway and HTTP endpoint) use these, so a slash command, a button press or a
choice in a select menu becomes the same ``Request`` whichever way it arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.commands import build_registry
from bot.registry import Command, Option, Request
from bot.render.actions import decode_action, decode_choice
from bot.store.base import ServerSettings, Store

log = logging.getLogger(__name__)


def coerce(option: Option, value: Any) -> Any:
    """A value as the option's type; follow-up ids carry strings, Discord sends typed JSON."""
    if value is None:
        return None
    try:
        if option.type == "int":
            return int(float(value))
        if option.type == "float":
            return float(value)
        if option.type == "bool":
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    except (TypeError, ValueError, OverflowError):
        return value  # the handler answers with its own "not a number" card
    return value.strip() if isinstance(value, str) else value


def request_for(command: Command, values: Mapping[str, Any], *, user_id: int | str,
                server_id: int | str | None) -> Request:
    """Options Discord delivered (already named after the registry's options) -> a Request."""
    options: dict[str, Any] = {}
    for option in command.options:
        value = coerce(option, values.get(option.name))
        if value is not None and value != "":
            options[option.name] = value
    return Request(command=command.name, options=options, user_id=str(user_id),
                   server_id=None if server_id is None else str(server_id), platform="discord")


def request_from_custom_id(custom_id: str, *, user_id: int | str,
                           server_id: int | str | None) -> Request | None:
    """A follow-up button's ``rl|command|k=v`` id -> a Request, or None when it is not one of ours."""
    return _follow_up_request(decode_action(custom_id), user_id=user_id, server_id=server_id)


def request_from_choice(custom_id: str, values: list[str], *, user_id: int | str,
                        server_id: int | str | None) -> Request | None:
    """A select menu's ``rm|command|option|k=v`` id and the chosen value -> a Request, or None
    when the id is not one of ours or not exactly one value was chosen."""
    if len(values) != 1:
        return None
    return _follow_up_request(decode_choice(custom_id, str(values[0])), user_id=user_id, server_id=server_id)


def _follow_up_request(decoded: tuple[str, dict[str, str]] | None, *, user_id: int | str,
                       server_id: int | str | None) -> Request | None:
    """A decoded follow-up -> a Request with the arguments the command knows, or None."""
    if decoded is None:
        return None
    name, args = decoded
    command = build_registry().get(name)
    if command is None:
        return None
    known = {k: v for k, v in args.items() if command.option(k) is not None}
    return request_for(command, known, user_id=user_id, server_id=server_id)


async def server_settings(store: Store | None, server_id: str | None) -> ServerSettings | None:
    """The guild's settings, or None in DMs / without a store / when the store fails (logged)."""
    if store is None or server_id is None:
        return None
    try:
        return await store.get_settings("discord", server_id)
    except Exception:  # noqa: BLE001 - answering matters more than the guild's preferences
        log.exception("could not read settings for guild %s", server_id)
        return None


def with_server_defaults(request: Request, settings: ServerSettings | None) -> Request:
    """Fill the guild's default runtime into commands that take a runtime and were given none."""
    command = build_registry().get(request.command)
    if (settings is None or not settings.default_runtime or command is None
            or command.option("runtime") is None or request.options.get("runtime")):
        return request
    return Request(command=request.command, options={**request.options, "runtime": settings.default_runtime},
                   user_id=request.user_id, server_id=request.server_id, platform=request.platform)
