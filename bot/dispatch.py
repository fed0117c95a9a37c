"""Run a command by name: options in, a Card out, never an exception.

Flood protection lives here, in front of every handler and for every platform: a per-user and a
per-server token bucket (a friendly "slow down" card) and a bounded number of commands running at
once (``Settings.max_concurrency``; a request that cannot start within ``queue_timeout_s`` gets a
"busy, try again" card instead of waiting forever). The console (the operator) is never limited.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import Any

from .card import Card, error_card
from .commands import build_registry
from .parse import LONG_TEXT_OPTIONS, MAX_OPTION_TEXT, MAX_TEXT, ParseError, coerce_option, parse_options
from .ratelimit import Cooldown
from .registry import Command, Request

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FloodLimits:
    """How much one user, one server and the whole process may ask at once."""

    max_concurrency: int = 64
    queue_timeout_s: float = 2.0
    user_rate: int = 20            # commands ...
    user_per_s: float = 60.0       # ... per this many seconds, per user
    server_rate: int = 120         # commands ...
    server_per_s: float = 60.0     # ... per this many seconds, per server (workspace / guild)
    enabled: bool = True


class _Gate:
    """The limits' state, bound to one event loop (an asyncio.Semaphore belongs to its loop)."""

    def __init__(self, limits: FloodLimits, loop: asyncio.AbstractEventLoop) -> None:
        self.limits, self.loop = limits, loop
        self.slots = asyncio.Semaphore(max(1, limits.max_concurrency))
        self.users = Cooldown(limits.user_rate, limits.user_per_s)
        self.servers = Cooldown(limits.server_rate, limits.server_per_s)


_limits: FloodLimits | None = None
_gate: _Gate | None = None


def configure(limits: FloodLimits | None) -> None:
    """Set the flood limits (None: from Settings on next use); resets the counters."""
    global _limits, _gate
    _limits, _gate = limits, None


def _current_gate() -> _Gate:
    global _limits, _gate
    loop = asyncio.get_running_loop()
    if _limits is None:
        from .config import get_settings

        _limits = FloodLimits(max_concurrency=int(getattr(get_settings(), "max_concurrency", 64)))
    if _gate is None or _gate.loop is not loop:
        _gate = _Gate(_limits, loop)
    return _gate


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
    typed = name.lstrip("/")[:100]
    close = [n for n, score, _ in process.extract(typed, names, limit=3) if score > 50]
    return error_card("Unknown command", f"There is no /{typed}.", [f"/{n}" for n in close] or ["/help"])


def _too_fast(gate: _Gate, request: Request) -> Card | None:
    """A "slow down" card when this user or this server is over its rate, else None."""
    user_wait = gate.users.retry_after(f"{request.platform}:{request.server_id}:{request.user_id}")
    if user_wait > 0:
        return error_card("Slow down a little", f"You are sending commands faster than I answer them; "
                          f"try again in {max(user_wait, 0.1):.0f} s.")
    if request.server_id:
        server_wait = gate.servers.retry_after(f"{request.platform}:{request.server_id}")
        if server_wait > 0:
            return error_card("This server is busy", "Lots of commands from this server right now; "
                              f"try again in {max(server_wait, 0.1):.0f} s.")
    return None


def busy_card() -> Card:
    return error_card("I'm busy", "Too many questions at once right now; try again in a few seconds.")


MAX_NUMBER = 1e15   # beyond any count, price or size a command takes


def typed_options(command: Command, options: dict[str, Any]) -> tuple[dict[str, Any], Card | None]:
    """Options as their declared types, whatever the platform delivered (button ids and Slack
    carry text; a forged payload anything): numbers finite and sane, text as text. Unknown
    options are dropped; an empty value counts as not given."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        option = command.option(name)
        if option is None or value is None or value == "":
            continue
        if option.type in ("int", "float"):
            if isinstance(value, str):
                try:
                    value = coerce_option(command, name, value)
                except ParseError as exc:
                    return {}, error_card(f"{name} is not a number", str(exc))
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or abs(value) > MAX_NUMBER):
                return {}, error_card(f"{name} out of range", f"{name} takes a number, e.g. "
                                      f"{int(option.min_value or 8)}; not {str(value)[:40]!r}.")
            value = int(value) if option.type == "int" else float(value)
        elif option.type == "bool":
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on", "y")
        else:
            value = value if isinstance(value, str) else str(value)
            limit = MAX_TEXT if name in LONG_TEXT_OPTIONS else MAX_OPTION_TEXT
            if len(value) > limit:
                return {}, error_card("That is too long", f"{name} takes at most {limit:,} characters; "
                                      f"that was {len(value):,}.")
        out[name] = value
    return out, None


async def run(request: Request) -> Card:
    command = build_registry().get(request.command)
    if command is None:
        return unknown_command(request.command)
    options, problem = typed_options(command, request.options)
    if problem is not None:
        return problem
    if options != request.options:
        request = Request(command=request.command, options=options, user_id=request.user_id,
                          server_id=request.server_id, platform=request.platform)
    missing = [o.name for o in command.options if o.required and not request.options.get(o.name)]
    if missing:
        example = f" Example: `{command.examples[0]}`" if command.examples else ""
        return error_card("Missing input", f"/{command.name} needs {', '.join(missing)}.{example}")
    gate = _current_gate()
    if not gate.limits.enabled or request.platform == "console":
        return await _call(command, request)
    refusal = _too_fast(gate, request)
    if refusal is not None:
        return refusal
    if not await _slot(gate):
        log.warning("busy: refused /%s (%d running)", command.name, gate.limits.max_concurrency)
        return busy_card()
    try:
        return await _call(command, request)
    finally:
        gate.slots.release()


async def _slot(gate: _Gate) -> bool:
    """Take a concurrency slot, waiting at most ``queue_timeout_s``; False when none came free.
    A free slot is taken at once: ``wait_for`` would cost a task per command for nothing."""
    if not gate.slots.locked():
        await gate.slots.acquire()   # returns without suspending when a slot is free
        return True
    try:
        await asyncio.wait_for(gate.slots.acquire(), gate.limits.queue_timeout_s)
    except TimeoutError:
        return False
    return True


async def _call(command: Any, request: Request) -> Card:
    try:
        return await command.handler(request)
    except Exception:
        log.exception("command /%s failed (user=%s server=%s platform=%s)", command.name,
                      request.user_id, request.server_id, request.platform)
        return error_card("Something went wrong", "That command failed on my side; it has been logged. "
                          "Try again, or try different input.")


async def run_text(command_name: str, text: str, **context: Any) -> Card:
    options, problem = parse(command_name, text)
    if problem is not None:
        return problem
    return await run(Request(command=command_name.lstrip("/").lower(), options=options or {}, **context))
