"""Reuse the Slack fakes and fixtures of tests/adapters/slack."""

from tests.adapters.slack.conftest import fake_slack, settings, slack, store  # noqa: F401
