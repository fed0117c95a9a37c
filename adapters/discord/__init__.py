"""Discord: the gateway bot (discord.py) and the stateless HTTP interactions endpoint.

``bot.setup`` is where every command, menu, button and listener is registered; ``http_endpoint``
serves the same registry over signed HTTP; ``cli`` syncs commands and prints the invite URL.
"""

from .bot import run_gateway
from .http_endpoint import build_http_app

__all__ = ["build_http_app", "run_gateway"]
