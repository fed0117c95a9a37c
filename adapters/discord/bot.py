"""The gateway bot: one client, and ``setup`` — the one place where everything is registered.

Commands are never synced on start (that is ``runlocalai discord sync``); starting only logs in,
registers handlers locally and connects to the gateway: one unsharded connection, or with
SHARD_COUNT set the shards SHARD_IDS names (all of them by default) through discord.py's
AutoShardedBot, in this one process.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from discord.state import ConnectionState

from bot.config import Settings
from bot.observability import interaction_id
from bot.store.base import Store
from catalog.resolve import get_resolver

from .answer import user_cooldown
from .api import use_api_url
from .autohelp import AutoHelp
from .config_command import config_group
from .context_menus import context_menus
from .respond import ActionButton, ActionSelect, describe, tell_failure
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


# A REST rate limit longer than this is not slept through: discord.py raises RateLimited at once
# (30 s is the least it accepts). Shorter ones, and every 429 on an interaction answer (discord.py's
# webhook client), are waited out and retried by discord.py itself; docs/RELIABILITY.md.
MAX_RATELIMIT_WAIT_S = 30.0
SHARDING_REQUIRED = 4011   # the gateway's close code when the bot is in too many servers for one shard


class ShardingRequired(RuntimeError):
    """Discord closed the gateway with 4011: this bot must run sharded (set SHARD_COUNT)."""


class RunLocalAIBot(commands.Bot):
    """The client. Mentions are off client-wide: nothing the bot sends can ping anyone. Whatever
    is logged while an interaction is handled carries its id (``bot.observability.interaction_id``)."""

    def __init__(self, settings: Settings, store: Store | None, *, message_content: bool = True,
                 **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content   # auto-help reads messages in opted-in channels
        app_id = settings.discord_application_id
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, intents=intents,
                         allowed_mentions=discord.AllowedMentions.none(), tree_cls=Tree,
                         application_id=int(app_id) if app_id else None,
                         max_ratelimit_timeout=MAX_RATELIMIT_WAIT_S, **options)
        self.settings = settings
        self.store = store
        self.cooldown = user_cooldown(settings.cooldown_seconds)

    def _get_state(self, **options: Any) -> ConnectionState:
        """discord.py's connection state, with INTERACTION_CREATE parsed under the interaction's id:
        the tasks it starts (command tree, buttons, listeners) copy that context, so their logs
        carry the id like the HTTP endpoint's do."""
        state = super()._get_state(**options)
        parse = state.parse_interaction_create

        def parse_with_id(data: Any) -> None:
            token = interaction_id.set(str(data.get("id")))
            try:
                parse(data)
            finally:
                interaction_id.reset(token)

        state.parse_interaction_create = parse_with_id  # type: ignore[method-assign]
        state.parsers["INTERACTION_CREATE"] = parse_with_id
        return state

    async def setup_hook(self) -> None:
        await setup(self)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """A listener that raised (say, auto-help's reply refused with discord.RateLimited): logged
        with what it was handling; discord.py carries on with the next event."""
        log.exception("Discord event %s failed (%s)", event_method, " ".join(map(_event_context, args)))


def _event_context(arg: Any) -> str:
    """Who and where, for the log, of a listener's argument."""
    if isinstance(arg, discord.Message):
        return (f"message={arg.id} user={arg.author.id} guild={arg.guild.id if arg.guild else None} "
                f"channel={arg.channel.id}")
    ident = getattr(arg, "id", None)
    return f"{type(arg).__name__.lower()}={ident}" if ident is not None else type(arg).__name__


class ShardedRunLocalAIBot(RunLocalAIBot, commands.AutoShardedBot):
    """The same client over several gateway shards (``shard_count``, ``shard_ids``) in one process."""


def shard_options(settings: Settings) -> dict[str, Any]:
    """discord.py's sharding arguments: none without SHARD_COUNT (one unsharded connection), else
    the count and the ids this process runs (None: all of them). Ranges and duplicates are checked
    by Settings; SHARD_IDS without SHARD_COUNT is refused here."""
    if settings.shard_count is None:
        if settings.shard_ids:
            raise ValueError(f"SHARD_IDS={settings.shard_ids} needs SHARD_COUNT, the total number of shards "
                             "across all processes")
        return {}
    return {"shard_count": settings.shard_count, "shard_ids": settings.shard_ids}


def gateway_bot(settings: Settings, store: Store | None, *, message_content: bool = True) -> RunLocalAIBot:
    """The client ``run_gateway`` runs: sharded when SHARD_COUNT is set, plain otherwise."""
    options = shard_options(settings)
    cls = ShardedRunLocalAIBot if options else RunLocalAIBot
    return cls(settings, store, message_content=message_content, **options)


async def setup(bot: RunLocalAIBot) -> None:
    """Register every command, context menu, persistent button and listener (no sync)."""
    for command in slash_commands():
        bot.tree.add_command(command)
    bot.tree.add_command(config_group())
    for menu in context_menus():
        bot.tree.add_command(menu)
    bot.add_dynamic_items(ActionButton, ActionSelect)   # follow-ups on any message, across restarts
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
    shards = shard_options(settings)
    use_api_url(settings.discord_api_url)
    token = settings.discord_token.get_secret_value()
    if shards:
        ids = shards["shard_ids"] or list(range(shards["shard_count"]))
        log.info("Discord gateway: shards %s of %d", ids, shards["shard_count"])
    try:
        try:
            async with gateway_bot(settings, store) as bot:
                await bot.start(token)
        except discord.PrivilegedIntentsRequired:
            log.warning("the Message Content intent is not enabled for this application (Developer Portal "
                        "→ Bot); running without it: auto-help will only read thread titles")
            async with gateway_bot(settings, store, message_content=False) as bot:
                await bot.start(token)
    except discord.ConnectionClosed as exc:
        if exc.code == SHARDING_REQUIRED:
            raise ShardingRequired("Discord requires this bot to be sharded (gateway close code 4011): set "
                                   "SHARD_COUNT (docs/DEPLOY.md, Sharding)") from exc
        raise
