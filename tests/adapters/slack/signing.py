"""Requests the way Slack sends them: signed with v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp

from .fake_slack import TEAM_ID

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def sign(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's request signature, computed here from the spec (not with the library under test)."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


class SlackSender:
    """Posts signed Slack requests to the app's /slack/events over real HTTP."""

    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str = SIGNING_SECRET,
                 inbox: Any = None) -> None:
        """``inbox`` (the FakeSlack) records an answer the app gives in the ack itself."""
        self.session, self.url, self.secret, self.inbox = session, url, secret, inbox

    async def post(self, body: str, content_type: str, *, timestamp: str | None = None,
                   signature: str | None = None, headers: dict[str, str] | None = None,
                   unsigned: bool = False) -> tuple[int, str, float]:
        """(status, body, seconds until the answer)."""
        ts = timestamp if timestamp is not None else str(int(time.time()))
        all_headers = {"Content-Type": content_type, **(headers or {})}
        if not unsigned:
            all_headers["X-Slack-Request-Timestamp"] = ts
            all_headers["X-Slack-Signature"] = sign(body, ts, self.secret) if signature is None else signature
        started = time.monotonic()
        async with self.session.post(self.url, data=body.encode(), headers=all_headers) as resp:
            text, seconds = await resp.text(), time.monotonic() - started
        if self.inbox is not None and resp.status == 200 and text.startswith("{"):
            response_url = dict(parse_qsl(body)).get("response_url", "") if "=" in body else ""
            self.inbox.record_ack(json.loads(text), response_url.rsplit("/", 1)[-1])
        return resp.status, text, seconds

    async def command(self, name: str, text: str, *, response_url: str, user_id: str = "U1",
                      channel_id: str = "C1", team_id: str = TEAM_ID, **kw: Any) -> tuple[int, str, float]:
        body = urlencode({
            "token": "legacy-verification-token", "team_id": team_id, "team_domain": "fake",
            "channel_id": channel_id, "channel_name": "general", "user_id": user_id, "user_name": "someone",
            "command": f"/{name}", "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": "1.2.3",
        })
        return await self.post(body, "application/x-www-form-urlencoded", **kw)

    async def interaction(self, payload: dict[str, Any], **kw: Any) -> tuple[int, str, float]:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kw)

    async def event(self, event: dict[str, Any], *, event_id: str, team_id: str = TEAM_ID,
                    retry_num: int | None = None) -> tuple[int, str, float]:
        body = json.dumps({
            "token": "legacy-verification-token", "team_id": team_id, "api_app_id": "A1", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True}],
        })
        headers = None
        if retry_num:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(body, "application/json", headers=headers)
