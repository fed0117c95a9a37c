"""Two HTTP replicas behind one load balancer: a request replayed to the *other* replica is
refused too when they share a PostgreSQL store; with SQLite (one process) memory is local."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from nacl.signing import SigningKey

from adapters.discord import build_http_app

from . import payloads as p
from ..memory_store import MemoryStore
from .conftest import Signer, make_settings
from .fake_discord import FakeDiscord

PG_URL = "postgresql://bot@127.0.0.1:5432/runlocalai"   # only decides the mode; the store is given


@pytest.fixture
async def replicas(fake_discord: FakeDiscord) -> AsyncIterator[Callable]:
    """``await replicas(database_url, store)`` -> two Signers, one per replica, same key."""
    stack = AsyncExitStack()
    key = SigningKey.generate()
    session = await stack.enter_async_context(aiohttp.ClientSession())

    async def make(database_url: str, store) -> tuple[Signer, Signer]:
        settings = make_settings(fake_discord.api_url, DISCORD_PUBLIC_KEY=key.verify_key.encode().hex(),
                                 DATABASE_URL=database_url)
        signers = []
        for _ in range(2):
            server = TestServer(build_http_app(settings, store), host="127.0.0.1")
            await server.start_server()
            stack.push_async_callback(server.close)
            signers.append(Signer(str(server.make_url("")).rstrip("/"), key, session))
        return signers[0], signers[1]

    yield make
    await stack.aclose()


async def test_a_replay_to_another_replica_is_refused_when_the_store_is_shared(replicas):
    store = MemoryStore()
    a, b = await replicas(PG_URL, store)
    body = json.dumps(p.slash("about")).encode()
    headers = a.headers(body)
    assert (await a.post(body, headers=headers)).status == 200
    assert (await b.post(body, headers=headers)).status == 401       # the other replica knows
    assert (await a.post(body, headers=headers)).status == 401       # and so does the first
    assert sum(1 for key, first in store.claims if key.startswith("replay:discord:") and first) == 1


async def test_each_new_request_is_answered_by_either_replica(replicas):
    a, b = await replicas(PG_URL, MemoryStore())
    for signer in (a, b, a, b):
        assert (await signer.post(p.slash("about"))).status == 200


async def test_with_sqlite_the_memory_is_per_process(replicas):
    """SQLite means one serving process: nothing is claimed in the store for replays."""
    store = MemoryStore()
    a, b = await replicas("sqlite:///unused.sqlite3", store)
    body = json.dumps(p.slash("about")).encode()
    headers = a.headers(body)
    assert (await a.post(body, headers=headers)).status == 200
    assert (await a.post(body, headers=headers)).status == 401
    assert not any(key.startswith("replay:") for key, _ in store.claims)


class DownStore(MemoryStore):
    async def claim_once(self, key: str) -> bool:
        raise ConnectionError("database unavailable")


async def test_a_failing_shared_memory_fails_open_and_logs(replicas, caplog):
    a, _ = await replicas(PG_URL, DownStore())
    reply = await a.post(p.slash("about"))
    assert reply.status == 200
    assert "could not record a discord request in the shared replay memory" in caplog.text
