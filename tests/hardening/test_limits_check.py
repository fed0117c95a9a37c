"""The shared limits checker itself: it accepts our select menus and refuses broken ones."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from bot.card import Action, Card, Menu, MenuChoice
from bot.render import render_discord, render_slack

from .limits_check import check_discord, check_slack

CARD = Card(title="T", actions=[Action("More", command="define", args=(("term", "x"),))],
            menus=[Menu("Related terms", "define", "term", (MenuChoice("GQA", "gqa", "Grouped-query"),
                                                            MenuChoice("MLA", "mla")))])


def discord_select(body: dict[str, Any]) -> dict[str, Any]:
    return body["components"][1]["components"][0]


def slack_select(message: dict[str, Any]) -> dict[str, Any]:
    return message["blocks"][-1]["elements"][0]


def test_rendered_menus_pass():
    """What the renderers make of a card with a menu passes on both platforms."""
    check_discord(render_discord(CARD))
    check_slack(render_slack(CARD))


DISCORD_BREAKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "26 options": lambda b: discord_select(b).update(
        options=[{"label": f"o{i}", "value": f"v{i}"} for i in range(26)]),
    "long label": lambda b: discord_select(b)["options"][0].update(label="x" * 101),
    "long value": lambda b: discord_select(b)["options"][0].update(value="x" * 101),
    "long description": lambda b: discord_select(b)["options"][0].update(description="x" * 101),
    "long placeholder": lambda b: discord_select(b).update(placeholder="x" * 151),
    "repeated value": lambda b: discord_select(b)["options"][1].update(value="gqa"),
    "long custom id": lambda b: discord_select(b).update(custom_id="rm|define|term|" + "x" * 90),
    "not our id": lambda b: discord_select(b).update(custom_id="rl|define|term=x"),
    "shares a row": lambda b: b["components"][1]["components"].append(b["components"][0]["components"][0]),
    "pings": lambda b: discord_select(b)["options"][0].update(label="@everyone"),
    "six rows": lambda b: b["components"].extend(copy.deepcopy(b["components"][1]) for _ in range(4)),
}
SLACK_BREAKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "101 options": lambda m: slack_select(m).update(
        options=[{"text": {"type": "plain_text", "text": f"o{i}"}, "value": f"v{i}"} for i in range(101)]),
    "long text": lambda m: slack_select(m)["options"][0]["text"].update(text="x" * 76),
    "long value": lambda m: slack_select(m)["options"][0].update(value="x" * 151),
    "long description": lambda m: slack_select(m)["options"][0]["description"].update(text="x" * 76),
    "long placeholder": lambda m: slack_select(m)["placeholder"].update(text="x" * 151),
    "repeated value": lambda m: slack_select(m)["options"][1].update(value="gqa"),
    "long action id": lambda m: slack_select(m).update(action_id="rl_followup_rm|define|term|" + "x" * 240),
    "shares a block": lambda m: m["blocks"][-1]["elements"].append(m["blocks"][-2]["elements"][0]),
    "mentions": lambda m: slack_select(m)["options"][0]["text"].update(text="<!channel>"),
}


@pytest.mark.parametrize("name", DISCORD_BREAKS)
def test_discord_select_problems_are_caught(name: str):
    """Each broken Discord select (too many options, a string over its limit, a ping ...) fails."""
    body = render_discord(CARD)
    DISCORD_BREAKS[name](body)
    with pytest.raises(AssertionError):
        check_discord(body)


@pytest.mark.parametrize("name", SLACK_BREAKS)
def test_slack_select_problems_are_caught(name: str):
    """Each broken Slack static_select (too many options, a string over its limit ...) fails."""
    message = render_slack(CARD)
    SLACK_BREAKS[name](message)
    with pytest.raises(AssertionError):
        check_slack(message)
