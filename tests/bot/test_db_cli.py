"""`runlocalai db export|import|migrate`: JSON lines backup and restore through the CLI."""

from __future__ import annotations

import asyncio
import json

from bot.cli import main
from bot.store import BenchSubmission, ServerSettings
from bot.store.factory import open_store


async def _seed(url: str) -> None:
    store = await open_store(url)
    try:
        await store.save_settings(ServerSettings("discord", "g1", "ollama", True, frozenset({"c1"})))
        sid = await store.add_submission(BenchSubmission(
            model="llama-3.1-8b", quant="Q4_K_M", hardware="rtx-4090", count=1, runtime="llama.cpp",
            runtime_version="b4592", backend="cuda", context=8192, prompt_tok_s=None, gen_tok_s=140.0,
            submitter="discord:1", platform="discord", server_id="g1"))
        await store.review(sid, approve=True, moderator="discord:2", reason="ok")
        await store.count_usage("discord", "bench", "ok")
    finally:
        await store.close()


async def _export(url: str) -> list:
    store = await open_store(url)
    try:
        return [x async for x in store.export_rows()]
    finally:
        await store.close()


def test_export_then_import(tmp_path, capsys):
    """An export imports into a new database with every row; the file is a header plus one row per line."""
    src, dst, dump = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "dump.jsonl"
    asyncio.run(_seed(src))
    assert main(["db", "export", "--url", src, "--file", str(dump)]) == 0
    lines = dump.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "runlocalai-db"
    assert {json.loads(line)["table"] for line in lines[1:]} == {
        "server_settings", "bench_submissions", "moderation_actions", "usage_counters"}
    assert main(["db", "import", "--url", dst, "--file", str(dump)]) == 0
    assert "1 bench_submissions" in capsys.readouterr().err
    assert asyncio.run(_export(dst)) == asyncio.run(_export(src))


def test_import_refuses_non_empty_and_garbage(tmp_path, capsys):
    """Importing over data, or a file that is not an export, fails with a message and exit 1."""
    src, dump = f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "dump.jsonl"
    asyncio.run(_seed(src))
    assert main(["db", "export", "--url", src, "--file", str(dump)]) == 0
    assert main(["db", "import", "--url", src, "--file", str(dump)]) == 1
    assert "already has rows" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    assert main(["db", "import", "--url", f"sqlite:///{tmp_path / 'c.db'}", "--file", str(bad)]) == 1
    assert "not a runlocalai export" in capsys.readouterr().err
    future = tmp_path / "future.jsonl"
    future.write_text('{"format": "runlocalai-db", "schema_version": 99}\n')
    assert main(["db", "import", "--url", f"sqlite:///{tmp_path / 'd.db'}", "--file", str(future)]) == 1
    assert "newer" in capsys.readouterr().err


def test_migrate_and_bad_url(tmp_path, capsys):
    """`db migrate` reports the schema version; an unknown URL scheme is a clear error."""
    assert main(["db", "migrate", "--url", f"sqlite:///{tmp_path / 'm.db'}"]) == 0
    assert "schema version 1" in capsys.readouterr().err
    assert main(["db", "migrate", "--url", "mysql://x"]) == 1
    assert "unsupported database URL" in capsys.readouterr().err
