"""Reuse the Discord fakes and fixtures of tests/adapters/discord."""

from tests.adapters.discord.conftest import endpoint, fake_discord, only_localhost, store  # noqa: F401
