"""``runlocalai db export|import|migrate``: back up the database as JSON lines and move it between
backends (SQLite <-> PostgreSQL).

The export's first line is a header (format, schema version, time); every other line is one row:
``{"table": "bench_submissions", "row": {...}}``, parents before children, ids kept. Import goes
into an empty database (migrated first) in one transaction: all rows or none.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from .config import get_settings
from .store.base import StoreError
from .store.factory import open_store
from .store.migrations import LATEST_VERSION, SchemaTooNew

FORMAT = "runlocalai-db"


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        creds, _, host = rest.rpartition("@")
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


async def export(url: str, out: IO[str]) -> dict[str, int]:
    store = await open_store(url)
    counts: dict[str, int] = {}
    try:
        header = {"format": FORMAT, "schema_version": await store.schema_version(),
                  "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        out.write(json.dumps(header) + "\n")
        async for table, row in store.export_rows():
            out.write(json.dumps({"table": table, "row": row}, ensure_ascii=False, separators=(",", ":")) + "\n")
            counts[table] = counts.get(table, 0) + 1
    finally:
        await store.close()
    return counts


def read_export(lines: Iterator[str]) -> list[tuple[str, dict[str, Any]]]:
    """Rows of an export; ValueError with the line number when it is not one."""
    rows: list[tuple[str, dict[str, Any]]] = []
    header: dict[str, Any] | None = None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {n}: not JSON ({exc.msg})") from None
        if header is None:
            if not isinstance(item, dict) or item.get("format") != FORMAT:
                raise ValueError(f"line {n}: not a runlocalai export (no '{FORMAT}' header)")
            if int(item.get("schema_version", 0)) > LATEST_VERSION:
                raise ValueError(f"the export is from schema version {item['schema_version']}, newer than "
                                 f"this bot ({LATEST_VERSION}); import it with a newer bot")
            header = item
            continue
        if not isinstance(item, dict) or not isinstance(item.get("table"), str) or not isinstance(item.get("row"), dict):
            raise ValueError(f"line {n}: expected {{\"table\": ..., \"row\": {{...}}}}")
        rows.append((item["table"], item["row"]))
    if header is None:
        raise ValueError("empty input: no export header")
    return rows


async def import_(url: str, rows: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    store = await open_store(url)
    try:
        return await store.import_rows(rows)
    finally:
        await store.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="runlocalai db", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("export", "import", "migrate"))
    p.add_argument("--url", help="database URL (default: DATABASE_URL / the configured SQLite file)")
    p.add_argument("--file", "-f", default="-", help="JSON lines file to write (export) or read (import); - is stdio")
    args = p.parse_args(argv)
    url = args.url or get_settings().database_url
    try:
        if args.action == "migrate":
            async def _migrate() -> int:
                store = await open_store(url)
                try:
                    return await store.schema_version()
                finally:
                    await store.close()

            print(f"{_redact(url)}: schema version {asyncio.run(_migrate())}", file=sys.stderr)
            return 0
        if args.action == "export":
            if args.file == "-":
                counts = asyncio.run(export(url, sys.stdout))
            else:
                with open(args.file, "w", encoding="utf-8") as fh:
                    counts = asyncio.run(export(url, fh))
            print(f"exported from {_redact(url)}: " + _counts(counts), file=sys.stderr)
            return 0
        if args.file == "-":
            rows = read_export(iter(sys.stdin))
        else:
            with open(args.file, encoding="utf-8") as fh:
                rows = read_export(iter(fh))
        counts = asyncio.run(import_(url, rows))
        print(f"imported into {_redact(url)}: " + _counts(counts), file=sys.stderr)
        return 0
    except (ValueError, StoreError, SchemaTooNew, OSError) as exc:
        print(f"runlocalai db {args.action}: {exc}", file=sys.stderr)
        return 1


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {t}" for t, n in counts.items() if n) or "no rows"
