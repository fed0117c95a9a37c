"""Renderers keep every platform limit and never let text ping anyone."""

import json
import re

import pytest

from bot.card import Action, Card, Source
from bot.render import render_discord, render_slack, render_text
from bot.render.actions import decode_action, encode_action
from bot.render.limits import DISCORD, SLACK

HOSTILE = ["@everyone", "@here", "<@123456789>", "<@&987654321>", "<#555>", "<!channel>", "<!here>",
           "<@U123ABC>", "[click](https://evil.example)", "a" * 10_000, "&<>" * 500, "\u202e\x00"]


def hostile_card(text: str) -> Card:
    card = Card(title=text, summary=text, footer=text, bar=text, evidence=[text])
    for i in range(40):
        card.add(f"{text}{i}", text, inline=i % 2 == 0)
    card.sources = [Source(text, "https://example.com/x")]
    card.actions = [Action(text, command="define", args=(("term", text),)) for _ in range(30)]
    return card


@pytest.mark.parametrize("text", HOSTILE)
def test_discord_limits_and_no_pings(text):
    """Embed within Discord's limits, allowed_mentions empty, mentions broken by a zero-width space."""
    body = render_discord(hostile_card(text))
    e = body["embeds"][0]
    assert body["allowed_mentions"] == {"parse": []}
    assert len(e["title"]) <= DISCORD["title"]
    assert len(e.get("description", "")) <= DISCORD["description"]
    assert len(e.get("fields", [])) <= DISCORD["fields"]
    total = len(e["title"]) + len(e.get("description", "")) + len(e.get("footer", {}).get("text", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
    assert total <= DISCORD["total"]
    for f in e.get("fields", []):
        assert len(f["value"]) <= DISCORD["field_value"] and len(f["name"]) <= DISCORD["field_name"]
    dumped = json.dumps(body, ensure_ascii=False)
    assert "@everyone" not in dumped and "@here" not in dumped
    assert not re.search(r"<(@[!&]?|#)\d+>", dumped)
    assert len(body.get("components", [])) <= DISCORD["rows"]
    for row in body.get("components", []):
        assert len(row["components"]) <= DISCORD["buttons_per_row"]
        for b in row["components"]:
            assert len(b["label"]) <= DISCORD["button_label"]
            assert len(b.get("custom_id", "")) <= DISCORD["custom_id"]


@pytest.mark.parametrize("text", HOSTILE)
def test_slack_limits_and_escaping(text):
    """Block Kit within Slack's limits, with & < > escaped so <!channel> and <@U1> cannot ping."""
    body = render_slack(hostile_card(text))
    blocks = body["blocks"]
    assert len(blocks) <= SLACK["blocks"]
    for b in blocks:
        if b["type"] == "section":
            if "text" in b:
                assert len(b["text"]["text"]) <= SLACK["section_text"]
            assert len(b.get("fields", [])) <= SLACK["fields"]
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= SLACK["header"]
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert "<!channel>" not in dumped and "<@U123ABC>" not in dumped and "<!here>" not in dumped


def test_text_renderer_keeps_content():
    """The text renderer shows title, fields and follow-ups."""
    card = Card(title="T", summary="S")
    card.add("Memory", "4 GiB")
    card.actions.append(Action("More", command="define", args=(("term", "kv-cache"),)))
    out = render_text(card)
    assert "T" in out and "Memory: 4 GiB" in out and "/define term=kv-cache" in out


def test_action_ids_round_trip():
    """Follow-up ids decode to the same command and arguments; foreign ids are rejected."""
    a = Action("x", command="willitrun", args=(("model", "llama-3.1-8b"), ("hardware", "2x rtx-3090")))
    assert decode_action(encode_action(a)) == ("willitrun", {"model": "llama-3.1-8b", "hardware": "2x rtx-3090"})
    assert decode_action("other|x|y") is None and decode_action("rl||") is None


def test_slack_plain_never_leaves_a_bare_angle_bracket_at_the_cut():
    """A clamp that falls between '<' and its zero-width space drops the '<' too."""
    from bot.render.limits import ZWSP, slack_plain

    out = slack_plain("a" * 73 + "<b", 75)
    assert len(out) <= 75 and out.endswith("…") and "<…" not in out
    assert slack_plain("<@U1>", 75) == "<" + ZWSP + "@U1>"
