"""A fake Discord on 127.0.0.1: the REST API and a minimal gateway websocket, recording what
they receive and answering like Discord.

discord.py (through ``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``, see
adapters/discord/api.py) and the HTTP endpoint's webhook follow-ups (through DISCORD_API_URL) are
pointed at it; tests assert on the JSON Discord would have received.

Failures on demand, per route and for the next N requests: ``rate_limit`` (429 with Discord's
body and headers, per-route or global, or Cloudflare's ban page), ``fail`` (5xx) and ``slow``
(answer after a delay).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "700000000000000001"
BOT_USER = {"id": APP_ID, "username": "runlocalai", "discriminator": "0", "global_name": "runlocalai",
            "avatar": None, "bot": True}
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"
_ids = itertools.count(900_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_ids))


@dataclass
class Recorded:
    method: str
    path: str                     # without the /api/v10 prefix
    json: Any = None              # the JSON body, or the payload_json part of a multipart body
    files: dict[str, bytes] = field(default_factory=dict)   # multipart file parts by filename
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)       # when it arrived (time.monotonic)
    status: int | None = None     # what the fake answered (None while a slow answer is pending)


@dataclass
class Fault:
    """What the fake answers instead, to the next ``times`` requests matching ``method`` and the
    ``pattern`` (a regex over the path without /api/v10)."""

    method: str
    pattern: str
    times: int
    status: int | None = 429      # 429, a 5xx, or None: the normal answer (after ``delay_s``)
    retry_after: float = 0.3      # 429: seconds, in the body (and rounded up in Retry-After)
    is_global: bool = False       # 429: the global rate limit
    via: bool = True              # 429: False is Cloudflare's ban (HTML, no Via header)
    delay_s: float = 0.0          # wait this long before answering (a slow answer)
    used: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.used < self.times and method == self.method and re.fullmatch(self.pattern, path) is not None


@dataclass
class GatewaySession:
    """One websocket connection to the fake gateway, as the fake saw it."""

    ws: web.WebSocketResponse
    query: dict[str, str]
    identify: dict[str, Any] | None = None     # the IDENTIFY payload's "d"
    identified_at: float | None = None         # time.monotonic()
    heartbeats: int = 0
    ready: bool = False                        # READY was sent
    close_code: int | None = None              # set when the connection ended
    seq: int = 0

    @property
    def shard(self) -> list[int] | None:
        return (self.identify or {}).get("shard")

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """An op-0 DISPATCH, as the gateway sends events."""
        self.seq += 1
        await self.ws.send_str(json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}))


def _json(data: Any, status: int = 200) -> web.Response:
    """JSON with Discord's exact content type (discord.py checks for 'application/json' as is)."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json"})


def message_payload(channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A message object as Discord returns it after the bot sends or edits one."""
    return {"id": snowflake(), "channel_id": channel_id, "author": BOT_USER,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [], "components": body.get("components") or [], "attachments": [],
            "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": [], "mention_roles": [], "pinned": False, "type": 0, "flags": body.get("flags") or 0}


class FakeDiscord:
    PREFIX = "/api/v10"
    HEARTBEAT_INTERVAL_MS = 41_250

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.cdn: dict[str, bytes] = {}                 # GET /cdn/<name>
        self.channels: dict[str, dict[str, Any]] = {}   # GET /channels/<id>
        self.faults: list[Fault] = []
        self.sessions: list[GatewaySession] = []        # gateway connections, in order
        self.recommended_shards = 1                     # GET /gateway/bot "shards"
        self.close_on_identify: list[int] = []          # close codes for the next IDENTIFYs (4011, 4014 ...)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def cdn_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/cdn/{name}"

    async def start(self) -> None:
        app = web.Application(client_max_size=20_000_000)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for session in self.sessions:
            if not session.ws.closed:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- failures on demand ---------------------------------------------------------------------

    def rate_limit(self, method: str, pattern: str, *, times: int = 1, retry_after: float = 0.3,
                   is_global: bool = False, via: bool = True) -> Fault:
        """Answer the next ``times`` matching requests with 429, as Discord (or Cloudflare) does."""
        return self._add(Fault(method, pattern, times, 429, retry_after, is_global, via))

    def fail(self, method: str, pattern: str, *, times: int = 1, status: int = 500) -> Fault:
        """Answer the next ``times`` matching requests with a server error."""
        return self._add(Fault(method, pattern, times, status))

    def slow(self, method: str, pattern: str, *, delay_s: float, times: int = 1) -> Fault:
        """Answer the next ``times`` matching requests normally, but only after ``delay_s``."""
        return self._add(Fault(method, pattern, times, None, delay_s=delay_s))

    def _add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def _fault_for(self, r: Recorded) -> Fault | None:
        fault = next((f for f in self.faults if f.matches(r.method, r.path)), None)
        if fault is not None:
            fault.used += 1
        return fault

    @staticmethod
    def _failure(fault: Fault) -> web.StreamResponse:
        if fault.status != 429:
            if fault.status in (502, 504):   # Cloudflare's pages in front of Discord are HTML
                return web.Response(status=fault.status, text=f"<html>{fault.status} Bad Gateway</html>",
                                    content_type="text/html")
            return _json({"message": f"{fault.status}: {HTTPStatus(fault.status or 500).phrase}", "code": 0},
                         status=fault.status or 500)
        if not fault.via:   # Cloudflare's ban: not from Discord's API at all
            return web.Response(status=429, text="<html>error code: 1015</html>", content_type="text/html")
        headers = {"Via": "1.1 google", "Retry-After": str(math.ceil(fault.retry_after)),
                   "X-RateLimit-Scope": "global" if fault.is_global else "user"}
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update({
                "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                "X-RateLimit-Bucket": hashlib.sha1(fault.pattern.encode()).hexdigest()[:16]})
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after,
                "global": fault.is_global}
        response = _json(body, status=429)
        response.headers.update(headers)
        return response

    # -- assertions helpers ---------------------------------------------------------------------

    def matching(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def answered(self, method: str, pattern: str) -> list[Recorded]:
        """The matching requests the fake answered with success (2xx)."""
        return [r for r in self.matching(method, pattern) if r.status is not None and r.status < 300]

    async def wait_for(self, method: str, pattern: str, count: int = 1,
                       timeout: float = 10.0) -> list[Recorded]:
        """The first ``count`` requests matching, waiting for them to arrive."""
        async def arrived() -> list[Recorded]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.matching(method, pattern)) >= count)
            return self.matching(method, pattern)[:count]

        return await asyncio.wait_for(arrived(), timeout)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition()`` holds; it is checked whenever a request or gateway message arrives."""
        async def holds() -> None:
            async with self._changed:
                await self._changed.wait_for(condition)

        await asyncio.wait_for(holds(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the fake API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/cdn/"):
            data = self.cdn.get(path.removeprefix("/cdn/"))
            return web.Response(body=data) if data is not None else web.Response(status=404)
        path = path.removeprefix(self.PREFIX)
        recorded = Recorded(request.method, path, headers=dict(request.headers))
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    recorded.json = json.loads(await part.text())
                else:
                    recorded.files[part.filename or part.name or "?"] = await part.read()
        elif request.can_read_body:
            recorded.json = await request.json()
        fault = self._fault_for(recorded)
        slow = fault is not None and fault.delay_s > 0
        if slow:
            async with self._changed:             # recorded on arrival; answered (status) later
                self.requests.append(recorded)
                self._changed.notify_all()
            await asyncio.sleep(fault.delay_s)  # type: ignore[union-attr]
        if fault is not None and fault.status is not None:
            response = self._failure(fault)
        else:
            response = self._answer(recorded, request.query)
        recorded.status = response.status
        async with self._changed:
            if not slow:
                self.requests.append(recorded)
            self._changed.notify_all()
        return response

    def _answer(self, r: Recorded, query: Any) -> web.StreamResponse:
        routes: list[tuple[str, str, Callable[..., web.StreamResponse]]] = [
            ("GET", r"/users/@me", lambda: _json(BOT_USER)),
            ("GET", r"/gateway", lambda: _json({"url": self.gateway_url})),
            ("GET", r"/gateway/bot", lambda: _json({
                "url": self.gateway_url, "shards": self.recommended_shards,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                        "max_concurrency": 1}})),
            ("GET", r"/oauth2/applications/@me", lambda: _json({
                "id": APP_ID, "name": "runlocalai", "description": "", "icon": None, "bot_public": True,
                "bot_require_code_grant": False, "owner": BOT_USER, "team": None, "verify_key": "00",
                "flags": 0})),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback",
             lambda iid, tok: self._callback(iid, r.json or {})),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original",
             lambda app, tok: _json(message_payload("0", r.json or {}))),
            ("POST", r"/webhooks/(\d+)/([^/]+)", lambda app, tok: _json(message_payload("0", r.json or {}))),
            ("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/@original",
             lambda app, tok: web.Response(status=204)),
            ("POST", r"/channels/(\d+)/messages", lambda cid: _json(message_payload(cid, r.json or {}))),
            ("GET", r"/channels/(\d+)", lambda cid: _json(self.channels[cid]) if cid in self.channels
             else _json({"message": "Unknown Channel", "code": 10003}, status=404)),
            ("PUT", r"/applications/(\d+)/commands", lambda app: _json(self._registered(app, r.json))),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands",
             lambda app, gid: _json(self._registered(app, r.json, gid))),
        ]
        for method, pattern, answer in routes:
            m = re.fullmatch(pattern, r.path)
            if m and method == r.method:
                return answer(*m.groups())
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    @staticmethod
    def _callback(interaction_id: str, body: dict[str, Any]) -> web.StreamResponse:
        kind = body.get("type")
        flags = (body.get("data") or {}).get("flags") or 0
        return _json({
            "interaction": {"id": interaction_id, "type": 2, "response_message_id": snowflake(),
                            "response_message_loading": kind == 5,
                            "response_message_ephemeral": bool(flags & 64)},
            "resource": {"type": kind}})

    @staticmethod
    def _registered(app_id: str, commands: list[dict[str, Any]],
                    guild_id: str | None = None) -> list[dict[str, Any]]:
        """The commands as Discord echoes them after a bulk overwrite."""
        out = []
        for c in commands:
            c = {"id": snowflake(), "application_id": app_id, "version": snowflake(),
                 "default_member_permissions": None, "dm_permission": True, "nsfw": False, **c}
            if guild_id:
                c["guild_id"] = guild_id
            c.setdefault("description", "")
            out.append(c)
        return out

    # -- the fake gateway -----------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        """HELLO; IDENTIFY is recorded and answered with READY (or closed with the next code in
        ``close_on_identify``); heartbeats are acknowledged."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = GatewaySession(ws, dict(request.query))
        async with self._changed:
            self.sessions.append(session)
            self._changed.notify_all()
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.HEARTBEAT_INTERVAL_MS},
                                      "s": None, "t": None}))
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            op, data = (payload := json.loads(message.data)).get("op"), payload.get("d")
            if op == 1:
                session.heartbeats += 1
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                session.identify, session.identified_at = data, time.monotonic()
                if self.close_on_identify:
                    await ws.close(code=self.close_on_identify.pop(0), message=b"closed by the fake")
                    break
                await session.dispatch("READY", self._ready(session))
                session.ready = True
            await self._notify()
        session.close_code = ws.close_code
        await self._notify()
        return ws

    def _ready(self, session: GatewaySession) -> dict[str, Any]:
        """READY with what discord.py reads from it (gateway.py, state.py parse_ready)."""
        data: dict[str, Any] = {
            "v": 10, "user": BOT_USER, "guilds": [], "session_id": f"fake-session-{snowflake()}",
            "resume_gateway_url": self.gateway_url, "application": {"id": APP_ID, "flags": 0},
            "private_channels": [], "relationships": [], "presences": [], "geo_ordered_rtc_regions": [],
        }
        if session.shard is not None:
            data["shard"] = session.shard
        return data

    def identified(self) -> list[GatewaySession]:
        return [s for s in self.sessions if s.identify is not None]
