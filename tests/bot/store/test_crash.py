"""An acknowledged write is never lost: SIGKILL the writer mid-burst, reopen, find every acked id."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.store.factory import open_store

ROOT = Path(__file__).resolve().parents[3]
WORKERS = 16
KILL_AFTER_ACKS = 400
TIMEOUT_S = 60


def _burst_and_kill(url: str) -> list[int]:
    """Run the writer, SIGKILL it once KILL_AFTER_ACKS ids are acknowledged; every acked id."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.bot.store._crash_writer", url, str(WORKERS)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    acked: list[int] = []
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while len(acked) < KILL_AFTER_ACKS:
            if time.monotonic() > deadline or proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
                raise AssertionError(f"writer stalled or died after {len(acked)} acks: {err[-2000:]}")
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                chunk = os.read(fd, 65536)
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                acked.extend(int(x) for x in lines if x.strip().isdigit())
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst: WORKERS inserts are in flight
        proc.wait(timeout=30)
        rest = proc.stdout.read()  # acks written before the kill are still in the pipe
        lines = (buffer + rest).split(b"\n")
        acked.extend(int(x) for x in lines if x.strip().isdigit())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return acked


async def test_acknowledged_submissions_survive_sigkill(store_url, capsys):
    """Every id the killed process acknowledged is in the database after reopening."""
    acked = _burst_and_kill(store_url)
    assert len(acked) >= KILL_AFTER_ACKS and len(set(acked)) == len(acked)
    store = await open_store(store_url)
    try:
        found = {s.id for s in await store.list_submissions(limit=10**9)}
        missing = sorted(set(acked) - found)
        with capsys.disabled():
            print(f"\ncrash test ({store_url.split(':')[0]}): {len(acked)} acknowledged, "
                  f"{len(set(acked) & found)} found, {len(found) - len(set(acked))} committed but not acknowledged")
        assert not missing, f"{len(missing)} acknowledged submissions lost: {missing[:20]}"
        if store_url.startswith("sqlite"):
            import aiosqlite

            async with aiosqlite.connect(store_url.removeprefix("sqlite:///")) as db:
                assert (await db.execute_fetchall("PRAGMA integrity_check")) == [("ok",)]
        # the store is usable after the crash
        sid = await store.add_submission(await store.get_submission(acked[0]))  # type: ignore[arg-type]
        assert sid > max(acked)
    finally:
        await store.close()
