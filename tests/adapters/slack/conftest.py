"""Fixtures: a fake Slack on 127.0.0.1, the real HTTP app (bolt AsyncApp) served on 127.0.0.1,
and a sender that signs requests like Slack."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.slack import build_http_app
from bot.config import Settings
from bot.render.limits import SLACK

from .fake_slack import BOT_TOKEN, FakeSlack
from ..memory_store import MemoryStore
from .signing import SIGNING_SECRET, SlackSender


def make_settings(api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                              "SLACK_API_URL": api_url, "cooldown_seconds": 0}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def settings(fake_slack: FakeSlack) -> Settings:
    return make_settings(fake_slack.api_url)


@pytest.fixture
async def slack(settings: Settings, store: MemoryStore, fake_slack: FakeSlack) -> AsyncIterator[SlackSender]:
    server = TestServer(build_http_app(settings, store), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield SlackSender(session, f"http://127.0.0.1:{server.port}/slack/events", inbox=fake_slack)
    await server.close()


_MENTION_RE = re.compile(r"<[!@#]")


def all_texts(message: dict[str, Any]) -> list[str]:
    """Every text string in a message or view (fallback text and every block's texts)."""
    texts = [message.get("text", "")] if isinstance(message.get("text"), str) else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return texts


def assert_slack_safe(message: dict[str, Any]) -> None:
    """Within Block Kit's limits, and nothing in it can ping or mention anyone."""
    blocks = message["blocks"]
    assert 0 < len(blocks) <= SLACK["blocks"]
    assert len(message["text"]) <= SLACK["fallback_text"]
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= SLACK["header"]
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= SLACK["section_text"]
            assert len(block.get("fields", [])) <= SLACK["fields"]
            assert all(len(f["text"]) <= SLACK["field_text"] for f in block.get("fields", []))
        if block["type"] == "context":
            assert len(block["elements"]) <= SLACK["context_elements"]
        if block["type"] == "actions":
            assert len(block["elements"]) <= SLACK["actions_elements"]
            for element in block["elements"]:
                if element["type"] == "static_select":   # a select menu: alone in its block
                    assert len(block["elements"]) == 1
                    assert 0 < len(element["options"]) <= SLACK["select_options"]
                    assert len(element["action_id"]) <= SLACK["action_id"]
                    for option in element["options"]:
                        assert len(option["text"]["text"]) <= SLACK["option_text"]
                        assert len(option["value"]) <= SLACK["option_value"]
                        assert len(option.get("description", {}).get("text", "")) <= SLACK["option_description"]
                    continue
                assert len(element["text"]["text"]) <= SLACK["button_text"]
                assert len(element.get("value", "")) <= SLACK["value"]
    for text in all_texts(message):
        assert not _MENTION_RE.search(text), text
