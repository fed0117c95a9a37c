"""Slack API failures: a 429 with Retry-After is retried by the client the app builds; a 500 and a
timeout end in an exception the listener logs, not a crash."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError

from adapters.slack.app import build_web_client
from bot.config import Settings


@pytest.fixture
async def flaky_slack():
    """chat.postMessage answers 429 (Retry-After: 1) once, then ok; api.test always 500."""
    calls: list[str] = []

    async def post_message(request: web.Request) -> web.Response:
        calls.append("chat.postMessage")
        if calls.count("chat.postMessage") == 1:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        return web.json_response({"ok": True, "ts": "1.2", "channel": "C1"})

    async def broken(request: web.Request) -> web.Response:
        calls.append("api.test")
        return web.json_response({"ok": False, "error": "internal_error"}, status=500)

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post_message)
    app.router.add_post("/api/api.test", broken)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}/api/", calls
    await server.close()


async def test_429_is_retried_after_retry_after(flaky_slack):
    """The first call is rate limited; the client waits Retry-After and the retry succeeds."""
    url, calls = flaky_slack
    client = build_web_client(Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-x", SLACK_API_URL=url))  # type: ignore[call-arg]
    response = await client.chat_postMessage(channel="C1", text="hi")
    assert response["ok"] and calls.count("chat.postMessage") == 2


async def test_500_raises_a_clear_error_without_the_token(flaky_slack):
    """A server error surfaces as SlackApiError (the listeners log it); the token is not in it."""
    url, _ = flaky_slack
    client = build_web_client(Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-SECRET-1", SLACK_API_URL=url))  # type: ignore[call-arg]
    with pytest.raises(SlackApiError) as info:
        await client.api_call("api.test")
    assert "xoxb-SECRET-1" not in str(info.value)
