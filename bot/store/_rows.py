"""Row <-> dataclass and row <-> JSON conversions shared by both backends."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from .base import BenchSubmission, ServerSettings
from .migrations import TABLES, ColumnKind, Dialect

SUBMISSION_COLUMNS = tuple(c for c in TABLES["bench_submissions"] if c != "id")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime) -> str:
    """Fixed-width UTC ISO-8601 (sorts as text, which SQLite relies on)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_ts(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def submission_from_row(row: Mapping[str, Any]) -> BenchSubmission:
    return BenchSubmission(
        id=int(row["id"]), status=row["status"], model=row["model"], quant=row["quant"],
        hardware=row["hardware"], count=int(row["count"]), runtime=row["runtime"],
        runtime_version=row["runtime_version"], backend=row["backend"], context=int(row["context"]),
        prompt_tok_s=None if row["prompt_tok_s"] is None else float(row["prompt_tok_s"]),
        gen_tok_s=float(row["gen_tok_s"]), submitter=row["submitter"], platform=row["platform"],
        server_id=row["server_id"], log_url=row["log_url"], source_format=row["source_format"],
        reason=row["reason"], reviewed_by=row["reviewed_by"], created_at=parse_ts(row["created_at"]),
        updated_at=parse_ts(row["updated_at"]),
    )


def submission_values(sub: BenchSubmission, now: dt.datetime, dialect: Dialect) -> tuple[Any, ...]:
    """Values for SUBMISSION_COLUMNS, in order."""
    ts: Any = iso(now) if dialect == "sqlite" else now
    data = {
        "status": sub.status, "model": sub.model, "quant": sub.quant, "hardware": sub.hardware,
        "count": sub.count, "runtime": sub.runtime, "runtime_version": sub.runtime_version,
        "backend": sub.backend, "context": sub.context, "prompt_tok_s": sub.prompt_tok_s,
        "gen_tok_s": sub.gen_tok_s, "submitter": sub.submitter, "platform": sub.platform,
        "server_id": sub.server_id, "log_url": sub.log_url, "source_format": sub.source_format,
        "reason": sub.reason, "reviewed_by": sub.reviewed_by, "created_at": ts, "updated_at": ts,
    }
    return tuple(data[c] for c in SUBMISSION_COLUMNS)


def settings_from_row(row: Mapping[str, Any]) -> ServerSettings:
    return ServerSettings(platform=row["platform"], server_id=row["server_id"],
                          default_runtime=row["default_runtime"], ephemeral=bool(row["ephemeral"]),
                          autohelp_channels=frozenset(json.loads(row["autohelp_channels"] or "[]")))


def to_json(kind: ColumnKind, value: Any) -> Any:
    """A backend-native column value -> a JSON-ready one."""
    if value is None:
        return None
    if kind == "ts":
        return iso(parse_ts(value))  # type: ignore[arg-type]
    if kind == "bool":
        return bool(value)
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "int":
        return int(value)
    if kind == "real":
        return float(value)
    return value


def from_json(kind: ColumnKind, value: Any, dialect: Dialect) -> Any:
    """A JSON value from an export -> what the backend's driver takes for that column."""
    if value is None:
        return None
    if kind == "ts":
        parsed = parse_ts(value)
        assert parsed is not None
        return iso(parsed) if dialect == "sqlite" else parsed
    if kind == "bool":
        return int(bool(value)) if dialect == "sqlite" else bool(value)
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(sorted(value) if isinstance(value, list) else value)
    if kind == "int":
        return int(value)
    if kind == "real":
        return float(value)
    return str(value)


def where(filters: Mapping[str, Any], dialect: Dialect, start: int = 1) -> tuple[str, list[Any]]:
    """``WHERE a = ? AND b = ?`` for the filters that are not None (placeholders per dialect)."""
    parts: list[str] = []
    params: list[Any] = []
    for column, value in filters.items():
        if value is None:
            continue
        params.append(value)
        parts.append(f"{column} = " + ("?" if dialect == "sqlite" else f"${start + len(params) - 1}"))
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def check_import(rows: list[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Group exported rows by table (in dependency order), refusing unknown tables or columns."""
    from .base import StoreError

    grouped: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for table, row in rows:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r} in the import")
        unknown = set(row) - set(TABLES[table])
        if unknown:
            raise StoreError(f"{table}: unknown columns {sorted(unknown)} in the import")
        grouped[table].append(row)
    return grouped
