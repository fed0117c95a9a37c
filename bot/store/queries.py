"""Read-side queries the commands share: approved community records for a tuple."""

from __future__ import annotations

from collections.abc import Iterable

from .base import BenchSubmission, Store

SCAN_LIMIT = 500


async def community_records(store: Store, model_id: str, quant: str | None, hardware_ids: Iterable[str],
                            count: int | None) -> list[BenchSubmission]:
    """Approved submissions for a model on any of ``hardware_ids`` (with that quant and device
    count when given), newest first."""
    out: list[BenchSubmission] = []
    for hw in sorted(set(hardware_ids)):
        out.extend(await store.list_submissions(status="approved", model=model_id, hardware=hw, quant=quant,
                                                count=count, limit=SCAN_LIMIT))
    return sorted(out, key=lambda s: s.id or 0, reverse=True)


async def approved_near(store: Store, model_id: str | None, hardware_ids: Iterable[str],
                        limit: int = 20) -> tuple[list[BenchSubmission], bool]:
    """Approved submissions for a model and/or hardware: (records, exact). Exact when some match
    both; otherwise the nearest: same model on other hardware, or other models on that hardware."""
    hw = set(hardware_ids)
    if model_id is not None:
        same_model = await store.list_submissions(status="approved", model=model_id, limit=SCAN_LIMIT)
        exact = [s for s in same_model if not hw or s.hardware in hw]
        if exact:
            return exact[:limit], True
        nearest = list(same_model)
    else:
        nearest = []
    for h in sorted(hw):
        nearest.extend(await store.list_submissions(status="approved", hardware=h, limit=SCAN_LIMIT))
    if model_id is None:
        return sorted(nearest, key=lambda s: s.id or 0, reverse=True)[:limit], True
    unique = {s.id: s for s in nearest}
    return sorted(unique.values(), key=lambda s: s.id or 0, reverse=True)[:limit], False
