"""The hot-path store front: cached settings, batched usage counters, nothing lost on close."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import ServerSettings
from bot.store.buffered import BufferedStore
from bot.store.factory import open_store


@pytest.fixture
async def buffered(store_url):
    inner = await open_store(store_url)
    front = BufferedStore(inner, settings_ttl_s=60, flush_every_s=60)
    yield front, inner
    await front.close()


async def test_counts_are_batched_and_visible_before_the_flush(buffered):
    front, inner = buffered
    for _ in range(30):
        await front.count_usage("discord", "define", "ok")
    await front.count_usage("slack", "define", "error")
    assert await inner.usage() == {}                       # nothing written yet ...
    assert await front.usage() == {("discord", "define", "ok"): 30, ("slack", "define", "error"): 1}
    await front.flush()                                    # ... one transaction writes them all
    assert await inner.usage() == {("discord", "define", "ok"): 30, ("slack", "define", "error"): 1}
    assert await front.usage() == await inner.usage()


async def test_close_writes_what_is_pending(store_url):
    front = BufferedStore(await open_store(store_url), flush_every_s=60)
    await front.count_usage("discord", "willitrun", "ok")
    await front.close()
    reopened = await open_store(store_url)
    try:
        assert await reopened.usage() == {("discord", "willitrun", "ok"): 1}
    finally:
        await reopened.close()


async def test_the_timer_flushes_without_anyone_asking(store_url):
    inner = await open_store(store_url)
    front = BufferedStore(inner, flush_every_s=0.05)
    try:
        await front.count_usage("discord", "define", "ok")
        for _ in range(100):
            if await inner.usage():
                break
            await asyncio.sleep(0.02)
        assert await inner.usage() == {("discord", "define", "ok"): 1}
    finally:
        await front.close()


class FailingWrites:
    """A store whose batch writes fail (then recover), or hang until cancelled."""

    def __init__(self) -> None:
        self.fail, self.hang, self.written = True, False, {}

    async def add_usage(self, counts):
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            raise OSError("disk full")
        for key, n in counts.items():
            self.written[key] = self.written.get(key, 0) + n

    async def usage(self):
        return dict(self.written)

    async def close(self):
        pass


async def test_a_failed_flush_keeps_the_counts_for_the_next_one(caplog):
    inner = FailingWrites()
    front = BufferedStore(inner, flush_every_s=60)      # type: ignore[arg-type]
    await front.count_usage("discord", "define", "ok")
    await front.flush()
    assert "could not write 1 usage counts" in caplog.text
    inner.fail = False
    await front.count_usage("discord", "define", "ok")
    await front.flush()
    assert inner.written == {("discord", "define", "ok"): 2}


async def test_a_flush_cancelled_mid_write_keeps_the_counts():
    inner = FailingWrites()
    inner.fail, inner.hang = False, True
    front = BufferedStore(inner, flush_every_s=60)      # type: ignore[arg-type]
    await front.count_usage("discord", "define", "ok")
    task = asyncio.create_task(front.flush())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    inner.hang = False
    await front.flush()
    assert inner.written == {("discord", "define", "ok"): 1}


async def test_settings_are_cached_and_written_through(buffered):
    front, inner = buffered
    assert (await front.get_settings("discord", "g1")).default_runtime is None
    # Another replica changes the row: this process keeps its cached copy until the TTL ...
    await inner.save_settings(ServerSettings(platform="discord", server_id="g1", default_runtime="ollama"))
    assert (await front.get_settings("discord", "g1")).default_runtime is None
    # ... while a change made through this process is seen at once.
    await front.save_settings(ServerSettings(platform="discord", server_id="g1", default_runtime="vllm"))
    assert (await front.get_settings("discord", "g1")).default_runtime == "vllm"
    assert (await inner.get_settings("discord", "g1")).default_runtime == "vllm"


async def test_settings_expire_after_the_ttl(store_url):
    inner = await open_store(store_url)
    front = BufferedStore(inner, settings_ttl_s=0.05)
    try:
        await front.get_settings("slack", "T1")
        await inner.save_settings(ServerSettings(platform="slack", server_id="T1", ephemeral=True))
        await asyncio.sleep(0.06)
        assert (await front.get_settings("slack", "T1")).ephemeral is True
    finally:
        await front.close()


async def test_the_settings_cache_is_bounded(store_url):
    inner = await open_store(store_url)
    front = BufferedStore(inner, max_cached_servers=10)
    try:
        for i in range(35):
            await front.get_settings("discord", f"g{i}")
        assert len(front._settings) <= 10
    finally:
        await front.close()


async def test_everything_else_goes_to_the_wrapped_store(buffered):
    front, inner = buffered
    assert await front.schema_version() == await inner.schema_version()
    assert await front.claim_once("k") is True and await front.claim_once("k") is False


async def test_without_a_ttl_settings_stay_cached(store_url):
    """SQLite's mode: this process is the only writer, so nothing expires (only eviction)."""
    inner = await open_store(store_url)
    front = BufferedStore(inner, settings_ttl_s=None)
    try:
        await front.get_settings("discord", "g1")
        await inner.save_settings(ServerSettings(platform="discord", server_id="g1", ephemeral=True))
        await asyncio.sleep(0.05)
        assert (await front.get_settings("discord", "g1")).ephemeral is False
    finally:
        await front.close()
