"""block_actions (follow-up and link buttons) and the "Troubleshoot this" message shortcut."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.slack.actions import replaces_original
from bot.card import Card
from bot.render.actions import decode_action

from .conftest import assert_slack_safe
from .fake_slack import TEAM_ID, FakeSlack
from ..memory_store import MemoryStore
from .signing import SlackSender


def block_actions(action: dict[str, Any], response_url: str, user_id: str = "U2") -> dict[str, Any]:
    return {
        "type": "block_actions", "api_app_id": "A1", "token": "legacy", "trigger_id": "1.2.3",
        "team": {"id": TEAM_ID, "domain": "fake"}, "user": {"id": user_id, "team_id": TEAM_ID},
        "channel": {"id": "C1", "name": "general"}, "container": {"type": "message", "message_ts": "1.1"},
        "message": {"type": "message", "ts": "1.1", "text": "previous answer"},
        "response_url": response_url, "actions": [{**action, "block_id": "b1", "action_ts": "1.2"}],
    }


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"]


def selects(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "static_select"]


async def test_follow_up_button_reruns_and_replaces_the_answer(slack: SlackSender,
                                                                fake_slack: FakeSlack) -> None:
    """The "More" button of /define runs the decoded follow-up and replaces the original message."""
    await slack.command("define", "kv cache", response_url=fake_slack.response_url("cmd"))
    await fake_slack.wait_for(lambda: fake_slack.answers)
    more = next(b for b in buttons(fake_slack.answers[0]) if b["text"]["text"] == "More")
    assert more["action_id"].startswith("rl_followup_")
    assert decode_action(more["value"]) == ("define", {"term": "kv-cache", "more": "yes"})

    action = {"type": "button", "action_id": more["action_id"], "value": more["value"], "text": more["text"]}
    status, _, seconds = await slack.interaction(block_actions(action, fake_slack.response_url("click")))
    assert status == 200 and seconds < 3
    await fake_slack.wait_for(lambda: len(fake_slack.answers) == 2)
    replaced = fake_slack.answers[1]
    assert fake_slack.answer_keys[1] == "click"
    assert replaced["replace_original"] is True
    assert any("How it works" in f.get("text", {}).get("text", "") for f in replaced["blocks"])
    assert_slack_safe(replaced)


async def test_willitrun_follow_up_changes_the_setup(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """/willitrun's "Largest context" follow-up (the same as on Discord) re-runs at that context."""
    await slack.command("willitrun", "llama 3.1 8b on rtx 3060 q8_0",
                        response_url=fake_slack.response_url("cmd"))
    await fake_slack.wait_for(lambda: fake_slack.answers)
    button = next(b for b in buttons(fake_slack.answers[0])
                  if b["text"]["text"].startswith("Largest context"))
    decoded = decode_action(button["value"])
    assert decoded is not None and decoded[0] == "willitrun"
    await slack.interaction(block_actions({"type": "button", "action_id": button["action_id"],
                                           "value": button["value"]}, fake_slack.response_url("click")))
    await fake_slack.wait_for(lambda: len(fake_slack.answers) == 2)
    replaced = fake_slack.answers[1]
    assert replaced["replace_original"] is True
    setup = next(f["text"] for b in replaced["blocks"] for f in b.get("fields", [])
                 if f["text"].startswith("*Setup*"))
    assert f"ctx {int(decoded[1]['ctx']):,}" in setup


def selected(select: dict[str, Any], value: str) -> dict[str, Any]:
    """The action Slack sends when ``value`` is picked in the static_select ``select``."""
    option = next(o for o in select["options"] if o["value"] == value)
    return {"type": "static_select", "action_id": select["action_id"], "selected_option": option,
            "placeholder": select.get("placeholder")}


async def test_related_term_choice_reruns_and_replaces_the_answer(slack: SlackSender,
                                                                  fake_slack: FakeSlack) -> None:
    """/define's "Related terms" static_select: picking GQA runs /define gqa and replaces the answer."""
    await slack.command("define", "kv cache", response_url=fake_slack.response_url("cmd"))
    await fake_slack.wait_for(lambda: fake_slack.answers)
    [select] = selects(fake_slack.answers[0])
    assert select["action_id"] == "rl_followup_rm|define|term|"
    status, _, seconds = await slack.interaction(block_actions(selected(select, "gqa"),
                                                               fake_slack.response_url("pick")))
    assert status == 200 and seconds < 3
    await fake_slack.wait_for(lambda: len(fake_slack.answers) == 2)
    replaced = fake_slack.answers[1]
    assert fake_slack.answer_keys[1] == "pick" and replaced["replace_original"] is True
    assert "GQA" in replaced["blocks"][0]["text"]["text"]
    assert_slack_safe(replaced)


async def test_willitrun_quant_choice_changes_the_quant(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """/willitrun's "Try another quant": the chosen preset is estimated with the rest of the setup kept."""
    await slack.command("willitrun", "llama 3.1 8b on rtx 3060 q8_0 16k ctx",
                        response_url=fake_slack.response_url("cmd"))
    await fake_slack.wait_for(lambda: fake_slack.answers)
    select = next(s for s in selects(fake_slack.answers[0]) if s["placeholder"]["text"] == "Try another quant")
    await slack.interaction(block_actions(selected(select, "Q5_K_M"), fake_slack.response_url("pick")))
    await fake_slack.wait_for(lambda: len(fake_slack.answers) == 2)
    setup = next(f["text"] for b in fake_slack.answers[1]["blocks"] for f in b.get("fields", [])
                 if f["text"].startswith("*Setup*"))
    assert "Q5_K_M" in setup and "ctx 16,384" in setup


@pytest.mark.parametrize("action", [
    {"type": "static_select", "action_id": "rl_followup_rm|define|term|"},
    {"type": "static_select", "action_id": "rl_followup_rm|define|term|", "selected_option": {"value": ""}},
    {"type": "static_select", "action_id": "rl_followup_rm|define|", "selected_option": {"value": "gqa"}},
    {"type": "static_select", "action_id": "rl_followup_3", "selected_option": {"value": "gqa"}},
])
async def test_malformed_choices_are_only_acked(slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore,
                                                action: dict[str, Any]) -> None:
    """A select with no choice, an empty value or an id that is not a menu of ours: 200, nothing run."""
    status, _, _ = await slack.interaction(block_actions(action, fake_slack.response_url()))
    assert status == 200
    await asyncio.sleep(0.3)
    assert fake_slack.answers == [] and not store.counts


async def test_failed_follow_up_goes_to_the_clicker_only(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """A follow-up that ends in an error does not overwrite the shared answer."""
    action = {"type": "button", "action_id": "rl_followup_0", "value": "rl|nosuchcommand|x=1"}
    await slack.interaction(block_actions(action, fake_slack.response_url()))
    await fake_slack.wait_for(lambda: fake_slack.answers)
    message = fake_slack.answers[0]
    assert message["response_type"] == "ephemeral" and "replace_original" not in message
    assert "Unknown command" in message["blocks"][0]["text"]["text"]


async def test_link_buttons_and_foreign_values_are_only_acked(
        slack: SlackSender, fake_slack: FakeSlack, store: MemoryStore) -> None:
    """URL buttons and follow-up values that are not ours get a 200 and nothing else."""
    link = {"type": "button", "action_id": "link_0", "url": "https://runlocalai.co/"}
    assert (await slack.interaction(block_actions(link, fake_slack.response_url())))[0] == 200
    foreign = {"type": "button", "action_id": "rl_followup_1", "value": "something|else"}
    assert (await slack.interaction(block_actions(foreign, fake_slack.response_url())))[0] == 200
    await asyncio.sleep(0.3)
    assert fake_slack.answers == [] and not store.counts


async def test_troubleshoot_this_shortcut_answers_privately(slack: SlackSender,
                                                             fake_slack: FakeSlack) -> None:
    """The message shortcut matches the message's text against the errors KB, for the clicker only."""
    payload = {
        "type": "message_action", "callback_id": "troubleshoot_message", "trigger_id": "1.2.3",
        "action_ts": "1.2", "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": "U2", "team_id": TEAM_ID},
        "channel": {"id": "C1", "name": "general"}, "response_url": fake_slack.response_url(),
        "message_ts": "1.1",
        "message": {"type": "message", "user": "U3", "ts": "1.1",
                    "text": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB "
                            "<@U0EVIL> <!channel>"},
    }
    status, _, seconds = await slack.interaction(payload)
    assert status == 200 and seconds < 3
    await fake_slack.wait_for(lambda: fake_slack.answers)
    message = fake_slack.answers[0]
    assert message["response_type"] == "ephemeral"
    assert "out of memory" in message["blocks"][0]["text"]["text"].lower()
    assert_slack_safe(message)


@pytest.mark.parametrize(("verdict", "private_card", "original_private", "replaces"), [
    ("info", False, False, True),     # a normal answer replaces a public message
    ("info", False, True, True),      # ... and a private one
    ("info", True, True, True),       # a private card may replace a private message
    ("info", True, False, False),     # but never a message everyone sees
    ("error", True, True, False),     # errors never replace the answer
    ("error", True, False, False),
])
def test_follow_up_placement(verdict: str, private_card: bool, original_private: bool,
                             replaces: bool) -> None:
    """Where a follow-up's answer goes, by its card and the clicked message's visibility."""
    card = Card(title="t", verdict=verdict, ephemeral=private_card)  # type: ignore[arg-type]
    assert replaces_original(card, original_private) is replaces
