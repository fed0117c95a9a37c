"""Floods: 2,000 signed interactions at once on loopback are answered or politely refused, in
bounded time and memory; per-user and per-server limits answer with a friendly card."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc

from bot import dispatch
from bot.dispatch import FloodLimits
from bot.registry import Request
from tests.adapters.discord.conftest import Signer
from tests.adapters.discord.payloads import slash

BURST = 2_000
POLITE = ("I'm busy", "Slow down a little", "This server is busy")


async def test_per_user_and_per_server_limits():
    """Over the per-user rate: "slow down"; over the per-server rate: "server is busy"; console never."""
    dispatch.configure(FloodLimits(user_rate=3, user_per_s=60, server_rate=5, server_per_s=60))
    titles = [(await dispatch.run(Request("help", user_id="u1", server_id="g1", platform="discord"))).title
              for _ in range(4)]
    assert titles[-1] == "Slow down a little" and "Slow down" not in "".join(titles[:3])
    others = [(await dispatch.run(Request("help", user_id=f"u{i}", server_id="g1", platform="discord"))).title
              for i in range(2, 6)]
    assert others[-1] == "This server is busy"
    for _ in range(10):
        assert (await dispatch.run(Request("help"))).title == "runlocalai-bot"


async def test_concurrency_is_bounded_and_busy_is_polite(monkeypatch):
    """With 2 slots and a short queue, 20 slow commands: at most 2 run at once, the rest say busy."""
    dispatch.configure(FloodLimits(max_concurrency=2, queue_timeout_s=0.05))
    running = peak = 0
    command = dispatch.build_registry().get("help")
    real = command.handler

    async def slow(request):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.2)
        running -= 1
        return await real(request)

    object.__setattr__(command, "handler", slow)
    try:
        cards = await asyncio.gather(*(dispatch.run(Request("help", user_id=f"u{i}", platform="discord"))
                                       for i in range(20)))
    finally:
        object.__setattr__(command, "handler", real)
    assert peak <= 2
    assert sum(c.title == "I'm busy" for c in cards) >= 16


async def test_burst_of_2000_signed_interactions(endpoint: Signer):
    """2,000 at once on 127.0.0.1: every one answered (200) or refused politely, none hangs, p99
    bounded, memory growth bounded."""
    dispatch.configure(FloodLimits(max_concurrency=16, queue_timeout_s=1.0, server_rate=500, server_per_s=60))
    bodies = [slash("define" if i % 2 else "quick", {"term": "kv cache"} if i % 2 else {"topic": "gguf"},
                    user_id=str(810000000000000000 + i % 300)) for i in range(BURST)]
    await endpoint.post(slash("help"))   # warm up: catalog, registry, first connection
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    latencies: list[float] = []

    async def one(body) -> str:
        started = time.monotonic()
        reply = await endpoint.post(body)
        latencies.append(time.monotonic() - started)
        assert reply.status == 200, reply.body[:200]
        data = reply.json()
        assert data["type"] in (4, 5)
        title = (data.get("data", {}).get("embeds") or [{}])[0].get("title", "")
        return "refused" if any(p in title for p in POLITE) else "answered"

    started = time.monotonic()
    outcomes = await asyncio.wait_for(asyncio.gather(*(one(b) for b in bodies)), timeout=90)
    wall = time.monotonic() - started
    del bodies
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    growth_mib = (after - before) / 2**20
    print(f"\nburst: {outcomes.count('answered')} answered, {outcomes.count('refused')} refused, "
          f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, wall {wall:.1f} s, "
          f"traced memory growth {growth_mib:.1f} MiB (peak {(peak - before) / 2**20:.1f} MiB)")
    assert len(outcomes) == BURST
    assert outcomes.count("answered") >= 500
    assert p99 < 30
    assert growth_mib < 64
