"""The gateway bot: one client, and ``setup`` — the one place where everything is registered.

Commands are never synced on start (that is ``runlocalai discord sync``); starting only logs in,
registers handlers locally and connects to the gateway.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.store.base import Store
from catalog.resolve import get_resolver

from .answer import user_cooldown
from .api import use_api_url
from .autohelp import AutoHelp
from .context_menus import context_menus
from .respond import ActionButton, describe, tell_failure
from .server_config import config_group
from .slash import slash_commands

log = logging.getLogger(__name__)


class Tree(app_commands.CommandTree):
    """Errors raised before or around a command's callback (bad option values, a stale command
    schema, failed checks): logged with context, answered with a short ephemeral message."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError,
                       /) -> None:
        log.error("app command failed (%s): %s", describe(interaction), error,
                  exc_info=(type(error), error, error.__traceback__))
        if isinstance(error, (app_commands.CommandSignatureMismatch, app_commands.CommandNotFound)):
            text = ("This command changed since it was registered; ask an admin to run "
                    "`runlocalai discord sync`.")
        elif isinstance(error, app_commands.TransformerError):
            text = f"I couldn't read the value {str(error.value)[:100]!r}; check the option and try again."
        elif isinstance(error, app_commands.CheckFailure):
            text = "You can't use that here."
        else:
            text = None
        await tell_failure(interaction, text)


class RunLocalAIBot(commands.Bot):
    """The client. Mentions are off client-wide: nothing the bot sends can ping anyone."""

    def __init__(self, settings: Settings, store: Store | None, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content   # auto-help reads messages in opted-in channels
        app_id = settings.discord_application_id
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, intents=intents,
                         allowed_mentions=discord.AllowedMentions.none(), tree_cls=Tree,
                         application_id=int(app_id) if app_id else None)
        self.settings = settings
        self.store = store
        self.cooldown = user_cooldown(settings.cooldown_seconds)

    async def setup_hook(self) -> None:
        await setup(self)


async def setup(bot: RunLocalAIBot) -> None:
    """Register every command, context menu, persistent button and listener (no sync)."""
    for command in slash_commands():
        bot.tree.add_command(command)
    bot.tree.add_command(config_group())
    for menu in context_menus():
        bot.tree.add_command(menu)
    bot.add_dynamic_items(ActionButton)     # follow-up buttons on any message, across restarts
    autohelp = AutoHelp(bot)
    bot.add_listener(autohelp.on_message, "on_message")
    bot.add_listener(autohelp.on_thread_create, "on_thread_create")
    resolver = get_resolver()               # build the lookup indexes now: autocomplete stays instant
    for index in (resolver.models, resolver.hardware, resolver.quants, resolver.runtimes, resolver.glossary,
                  resolver.errors, resolver.quick, resolver.api_prices):
        len(index)


async def run_gateway(settings: Settings, store: Store) -> None:
    """Connect to the gateway and serve until cancelled. Without the privileged Message Content
    intent enabled for the application, runs without it (auto-help then only sees thread titles)."""
    if settings.discord_token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    use_api_url(settings.discord_api_url)
    token = settings.discord_token.get_secret_value()
    try:
        async with RunLocalAIBot(settings, store) as bot:
            await bot.start(token)
    except discord.PrivilegedIntentsRequired:
        log.warning("the Message Content intent is not enabled for this application (Developer Portal "
                    "→ Bot); running without it: auto-help will only read thread titles")
        async with RunLocalAIBot(settings, store, message_content=False) as bot:
            await bot.start(token)
