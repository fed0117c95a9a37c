"""What both Discord front-ends do around a command: cooldowns, the 3-second budget, usage counts.

Discord wants an answer to every interaction within 3 s. Expensive commands defer at once; other
work gets ``BUDGET_S`` to finish and is deferred (and followed up) if it has not.
"""

from __future__ import annotations

import logging

from bot.card import Card, error_card
from bot.commands import build_registry
from bot.dispatch import run
from bot.ratelimit import Cooldown
from bot.registry import Request
from bot.store.base import Store

log = logging.getLogger(__name__)

BUDGET_S = 2.5
FAILURE_TEXT = "That failed on my side; it has been logged. Try again in a moment."
STALE_BUTTON = "That button belongs to an older version of me; run the command again."


def is_expensive(command_name: str) -> bool:
    command = build_registry().get(command_name)
    return bool(command and command.expensive)


def permission_card(request: Request, *, can_manage_server: bool) -> Card | None:
    """A refusal when the command declares ``requires`` and the member lacks it, else None.
    (Discord hides such commands from others already; this also covers buttons and stale menus.)"""
    command = build_registry().get(request.command)
    if command is None or command.requires is None:
        return None
    if command.requires == "manage_server" and request.server_id is not None and can_manage_server:
        return None
    return error_card("Not allowed", f"/{command.name} is for moderators: it needs the Manage Server "
                      "permission, in a server.")


def user_cooldown(per_s: float) -> Cooldown | None:
    """One expensive command per ``per_s`` seconds per user; none when ``per_s`` is 0."""
    return Cooldown(rate=1, per=per_s) if per_s > 0 else None


def cooldown_card(cooldown: Cooldown | None, request: Request) -> Card | None:
    """A friendly "slow down" card when the user ran expensive commands too fast, else None."""
    if cooldown is None or not is_expensive(request.command):
        return None
    wait_s = cooldown.retry_after(f"discord:{request.user_id}")
    if wait_s <= 0:
        return None
    return error_card("One moment", f"/{request.command} does a lot of work; you can run it again in "
                      f"{max(wait_s, 0.1):.1f} s.")


async def produce(store: Store | None, request: Request) -> Card:
    """Run the command (the core never raises) and count the outcome."""
    card = await run(request)
    if store is not None:
        try:
            await store.count_usage("discord", request.command, "error" if card.verdict == "error" else "ok")
        except Exception:  # noqa: BLE001 - a counter must not cost the user the answer
            log.exception("could not count usage of /%s", request.command)
    return card


def failure_card() -> Card:
    return error_card("Something went wrong", FAILURE_TEXT)
