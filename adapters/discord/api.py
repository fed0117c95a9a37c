"""Where discord.py connects: DISCORD_API_URL for every REST route (webhook follow-ups included),
and the gateway websocket URL.

discord.py builds every REST URL, the interaction-callback and webhook routes too, from the class
attribute ``discord.http.Route.BASE``; setting it once points the whole library at another server
(a staging proxy, or the fake Discord server the tests run on 127.0.0.1).

The gateway URL is ``DiscordWebSocket.DEFAULT_GATEWAY`` (wss://gateway.discord.gg/): discord.py
connects there for an unsharded client and for a sharded one given its shard count; only a sharded
client without a count asks ``GET /gateway/bot`` (at the REST base) for the URL and the count.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl


def use_api_url(url: str) -> str:
    """Point discord.py's REST client at ``url`` (e.g. https://discord.com/api/v10); returns the old base."""
    previous = discord.http.Route.BASE
    discord.http.Route.BASE = url.rstrip("/")
    return previous


def use_gateway_url(url: str | yarl.URL) -> yarl.URL:
    """Point discord.py's gateway connections at ``url`` (e.g. wss://gateway.discord.gg/); returns the old one."""
    previous = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(url))
    return previous
