"""Slash commands over real HTTP into the real bolt AsyncApp; answers land on the fake Slack."""

from __future__ import annotations

import json

import pytest

from bot.commands import build_registry
from bot.dispatch import run_text
from bot.render.slack import render_slack
from bot.store.base import ServerSettings

from .conftest import all_texts, assert_slack_safe, make_settings
from .fake_slack import TEAM_ID, FakeSlack
from ..memory_store import MemoryStore
from .signing import SlackSender

COMMAND_TEXTS = [(c.name, next((e.split(" ", 1)[1] for e in c.examples if " " in e.strip()), ""))
                 for c in build_registry()]


@pytest.mark.parametrize(("name", "text"), COMMAND_TEXTS, ids=[n for n, _ in COMMAND_TEXTS])
async def test_each_registry_command_answers(
        name: str, text: str, slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """Every registry command is a Slack command answered with the core's Card as blocks: in the
    ack itself when it is quick, through response_url after an empty ack when it is expensive."""
    command = build_registry().get(name)
    assert command is not None
    user_id = "UADMIN" if command.requires else "U1"
    status, body, seconds = await slack.command(name, text, user_id=user_id,
                                                response_url=fake_slack.response_url())
    assert status == 200 and seconds < 3
    await fake_slack.wait_for(lambda: fake_slack.answers)
    message = fake_slack.answers[0]
    if command.expensive:
        assert body == "" and fake_slack.answer_paths == ["response_url"]
    else:
        assert json.loads(body) == message and fake_slack.answer_paths == ["ack"]
    expected = await run_text(name, text, user_id=user_id, server_id=TEAM_ID, platform="slack")
    assert message["blocks"] == render_slack(expected)["blocks"]
    assert message["response_type"] == ("ephemeral" if expected.ephemeral else "in_channel")
    assert_slack_safe(message)
    outcome = "error" if expected.verdict == "error" else "ok"
    assert store.counts[("slack", name, outcome)] == 1


@pytest.mark.parametrize(("text", "workspace_private", "expected_type"), [
    ("kv cache", False, "in_channel"),
    ("kv cache", True, "ephemeral"),
    ("kv cache private", False, "ephemeral"),
    ("kv cache public", True, "in_channel"),
    ("kv cache ephemeral=yes", False, "ephemeral"),
    ("ephemeral=no kv cache", True, "in_channel"),
])
async def test_visibility_follows_workspace_setting_and_command_option(
        text: str, workspace_private: bool, expected_type: str,
        slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """The workspace default decides unless the command says public/private/ephemeral=..."""
    await store.save_settings(ServerSettings("slack", TEAM_ID, ephemeral=workspace_private))
    await slack.command("define", text, response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    message = fake_slack.answers[0]
    assert message["response_type"] == expected_type
    assert message["blocks"][0]["text"]["text"].endswith("KV cache")


async def test_errors_stay_private_even_when_asked_public(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """An error card is only for the asker, whatever the visibility word."""
    await slack.command("willitrun", "public", response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    assert fake_slack.answers[0]["response_type"] == "ephemeral"
    assert "Missing input" in fake_slack.answers[0]["blocks"][0]["text"]["text"]


async def test_bad_visibility_value_is_explained(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """ephemeral=maybe gets a private explanation, not a guess."""
    await slack.command("define", "kv cache ephemeral=maybe", response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    message = fake_slack.answers[0]
    assert message["response_type"] == "ephemeral"
    assert any("ephemeral takes yes or no" in t for t in all_texts(message))


async def test_hostile_text_cannot_mention_or_break_markup(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """User text echoed back has & < > escaped: no <!channel>, <!here>, <@U..> or masked links."""
    hostile = "<!channel> <!here> <@U123ABC> <#C999> & <https://evil.example|click> " + "x" * 5000
    await slack.command("define", hostile + " public", response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    message = fake_slack.answers[0]
    assert_slack_safe(message)
    joined = "\n".join(all_texts(message))
    assert "&lt;!channel&gt;" in joined and "&amp;" in joined and "<https://evil" not in joined


async def test_expensive_commands_have_a_per_user_cooldown(fake_slack: FakeSlack, store: MemoryStore) -> None:
    """A second /willitrun within the cooldown gets a private 'one moment', not a computation."""
    import aiohttp
    from aiohttp.test_utils import TestServer

    from adapters.slack import build_http_app

    server = TestServer(build_http_app(make_settings(fake_slack.api_url, cooldown_seconds=60), store),
                        host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackSender(session, f"http://127.0.0.1:{server.port}/slack/events", inbox=fake_slack)
            text = "llama 3.1 8b on rtx 4090"
            await slack.command("willitrun", text, response_url=fake_slack.response_url("a"))
            await fake_slack.wait_for(lambda: len(fake_slack.answers) == 1)
            await slack.command("willitrun", text, response_url=fake_slack.response_url("b"))
            await fake_slack.wait_for(lambda: len(fake_slack.answers) == 2)
            await slack.command("willitrun", text, user_id="U2", response_url=fake_slack.response_url("c"))
            await fake_slack.wait_for(lambda: len(fake_slack.answers) == 3)
    finally:
        await server.close()
    by_key = dict(zip(fake_slack.answer_keys, fake_slack.answers, strict=True))
    assert "One moment" in by_key["b"]["blocks"][0]["text"]["text"]
    assert by_key["b"]["response_type"] == "ephemeral"
    assert "Llama 3.1 8B" in by_key["c"]["blocks"][0]["text"]["text"]
    assert store.counts[("slack", "willitrun", "cooldown")] == 1


async def test_admin_only_commands_check_users_info(slack: SlackSender, fake_slack: FakeSlack,
                                                    store: MemoryStore) -> None:
    """A registry command that requires manage_server is refused, privately, to a non-admin."""
    admin_only = [c.name for c in build_registry() if c.requires == "manage_server"]
    assert admin_only, "expected at least one admin-only command in the registry"
    await slack.command(admin_only[0], "", user_id="U3", response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    assert fake_slack.calls("users.info")[0].args["user"] == "U3"
    assert fake_slack.answers[0]["response_type"] == "ephemeral"
    assert "Admins only" in fake_slack.answers[0]["blocks"][0]["text"]["text"]
    assert store.counts[("slack", admin_only[0], "forbidden")] == 1


async def test_ack_comes_before_the_answer(slack: SlackSender, fake_slack: FakeSlack,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A command not done within the ack budget: Slack gets its empty 200 while the command is
    still computing, and the answer follows via response_url."""
    import asyncio

    from adapters.slack import answers, commands
    from bot.card import Card

    release = asyncio.Event()

    async def slow_run_text(command: str, text: str, **context: object) -> Card:
        await release.wait()
        return Card(title="computed after the ack")

    monkeypatch.setattr(answers.dispatch, "run_text", slow_run_text)
    monkeypatch.setattr(commands, "ACK_BUDGET_S", 0.2)
    status, _, _ = await asyncio.wait_for(
        slack.command("define", "kv cache", response_url=fake_slack.response_url()), timeout=3)
    assert status == 200 and fake_slack.answers == []
    release.set()
    await fake_slack.wait_for(lambda: fake_slack.answers)
    assert "computed after the ack" in fake_slack.answers[0]["blocks"][0]["text"]["text"]
    assert fake_slack.answer_paths == ["response_url"]


async def test_shutdown_lets_an_answer_in_progress_go_out(fake_slack: FakeSlack, store: MemoryStore,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Graceful shutdown: a command acknowledged but still computing when the server stops is
    answered through response_url before the app's HTTP session closes."""
    import asyncio

    import aiohttp
    from aiohttp.test_utils import TestServer

    from adapters.slack import answers, build_http_app, commands
    from bot.card import Card

    started = asyncio.Event()

    async def slow_run_text(command: str, text: str, **context: object) -> Card:
        started.set()
        await asyncio.sleep(0.5)
        return Card(title="finished during shutdown")

    monkeypatch.setattr(answers.dispatch, "run_text", slow_run_text)
    monkeypatch.setattr(commands, "ACK_BUDGET_S", 0.05)
    server = TestServer(build_http_app(make_settings(fake_slack.api_url), store), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        slack = SlackSender(session, f"http://127.0.0.1:{server.port}/slack/events", inbox=fake_slack)
        status, body, _ = await slack.command("define", "kv cache", response_url=fake_slack.response_url())
    assert (status, body) == (200, "") and started.is_set() and fake_slack.answers == []
    await server.close()              # runs the app's cleanup: drain, then close the session
    assert [a["blocks"][0]["text"]["text"] for a in fake_slack.answers] == ["ℹ️ finished during shutdown"]
    assert fake_slack.answer_paths == ["response_url"]
