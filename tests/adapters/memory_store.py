"""An in-memory Store for the Discord and Slack adapter tests (the real ones live in bot/store/)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from bot.store.base import BenchSubmission, Platform, ServerSettings, Status


class MemoryStore:
    """Implements bot.store.base.Store; records claims so tests can see dedupe decisions."""

    def __init__(self) -> None:
        self.settings: dict[tuple[str, str], ServerSettings] = {}
        self.submissions: dict[int, BenchSubmission] = {}
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.claims: list[tuple[str, bool]] = []

    async def migrate(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get_settings(self, platform: Platform, server_id: str) -> ServerSettings:
        default = ServerSettings(platform=platform, server_id=server_id)
        return self.settings.get((platform, server_id), default)

    async def save_settings(self, settings: ServerSettings) -> None:
        self.settings[(settings.platform, settings.server_id)] = settings

    async def add_submission(self, sub: BenchSubmission) -> int:
        new_id = len(self.submissions) + 1
        self.submissions[new_id] = replace(sub, id=new_id)
        return new_id

    async def get_submission(self, submission_id: int) -> BenchSubmission | None:
        return self.submissions.get(submission_id)

    async def list_submissions(self, *, status: Status | None = None, model: str | None = None,
                               hardware: str | None = None, limit: int = 50) -> list[BenchSubmission]:
        subs = [s for s in self.submissions.values() if (status is None or s.status == status)
                and (model is None or s.model == model) and (hardware is None or s.hardware == hardware)]
        return subs[:limit]

    async def review(self, submission_id: int, *, approve: bool, moderator: str,
                     reason: str | None) -> BenchSubmission:
        status = "approved" if approve else "rejected"
        sub = replace(self.submissions[submission_id], status=status, reason=reason, reviewed_by=moderator)
        self.submissions[submission_id] = sub
        return sub

    async def count_usage(self, platform: str, command: str, outcome: str) -> None:
        self.counts[(platform, command, outcome)] += 1

    async def add_usage(self, counts: dict[tuple[str, str, str], int]) -> None:
        self.counts.update(counts)

    async def usage(self) -> dict[tuple[str, str, str], int]:
        return dict(self.counts)

    async def claim_once(self, key: str) -> bool:
        first = key not in {k for k, _ in self.claims}
        self.claims.append((key, first))
        return first
