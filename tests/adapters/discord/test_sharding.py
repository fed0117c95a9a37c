"""Sharding at the real boundary: ``run_gateway`` logs in over REST and opens discord.py's real
gateway connections to the fake gateway on 127.0.0.1, which records each IDENTIFY's ``shard``
field, answers with READY and delivers events; the bot is then stopped as ``serve`` stops it
(the task is cancelled)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
from pydantic import ValidationError

from adapters.discord import bot as bot_module
from adapters.discord.api import use_api_url, use_gateway_url
from adapters.discord.bot import RunLocalAIBot, ShardedRunLocalAIBot, ShardingRequired, run_gateway
from bot.config import Settings

from . import payloads as p
from .conftest import make_settings
from .fake_discord import FakeDiscord, GatewaySession

CALLBACK = r"/interactions/\d+/[^/]+/callback"
MESSAGE_CONTENT = 1 << 15
READY_TIMEOUT_S = 20     # two shards: discord.py spaces IDENTIFYs 5 s apart


@pytest.fixture
async def gateway_fake(fake_discord: FakeDiscord) -> AsyncIterator[FakeDiscord]:
    """The fake Discord as both the REST base and the gateway discord.py connects to."""
    previous_api, previous_gateway = discord.http.Route.BASE, use_gateway_url(fake_discord.gateway_url)
    yield fake_discord
    use_gateway_url(previous_gateway)
    use_api_url(previous_api)


@pytest.fixture
def clients(monkeypatch) -> list[RunLocalAIBot]:
    """The clients ``run_gateway`` builds. The fake sends no GUILD_CREATE, so discord.py's wait for
    more of them before "ready" is cut from 2 s to 0.1 s."""
    made: list[RunLocalAIBot] = []
    real = bot_module.gateway_bot

    def recording(*args: Any, **kwargs: Any) -> RunLocalAIBot:
        client = real(*args, **kwargs)
        client._connection.guild_ready_timeout = 0.1
        made.append(client)
        return client

    monkeypatch.setattr(bot_module, "gateway_bot", recording)
    return made


async def until(condition: Callable[[], bool], timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def serving(settings: Settings, store) -> AsyncIterator[asyncio.Task[None]]:
    """``run_gateway`` as ``runlocalai serve`` runs it; cancelled (and awaited) on the way out."""
    task = asyncio.create_task(run_gateway(settings, store))
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=10)
        assert task.done(), "run_gateway did not stop within 10 s"
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def shards_of(fake: FakeDiscord) -> list[list[int] | None]:
    return [s.shard for s in fake.identified()]


async def answers_on(fake: FakeDiscord, session: GatewaySession) -> None:
    """An INTERACTION_CREATE delivered over this shard's websocket is answered over REST."""
    before = len(fake.matching("POST", CALLBACK))
    await session.dispatch("INTERACTION_CREATE", p.slash("about"))
    [*_, call] = await fake.wait_for("POST", CALLBACK, count=before + 1)
    assert call.json["type"] == 4


async def test_two_shards_identify_with_their_ids(gateway_fake: FakeDiscord, clients, store):
    """SHARD_COUNT=2, SHARD_IDS=0,1: one AutoShardedBot, two connections identifying [0, 2] and
    [1, 2] (the second 5 s after the first, discord.py's IDENTIFY pacing), ready, serving on both,
    and on cancel both websockets close with 1000."""
    settings = make_settings(gateway_fake.api_url, SHARD_COUNT="2", SHARD_IDS="0,1")
    async with serving(settings, store):
        await until(lambda: bool(clients) and clients[0].is_ready())
        [client] = clients
        assert isinstance(client, ShardedRunLocalAIBot)
        assert shards_of(gateway_fake) == [[0, 2], [1, 2]]
        first, second = gateway_fake.identified()
        assert second.identified_at - first.identified_at >= 4.9   # type: ignore[operator]
        assert client.shard_count == 2 and sorted(client.shards) == [0, 1]
        assert all(s.query.get("v") == "10" and s.heartbeats >= 1 for s in (first, second))
        for session in (first, second):
            await answers_on(gateway_fake, session)
    assert client.is_closed()
    await gateway_fake.wait_until(lambda: all(s.close_code is not None for s in gateway_fake.sessions), 5)
    assert [s.close_code for s in gateway_fake.sessions] == [1000, 1000]
    assert not gateway_fake.matching("GET", r"/gateway/bot")   # the count is given: nothing to ask


async def test_one_shard_of_two(gateway_fake: FakeDiscord, clients, store):
    """SHARD_IDS=1 of SHARD_COUNT=2: this process identifies once, as [1, 2] only."""
    settings = make_settings(gateway_fake.api_url, SHARD_COUNT="2", SHARD_IDS="1")
    async with serving(settings, store):
        await until(lambda: bool(clients) and clients[0].is_ready())
        assert shards_of(gateway_fake) == [[1, 2]]
        assert list(clients[0].shards) == [1]
        await answers_on(gateway_fake, gateway_fake.identified()[0])
    assert [s.close_code for s in gateway_fake.sessions] == [1000]


async def test_unsharded_identifies_once_without_shard(gateway_fake: FakeDiscord, clients, store):
    """No SHARD_COUNT: the plain client, one IDENTIFY without a ``shard`` field, with the Message
    Content intent; ready; one clean close."""
    async with serving(make_settings(gateway_fake.api_url), store):
        await until(lambda: bool(clients) and clients[0].is_ready())
        [client] = clients
        assert type(client) is RunLocalAIBot
        [session] = gateway_fake.identified()
        assert "shard" not in session.identify   # type: ignore[operator]
        assert session.identify["intents"] & MESSAGE_CONTENT   # type: ignore[index]
        await answers_on(gateway_fake, session)
    assert client.is_closed()
    assert [s.close_code for s in gateway_fake.sessions] == [1000]


async def test_missing_message_content_intent_reconnects_without_it(gateway_fake: FakeDiscord, clients,
                                                                   store, caplog):
    """The gateway closes with 4014 (privileged intent not enabled): a warning, and a second client
    identifies without the Message Content intent and becomes ready."""
    gateway_fake.close_on_identify = [4014]
    async with serving(make_settings(gateway_fake.api_url), store):
        await until(lambda: len(clients) == 2 and clients[1].is_ready())
        first, second = gateway_fake.identified()
        assert first.identify["intents"] & MESSAGE_CONTENT   # type: ignore[index]
        assert not second.identify["intents"] & MESSAGE_CONTENT   # type: ignore[index]
    assert any("Message Content intent" in r.getMessage() for r in caplog.records)


async def test_sharding_required_is_a_clear_error(gateway_fake: FakeDiscord, clients, store):
    """The gateway closes with 4011 (too many servers for one connection): run_gateway stops with
    ShardingRequired naming SHARD_COUNT, instead of reconnecting forever."""
    gateway_fake.close_on_identify = [4011]
    task = asyncio.create_task(run_gateway(make_settings(gateway_fake.api_url), store))
    done, _ = await asyncio.wait({task}, timeout=10)
    assert done, "run_gateway kept going after 4011"
    with pytest.raises(ShardingRequired, match="SHARD_COUNT"):
        task.result()
    assert len(gateway_fake.identified()) == 1 and clients[0].is_closed()


async def test_shard_ids_without_count_refused_before_connecting(gateway_fake: FakeDiscord, store):
    """SHARD_IDS without SHARD_COUNT: a configuration error (so `config check` reports it), and
    run_gateway refuses such settings too, before any request to Discord."""
    with pytest.raises(ValidationError, match="needs SHARD_COUNT"):
        make_settings(gateway_fake.api_url, SHARD_IDS="0,1")
    unchecked = make_settings(gateway_fake.api_url).model_copy(update={"shard_ids": [0, 1]})
    with pytest.raises(ValueError, match="needs SHARD_COUNT"):
        await run_gateway(unchecked, store)
    assert not gateway_fake.requests and not gateway_fake.sessions


@pytest.mark.parametrize(("env", "message"), [
    ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0"}, "more than once"),
    ({"SHARD_COUNT": "2", "SHARD_IDS": "2"}, "out of range: shard ids are 0..1 for SHARD_COUNT=2"),
    ({"SHARD_COUNT": "4", "SHARD_IDS": "-1,3"}, "out of range"),
    ({"SHARD_COUNT": "0"}, "at least 1"),
])
def test_shard_settings_validated(monkeypatch, env: dict[str, str], message: str):
    """Out-of-range or repeated shard ids and a zero count are configuration errors saying which."""
    monkeypatch.delenv("RUNLOCALAI_CONFIG", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(("env", "count", "ids"), [
    ({"SHARD_COUNT": "4", "SHARD_IDS": "3,1"}, 4, [3, 1]),
    ({"SHARD_COUNT": "4", "SHARD_IDS": "[0, 2]"}, 4, [0, 2]),
    ({"SHARD_COUNT": "3"}, 3, None),
    ({"SHARD_COUNT": "1", "SHARD_IDS": "0"}, 1, [0]),
    ({"SHARD_IDS": ""}, None, None),
])
def test_shard_settings_accepted(monkeypatch, env: dict[str, str], count, ids):
    """Valid shard settings parse (an empty SHARD_IDS is unset)."""
    monkeypatch.delenv("RUNLOCALAI_CONFIG", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (s.shard_count, s.shard_ids) == (count, ids)
