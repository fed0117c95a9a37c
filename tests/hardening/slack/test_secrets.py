"""Secrets never reach logs or error messages: flows run with distinctive fake secrets while every
logger (libraries included) is captured at DEBUG, then the capture is searched for them."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.config import Settings
from bot.store.factory import open_store
from tests.adapters.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.adapters.slack.signing import SIGNING_SECRET, SlackSender

DB_PASSWORD = "pw-SECRET-7f3e9a"
DISCORD_TOKEN = "discord-SECRET-token-5c1d"


def leaked(text: str) -> list[str]:
    return [s for s in (BOT_TOKEN, SIGNING_SECRET, DB_PASSWORD, DISCORD_TOKEN) if s in text]


async def test_slack_flow_logs_no_secret(slack: SlackSender, fake_slack: FakeSlack, caplog):
    """A slash command, a bad signature and an unknown command through bolt: no token or secret logged."""
    caplog.set_level(logging.DEBUG)
    await slack.command("define", "kv cache", response_url=fake_slack.response_url())
    await slack.command("nosuch", "x", response_url=fake_slack.response_url("r2"))
    await slack.post("x=1", "application/x-www-form-urlencoded", signature="v0=00")
    await asyncio.sleep(0.3)
    text = "\n".join(r.getMessage() + str(r.exc_text or "") for r in caplog.records)
    assert caplog.records, "nothing was captured"
    assert leaked(text) == []


async def test_database_password_stays_out_of_errors_and_logs(caplog):
    """An unreachable PostgreSQL URL fails with a message and logs that do not contain the password."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(open_store(f"postgresql://bot:{DB_PASSWORD}@127.0.0.1:1/runlocalai"), 20)
    text = str(info.value) + repr(info.value) + "\n".join(r.getMessage() for r in caplog.records)
    assert leaked(text) == []


def test_settings_never_print_secrets():
    """repr/str of the settings mask every token and secret."""
    s = Settings(_env_file=None, DISCORD_TOKEN=DISCORD_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN,  # type: ignore[call-arg]
                 SLACK_SIGNING_SECRET=SIGNING_SECRET)
    assert leaked(repr(s) + str(s)) == []
