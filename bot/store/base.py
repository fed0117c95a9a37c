"""The storage interface the bot core depends on. Implementations: SQLite (aiosqlite, default)
and PostgreSQL (asyncpg), in sibling modules; ``open_store(url)`` picks one.

Every method that returns after a write has committed it (an acknowledged write survives a crash).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Platform = Literal["discord", "slack", "console", "http"]
# draft: parsed and shown to the submitter, not yet confirmed; pending: in the moderation queue.
Status = Literal["draft", "pending", "approved", "rejected"]
STATUSES: tuple[str, ...] = ("draft", "pending", "approved", "rejected")


class StoreError(Exception):
    """A store operation that cannot be done as asked; the message is fit to show a user."""


class NotFound(StoreError, LookupError):
    """No row with that id (or not one the caller may see)."""


class InvalidTransition(StoreError, ValueError):
    """A submission is not in the status the operation needs (e.g. reviewing an approved one)."""


@dataclass(frozen=True)
class ServerSettings:
    """Per Discord guild / Slack workspace."""

    platform: Platform
    server_id: str
    default_runtime: str | None = None
    ephemeral: bool = False
    autohelp_channels: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class BenchSubmission:
    model: str
    quant: str
    hardware: str
    count: int
    runtime: str
    runtime_version: str | None
    backend: str
    context: int
    prompt_tok_s: float | None
    gen_tok_s: float
    submitter: str          # "<platform>:<user id>"
    platform: Platform
    server_id: str | None = None
    log_url: str | None = None
    id: int | None = None
    status: Status = "pending"
    reason: str | None = None
    created_at: dt.datetime | None = None
    # What the numbers were read from: "manual", "llama-bench", "ollama", "llama.cpp", "vllm".
    source_format: str = "manual"
    reviewed_by: str | None = None
    updated_at: dt.datetime | None = None


class Store(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...
    async def schema_version(self) -> int: ...

    async def get_settings(self, platform: Platform, server_id: str) -> ServerSettings: ...
    async def save_settings(self, settings: ServerSettings) -> None: ...

    async def add_submission(self, sub: BenchSubmission) -> int: ...
    async def get_submission(self, submission_id: int) -> BenchSubmission | None: ...
    async def list_submissions(self, *, status: Status | None = None, model: str | None = None,
                               hardware: str | None = None, limit: int = 50, quant: str | None = None,
                               count: int | None = None, submitter: str | None = None,
                               platform: str | None = None, server_id: str | None = None
                               ) -> list[BenchSubmission]:
        """Newest first; every filter given must match."""
        ...
    async def confirm_submission(self, submission_id: int, submitter: str) -> BenchSubmission:
        """A draft of ``submitter`` enters the moderation queue (status pending).
        NotFound when there is no such draft of theirs; InvalidTransition when it is not a draft."""
        ...
    async def review(self, submission_id: int, *, approve: bool, moderator: str, reason: str | None) -> BenchSubmission:
        """Approve or reject a pending submission and record the moderation action, atomically."""
        ...
    async def moderation_actions(self, submission_id: int) -> list[dict[str, Any]]: ...
    async def delete_stale_drafts(self, older_than: dt.timedelta) -> int: ...

    async def count_usage(self, platform: str, command: str, outcome: str) -> None: ...
    async def add_usage(self, counts: dict[tuple[str, str, str], int]) -> None:
        """Add ``counts`` ((platform, command, outcome) -> n) in one transaction."""
        ...
    async def usage(self) -> dict[tuple[str, str, str], int]: ...

    async def claim_once(self, key: str) -> bool:
        """True the first time ``key`` is claimed (dedupe of autohelp replies / Slack retries)."""
        ...
    async def prune_claims(self, older_than: dt.timedelta, prefix: str = "") -> int:
        """Forget claims older than ``older_than`` whose key starts with ``prefix``; how many."""
        ...

    # Backup / moving between backends (``runlocalai db export|import``).
    def export_rows(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Every row of every table as (table, JSON-ready dict), parents before children."""
        ...
    async def import_rows(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        """Insert exported rows (ids kept) into an empty store; rows per table."""
        ...
