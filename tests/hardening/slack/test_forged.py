"""Forged Slack requests (missing, wrong, stale signatures; oversized bodies) never reach a handler."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest

from bot import dispatch
from tests.adapters.slack.fake_slack import TEAM_ID, FakeSlack
from tests.adapters.slack.signing import SlackSender, sign


@pytest.fixture
def handler_calls(monkeypatch) -> list:
    calls: list = []
    real = dispatch.run

    async def spy(request):
        calls.append(request)
        return await real(request)

    monkeypatch.setattr(dispatch, "run", spy)
    return calls


def body(response_url: str, text: str = "kv cache") -> str:
    return urlencode({"team_id": TEAM_ID, "channel_id": "C1", "user_id": "U1", "command": "/define",
                      "text": text, "response_url": response_url, "trigger_id": "1.2.3"})


@pytest.mark.parametrize("case", ["missing", "wrong secret", "garbage", "stale", "future", "bad timestamp"])
async def test_forged_slash_command_runs_nothing(slack: SlackSender, fake_slack: FakeSlack,
                                                 handler_calls: list, case: str):
    """Every forgery is a 401 and no command runs."""
    b = body(fake_slack.response_url())
    now = str(int(time.time()))
    kw = {"missing": {"unsigned": True},
          "wrong secret": {"signature": sign(b, now, "not-the-secret")},
          "garbage": {"signature": "v0=zz"},
          "stale": {"timestamp": str(int(time.time()) - 600)},
          "future": {"timestamp": str(int(time.time()) + 600)},
          "bad timestamp": {"timestamp": "yesterday", "signature": "v0=00"}}[case]
    if case in ("stale", "future"):
        kw["signature"] = sign(b, kw["timestamp"])
    status, _, _ = await slack.post(b, "application/x-www-form-urlencoded", **kw)
    assert status == 401
    assert handler_calls == []


async def test_oversized_body_is_refused(slack: SlackSender, fake_slack: FakeSlack, handler_calls: list):
    """A correctly signed 2 MB body is refused (413) before bolt or any handler sees it."""
    b = body(fake_slack.response_url(), "x" * 2_000_000)
    status, _, _ = await slack.post(b, "application/x-www-form-urlencoded")
    assert status == 413
    assert handler_calls == []


async def test_long_text_gets_a_clear_answer(slack: SlackSender, fake_slack: FakeSlack):
    """Slash command text far over what an option takes: a clear "too long" answer, not a crash."""
    status, _, _ = await slack.command("define", "kv " * 5000, response_url=fake_slack.response_url())
    assert status == 200
