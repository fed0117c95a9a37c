"""``open_store(url)``: the store a database URL names, migrated and ready."""

from __future__ import annotations

from pathlib import Path

from .base import Store

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+asyncpg://")


def sqlite_path(url: str) -> str | None:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``sqlite:///:memory:`` -> a path."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    path = url.removeprefix(SQLITE_PREFIX)
    return path if path == ":memory:" else str(Path(path).expanduser())


async def open_store(url: str) -> Store:
    """Open (and migrate) the store for ``url``: sqlite:///path or postgres[ql]://..."""
    path = sqlite_path(url)
    store: Store
    if path is not None:
        if not path:
            raise ValueError("sqlite URL without a path; use sqlite:///runlocalai.sqlite3")
        from .sqlite import SQLiteStore

        store = await SQLiteStore.open(path)
    elif url.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        store = await PostgresStore.open(url)
    else:
        scheme = url.partition("://")[0] if "://" in url else url[:20]
        raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:///path or postgresql://...")
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    return store
