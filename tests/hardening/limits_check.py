"""One checker of platform limits and output safety, shared by every hardening test.

``check_discord(body)`` and ``check_slack(message)`` raise AssertionError naming the first
problem: a string over its limit, too many fields/blocks/buttons/rows/select options, a select
menu sharing its row or block, repeated select values, anything that could ping, a masked link
made of user text, or an unbalanced code fence.
"""

from __future__ import annotations

import re
from typing import Any

from bot.card import Card
from bot.render import render_discord, render_slack
from bot.render.limits import DISCORD, SLACK

# Raw Discord mention syntax that would ping if allowed_mentions did not stop it.
DISCORD_PING_RE = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>|<#\d+>", re.IGNORECASE)
# A masked link whose target is not one of ours (sources are catalog URLs, never user text).
MASKED_LINK_RE = re.compile(r"(?<!\\)\[[^\[\]]*(?<!\\)\]\((?!https://(huggingface\.co|github\.com|[\w.-]+/))")
SLACK_CONTROL_RE = re.compile(r"<(?!https://)")


def _strings(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for v in node.values():
            out += _strings(v)
    elif isinstance(node, list):
        for v in node:
            out += _strings(v)
    return out


def check_discord(body: dict[str, Any]) -> None:
    """A Discord message body within every limit that pings no one and keeps its layout."""
    assert body["allowed_mentions"] == {"parse": []}, body.get("allowed_mentions")
    embeds = body["embeds"]
    assert len(embeds) == 1
    e = embeds[0]
    title, desc = e.get("title", ""), e.get("description", "")
    footer = e.get("footer", {}).get("text", "")
    fields = e.get("fields", [])
    assert 0 < len(title) <= DISCORD["title"], len(title)
    assert len(desc) <= DISCORD["description"], len(desc)
    assert len(footer) <= DISCORD["footer"], len(footer)
    assert len(fields) <= DISCORD["fields"]
    for f in fields:
        assert 0 < len(f["name"]) <= DISCORD["field_name"], len(f["name"])
        assert 0 < len(f["value"]) <= DISCORD["field_value"], len(f["value"])
    total = len(title) + len(desc) + len(footer) + sum(len(f["name"]) + len(f["value"]) for f in fields)
    assert total <= DISCORD["total"], total
    rows = body.get("components", [])
    assert len(rows) <= DISCORD["rows"]
    component_texts: list[str] = []
    for row in rows:
        assert row["type"] == 1 and 0 < len(row["components"]) <= DISCORD["buttons_per_row"]
        for b in row["components"]:
            if b["type"] == 3:
                component_texts += _check_discord_select(b, row)
                continue
            assert b["type"] == 2
            assert 0 < len(b["label"]) <= DISCORD["button_label"]
            component_texts.append(b["label"])
            if "url" in b:
                assert b["url"].startswith("https://")
            else:
                assert b["custom_id"].startswith("rl|") and len(b["custom_id"]) <= DISCORD["custom_id"]
    for text in component_texts:
        assert not DISCORD_PING_RE.search(text), text[:300]
        assert not MASKED_LINK_RE.search(text), text[:300]
    for text in [title, desc, footer] + [s for f in fields for s in (f["name"], f["value"])]:
        assert not DISCORD_PING_RE.search(text), text[:300]
        assert text.count("```") % 2 == 0, f"unbalanced code fence: {text[:300]!r}"
    for text in [title, footer] + [s for f in fields for s in (f["name"], f["value"])]:
        assert not MASKED_LINK_RE.search(text), text[:300]


def _check_discord_select(select: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """A string select alone in its row, within Discord's limits; returns its visible texts."""
    assert len(row["components"]) == 1, "a select menu needs a row of its own"
    assert select["custom_id"].startswith("rm|") and len(select["custom_id"]) <= DISCORD["custom_id"]
    assert select.get("min_values", 1) == 1 and select.get("max_values", 1) == 1
    options = select["options"]
    assert 0 < len(options) <= DISCORD["select_options"], len(options)
    values = [o["value"] for o in options]
    assert len(set(values)) == len(values), "select values must be unique"
    texts = [select.get("placeholder", "")]
    assert len(texts[0]) <= DISCORD["select_placeholder"], len(texts[0])
    for o in options:
        assert 0 < len(o["label"]) <= DISCORD["select_label"], len(o["label"])
        assert 0 < len(o["value"]) <= DISCORD["select_value"], len(o["value"])
        assert len(o.get("description", "")) <= DISCORD["select_description"]
        texts += [o["label"], o.get("description", "")]
    return texts


def _check_slack_select(select: dict[str, Any], block: dict[str, Any]) -> None:
    """A static_select alone in its actions block, within Slack's limits."""
    assert len(block["elements"]) == 1, "a select menu gets an actions block of its own"
    assert select["action_id"].startswith("rl_followup_rm|")
    assert len(select["action_id"]) <= SLACK["action_id"]
    options = select["options"]
    assert 0 < len(options) <= SLACK["select_options"], len(options)
    values = [o["value"] for o in options]
    assert len(set(values)) == len(values), "select values must be unique"
    if "placeholder" in select:
        assert 0 < len(select["placeholder"]["text"]) <= SLACK["placeholder"]
    for o in options:
        assert o["text"]["type"] == "plain_text" and 0 < len(o["text"]["text"]) <= SLACK["option_text"]
        assert 0 < len(o["value"]) <= SLACK["option_value"], len(o["value"])
        if "description" in o:
            assert 0 < len(o["description"]["text"]) <= SLACK["option_description"]


def check_slack(message: dict[str, Any]) -> None:
    """A Block Kit message within every limit in which nothing can mention anyone."""
    blocks = message["blocks"]
    assert 0 < len(blocks) <= SLACK["blocks"]
    assert len(message["text"]) <= SLACK["fallback_text"]
    assert not SLACK_CONTROL_RE.search(message["text"]), message["text"][:300]
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert 0 < len(block["text"]["text"]) <= SLACK["header"]
        elif kind == "section":
            assert "text" in block or block.get("fields")
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= SLACK["section_text"], len(block["text"]["text"])
            assert len(block.get("fields", [])) <= SLACK["fields"]
            for f in block.get("fields", []):
                assert 0 < len(f["text"]) <= SLACK["field_text"], len(f["text"])
        elif kind == "context":
            assert 0 < len(block["elements"]) <= SLACK["context_elements"]
            for el in block["elements"]:
                assert len(el["text"]) <= 2000
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= SLACK["actions_elements"]
            for b in block["elements"]:
                if b["type"] == "static_select":
                    _check_slack_select(b, block)
                    continue
                assert b["type"] == "button"
                assert 0 < len(b["text"]["text"]) <= SLACK["button_text"]
                assert len(b.get("value", "")) <= SLACK["value"]
                assert len(b["action_id"]) <= SLACK["action_id"]
                if "url" in b:
                    assert b["url"].startswith("https://") and len(b["url"]) <= SLACK["url"]
    for block in blocks:
        for text in _strings(block):
            if block["type"] in ("header",) or text in ("plain_text", "mrkdwn"):
                continue
            for m in SLACK_CONTROL_RE.finditer(text):
                # '<' survives only in plain_text (with a zero-width space after it) or our links.
                assert text[m.end(): m.end() + 1] == "\u200b", text[:300]


def check_card(card: Card) -> None:
    """A Card that renders within Discord's and Slack's limits, safely."""
    assert isinstance(card, Card), type(card)
    assert card.title.strip()
    check_discord(render_discord(card))
    check_slack(render_slack(card))
