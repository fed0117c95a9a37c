"""Where discord.py sends REST calls: DISCORD_API_URL, for every route (webhook follow-ups included).

discord.py builds every REST URL, the interaction-callback and webhook routes too, from the class
attribute ``discord.http.Route.BASE``; setting it once points the whole library at another server
(a staging proxy, or the fake Discord server the tests run on 127.0.0.1).
"""

from __future__ import annotations

import discord.http


def use_api_url(url: str) -> str:
    """Point discord.py's REST client at ``url`` (e.g. https://discord.com/api/v10); returns the old base."""
    previous = discord.http.Route.BASE
    discord.http.Route.BASE = url.rstrip("/")
    return previous
