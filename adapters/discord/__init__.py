"""Discord: the gateway bot (discord.py) and the stateless HTTP interactions endpoint.

``bot.setup`` is where every command, menu, button and listener is registered; ``http_endpoint``
serves the same registry over signed HTTP; ``cli`` syncs commands and prints the invite URL.

Nothing is imported until it is used (PEP 562): the HTTP endpoint runs without discord.py, so
``from adapters.discord import build_http_app`` must not pull in the gateway bot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazy import lazy_exports

if TYPE_CHECKING:
    from .bot import run_gateway
    from .http_endpoint import build_http_app

__all__ = ["build_http_app", "run_gateway"]

__getattr__, __dir__ = lazy_exports(__name__, {"build_http_app": ".http_endpoint", "run_gateway": ".bot"})
