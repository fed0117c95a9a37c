"""Slack adapter (slack-bolt AsyncApp): the registry's commands as slash commands, Cards as
Block Kit, follow-up buttons, a "Troubleshoot this" shortcut, opt-in auto-help and App Home.

Translation only: every answer comes from the core (bot/), every limit and escape from
bot/render/slack.py.

Nothing is imported until it is used (PEP 562), so importing the package costs nothing and
Socket Mode does not load the HTTP adapter (nor HTTP mode the Socket Mode client).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import build_app, build_http_app, run_socket_mode
    from .listeners import register_listeners

__all__ = ["build_app", "build_http_app", "register_listeners", "run_socket_mode"]

_LAZY = {"build_app": ".app", "build_http_app": ".app", "run_socket_mode": ".app",
         "register_listeners": ".listeners"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
