"""Run a command by name: options in, a Card out, never an exception."""

from __future__ import annotations

import logging
from typing import Any

from .card import Card, error_card
from .commands import build_registry
from .parse import ParseError, parse_options
from .registry import Request

log = logging.getLogger(__name__)


def parse(command_name: str, text: str) -> tuple[dict[str, Any] | None, Card | None]:
    """Free text -> options for a command, or an error card."""
    registry = build_registry()
    command = registry.get(command_name)
    if command is None:
        return None, unknown_command(command_name)
    try:
        return parse_options(command, text), None
    except ParseError as exc:
        example = f"\nExample: `{command.examples[0]}`" if command.examples else ""
        return None, error_card("I couldn't read that", f"{exc}{example}")


def unknown_command(name: str) -> Card:
    from rapidfuzz import process

    names = build_registry().names()
    close = [n for n, score, _ in process.extract(name.lstrip("/"), names, limit=3) if score > 50]
    return error_card("Unknown command", f"There is no /{name.lstrip('/')}.", [f"/{n}" for n in close] or ["/help"])


async def run(request: Request) -> Card:
    command = build_registry().get(request.command)
    if command is None:
        return unknown_command(request.command)
    missing = [o.name for o in command.options if o.required and not request.options.get(o.name)]
    if missing:
        example = f" Example: `{command.examples[0]}`" if command.examples else ""
        return error_card("Missing input", f"/{command.name} needs {', '.join(missing)}.{example}")
    try:
        return await command.handler(request)
    except Exception:  # noqa: BLE001 - the user gets an answer, the log gets the traceback
        log.exception("command /%s failed (user=%s server=%s platform=%s)", command.name,
                      request.user_id, request.server_id, request.platform)
        return error_card("Something went wrong", "That command failed on my side; it has been logged. "
                          "Try again, or try different input.")


async def run_text(command_name: str, text: str, **context: Any) -> Card:
    options, problem = parse(command_name, text)
    if problem is not None:
        return problem
    return await run(Request(command=command_name.lstrip("/").lower(), options=options or {}, **context))
