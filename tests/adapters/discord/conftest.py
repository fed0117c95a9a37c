"""Fixtures: the fake Discord REST server, the real gateway client logged in against it, and the
real HTTP endpoint served on 127.0.0.1 with a key pair made for the test."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from nacl.signing import SigningKey

from adapters.discord import build_http_app
from adapters.discord.api import use_api_url
from adapters.discord.bot import RunLocalAIBot
from bot.config import Settings
from bot.render.limits import DISCORD

from .fake_discord import APP_ID, FakeDiscord
from ..memory_store import MemoryStore


def make_settings(api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"DISCORD_TOKEN": "test-token", "DISCORD_APPLICATION_ID": APP_ID,
                              "DISCORD_API_URL": api_url, "cooldown_seconds": 0}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch) -> None:
    """Any attempt to resolve a host other than 127.0.0.1 fails the test: nothing leaves the machine."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", None):
            raise AssertionError(f"test tried to reach {host!r}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def gateway(fake_discord: FakeDiscord, store: MemoryStore) -> AsyncIterator[RunLocalAIBot]:
    """The real client: logged in over REST against the fake server, set up by ``setup``."""
    previous = use_api_url(fake_discord.api_url)
    bot = RunLocalAIBot(make_settings(fake_discord.api_url), store)
    await bot.login("test-token")
    try:
        yield bot
    finally:
        await settle()
        await bot.close()
        use_api_url(previous)


async def settle() -> None:
    """Wait until every task discord.py spawned for the events dispatched so far has finished."""
    for _ in range(100):
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()
                   and t.get_name().startswith(("discord", "CommandTree"))]
        if not pending:
            return
        await asyncio.wait(pending, timeout=10)


def assert_discord_message(body: dict[str, Any]) -> None:
    """A message body within Discord's limits that can ping no one."""
    assert body["allowed_mentions"]["parse"] == []
    assert not body["allowed_mentions"].get("users") and not body["allowed_mentions"].get("roles")
    assert len(body["embeds"]) == 1
    e = body["embeds"][0]
    total = len(e.get("title", "")) + len(e.get("description", "")) + len(e.get("footer", {}).get("text", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
    assert total <= DISCORD["total"]
    assert len(e.get("title", "")) <= DISCORD["title"]
    assert len(e.get("description", "")) <= DISCORD["description"]
    assert len(e.get("fields", [])) <= DISCORD["fields"]
    assert all(len(f["value"]) <= DISCORD["field_value"] for f in e.get("fields", []))
    dumped = json.dumps(body, ensure_ascii=False)
    assert "@everyone" not in dumped and "@here" not in dumped
    assert len(body.get("components", [])) <= DISCORD["rows"]
    for row in body.get("components", []):
        assert len(row["components"]) <= DISCORD["buttons_per_row"]
        for b in row["components"]:
            if b["type"] == 3:   # a select menu: alone in its row
                assert len(row["components"]) == 1 and 1 <= len(b["options"]) <= DISCORD["select_options"]
                assert b["custom_id"].startswith("rm|") and len(b["custom_id"]) <= DISCORD["custom_id"]
                continue
            assert len(b["label"]) <= DISCORD["button_label"]
            if "url" not in b:
                assert b["custom_id"].startswith("rl|") and len(b["custom_id"]) <= DISCORD["custom_id"]


@dataclass
class Reply:
    """An HTTP response, read."""

    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def multipart(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """(payload_json, files by filename) of a multipart/form-data body."""
        head = f"Content-Type: {self.headers_content_type}\r\n\r\n".encode()
        parsed = BytesParser().parsebytes(head + self.body)
        payload: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in parsed.get_payload():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if name == "payload_json":
                payload = json.loads(data)
            else:
                files[part.get_filename()] = data
        return payload, files

    headers_content_type: str = ""


class Signer:
    """Posts interactions to the endpoint signed the way Discord signs them."""

    def __init__(self, base_url: str, key: SigningKey, session: aiohttp.ClientSession) -> None:
        self.base_url, self.key, self.session = base_url, key, session

    def headers(self, body: bytes, *, timestamp: float | None = None,
                key: SigningKey | None = None) -> dict[str, str]:
        ts = str(int(time.time() if timestamp is None else timestamp))
        signature = (key or self.key).sign(ts.encode() + body).signature.hex()
        return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": ts,
                "Content-Type": "application/json"}

    async def post(self, payload: dict[str, Any] | bytes, headers: dict[str, str] | None = None,
                   **sign: Any) -> Reply:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if headers is None:
            headers = self.headers(body, **sign)
        async with self.session.post(f"{self.base_url}/interactions", data=body, headers=headers) as r:
            return Reply(r.status, r.content_type, await r.read(), r.headers.get("Content-Type", ""))


@pytest.fixture
async def endpoint(fake_discord: FakeDiscord, store: MemoryStore) -> AsyncIterator[Signer]:
    """The real aiohttp app on 127.0.0.1, verifying with a public key made for this test."""
    key = SigningKey.generate()
    settings = make_settings(fake_discord.api_url, DISCORD_PUBLIC_KEY=key.verify_key.encode().hex())
    server = TestServer(build_http_app(settings, store), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Signer(str(server.make_url("")).rstrip("/"), key, session)
    await server.close()
