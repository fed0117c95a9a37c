"""The Store contract, on both backends (see conftest: each test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.store import InvalidTransition, NotFound, ServerSettings, StoreError
from bot.store.factory import open_store
from bot.store.migrations import LATEST_VERSION, SchemaTooNew

from .conftest import submission

ROOT = Path(__file__).resolve().parents[3]
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


async def test_migrations_applied_at_open(store):
    """Opening a store applies every migration and records the version."""
    assert await store.schema_version() == LATEST_VERSION


async def test_migrations_idempotent(store, store_url):
    """Migrating again, and reopening, changes nothing and keeps the data."""
    sid = await store.add_submission(submission())
    await store.migrate()
    await store.migrate()
    again = await open_store(store_url)
    try:
        assert await again.schema_version() == LATEST_VERSION
        assert (await again.get_submission(sid)) is not None
    finally:
        await again.close()


async def test_concurrent_migrations(new_url, backend):
    """Several processes starting at once (simulated: concurrent opens) migrate exactly once."""
    url = await new_url(backend)
    opened = await asyncio.gather(*(open_store(url) for _ in range(6)), return_exceptions=True)
    stores = [s for s in opened if not isinstance(s, BaseException)]
    try:
        assert len(stores) == len(opened), [s for s in opened if isinstance(s, BaseException)]
        assert {await s.schema_version() for s in stores} == {LATEST_VERSION}
    finally:
        for s in stores:
            await s.close()


async def test_concurrent_migrations_across_processes(new_url, backend):
    """Four bot processes starting on one new database at once all come up on the latest schema."""
    url = await new_url(backend)
    code = ("import asyncio, sys\nfrom bot.store.factory import open_store\n"
            "async def main():\n    s = await open_store(sys.argv[1])\n    print(await s.schema_version())\n"
            "    await s.close()\nasyncio.run(main())")
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", code, url, cwd=ROOT,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
             for _ in range(4)]
    results = [await asyncio.wait_for(p.communicate(), 60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err.decode()[-500:] for _, err in results]
    assert {out.decode().strip() for out, _ in results} == {str(LATEST_VERSION)}


async def test_newer_schema_refused(store, store_url, backend):
    """A database migrated by a newer bot is refused, not silently used."""
    if backend == "sqlite":
        async with store._tx() as db:  # simulating a newer bot's migration
            await db.execute("INSERT INTO schema_version VALUES (999, 'future', '2100-01-01')")
    else:
        await store._pool.execute("INSERT INTO schema_version VALUES (999, 'future', now())")
    with pytest.raises(SchemaTooNew, match="999"):
        await open_store(store_url)


async def test_settings_default_and_roundtrip(store):
    """Unknown servers get defaults; saved settings come back as saved, and saving again updates."""
    assert await store.get_settings("discord", "g1") == ServerSettings("discord", "g1")
    s = ServerSettings("discord", "g1", default_runtime="ollama", ephemeral=True,
                       autohelp_channels=frozenset({"c1", "c2"}))
    await store.save_settings(s)
    assert await store.get_settings("discord", "g1") == s
    s2 = ServerSettings("discord", "g1", default_runtime=None, ephemeral=False, autohelp_channels=frozenset())
    await store.save_settings(s2)
    assert await store.get_settings("discord", "g1") == s2
    assert await store.get_settings("slack", "g1") == ServerSettings("slack", "g1")


async def test_submission_roundtrip(store):
    """A submission comes back with every field, an id, timestamps and its status."""
    sub = submission(log_url="https://example.org/log.txt", source_format="llama-bench", prompt_tok_s=None)
    sid = await store.add_submission(sub)
    got = await store.get_submission(sid)
    assert got is not None and got.id == sid
    for name in ("model", "quant", "hardware", "count", "runtime", "runtime_version", "backend", "context",
                 "prompt_tok_s", "gen_tok_s", "submitter", "platform", "server_id", "log_url", "status",
                 "source_format"):
        assert getattr(got, name) == getattr(sub, name), name
    assert got.created_at is not None and got.created_at.tzinfo is not None
    assert await store.get_submission(sid + 1000) is None


async def test_list_filters_newest_first(store):
    """list_submissions filters by every given field and returns newest first."""
    a = await store.add_submission(submission(status="approved"))
    b = await store.add_submission(submission(status="approved", hardware="rtx-3090"))
    c = await store.add_submission(submission(status="pending", submitter="slack:U2", platform="slack"))
    assert [s.id for s in await store.list_submissions()] == [c, b, a]
    assert [s.id for s in await store.list_submissions(status="approved")] == [b, a]
    assert [s.id for s in await store.list_submissions(status="approved", hardware="rtx-4090")] == [a]
    assert [s.id for s in await store.list_submissions(submitter="slack:U2")] == [c]
    assert [s.id for s in await store.list_submissions(limit=1)] == [c]
    assert await store.list_submissions(model="nope") == []


async def test_confirm_draft(store):
    """Only the submitter confirms a draft, once; it then waits for review."""
    sid = await store.add_submission(submission(status="draft"))
    with pytest.raises(NotFound):
        await store.confirm_submission(sid, "discord:someone-else")
    got = await store.confirm_submission(sid, "discord:1")
    assert got.status == "pending"
    with pytest.raises(InvalidTransition, match="already pending"):
        await store.confirm_submission(sid, "discord:1")
    with pytest.raises(NotFound):
        await store.confirm_submission(sid + 1000, "discord:1")


async def test_review_records_moderation(store):
    """Approving/rejecting sets status, reason and moderator and logs a moderation action."""
    a = await store.add_submission(submission())
    r = await store.add_submission(submission())
    ok = await store.review(a, approve=True, moderator="discord:mod", reason=None)
    no = await store.review(r, approve=False, moderator="discord:mod", reason="numbers from a different model")
    assert (ok.status, ok.reviewed_by) == ("approved", "discord:mod")
    assert (no.status, no.reason) == ("rejected", "numbers from a different model")
    actions = await store.moderation_actions(r)
    assert [(x["action"], x["moderator"], x["reason"]) for x in actions] == [
        ("reject", "discord:mod", "numbers from a different model")]


async def test_review_only_pending(store):
    """Drafts, already reviewed and missing submissions cannot be reviewed."""
    draft = await store.add_submission(submission(status="draft"))
    with pytest.raises(InvalidTransition):
        await store.review(draft, approve=True, moderator="m", reason=None)
    sid = await store.add_submission(submission())
    await store.review(sid, approve=True, moderator="m", reason=None)
    with pytest.raises(InvalidTransition, match="approved"):
        await store.review(sid, approve=False, moderator="m", reason="x")
    with pytest.raises(NotFound):
        await store.review(sid + 1000, approve=True, moderator="m", reason=None)
    assert len(await store.moderation_actions(sid)) == 1


async def test_concurrent_reviews_one_wins(store):
    """Two moderators acting at once: exactly one review lands."""
    sid = await store.add_submission(submission())
    results = await asyncio.gather(*(store.review(sid, approve=i % 2 == 0, moderator=f"m{i}", reason=None)
                                     for i in range(6)), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, InvalidTransition) for r in results if isinstance(r, Exception))
    assert len(await store.moderation_actions(sid)) == 1


async def test_delete_stale_drafts(store):
    """Old drafts go; confirmed submissions stay."""
    draft = await store.add_submission(submission(status="draft"))
    kept = await store.add_submission(submission())
    assert await store.delete_stale_drafts(dt.timedelta(hours=1)) == 0
    assert await store.delete_stale_drafts(dt.timedelta(seconds=-1)) == 1
    assert await store.get_submission(draft) is None
    assert await store.get_submission(kept) is not None


@pytest.mark.parametrize("bad", [{"gen_tok_s": 0.0}, {"count": 0}, {"context": 0}, {"status": "bogus"}])
async def test_constraints_reject_bad_rows(store, bad):
    """The schema itself refuses impossible rows (zero speed, zero devices, unknown status)."""
    with pytest.raises(INTEGRITY_ERRORS):
        await store.add_submission(submission(**bad))
    assert await store.list_submissions() == []


async def test_usage_counters_concurrent(store):
    """Concurrent increments all count."""
    await asyncio.gather(*(store.count_usage("discord", "willitrun", "ok") for _ in range(40)))
    await store.count_usage("slack", "bench", "error")
    assert await store.usage() == {("discord", "willitrun", "ok"): 40, ("slack", "bench", "error"): 1}


async def test_add_usage_adds_a_batch_in_one_go(store):
    """A batch adds to what is stored, new keys and existing ones alike."""
    await store.count_usage("discord", "define", "ok")
    await store.add_usage({("discord", "define", "ok"): 41, ("slack", "define", "error"): 2})
    await store.add_usage({})
    assert await store.usage() == {("discord", "define", "ok"): 42, ("slack", "define", "error"): 2}


async def test_claim_once_concurrent(store):
    """Of many concurrent claims on one key exactly one wins; other keys are independent."""
    results = await asyncio.gather(*(store.claim_once("slack:retry:Ev1") for _ in range(20)))
    assert results.count(True) == 1
    assert await store.claim_once("slack:retry:Ev2") is True
    assert await store.claim_once("slack:retry:Ev2") is False
    assert await store.prune_claims(dt.timedelta(hours=1)) == 0
    assert await store.prune_claims(dt.timedelta(seconds=-1)) == 2
    assert await store.claim_once("slack:retry:Ev1") is True


async def test_prune_claims_by_prefix(store):
    """Replay claims are pruned on their own schedule; other claims are left alone."""
    for key in ("replay:discord:ab", "replay:slack:cd", "discord:thread:1"):
        assert await store.claim_once(key) is True
    assert await store.prune_claims(dt.timedelta(seconds=-1), prefix="replay:") == 2
    assert await store.claim_once("replay:discord:ab") is True
    assert await store.claim_once("discord:thread:1") is False


async def _export(store) -> list:
    return [item async for item in store.export_rows()]


@pytest.mark.parametrize("target", ["sqlite", "postgres"])
async def test_export_import_roundtrip(store, new_url, target):
    """Everything exported from one backend imports into the other (or the same) unchanged,
    and new ids continue after the imported ones."""
    await store.save_settings(ServerSettings("slack", "T1", "ollama", True, frozenset({"C1"})))
    a = await store.add_submission(submission())
    await store.add_submission(submission(status="draft", log_url="https://x.test/l"))
    await store.review(a, approve=True, moderator="discord:mod", reason="matches my card")
    await store.count_usage("discord", "bench", "ok")
    await store.claim_once("k1")
    rows = await _export(store)
    assert {t for t, _ in rows} == {"server_settings", "bench_submissions", "moderation_actions",
                                    "usage_counters", "dedupe_claims"}
    other = await open_store(await new_url(target))
    try:
        counts = await other.import_rows(rows)
        assert counts["bench_submissions"] == 2 and counts["moderation_actions"] == 1
        assert await _export(other) == rows
        new_id = await other.add_submission(submission())
        assert new_id > max(r["id"] for t, r in rows if t == "bench_submissions")
        with pytest.raises(StoreError, match="already has rows"):
            await other.import_rows(rows)
    finally:
        await other.close()


async def test_import_checks_references(store):
    """Foreign keys are on: a moderation action for a missing submission is refused, nothing lands."""
    rows = [("moderation_actions", {"id": 1, "submission_id": 42, "moderator": "m", "action": "approve",
                                    "reason": None, "created_at": "2025-01-01T00:00:00+00:00"})]
    with pytest.raises(StoreError, match="moderation_actions row 1"):
        await store.import_rows(rows)
    assert await _export(store) == []


async def test_import_refuses_unknown_tables(store):
    """An export from something else is refused with a clear message."""
    with pytest.raises(StoreError, match="unknown table"):
        await store.import_rows([("users", {"id": 1})])
    with pytest.raises(StoreError, match="unknown columns"):
        await store.import_rows([("dedupe_claims", {"key": "k", "claimed_at": "2025-01-01T00:00:00+00:00",
                                                   "x": 1})])
