"""Hardening fixtures: a reproducible hypothesis profile and flood limits off unless a test sets them."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from bot import dispatch

settings.register_profile(
    "hardening", derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hardening"))


@pytest.fixture(autouse=True)
def no_flood_limits():
    """Most hardening tests hammer one user; the flood tests configure their own limits."""
    dispatch.configure(dispatch.FloodLimits(enabled=False))
    yield
    dispatch.configure(None)
