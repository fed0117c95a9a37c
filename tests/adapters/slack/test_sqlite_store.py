"""With the real SQLite store: settings and auto-help dedupe survive a restart of the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.slack import build_http_app
from bot.config import Settings
from bot.store.base import Store

from .fake_slack import TEAM_ID, FakeSlack
from .signing import SlackSender
from .test_autohelp import HELP, message, settle

factory = pytest.importorskip("bot.store.factory")


Steps = Callable[[SlackSender, Store], Awaitable[None]]


async def run_app(settings: Settings, db_url: str, steps: Steps) -> None:
    """Open the store, serve the HTTP app, run ``steps(sender, store)``, close everything."""
    store = await factory.open_store(db_url)
    server = TestServer(build_http_app(settings, store), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            await steps(SlackSender(session, f"http://127.0.0.1:{server.port}/slack/events"), store)
    finally:
        await server.close()
        await store.close()


async def test_autohelp_dedupe_survives_a_restart(tmp_path: Path, fake_slack: FakeSlack,
                                                  settings: Settings) -> None:
    """Opt in, get one reply; after a restart Slack's retry of that event still gets none."""
    db_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"

    async def first_run(slack: SlackSender, store: Store) -> None:
        await slack.command("runlocalai-config", "autohelp on", user_id="UADMIN", channel_id=HELP,
                            response_url=fake_slack.response_url())
        await fake_slack.wait_for(lambda: fake_slack.answers)
        await slack.event(message(), event_id="EvRestart")
        await fake_slack.wait_for(lambda: fake_slack.calls("chat.postMessage"))

    async def second_run(slack: SlackSender, store: Store) -> None:
        assert HELP in (await store.get_settings("slack", TEAM_ID)).autohelp_channels
        assert (await slack.event(message(), event_id="EvRestart", retry_num=2))[0] == 200
        # A different message in the same thread: also no second reply.
        assert (await slack.event(message(ts="1700000009.000900", thread_ts="1700000000.000100"),
                                  event_id="EvOther"))[0] == 200
        await settle()

    await run_app(settings, db_url, first_run)
    await run_app(settings, db_url, second_run)
    assert len(fake_slack.calls("chat.postMessage")) == 1
