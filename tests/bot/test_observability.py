"""Observability: /healthz, /readyz, /metrics on the HTTP apps and the ops server, JSON logs with
interaction ids, and a graceful shutdown of ``serve`` that lets an in-flight request finish."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from nacl.signing import SigningKey

from adapters.discord import build_http_app
from bot import observability
from bot.config import Settings
from bot.observability import JsonFormatter, add_ops_routes, interaction_id, ops_app
from bot.serve import serve
from catalog.loader import get_catalog

KEY = SigningKey.generate()


def _settings(**extra: object) -> Settings:
    values = {"DISCORD_PUBLIC_KEY": KEY.verify_key.encode().hex(), "DISCORD_APPLICATION_ID": "1",
              "DISCORD_API_URL": "http://127.0.0.1:9/api", "cooldown_seconds": 0, **extra}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _signed(payload: dict) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    ts = str(int(time.time()))
    sig = KEY.sign(ts.encode() + body).signature.hex()
    return body, {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": ts, "Content-Type": "application/json"}


def _define(term: str = "kv cache") -> dict:
    return {"id": "123456789", "type": 2, "token": "tok", "application_id": "1",
            "user": {"id": "42", "username": "u"},
            "data": {"id": "9", "name": "define", "type": 1, "options": [{"name": "term", "type": 3, "value": term}]}}


class _Store:
    def __init__(self, ok: bool = True) -> None:
        self.ok, self.closed = ok, False

    async def schema_version(self) -> int:
        if not self.ok:
            raise ConnectionError("down")
        return 3

    async def get_settings(self, *a: object) -> None:
        return None

    async def count_usage(self, *a: object) -> None:
        return None


@pytest.fixture(autouse=True)
def not_draining(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "_draining", [False])
    get_catalog()


async def test_discord_http_app_serves_ops_routes_and_counts_commands() -> None:
    """/healthz stays, /readyz reports catalog and store, /metrics counts the /define just run."""
    server = TestServer(build_http_app(_settings(), _Store()), host="127.0.0.1")  # type: ignore[arg-type]
    await server.start_server()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200 and (await r.json())["ok"] is True
            async with http.get(f"{base}/readyz") as r:
                ready = await r.json()
                assert r.status == 200 and ready["ready"] and ready["catalog"] and ready["store"] == "schema v3"
            body, headers = _signed(_define())
            async with http.post(f"{base}/interactions", data=body, headers=headers) as r:
                assert r.status == 200
            async with http.get(f"{base}/metrics") as r:
                text = await r.text()
    finally:
        await server.close()
    assert 'runlocalai_commands_total{command="define",outcome="ok"}' in text
    assert "runlocalai_command_duration_seconds_bucket" in text
    assert 'runlocalai_http_request_duration_seconds_count{route="/interactions",status="200"}' in text


async def test_readyz_is_503_when_the_store_is_down_or_draining() -> None:
    """An unreachable store, or a shutdown in progress, makes /readyz answer 503."""
    for store, drain in ((_Store(ok=False), False), (_Store(), True)):
        observability._draining[0] = drain
        server = TestServer(ops_app(store), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/readyz") as r:
                assert r.status == 503 and (await r.json())["ready"] is False
        finally:
            await server.close()


def test_json_log_lines_carry_the_interaction_id() -> None:
    """A record written while an interaction is bound has its id in the JSON line."""
    token = interaction_id.set("123456789")
    try:
        record = logging.LogRecord("adapters.discord", logging.INFO, __file__, 1, "hello %s", ("x",), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        interaction_id.reset(token)
    assert line["interaction_id"] == "123456789" and line["message"] == "hello x" and line["level"] == "INFO"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_shuts_down_gracefully_finishing_in_flight_requests(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop while a slow request runs: it completes with 200, then the listener and store close."""
    import adapters.discord as discord_pkg

    def slow_app(settings: Settings, store: object) -> web.Application:
        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(0.5)
            return web.json_response({"done": True})

        app = web.Application()
        app.router.add_get("/slow", slow)
        return add_ops_routes(app, store)

    monkeypatch.setattr(discord_pkg, "build_http_app", slow_app)
    port = _free_port()
    settings = _settings(DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}", shutdown_timeout_s=5)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, ["discord-http"], "127.0.0.1", port, stop))
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        in_flight = asyncio.create_task(http.get(f"http://127.0.0.1:{port}/slow"))
        await asyncio.sleep(0.1)
        stop.set()
        response = await in_flight
        assert response.status == 200 and (await response.json())["done"] is True
        await asyncio.wait_for(task, 10)
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(f"http://127.0.0.1:{port}/healthz"):
                pass
