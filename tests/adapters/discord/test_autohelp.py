"""Auto-help: gateway events (GUILD_CREATE, THREAD_CREATE, MESSAGE_CREATE) parsed by discord.py's
real ConnectionState and dispatched to the listeners; replies land on the fake Discord server."""

from __future__ import annotations

import pytest

from bot.store.base import ServerSettings

from . import payloads as p
from .conftest import assert_discord_message, settle
from .fake_discord import BOT_USER, FakeDiscord

ERROR_TEXT = "Help! ollama says: Failed to initialize NVML: Driver/library version mismatch"
THREAD_ID = "820000000000000001"
UNCACHED_THREAD_ID = "820000000000000002"
SENT = r"/channels/\d+/messages"


@pytest.fixture
async def guild(gateway, store):
    """A guild with a text help channel and a help forum opted in, and one channel that is not."""
    await store.save_settings(ServerSettings("discord", p.GUILD_ID, autohelp_channels=frozenset({
        p.CHANNEL_ID, p.FORUM_ID})))
    gateway._connection.parse_guild_create(p.guild_create(
        p.channel(p.CHANNEL_ID, 0), p.channel(p.FORUM_ID, 15, available_tags=[], flags=0),
        p.channel(p.OTHER_CHANNEL_ID, 0)))
    await settle()
    return gateway


async def event(bot, kind: str, data) -> None:
    """Deliver a gateway event to discord.py's parser, as the websocket would, and let listeners run."""
    getattr(bot._connection, f"parse_{kind}")(data)
    await settle()


def replies(fake: FakeDiscord, channel_id: str | None = None):
    sent = fake.matching("POST", SENT)
    return [r for r in sent if channel_id is None or f"/channels/{channel_id}/" in r.path]


async def test_replies_once_to_a_known_error_in_a_help_channel(guild, fake_discord: FakeDiscord):
    """A user's message with a known error in an opted-in text channel: one reply, to that
    message, with the fix, pinging no one (not even the author)."""
    msg = p.message(ERROR_TEXT)
    await event(guild, "message_create", msg)
    [reply] = replies(fake_discord, p.CHANNEL_ID)
    assert_discord_message(reply.json)
    assert str(reply.json["message_reference"]["message_id"]) == msg["id"]
    assert reply.json["allowed_mentions"]["replied_user"] is False
    assert "NVML" in reply.json["embeds"][0]["title"]


async def test_duplicate_event_replies_once(guild, fake_discord: FakeDiscord):
    """The same MESSAGE_CREATE delivered twice (a gateway resume, two processes): one reply."""
    msg = p.message(ERROR_TEXT)
    await event(guild, "message_create", msg)
    await event(guild, "message_create", msg)
    assert len(replies(fake_discord)) == 1


@pytest.mark.parametrize("author", [p.user(p.OTHER_USER_ID, bot=True), BOT_USER], ids=["other-bot", "itself"])
async def test_never_replies_to_bots_or_itself(guild, fake_discord: FakeDiscord, store, author):
    """Messages from bots, the bot itself included, are ignored (no claim, no reply)."""
    await event(guild, "message_create", p.message(ERROR_TEXT, author=author))
    assert replies(fake_discord) == [] and store.claims == []


async def test_quiet_outside_help_channels_and_without_known_errors(guild, fake_discord: FakeDiscord, store):
    """A channel not opted in, or a message with no known error: no reply."""
    await event(guild, "message_create", p.message(ERROR_TEXT, channel_id=p.OTHER_CHANNEL_ID))
    await event(guild, "message_create", p.message("what's the best model for coding on a 3090?"))
    assert replies(fake_discord) == [] and store.claims == []


async def test_forum_thread_replies_once_per_thread(guild, fake_discord: FakeDiscord):
    """A forum post: THREAD_CREATE without an error stays quiet; the first message with an error
    gets a reply; a second one in the same thread does not."""
    post = {**p.thread(THREAD_ID, p.FORUM_ID, "ollama broke"), "newly_created": True}
    await event(guild, "thread_create", post)
    assert replies(fake_discord) == []
    await event(guild, "message_create", p.message(ERROR_TEXT, channel_id=THREAD_ID))
    await event(guild, "message_create", p.message(ERROR_TEXT + " again", channel_id=THREAD_ID))
    assert len(replies(fake_discord, THREAD_ID)) == 1


async def test_thread_title_with_error_answers_the_thread(guild, fake_discord: FakeDiscord):
    """A new thread whose title is the error: the reply goes to the thread; later messages with
    errors in it get none."""
    title = "Failed to initialize NVML: Driver/library version mismatch"
    await event(guild, "thread_create", {**p.thread(THREAD_ID, p.FORUM_ID, title), "newly_created": True})
    await event(guild, "message_create", p.message(ERROR_TEXT, channel_id=THREAD_ID))
    [reply] = replies(fake_discord)
    assert f"/channels/{THREAD_ID}/" in reply.path and "message_reference" not in reply.json


async def test_uncached_thread_is_looked_up_once(guild, fake_discord: FakeDiscord):
    """A message in a thread discord.py has not cached: its parent is fetched over REST (once)
    and the thread treated as one under the help forum."""
    fake_discord.channels[UNCACHED_THREAD_ID] = p.thread(UNCACHED_THREAD_ID, p.FORUM_ID, "help")
    await event(guild, "message_create", p.message(ERROR_TEXT, channel_id=UNCACHED_THREAD_ID))
    await event(guild, "message_create", p.message("hello there, any news?", channel_id=UNCACHED_THREAD_ID))
    assert len(replies(fake_discord, UNCACHED_THREAD_ID)) == 1
    assert len(fake_discord.matching("GET", rf"/channels/{UNCACHED_THREAD_ID}")) == 1


async def test_dedupe_with_the_sqlite_store(fake_discord: FakeDiscord, tmp_path):
    """The same duplicate event against the real SQLite store: still one reply."""
    factory = pytest.importorskip("bot.store.factory")
    from adapters.discord.api import use_api_url
    from adapters.discord.bot import RunLocalAIBot

    from .conftest import make_settings

    store = await factory.open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    previous = use_api_url(fake_discord.api_url)
    bot = RunLocalAIBot(make_settings(fake_discord.api_url), store)
    try:
        await bot.login("test-token")
        opted = ServerSettings("discord", p.GUILD_ID, autohelp_channels=frozenset({p.CHANNEL_ID}))
        await store.save_settings(opted)
        bot._connection.parse_guild_create(p.guild_create(p.channel(p.CHANNEL_ID, 0)))
        msg = p.message(ERROR_TEXT)
        await event(bot, "message_create", msg)
        await event(bot, "message_create", msg)
        assert len(replies(fake_discord)) == 1
    finally:
        await settle()
        await bot.close()
        await store.close()
        use_api_url(previous)
