"""The SQLite store (aiosqlite): the default, one file, no server.

Durability: WAL journal with ``synchronous=NORMAL``. A commit appends its pages to the WAL file
with write(2) before ``COMMIT`` returns, so once a method has returned, the data is in the
operating system's page cache and survives the bot process being killed (SIGKILL, OOM killer,
a crash). What NORMAL gives up against FULL is only the fsync at each commit: after a power
loss or kernel crash the last few commits may roll back (the database is never corrupted).
Set ``synchronous="FULL"`` when opening to fsync every commit instead.

One connection serves the whole process; an asyncio lock makes each method's transaction
atomic with respect to the others. Several processes may share the file: ``busy_timeout``
makes writers wait for each other instead of failing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from ._rows import (
    SUBMISSION_COLUMNS,
    check_import,
    from_json,
    iso,
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
from .migrations import ORDER_BY, SCHEMA_VERSION_DDL, TABLES, pending

BUSY_TIMEOUT_MS = 10_000


async def _enable_wal(db: aiosqlite.Connection) -> None:
    """Switch to WAL. The switch needs the file to itself and SQLite reports a busy file at once,
    without the busy handler, when another process is opening it too: retry for a while."""
    delay, waited = 0.005, 0.0
    while True:
        try:
            rows = list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or waited > BUSY_TIMEOUT_MS / 1000:
                raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.2)
            continue
        if rows and str(rows[0][0]).lower() != "wal":
            raise StoreError(f"SQLite could not switch to WAL mode (journal mode is {rows[0][0]})")
        return


class SQLiteStore:
    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self.path = path
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, synchronous: Literal["NORMAL", "FULL"] = "NORMAL") -> SQLiteStore:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # autocommit; transactions are explicit
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if path != ":memory:":
                await _enable_wal(db)
            await db.execute(f"PRAGMA synchronous = {synchronous}")
            await db.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await db.close()  # never leak the connection's thread
            raise
        return cls(db, path)

    async def close(self) -> None:
        await self._db.close()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlocks)."""
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, tuple(params)))

    # -- schema ---------------------------------------------------------------------------------

    async def migrate(self) -> None:
        async with self._tx() as db:
            await db.execute(SCHEMA_VERSION_DDL["sqlite"])
            applied = {int(r[0]) for r in await db.execute_fetchall("SELECT version FROM schema_version")}
            for m in pending(applied):
                for statement in m.render("sqlite"):
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                                 (m.version, m.description, iso(utcnow())))

    async def schema_version(self) -> int:
        rows = await self._fetchall("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    # -- server settings ------------------------------------------------------------------------

    async def get_settings(self, platform: Platform, server_id: str) -> ServerSettings:
        rows = await self._fetchall("SELECT * FROM server_settings WHERE platform = ? AND server_id = ?",
                                    (platform, server_id))
        return settings_from_row(rows[0]) if rows else ServerSettings(platform, server_id)

    async def save_settings(self, settings: ServerSettings) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO server_settings (platform, server_id, default_runtime, ephemeral, autohelp_channels, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, server_id) DO UPDATE SET "
                "default_runtime = excluded.default_runtime, ephemeral = excluded.ephemeral, "
                "autohelp_channels = excluded.autohelp_channels, updated_at = excluded.updated_at",
                (settings.platform, settings.server_id, settings.default_runtime, int(settings.ephemeral),
                 json.dumps(sorted(settings.autohelp_channels)), iso(utcnow())))

    # -- bench submissions ----------------------------------------------------------------------

    async def add_submission(self, sub: BenchSubmission) -> int:
        columns = ", ".join(SUBMISSION_COLUMNS)
        marks = ", ".join("?" for _ in SUBMISSION_COLUMNS)
        async with self._tx() as db:
            cursor = await db.execute(f"INSERT INTO bench_submissions ({columns}) VALUES ({marks})",
                                      submission_values(sub, utcnow(), "sqlite"))
            assert cursor.lastrowid is not None
            return int(cursor.lastrowid)

    async def get_submission(self, submission_id: int) -> BenchSubmission | None:
        rows = await self._fetchall("SELECT * FROM bench_submissions WHERE id = ?", (submission_id,))
        return submission_from_row(rows[0]) if rows else None

    async def list_submissions(self, *, status: Status | None = None, model: str | None = None,
                               hardware: str | None = None, limit: int = 50, quant: str | None = None,
                               count: int | None = None, submitter: str | None = None,
                               platform: str | None = None, server_id: str | None = None
                               ) -> list[BenchSubmission]:
        clause, params = where({"status": status, "model": model, "hardware": hardware, "quant": quant,
                                "count": count, "submitter": submitter, "platform": platform,
                                "server_id": server_id}, "sqlite")
        rows = await self._fetchall(f"SELECT * FROM bench_submissions{clause} ORDER BY id DESC LIMIT ?",
                                    (*params, max(0, int(limit))))
        return [submission_from_row(r) for r in rows]

    async def _one(self, db: aiosqlite.Connection, submission_id: int) -> BenchSubmission:
        rows = list(await db.execute_fetchall("SELECT * FROM bench_submissions WHERE id = ?", (submission_id,)))
        if not rows:
            raise NotFound(f"there is no submission #{submission_id}")
        return submission_from_row(rows[0])

    async def confirm_submission(self, submission_id: int, submitter: str) -> BenchSubmission:
        async with self._tx() as db:
            sub = await self._one(db, submission_id)
            if sub.submitter != submitter:
                raise NotFound(f"there is no draft #{submission_id} of yours")
            if sub.status != "draft":
                raise InvalidTransition(f"submission #{submission_id} is already {sub.status}")
            await db.execute("UPDATE bench_submissions SET status = 'pending', updated_at = ? WHERE id = ?",
                             (iso(utcnow()), submission_id))
            return await self._one(db, submission_id)

    async def review(self, submission_id: int, *, approve: bool, moderator: str, reason: str | None) -> BenchSubmission:
        now = iso(utcnow())
        async with self._tx() as db:
            sub = await self._one(db, submission_id)
            if sub.status != "pending":
                raise InvalidTransition(f"submission #{submission_id} is {sub.status}, not pending review")
            await db.execute("UPDATE bench_submissions SET status = ?, reason = ?, reviewed_by = ?, updated_at = ? "
                             "WHERE id = ?", ("approved" if approve else "rejected", reason, moderator, now,
                                              submission_id))
            await db.execute("INSERT INTO moderation_actions (submission_id, moderator, action, reason, created_at) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (submission_id, moderator, "approve" if approve else "reject", reason, now))
            return await self._one(db, submission_id)

    async def moderation_actions(self, submission_id: int) -> list[dict[str, Any]]:
        rows = await self._fetchall("SELECT * FROM moderation_actions WHERE submission_id = ? ORDER BY id",
                                    (submission_id,))
        kinds = TABLES["moderation_actions"]
        return [{c: to_json(k, r[c]) for c, k in kinds.items()} for r in rows]

    async def delete_stale_drafts(self, older_than: dt.timedelta) -> int:
        async with self._tx() as db:
            cursor = await db.execute("DELETE FROM bench_submissions WHERE status = 'draft' AND created_at < ?",
                                      (iso(utcnow() - older_than),))
            return cursor.rowcount

    # -- usage and dedupe -----------------------------------------------------------------------

    async def count_usage(self, platform: str, command: str, outcome: str) -> None:
        await self.add_usage({(platform, command, outcome): 1})

    async def add_usage(self, counts: dict[tuple[str, str, str], int]) -> None:
        async with self._tx() as db:
            await db.executemany("INSERT INTO usage_counters (platform, command, outcome, count) VALUES (?, ?, ?, ?) "
                                 "ON CONFLICT (platform, command, outcome) "
                                 "DO UPDATE SET count = usage_counters.count + excluded.count",
                                 [(*key, n) for key, n in counts.items()])

    async def usage(self) -> dict[tuple[str, str, str], int]:
        rows = await self._fetchall("SELECT platform, command, outcome, count FROM usage_counters")
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    async def claim_once(self, key: str) -> bool:
        async with self._tx() as db:
            cursor = await db.execute("INSERT INTO dedupe_claims (key, claimed_at) VALUES (?, ?) "
                                      "ON CONFLICT (key) DO NOTHING", (key, iso(utcnow())))
            return cursor.rowcount == 1

    async def prune_claims(self, older_than: dt.timedelta, prefix: str = "") -> int:
        async with self._tx() as db:
            cursor = await db.execute("DELETE FROM dedupe_claims WHERE claimed_at < ? AND substr(key, 1, ?) = ?",
                                      (iso(utcnow() - older_than), len(prefix), prefix))
            return cursor.rowcount

    # -- export / import ------------------------------------------------------------------------

    async def export_rows(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        snapshot: list[tuple[str, dict[str, Any]]] = []
        async with self._lock:  # one read transaction: a consistent snapshot across tables
            await self._db.execute("BEGIN")
            try:
                for table, kinds in TABLES.items():
                    rows = await self._db.execute_fetchall(f"SELECT * FROM {table} ORDER BY {ORDER_BY[table]}")
                    snapshot.extend((table, {c: to_json(k, r[c]) for c, k in kinds.items()}) for r in rows)
            finally:
                await self._db.execute("COMMIT")
        for item in snapshot:
            yield item

    async def import_rows(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        grouped = check_import(list(rows))
        async with self._tx() as db:
            for table in TABLES:
                found = await db.execute_fetchall(f"SELECT 1 FROM {table} LIMIT 1")
                if list(found):
                    raise StoreError(f"the target database already has rows in {table}; "
                                     "import into a new, empty database")
            for table, items in grouped.items():
                kinds = TABLES[table]
                for n, row in enumerate(items, 1):
                    columns = list(row)
                    try:
                        await db.execute(
                            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                            tuple(from_json(kinds[c], row[c], "sqlite") for c in columns))
                    except (sqlite3.Error, ValueError, TypeError) as exc:
                        raise StoreError(f"{table} row {n}: {exc}") from exc
        return {t: len(items) for t, items in grouped.items()}
