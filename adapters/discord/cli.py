"""``runlocalai discord sync [--guild ID]`` and ``runlocalai discord invite``.

Commands are synced only here, explicitly: a global sync takes up to an hour to reach every
server and is rate limited, so it is not done on every start. ``--guild`` syncs to one server,
instantly, for testing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import discord

from bot.config import Settings, get_settings

from .api import use_api_url

SCOPES = ("bot", "applications.commands")
# What the bot does in a channel: see it, read the thread it answers in, answer with embeds.
PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                                  embed_links=True, read_message_history=True)


def invite_url(application_id: str | int) -> str:
    """The OAuth2 URL that adds the bot with its commands and exactly ``PERMISSIONS``."""
    return discord.utils.oauth_url(str(application_id), permissions=PERMISSIONS, scopes=SCOPES)


async def sync_commands(settings: Settings, guild_id: int | None = None) -> list[str]:
    """Register the commands with Discord (globally, or in one guild); the names synced."""
    from .bot import RunLocalAIBot

    if settings.discord_token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    use_api_url(settings.discord_api_url)
    async with RunLocalAIBot(settings, store=None) as client:
        await client.login(settings.discord_token.get_secret_value())   # REST only: no gateway
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            client.tree.copy_global_to(guild=guild)
        synced = await client.tree.sync(guild=guild)
    return [c.name for c in synced]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="runlocalai discord", description="Discord set-up tasks.")
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("sync", help="register the slash commands and context menus with Discord")
    s.add_argument("--guild", type=int, help="sync to this server only (instant; for testing)")
    sub.add_parser("invite", help="print the URL that adds the bot to a server")
    args = p.parse_args(argv)
    settings = get_settings()
    if args.action == "invite":
        if not settings.discord_application_id:
            print("runlocalai discord invite: set DISCORD_APPLICATION_ID (Developer Portal → General "
                  "Information → Application ID)", file=sys.stderr)
            return 2
        print(invite_url(settings.discord_application_id))
        return 0
    if settings.discord_token is None:
        print("runlocalai discord sync: set DISCORD_TOKEN", file=sys.stderr)
        return 2
    try:
        names = asyncio.run(sync_commands(settings, args.guild))
    except discord.HTTPException as exc:
        print(f"runlocalai discord sync: Discord refused: {exc}", file=sys.stderr)
        return 1
    where = f"guild {args.guild}" if args.guild else "globally (may take up to an hour to appear everywhere)"
    print(f"synced {len(names)} commands {where}: " + ", ".join(names))
    return 0
