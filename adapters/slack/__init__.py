"""Slack adapter (slack-bolt AsyncApp): the registry's commands as slash commands, Cards as
Block Kit, follow-up buttons, a "Troubleshoot this" shortcut, opt-in auto-help and App Home.

Translation only: every answer comes from the core (bot/), every limit and escape from
bot/render/slack.py.

Nothing is imported until it is used (PEP 562), so importing the package costs nothing and
Socket Mode does not load the HTTP adapter (nor HTTP mode the Socket Mode client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazy import lazy_exports

if TYPE_CHECKING:
    from .app import build_app, build_http_app, run_socket_mode
    from .listeners import register_listeners

__all__ = ["build_app", "build_http_app", "register_listeners", "run_socket_mode"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "build_app": ".app", "build_http_app": ".app", "run_socket_mode": ".app", "register_listeners": ".listeners"})
