"""Two Slack HTTP replicas sharing a PostgreSQL store refuse a command replayed to the other one;
with SQLite (one process) the replay memory stays in the process."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.slack import build_http_app

from ..memory_store import MemoryStore
from .conftest import make_settings
from .fake_slack import FakeSlack
from .signing import SlackSender
from .test_http import command_body

FORM = "application/x-www-form-urlencoded"


async def _two_replicas(fake_slack: FakeSlack, store: MemoryStore, database_url: str, session, servers):
    settings = make_settings(fake_slack.api_url, DATABASE_URL=database_url)
    senders = []
    for _ in range(2):
        server = TestServer(build_http_app(settings, store), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        senders.append(SlackSender(session, f"http://127.0.0.1:{server.port}/slack/events", inbox=fake_slack))
    return senders


@pytest.mark.parametrize(("database_url", "shared"), [("postgresql://bot@127.0.0.1/rl", True),
                                                      ("sqlite:///unused.sqlite3", False)])
async def test_replay_to_the_other_replica(fake_slack: FakeSlack, database_url: str, shared: bool) -> None:
    store, servers = MemoryStore(), []
    async with aiohttp.ClientSession() as session:
        try:
            a, b = await _two_replicas(fake_slack, store, database_url, session, servers)
            body, ts = command_body(fake_slack.response_url()), str(int(time.time()))
            assert (await a.post(body, FORM, timestamp=ts))[0] == 200
            await fake_slack.wait_for(lambda: fake_slack.answers)
            assert (await a.post(body, FORM, timestamp=ts))[0] == 401       # same replica: always
            status, _, _ = await b.post(body, FORM, timestamp=ts)
            await asyncio.sleep(0.2)
            assert status == (401 if shared else 200)
            assert len(fake_slack.answers) == (1 if shared else 2)
        finally:
            for server in servers:
                await server.close()
