"""Housekeeping forgets replay claims after the signature window, other claims much later."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot import maintenance
from bot.store.factory import open_store


async def test_prune_once_keeps_what_still_matters(tmp_path, monkeypatch):
    store = await open_store(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        await store.claim_once("replay:discord:old")
        await store.claim_once("discord:thread:1")
        assert await maintenance.prune_once(store) == 0          # all fresh: nothing goes
        monkeypatch.setattr(maintenance, "REPLAY_CLAIM_AGE", dt.timedelta(seconds=-1))
        assert await maintenance.prune_once(store) == 1          # only the replay claim
        assert await store.claim_once("replay:discord:old") is True
        assert await store.claim_once("discord:thread:1") is False
    finally:
        await store.close()


class Flaky:
    def __init__(self) -> None:
        self.calls = 0

    async def prune_claims(self, older_than, prefix=""):
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("database restarting")
        return 0


async def test_a_failed_round_is_logged_and_retried(caplog):
    store = Flaky()
    task = asyncio.create_task(maintenance.run_maintenance(store, every_s=0.01))
    for _ in range(200):
        if store.calls >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert store.calls >= 3
    assert "housekeeping failed" in caplog.text
