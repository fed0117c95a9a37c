"""Subprocess for the crash test: a burst of concurrent submissions, one acknowledged id per line.

``python -m tests.bot.store._crash_writer URL WORKERS``. An id is printed only after
``add_submission`` has returned, i.e. after the store acknowledged the commit. The parent
SIGKILLs this process in the middle of the burst.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot.store import BenchSubmission
from bot.store.factory import open_store


async def main(url: str, workers: int) -> None:
    store = await open_store(url)
    os.write(1, b"ready\n")

    async def worker(w: int) -> None:
        i = 0
        while True:
            sid = await store.add_submission(BenchSubmission(
                model="llama-3.1-8b", quant="Q4_K_M", hardware="rtx-4090", count=1, runtime="llama.cpp",
                runtime_version=f"w{w}", backend="cuda", context=4096 + i, prompt_tok_s=None, gen_tok_s=100.0,
                submitter=f"discord:crash{w}", platform="discord", status="pending"))
            os.write(1, f"{sid}\n".encode())  # one write(2) per line: never interleaved, never half-written
            i += 1

    await asyncio.gather(*(worker(w) for w in range(workers)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
