"""Read-side queries the commands share: approved community records for a tuple.

Who may see an approved record: moderation happens per server (``/bench-review`` only reviews
its own server's submissions), so a server could approve anything for itself. A record counts
everywhere only when a moderator the operator trusts approved it: the operator (console) or a
server on ``Settings.trusted_servers``; any other approved record is evidence only in the server
it came from.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from .base import BenchSubmission, Store

SCAN_LIMIT = 500


@dataclass(frozen=True)
class Viewer:
    """Where the records are shown: a platform and server, and which servers are trusted
    (``"discord:<guild id>"``, ``"slack:<team id>"``). The console (the operator) sees all."""

    platform: str
    server_id: str | None = None
    trusted: Collection[str] = field(default_factory=frozenset)

    def sees(self, sub: BenchSubmission) -> bool:
        if self.platform == "console" or (sub.reviewed_by or "").startswith("console:"):
            return True
        if f"{sub.platform}:{sub.server_id}" in self.trusted:
            return True
        return sub.server_id is not None and (sub.platform, sub.server_id) == (self.platform, self.server_id)


async def community_records(store: Store, model_id: str, quant: str | None, hardware_ids: Iterable[str],
                            count: int | None, viewer: Viewer) -> list[BenchSubmission]:
    """Approved submissions ``viewer`` may see for a model on any of ``hardware_ids`` (with that
    quant and device count when given), newest first."""
    out: list[BenchSubmission] = []
    for hw in sorted(set(hardware_ids)):
        out.extend(await store.list_submissions(status="approved", model=model_id, hardware=hw, quant=quant,
                                                count=count, limit=SCAN_LIMIT))
    return sorted(filter(viewer.sees, out), key=lambda s: s.id or 0, reverse=True)


async def approved_near(store: Store, model_id: str | None, hardware_ids: Iterable[str], viewer: Viewer,
                        limit: int = 20) -> tuple[list[BenchSubmission], bool]:
    """Approved submissions ``viewer`` may see for a model and/or hardware: (records, exact).
    Exact when some match both; otherwise the nearest: same model on other hardware, or other
    models on that hardware."""
    hw = set(hardware_ids)
    if model_id is not None:
        same_model = [s for s in await store.list_submissions(status="approved", model=model_id, limit=SCAN_LIMIT)
                      if viewer.sees(s)]
        exact = [s for s in same_model if not hw or s.hardware in hw]
        if exact:
            return exact[:limit], True
        nearest = list(same_model)
    else:
        nearest = []
    for h in sorted(hw):
        nearest.extend(s for s in await store.list_submissions(status="approved", hardware=h, limit=SCAN_LIMIT)
                       if viewer.sees(s))
    if model_id is None:
        return sorted(nearest, key=lambda s: s.id or 0, reverse=True)[:limit], True
    unique = {s.id: s for s in nearest}
    return sorted(unique.values(), key=lambda s: s.id or 0, reverse=True)[:limit], False
