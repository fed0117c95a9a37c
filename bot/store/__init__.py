"""State: per-server settings, community benchmark submissions, usage counters.

Handlers reach the process's store through ``get_store()``; whoever starts the process (``serve``,
the console, a test) opens one with ``open_store(url)`` and installs it with ``set_store``.
Handlers must work when none is set (no community evidence, no submissions).
"""

from .base import BenchSubmission, InvalidTransition, NotFound, ServerSettings, Store, StoreError

__all__ = ["BenchSubmission", "InvalidTransition", "NotFound", "ServerSettings", "Store", "StoreError",
           "get_store", "set_store"]

_STORE: Store | None = None


def get_store() -> Store | None:
    """The process's store, or None when the bot runs without a database."""
    return _STORE


def set_store(store: Store | None) -> None:
    global _STORE
    _STORE = store
