"""Auto-help in troubleshooting channels: reply only when a message contains a known error."""

from __future__ import annotations

from catalog.loader import get_catalog

from .card import Card
from .commands.troubleshoot import troubleshoot_card
from .errors_kb import match_errors

MIN_TEXT = 12


def autohelp_card(text: str) -> Card | None:
    """A troubleshooting card when ``text`` matches the errors KB, else None (stay quiet)."""
    if len(text.strip()) < MIN_TEXT or not match_errors(text, get_catalog(), limit=1):
        return None
    card = troubleshoot_card(text)
    card.footer = (card.footer + " · " if card.footer else "") + "auto-help: I reply once per thread"
    return card
