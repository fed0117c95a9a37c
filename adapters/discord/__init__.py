"""Discord: the gateway bot (discord.py) and the stateless HTTP interactions endpoint.

``bot.setup`` is where every command, menu, button and listener is registered; ``http_endpoint``
serves the same registry over signed HTTP; ``cli`` syncs commands and prints the invite URL.

Nothing is imported until it is used (PEP 562): the HTTP endpoint runs without discord.py, so
``from adapters.discord import build_http_app`` must not pull in the gateway bot.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bot import run_gateway
    from .http_endpoint import build_http_app

__all__ = ["build_http_app", "run_gateway"]

_LAZY = {"build_http_app": ".http_endpoint", "run_gateway": ".bot"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
