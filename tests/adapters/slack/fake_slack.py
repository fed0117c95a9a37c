"""A local fake of Slack for the adapter tests: the Web API (/api/<method>), response_url
endpoints (/response/<key>) and a Socket Mode websocket (/socket), on 127.0.0.1 at a random
port. It records every call so the tests can assert on what Slack would have received.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class FakeSlack:
    admins: set[str] = field(default_factory=lambda: {"UADMIN"})
    api_calls: list[ApiCall] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)      # bodies posted to response_url
    response_keys: list[str] = field(default_factory=list)
    # Every answer a user sees, however it came: in the ack of the request itself ("ack", over
    # HTTP or in a Socket Mode envelope) or posted to response_url ("response_url").
    answers: list[dict[str, Any]] = field(default_factory=list)
    answer_keys: list[str] = field(default_factory=list)                # the response_url key
    answer_paths: list[str] = field(default_factory=list)
    socket_received: list[dict[str, Any]] = field(default_factory=list)  # what the app sent over the socket
    socket_outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    socket_connected: asyncio.Event = field(default_factory=asyncio.Event)
    envelope_keys: dict[str, str] = field(default_factory=dict)        # envelope id -> response_url key
    _server: TestServer | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_get("/socket", self._socket)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.base}/response/{key}"

    def calls(self, method: str) -> list[ApiCall]:
        return [c for c in self.api_calls if c.method == method]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the fake Slack server did not receive the expected call in time")
            await asyncio.sleep(0.01)

    # --- handlers ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        body = await request.text()
        if body:
            if request.content_type == "application/json":
                args.update(json.loads(body))
            else:
                args.update(parse_qsl(body))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        self.api_calls.append(ApiCall(method, args, token))
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "user": "runlocalai",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID,
                    "is_enterprise_install": False}
        if method == "users.info":
            user = str(args.get("user"))
            return {"ok": True, "user": {"id": user, "team_id": TEAM_ID, "is_admin": user in self.admins,
                                         "is_owner": False, "is_primary_owner": False}}
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": f"{time.time():.6f}",
                    "message": {"text": args.get("text"), "bot_id": BOT_ID}}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V1", **(args.get("view") or {})}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.base.replace("http://", "ws://") + "/socket"}
        return {"ok": True}

    def record_ack(self, payload: Any, key: str) -> None:
        """The body of an ack (HTTP response or envelope payload): an answer when it carries a message."""
        if isinstance(payload, dict) and (payload.get("blocks") or payload.get("text")):
            self._answer_seen(payload, key, "ack")

    def _answer_seen(self, message: dict[str, Any], key: str, path: str) -> None:
        self.answers.append(message)
        self.answer_keys.append(key)
        self.answer_paths.append(path)

    async def _response(self, request: web.Request) -> web.Response:
        key, message = request.match_info["key"], await request.json()
        self.response_keys.append(key)
        self.responses.append(message)
        self._answer_seen(message, key, "response_url")
        return web.Response(text="ok")

    def _socket_key(self, envelope_id: Any) -> str:
        """The response_url key of the request an envelope carried (tests send one per key)."""
        return self.envelope_keys.get(str(envelope_id), "")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        self.socket_connected.set()

        async def pump() -> None:
            while True:
                await ws.send_json(await self.socket_outbox.get())

        sender = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    received = json.loads(msg.data)
                    self.socket_received.append(received)
                    self.record_ack(received.get("payload"), self._socket_key(received.get("envelope_id")))
        finally:
            sender.cancel()
        return ws
