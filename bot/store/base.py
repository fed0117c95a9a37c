"""The storage interface the bot core depends on. Implementations: SQLite (aiosqlite, default)
and PostgreSQL (asyncpg), in sibling modules; ``open_store(url)`` picks one.

Every method that returns after a write has committed it (an acknowledged write survives a crash).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Protocol

Platform = Literal["discord", "slack"]
Status = Literal["pending", "approved", "rejected"]


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


class Store(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...

    async def get_settings(self, platform: Platform, server_id: str) -> ServerSettings: ...
    async def save_settings(self, settings: ServerSettings) -> None: ...

    async def add_submission(self, sub: BenchSubmission) -> int: ...
    async def get_submission(self, submission_id: int) -> BenchSubmission | None: ...
    async def list_submissions(self, *, status: Status | None = None, model: str | None = None,
                               hardware: str | None = None, limit: int = 50) -> list[BenchSubmission]: ...
    async def review(self, submission_id: int, *, approve: bool, moderator: str, reason: str | None) -> BenchSubmission: ...

    async def count_usage(self, platform: str, command: str, outcome: str) -> None: ...
    async def usage(self) -> dict[tuple[str, str, str], int]: ...

    async def claim_once(self, key: str) -> bool:
        """True the first time ``key`` is claimed (dedupe of autohelp replies / Slack retries)."""
        ...
