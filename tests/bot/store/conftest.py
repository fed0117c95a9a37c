"""One store fixture, two backends: every store test runs on SQLite and on PostgreSQL.

PostgreSQL needs RUNLOCALAI_TEST_POSTGRES_URL (a server the tests may create databases on;
.ci/run starts one on 127.0.0.1). Without it those cases skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.store import BenchSubmission
from bot.store.base import Store
from bot.store.factory import open_store

PG_ENV = "RUNLOCALAI_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class PostgresDatabases:
    """Creates a fresh database per test on the test server and drops it afterwards."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.created: list[str] = []

    async def create(self) -> str:
        import asyncpg

        from bot.store.postgres import asyncpg_dsn

        name = f"rl_test_{uuid.uuid4().hex[:16]}"
        con = await asyncpg.connect(asyncpg_dsn(self.base_url))
        try:
            await con.execute(f'CREATE DATABASE "{name}"')
        finally:
            await con.close()
        self.created.append(name)
        return with_database(self.base_url, name)

    async def drop_all(self) -> None:
        import asyncpg

        from bot.store.postgres import asyncpg_dsn

        con = await asyncpg.connect(asyncpg_dsn(self.base_url))
        try:
            for name in self.created:
                await con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await con.close()


@pytest.fixture
async def new_url(tmp_path) -> AsyncIterator:
    """A factory of empty database URLs for a backend: ``await new_url("sqlite")``."""
    pg: PostgresDatabases | None = None
    counter = 0

    async def make(backend: str) -> str:
        nonlocal pg, counter
        if backend == "sqlite":
            counter += 1
            return f"sqlite:///{tmp_path / f'bot{counter}.sqlite3'}"
        base = os.environ.get(PG_ENV)
        if not base:
            pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against (.ci/run starts one)")
        if pg is None:
            pg = PostgresDatabases(base)
        return await pg.create()

    yield make
    if pg is not None:
        await pg.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
async def store_url(backend, new_url) -> str:
    return await new_url(backend)


@pytest.fixture
async def store(store_url) -> AsyncIterator[Store]:
    s = await open_store(store_url)
    try:
        yield s
    finally:
        await s.close()


def submission(**overrides) -> BenchSubmission:
    """A valid submission (Llama 3.1 8B Q4_K_M on one RTX 4090) with fields overridden."""
    values = dict(model="llama-3.1-8b", quant="Q4_K_M", hardware="rtx-4090", count=1, runtime="llama.cpp",
                  runtime_version="b4567", backend="cuda", context=8192, prompt_tok_s=9000.0, gen_tok_s=140.0,
                  submitter="discord:1", platform="discord", server_id="g1")
    values.update(overrides)
    return BenchSubmission(**values)  # type: ignore[arg-type]
