"""Opt-in auto-help over the Events API, and the admin-only /runlocalai-config that turns it on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.store.base import ServerSettings

from .conftest import assert_slack_safe
from .fake_slack import BOT_ID, TEAM_ID, FakeSlack
from ..memory_store import MemoryStore
from .signing import SlackSender

HELP = "CHELP"
ERROR_TEXT = "loading the model fails: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"


def message(text: str = ERROR_TEXT, *, ts: str = "1700000000.000100", channel: str = HELP,
            **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "user": "U3", "text": text, "ts": ts,
            "event_ts": ts, "channel_type": "channel", "team": TEAM_ID, **extra}


@pytest.fixture
async def opted_in(store: MemoryStore) -> None:
    await store.save_settings(ServerSettings("slack", TEAM_ID, autohelp_channels=frozenset({HELP})))


async def settle() -> None:
    """Give a listener that should stay quiet the time to (wrongly) say something."""
    await asyncio.sleep(0.3)


@pytest.mark.usefixtures("opted_in")
async def test_known_error_gets_one_threaded_reply(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """A message with a known error in an opted-in channel gets a chat.postMessage in its thread."""
    status, _, seconds = await slack.event(message(), event_id="Ev1")
    assert status == 200 and seconds < 3
    await fake_slack.wait_for(lambda: fake_slack.calls("chat.postMessage"))
    call = fake_slack.calls("chat.postMessage")[0]
    assert (call.args["channel"], call.args["thread_ts"]) == (HELP, "1700000000.000100")
    assert "out of memory" in call.args["blocks"][0]["text"]["text"].lower()
    assert_slack_safe(call.args)


@pytest.mark.usefixtures("opted_in")
async def test_retries_and_duplicates_never_reply_twice(
        slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """Slack's retry (X-Slack-Retry-Num, same event_id), a plain duplicate and a second error in the
    same thread produce no second reply."""
    await slack.event(message(), event_id="Ev1")
    await fake_slack.wait_for(lambda: fake_slack.calls("chat.postMessage"))
    assert (await slack.event(message(), event_id="Ev1", retry_num=1))[0] == 200
    assert (await slack.event(message(), event_id="Ev1"))[0] == 200
    in_thread = message(ts="1700000001.000200", thread_ts="1700000000.000100")
    assert (await slack.event(in_thread, event_id="Ev2"))[0] == 200
    await fake_slack.wait_for(lambda: len(store.claims) == 6)
    await settle()
    assert len(fake_slack.calls("chat.postMessage")) == 1
    thread = f"slack:thread:{TEAM_ID}:{HELP}:1700000000.000100"
    assert store.claims == [("slack:event:Ev1", True), (thread, True), ("slack:event:Ev1", False),
                            ("slack:event:Ev1", False), ("slack:event:Ev2", True), (thread, False)]


@pytest.mark.usefixtures("opted_in")
@pytest.mark.parametrize("event", [
    message(subtype="bot_message", bot_id="BOTHER", user=None),       # another bot
    message(bot_id=BOT_ID, user="UBOT"),                              # ourselves
    message(subtype="message_changed"),                               # an edit
    message(channel="CRANDOM"),                                       # not opted in
    message(text="does anyone know a good 7b model for coding?"),     # no known error
], ids=["other-bot", "own-bot", "edit", "not-opted-in", "no-error"])
async def test_quiet_cases(event: dict[str, Any], slack: SlackSender, fake_slack: FakeSlack) -> None:
    """Bot messages, edits, other channels and messages without a known error get no reply."""
    assert (await slack.event(event, event_id="Ev9"))[0] == 200
    await settle()
    assert fake_slack.calls("chat.postMessage") == []


async def test_admin_turns_autohelp_on_for_a_channel(
        slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """/runlocalai-config autohelp on by an admin (users.info) saves the channel; then auto-help replies."""
    await slack.command("runlocalai-config", "autohelp on", user_id="UADMIN", channel_id=HELP,
                        response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    assert fake_slack.calls("users.info")[0].args["user"] == "UADMIN"
    assert fake_slack.answers[0]["response_type"] == "ephemeral"
    assert (await store.get_settings("slack", TEAM_ID)).autohelp_channels == {HELP}
    await slack.event(message(), event_id="Ev1")
    await fake_slack.wait_for(lambda: fake_slack.calls("chat.postMessage"))


async def test_non_admin_cannot_change_settings(
        slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """A member who is not an admin or owner gets 'Admins only' and nothing is saved."""
    await slack.command("runlocalai-config", "autohelp on", user_id="U3", channel_id=HELP,
                        response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    assert "Admins only" in fake_slack.answers[0]["blocks"][0]["text"]["text"]
    assert store.settings == {}


@pytest.mark.parametrize(("text", "before", "after"), [
    ("answers private", dict(ephemeral=False), dict(ephemeral=True)),
    ("answers public", dict(ephemeral=True), dict(ephemeral=False)),
    ("autohelp off", dict(autohelp_channels=frozenset({HELP, "COTHER"})),
     dict(autohelp_channels=frozenset({"COTHER"}))),
])
async def test_admin_settings_commands(text: str, before: dict[str, Any], after: dict[str, Any],
                                       slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """Default visibility and auto-help off (for this channel only) are saved per workspace."""
    await store.save_settings(ServerSettings("slack", TEAM_ID, **before))
    await slack.command("runlocalai-config", text, user_id="UADMIN", channel_id=HELP,
                        response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    assert await store.get_settings("slack", TEAM_ID) == ServerSettings("slack", TEAM_ID, **after)


async def test_settings_are_shown_to_anyone(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """Without arguments the command shows the settings, privately, without an admin check."""
    await slack.command("runlocalai-config", "", user_id="U3", response_url=fake_slack.response_url())
    await fake_slack.wait_for(lambda: fake_slack.answers)
    assert fake_slack.answers[0]["response_type"] == "ephemeral"
    assert fake_slack.calls("users.info") == []


async def test_app_home_publishes_the_guide(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """app_home_opened on the Home tab publishes a home view listing every command."""
    from bot.commands import build_registry

    await slack.event({"type": "app_home_opened", "user": "U3", "channel": "D1", "tab": "home",
                       "event_ts": "1.1"}, event_id="EvHome")
    await fake_slack.wait_for(lambda: fake_slack.calls("views.publish"))
    call = fake_slack.calls("views.publish")[0]
    assert call.args["user_id"] == "U3" and call.args["view"]["type"] == "home"
    assert_slack_safe({"text": "", "blocks": call.args["view"]["blocks"]})
    text = str(call.args["view"]["blocks"])
    assert all(f"/{c.name}" in text for c in build_registry())
    assert "Troubleshoot this" in text and "runlocalai-config" in text
