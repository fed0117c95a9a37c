"""State: per-server settings, community benchmark submissions, usage counters."""

from .base import BenchSubmission, ServerSettings, Store

__all__ = ["BenchSubmission", "ServerSettings", "Store"]
