"""Follow-up select menus through discord.py: a raw component interaction (``component_type`` 3,
``data.values``) on a message carrying the select, dispatched by the real view store to the
persistent ``ActionSelect``; the answers are checked at the fake Discord server."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.translate import request_from_choice
from bot.dispatch import run
from bot.registry import Request
from bot.render.discord import render_discord

from . import payloads as p
from .conftest import assert_discord_message, settle
from .fake_discord import FakeDiscord

CALLBACK = r"/interactions/\d+/[^/]+/callback"
ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"


async def dispatch(bot, payload):
    """Hand a raw INTERACTION_CREATE to discord.py exactly as the gateway does, and let it finish."""
    bot._connection.parse_interaction_create(payload)
    await settle()


def choice(custom_id: str, values: list[str], **kw: Any) -> dict[str, Any]:
    """A choice in the string select ``custom_id`` of a message."""
    return p.interaction(3, {"custom_id": custom_id, "component_type": 3, "values": values}, **kw)


def select_of(body: dict[str, Any], placeholder: str) -> dict[str, Any]:
    return next(c for row in body.get("components", []) for c in row["components"]
                if c["type"] == 3 and c.get("placeholder", "").startswith(placeholder))


@pytest.mark.parametrize(("presser", "expected_type"), [(p.USER_ID, 7), (p.OTHER_USER_ID, 4)])
async def test_related_term_choice_edits_for_asker_replies_privately_to_others(
        gateway, fake_discord: FakeDiscord, presser: str, expected_type: int):
    """/define kv cache, then "GQA" chosen in its "Related terms" select: the asker's message is
    updated in place (type 7) with the new term and its own select; anyone else gets a private answer."""
    await dispatch(gateway, p.slash("define", {"term": "kv cache"}))
    [first] = await fake_discord.wait_for("POST", CALLBACK)
    shown = p.bot_message(first.json["data"], asked_by=p.USER_ID)
    select = select_of(shown, "Related terms")
    assert select["custom_id"] == "rm|define|term|" and "gqa" in [o["value"] for o in select["options"]]
    await dispatch(gateway, choice(select["custom_id"], ["gqa"], user_id=presser, message=shown))
    [_, second] = await fake_discord.wait_for("POST", CALLBACK, count=2)
    assert second.json["type"] == expected_type
    body = second.json["data"]
    assert_discord_message(body)
    assert "GQA" in body["embeds"][0]["title"]
    assert select_of(body, "Related terms")["custom_id"] == "rm|define|term|"
    assert bool((body.get("flags") or 0) & 64) == (expected_type == 4)
    assert len(fake_discord.matching("POST", CALLBACK)) == 2    # one answer: no button handler claimed it


async def test_quant_choice_after_a_restart_defers_and_edits(gateway, fake_discord: FakeDiscord):
    """A choice in /willitrun's "Try another quant" on a message this process never sent (as after
    a restart): deferred (type 6, expensive), then the message edited with the chosen quant's card."""
    card = await run(Request("willitrun", {"model": "llama 3.1 8b", "hardware": "rtx 3060", "quant": "Q8_0"},
                             platform="discord"))
    shown = p.bot_message(render_discord(card), asked_by=p.USER_ID)
    select = select_of(shown, "Try another quant")
    assert "Q5_K_M" in [o["value"] for o in select["options"]]
    await dispatch(gateway, choice(select["custom_id"], ["Q5_K_M"], message=shown))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 6
    [edit] = await fake_discord.wait_for("PATCH", ORIGINAL)
    assert_discord_message(edit.json)
    setup = next(f["value"] for f in edit.json["embeds"][0]["fields"] if f["name"] == "Setup")
    assert setup.startswith("Q5_K_M")


async def test_stale_menu_answers_privately(gateway, fake_discord: FakeDiscord):
    """A menu of ours whose command no longer exists: a short ephemeral "that didn't work"."""
    custom_id = "rm|nosuchcommand|term|"
    shown = p.bot_message({"components": [{"type": 1, "components": [
        {"type": 3, "custom_id": custom_id, "options": [{"label": "x", "value": "x"}]}]}]})
    await dispatch(gateway, choice(custom_id, ["x"], message=shown))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64


@pytest.mark.parametrize(("custom_id", "values"), [
    ("rm|define|term|", []), ("rm|define|term|", ["a", "b"]), ("rm|define|term|", [""]),
    ("rl|define|term=x", ["x"]), ("rm|define|", ["x"]), ("rm|nosuchcommand|term|", ["x"]),
])
def test_request_from_choice_refuses_what_is_not_one_choice_of_ours(custom_id: str, values: list[str]):
    """No value, several values, an empty value, a button id, a malformed id or an unknown
    command: no request."""
    assert request_from_choice(custom_id, values, user_id=1, server_id=None) is None


def test_request_from_choice_keeps_known_options_only():
    """The chosen value fills its option; arguments the command does not have are dropped."""
    request = request_from_choice("rm|willitrun|quant|model=llama-3.1-8b;hardware=rtx-4090;bogus=1", ["Q8_0"],
                                  user_id=7, server_id=9)
    assert request is not None and request.command == "willitrun" and request.platform == "discord"
    assert request.options == {"model": "llama-3.1-8b", "hardware": "rtx-4090", "quant": "Q8_0"}
