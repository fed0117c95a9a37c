"""The replay memory: once per key within the window, bounded, shared through a store."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.replay import ReplayMemory, shared_store_for_replays


def test_a_key_is_new_once_within_the_window():
    memory = ReplayMemory("t", window_s=10)
    assert memory.first_here("a", now=0) is True
    assert memory.first_here("a", now=9) is False
    assert memory.first_here("b", now=9) is True
    # After the window the platform itself refuses the request as stale; memory may forget it.
    assert memory.first_here("a", now=20) is True


def test_memory_is_bounded():
    memory = ReplayMemory("t", window_s=1e9, max_remembered=100)
    for i in range(1000):
        assert memory.first_here(str(i), now=float(i))
    assert len(memory._seen) <= 100


class Claims:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def claim_once(self, key: str) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True


async def test_two_memories_sharing_a_store_accept_a_key_once():
    store = Claims()
    a, b = ReplayMemory("discord", store=store), ReplayMemory("discord", store=store)
    assert await a.is_new("sig")
    assert not await b.is_new("sig")            # new to b's process, but a accepted it already
    assert b.first_here("sig") is False         # and b remembers it locally too
    assert store.keys == {"replay:discord:sig"}


async def test_without_a_store_this_process_decides():
    memory = ReplayMemory("slack")
    assert await memory.is_new("x") is True
    assert await memory.is_new("x") is False


@pytest.mark.parametrize(("url", "shared", "expected"), [
    ("sqlite:///bot.sqlite3", True, False),
    ("postgresql://u@127.0.0.1/db", True, True),
    ("postgresql://u@127.0.0.1/db", False, False),
])
def test_which_deployments_share_the_memory(url, shared, expected):
    settings = Settings(_env_file=None, DATABASE_URL=url, replay_shared=shared)  # type: ignore[call-arg]
    store = object()
    assert (shared_store_for_replays(settings, store) is store) is expected
    assert shared_store_for_replays(settings, None) is None
