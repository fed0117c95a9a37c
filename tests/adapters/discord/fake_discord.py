"""A fake Discord REST API on 127.0.0.1 that records what it receives and answers like Discord.

discord.py (through ``Route.BASE``) and the HTTP endpoint's webhook follow-ups (through
DISCORD_API_URL) are pointed at it; tests assert on the JSON Discord would have received.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

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

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.cdn: dict[str, bytes] = {}                 # GET /cdn/<name>
        self.channels: dict[str, dict[str, Any]] = {}   # GET /channels/<id>
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.PREFIX}"

    def cdn_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/cdn/{name}"

    async def start(self) -> None:
        app = web.Application(client_max_size=20_000_000)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- assertions helpers ---------------------------------------------------------------------

    def matching(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    async def wait_for(self, method: str, pattern: str, count: int = 1,
                       timeout: float = 10.0) -> list[Recorded]:
        """The first ``count`` requests matching, waiting for them to arrive."""
        async def arrived() -> list[Recorded]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.matching(method, pattern)) >= count)
            return self.matching(method, pattern)[:count]

        return await asyncio.wait_for(arrived(), timeout)

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
        response = self._answer(recorded, request.query)
        async with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()
        return response

    def _answer(self, r: Recorded, query: Any) -> web.StreamResponse:
        routes: list[tuple[str, str, Callable[..., web.StreamResponse]]] = [
            ("GET", r"/users/@me", lambda: _json(BOT_USER)),
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
