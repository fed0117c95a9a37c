"""A tiny in-memory Store for the Discord adapter tests (the real ones live in bot/store/)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot.store.base import Platform, ServerSettings


class MemoryStore:
    """The parts of bot.store.base.Store the Discord adapter uses; the rest refuse loudly."""

    def __init__(self) -> None:
        self.settings: dict[tuple[str, str], ServerSettings] = {}
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.claimed: set[str] = set()
        self.claim_calls: list[str] = []

    async def migrate(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get_settings(self, platform: Platform, server_id: str) -> ServerSettings:
        default = ServerSettings(platform=platform, server_id=server_id)
        return self.settings.get((platform, server_id), default)

    async def save_settings(self, settings: ServerSettings) -> None:
        self.settings[(settings.platform, settings.server_id)] = settings

    async def count_usage(self, platform: str, command: str, outcome: str) -> None:
        self.counts[(platform, command, outcome)] += 1

    async def usage(self) -> dict[tuple[str, str, str], int]:
        return dict(self.counts)

    async def claim_once(self, key: str) -> bool:
        self.claim_calls.append(key)
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True

    def __getattr__(self, name: str) -> Any:
        if name in ("add_submission", "get_submission", "list_submissions", "review", "confirm_submission",
                    "moderation_actions", "delete_stale_drafts", "prune_claims", "schema_version",
                    "export_rows", "import_rows"):
            raise NotImplementedError(f"MemoryStore.{name}: not used by the Discord adapter")
        raise AttributeError(name)
