"""The PostgreSQL store (asyncpg): for several bot processes sharing state (Slack HTTP
replicas, Discord shard processes).

Durability: every method runs in its own transaction and returns after COMMIT, which with the
server's default ``synchronous_commit = on`` means the commit record is flushed to the WAL on
disk. A bot process killed right after an acknowledged write loses nothing, and neither does
a server crash.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg

from ._rows import (
    SUBMISSION_COLUMNS,
    check_import,
    from_json,
    settings_from_row,
    submission_from_row,
    submission_values,
    to_json,
    utcnow,
    where,
)
from .base import (
    BenchSubmission,
    InvalidTransition,
    NotFound,
    Platform,
    ServerSettings,
    Status,
    StoreError,
)
from .migrations import IDENTITY_TABLES, ORDER_BY, PG_ADVISORY_LOCK_KEY, SCHEMA_VERSION_DDL, TABLES, pending


def asyncpg_dsn(url: str) -> str:
    """postgres://, postgresql:// and SQLAlchemy's postgresql+asyncpg:// all name the same thing."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.split("+")[0] in ("postgres", "postgresql") else url


class PostgresStore:
    dialect = "postgres"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresStore:
        pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=min_size, max_size=max_size,
                                         command_timeout=60)
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    # -- schema ---------------------------------------------------------------------------------

    async def migrate(self) -> None:
        async with self._pool.acquire() as con, con.transaction():
            await con.execute("SELECT pg_advisory_xact_lock($1)", PG_ADVISORY_LOCK_KEY)
            await con.execute(SCHEMA_VERSION_DDL["postgres"])
            applied = {int(r["version"]) for r in await con.fetch("SELECT version FROM schema_version")}
            for m in pending(applied):
                for statement in m.render("postgres"):
                    await con.execute(statement)
                await con.execute("INSERT INTO schema_version (version, description, applied_at) VALUES ($1, $2, $3)",
                                  m.version, m.description, utcnow())

    async def schema_version(self) -> int:
        return int(await self._pool.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))

    # -- server settings ------------------------------------------------------------------------

    async def get_settings(self, platform: Platform, server_id: str) -> ServerSettings:
        row = await self._pool.fetchrow("SELECT * FROM server_settings WHERE platform = $1 AND server_id = $2",
                                        platform, server_id)
        return settings_from_row(row) if row else ServerSettings(platform, server_id)

    async def save_settings(self, settings: ServerSettings) -> None:
        await self._pool.execute(
            "INSERT INTO server_settings (platform, server_id, default_runtime, ephemeral, autohelp_channels, "
            "updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (platform, server_id) DO UPDATE SET "
            "default_runtime = excluded.default_runtime, ephemeral = excluded.ephemeral, "
            "autohelp_channels = excluded.autohelp_channels, updated_at = excluded.updated_at",
            settings.platform, settings.server_id, settings.default_runtime, settings.ephemeral,
            json.dumps(sorted(settings.autohelp_channels)), utcnow())

    # -- bench submissions ----------------------------------------------------------------------

    async def add_submission(self, sub: BenchSubmission) -> int:
        marks = ", ".join(f"${i}" for i in range(1, len(SUBMISSION_COLUMNS) + 1))
        return int(await self._pool.fetchval(
            f"INSERT INTO bench_submissions ({', '.join(SUBMISSION_COLUMNS)}) VALUES ({marks}) RETURNING id",
            *submission_values(sub, utcnow(), "postgres")))

    async def get_submission(self, submission_id: int) -> BenchSubmission | None:
        row = await self._pool.fetchrow("SELECT * FROM bench_submissions WHERE id = $1", submission_id)
        return submission_from_row(row) if row else None

    async def list_submissions(self, *, status: Status | None = None, model: str | None = None,
                               hardware: str | None = None, limit: int = 50, quant: str | None = None,
                               count: int | None = None, submitter: str | None = None,
                               platform: str | None = None, server_id: str | None = None
                               ) -> list[BenchSubmission]:
        clause, params = where({"status": status, "model": model, "hardware": hardware, "quant": quant,
                                "count": count, "submitter": submitter, "platform": platform,
                                "server_id": server_id}, "postgres")
        rows = await self._pool.fetch(
            f"SELECT * FROM bench_submissions{clause} ORDER BY id DESC LIMIT ${len(params) + 1}",
            *params, max(0, int(limit)))
        return [submission_from_row(r) for r in rows]

    @staticmethod
    async def _one_for_update(con: asyncpg.Connection, submission_id: int) -> BenchSubmission:
        row = await con.fetchrow("SELECT * FROM bench_submissions WHERE id = $1 FOR UPDATE", submission_id)
        if row is None:
            raise NotFound(f"there is no submission #{submission_id}")
        return submission_from_row(row)

    async def confirm_submission(self, submission_id: int, submitter: str) -> BenchSubmission:
        async with self._pool.acquire() as con, con.transaction():
            sub = await self._one_for_update(con, submission_id)
            if sub.submitter != submitter:
                raise NotFound(f"there is no draft #{submission_id} of yours")
            if sub.status != "draft":
                raise InvalidTransition(f"submission #{submission_id} is already {sub.status}")
            row = await con.fetchrow("UPDATE bench_submissions SET status = 'pending', updated_at = $1 "
                                     "WHERE id = $2 RETURNING *", utcnow(), submission_id)
            return submission_from_row(row)

    async def review(self, submission_id: int, *, approve: bool, moderator: str, reason: str | None) -> BenchSubmission:
        now = utcnow()
        async with self._pool.acquire() as con, con.transaction():
            sub = await self._one_for_update(con, submission_id)
            if sub.status != "pending":
                raise InvalidTransition(f"submission #{submission_id} is {sub.status}, not pending review")
            row = await con.fetchrow("UPDATE bench_submissions SET status = $1, reason = $2, reviewed_by = $3, "
                                     "updated_at = $4 WHERE id = $5 RETURNING *",
                                     "approved" if approve else "rejected", reason, moderator, now, submission_id)
            await con.execute("INSERT INTO moderation_actions (submission_id, moderator, action, reason, created_at) "
                              "VALUES ($1, $2, $3, $4, $5)",
                              submission_id, moderator, "approve" if approve else "reject", reason, now)
            return submission_from_row(row)

    async def moderation_actions(self, submission_id: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch("SELECT * FROM moderation_actions WHERE submission_id = $1 ORDER BY id",
                                      submission_id)
        kinds = TABLES["moderation_actions"]
        return [{c: to_json(k, r[c]) for c, k in kinds.items()} for r in rows]

    async def delete_stale_drafts(self, older_than: dt.timedelta) -> int:
        status = await self._pool.execute("DELETE FROM bench_submissions WHERE status = 'draft' AND created_at < $1",
                                          utcnow() - older_than)
        return int(status.split()[-1])

    # -- usage and dedupe -----------------------------------------------------------------------

    async def count_usage(self, platform: str, command: str, outcome: str) -> None:
        await self.add_usage({(platform, command, outcome): 1})

    async def add_usage(self, counts: dict[tuple[str, str, str], int]) -> None:
        async with self._pool.acquire() as con, con.transaction():
            await con.executemany(
                "INSERT INTO usage_counters (platform, command, outcome, count) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (platform, command, outcome) DO UPDATE SET count = usage_counters.count + EXCLUDED.count",
                [(*key, n) for key, n in counts.items()])

    async def usage(self) -> dict[tuple[str, str, str], int]:
        rows = await self._pool.fetch("SELECT platform, command, outcome, count FROM usage_counters")
        return {(r["platform"], r["command"], r["outcome"]): int(r["count"]) for r in rows}

    async def claim_once(self, key: str) -> bool:
        got = await self._pool.fetchval("INSERT INTO dedupe_claims (key, claimed_at) VALUES ($1, $2) "
                                        "ON CONFLICT (key) DO NOTHING RETURNING key", key, utcnow())
        return got is not None

    async def prune_claims(self, older_than: dt.timedelta, prefix: str = "") -> int:
        status = await self._pool.execute("DELETE FROM dedupe_claims WHERE claimed_at < $1 AND left(key, $2) = $3",
                                          utcnow() - older_than, len(prefix), prefix)
        return int(status.split()[-1])

    # -- export / import ------------------------------------------------------------------------

    async def export_rows(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        snapshot: list[tuple[str, dict[str, Any]]] = []
        async with self._pool.acquire() as con, con.transaction(isolation="repeatable_read", readonly=True):
            for table, kinds in TABLES.items():
                for r in await con.fetch(f"SELECT * FROM {table} ORDER BY {ORDER_BY[table]}"):
                    snapshot.append((table, {c: to_json(k, r[c]) for c, k in kinds.items()}))
        for item in snapshot:
            yield item

    async def import_rows(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        grouped = check_import(list(rows))
        async with self._pool.acquire() as con, con.transaction():
            for table in TABLES:
                await con.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                if await con.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise StoreError(f"the target database already has rows in {table}; "
                                     "import into a new, empty database")
            for table, items in grouped.items():
                kinds = TABLES[table]
                for n, row in enumerate(items, 1):
                    columns = list(row)
                    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
                    try:
                        await con.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                          *(from_json(kinds[c], row[c], "postgres") for c in columns))
                    except (asyncpg.PostgresError, ValueError, TypeError) as exc:
                        raise StoreError(f"{table} row {n}: {exc}") from exc
            for table in IDENTITY_TABLES:
                await con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
        return {t: len(items) for t, items in grouped.items()}
