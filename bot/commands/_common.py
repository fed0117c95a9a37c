"""Shared helpers for command handlers: resolving what users typed, formatting numbers."""

from __future__ import annotations

from catalog.lookup import Match
from catalog.resolve import Resolver, SetupMatch, get_resolver

from bot.card import Card, error_card

GIB = 1024**3


class UserError(Exception):
    """Raised inside a handler to answer with a friendly error card."""

    def __init__(self, card: Card) -> None:
        super().__init__(card.summary)
        self.card = card


def resolver() -> Resolver:
    return get_resolver()


def need(match: Match, kind: str, example: str):
    """The entry a lookup found, or a UserError that lists candidates / did-you-mean."""
    if match.found:
        return match.entry
    q = match.query.strip()
    if match.ambiguous:
        labels = [getattr(c, "id", str(c)) for c in match.candidates]
        raise UserError(error_card(f"Which {kind}?", f"'{q}' matches several {kind}s; pick one.", labels))
    msg = f"I don't know the {kind} '{q}'." if q else f"Tell me which {kind} (e.g. {example})."
    raise UserError(error_card(f"Unknown {kind}", msg, list(match.suggestions)))


def need_setup(m: SetupMatch) -> None:
    if m.found:
        return
    if m.problem is None:
        raise UserError(error_card("Unknown hardware", "Tell me the hardware, e.g. `2x 3090` or `m4 max 64gb`."))
    need(m.problem, "hardware", "rtx 4090")


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def tok_s(v: float) -> str:
    return f"{v:.0f}" if v >= 20 else f"{v:.1f}"


def bar(used: float, total: float, width: int = 20) -> str:
    if total <= 0:
        return "░" * width
    filled = min(width, round(width * used / total))
    return "█" * filled + "░" * (width - filled)
