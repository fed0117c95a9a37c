"""HTTP mode at the wire: bolt's signature check (401 and no handler run), /healthz, and the
signing used by these tests agreeing with slack_sdk's."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack import build_http_app
from bot.config import Settings

from .conftest import make_settings
from .fake_slack import FakeSlack
from ..memory_store import MemoryStore
from .signing import SIGNING_SECRET, SlackSender, sign


def command_body(response_url: str) -> str:
    return urlencode({"team_id": "T0001", "channel_id": "C1", "user_id": "U1", "command": "/define",
                      "text": "kv cache", "response_url": response_url, "trigger_id": "1.2.3"})


def test_test_signing_matches_slack_sdk() -> None:
    """The tests' own HMAC (from Slack's spec) is what slack_sdk computes and accepts."""
    ts, body = str(int(time.time())), "token=x&text=hello"
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert sign(body, ts) == verifier.generate_signature(timestamp=ts, body=body)
    assert verifier.is_valid(body=body, timestamp=ts, signature=sign(body, ts))


async def test_correctly_signed_request_runs(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """Control case: the same request, correctly signed, is answered."""
    body = command_body(fake_slack.response_url())
    status, _, _ = await slack.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    await fake_slack.wait_for(lambda: fake_slack.answers)


@pytest.mark.parametrize("case", ["wrong-secret", "stale", "future", "missing", "tampered", "garbage",
                                  "bad-timestamp"])
async def test_forged_stale_or_missing_signature_is_rejected(
        case: str, slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """401 for a bad, stale (over 5 minutes) or missing signature, and no listener runs."""
    body = command_body(fake_slack.response_url())
    now = int(time.time())
    kwargs: dict[str, Any] = {
        "wrong-secret": {"signature": sign(body, str(now), secret="not-the-secret")},
        "stale": {"timestamp": str(now - 6 * 60), "signature": sign(body, str(now - 6 * 60))},
        "future": {"timestamp": str(now + 6 * 60), "signature": sign(body, str(now + 6 * 60))},
        "missing": {"unsigned": True},
        "tampered": {"signature": sign(body.replace("kv+cache", "gguf"), str(now)), "timestamp": str(now)},
        "garbage": {"signature": "v0=zz", "timestamp": str(now)},
        "bad-timestamp": {"signature": sign(body, "soon"), "timestamp": "soon"},
    }[case]
    status, _, _ = await slack.post(body, "application/x-www-form-urlencoded", **kwargs)
    assert status == 401
    await asyncio.sleep(0.3)
    assert fake_slack.answers == [] and fake_slack.api_calls == [] and not store.counts


async def test_body_that_is_not_utf8_is_refused_not_crashed(
        slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """Bytes that are not UTF-8 cannot carry a valid signature: 401, never a 500."""
    raw = b"command=%2Fdefine&text=\xff\xfe"
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": sign(raw.decode("latin-1"), ts)}
    async with slack.session.post(slack.url, data=raw, headers=headers) as resp:
        assert resp.status == 401
    assert fake_slack.answers == [] and not store.counts


async def test_forged_event_runs_no_autohelp(slack: SlackSender, fake_slack: FakeSlack,
                                             store: MemoryStore) -> None:
    """An unsigned event is rejected before any store access or API call."""
    body = '{"type":"event_callback","event_id":"Ev1","team_id":"T0001","event":{"type":"message",' \
           '"channel":"C1","user":"U1","text":"CUDA out of memory","ts":"1.1"}}'
    status, _, _ = await slack.post(body, "application/json", signature="v0=" + "0" * 64)
    assert status == 401
    await asyncio.sleep(0.3)
    assert fake_slack.api_calls == [] and store.claims == []


async def test_url_verification_challenge(slack: SlackSender) -> None:
    """Slack's Events API URL check is answered (when signed)."""
    status, body, _ = await slack.post('{"type":"url_verification","challenge":"abc123","token":"t"}',
                                       "application/json")
    assert status == 200 and "abc123" in body


async def test_healthz(settings: Settings, store: MemoryStore) -> None:
    """GET /healthz answers 200 without a signature."""
    from aiohttp.test_utils import TestServer

    server = TestServer(build_http_app(settings, store), host="127.0.0.1")
    await server.start_server()
    try:
        url = f"http://127.0.0.1:{server.port}/healthz"
        async with aiohttp.ClientSession() as session, session.get(url) as r:
            assert r.status == 200
    finally:
        await server.close()


def test_http_mode_requires_a_signing_secret(fake_slack: FakeSlack, store: MemoryStore) -> None:
    """Without SLACK_SIGNING_SECRET the HTTP app refuses to start rather than accept anything."""
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        build_http_app(make_settings(fake_slack.api_url, SLACK_SIGNING_SECRET=None), store)


async def test_replayed_command_is_rejected(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """The same signed slash command delivered twice: the second is a replay, 401, not run again."""
    body = command_body(fake_slack.response_url())
    ts = str(int(time.time()))
    first, _, _ = await slack.post(body, "application/x-www-form-urlencoded", timestamp=ts)
    await fake_slack.wait_for(lambda: fake_slack.answers)
    answered = len(fake_slack.answers)
    second, _, _ = await slack.post(body, "application/x-www-form-urlencoded", timestamp=ts)
    await asyncio.sleep(0.3)
    assert (first, second) == (200, 401)
    assert len(fake_slack.answers) == answered
