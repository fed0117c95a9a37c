"""Card -> Slack Block Kit, within Slack's limits, with & < > escaped so nothing pings."""

from __future__ import annotations

from typing import Any

from bot.card import VERDICT_EMOJI, Card, Menu

from .actions import encode_action, encode_menu, usable_choices
from .limits import SLACK as L
from .limits import clamp, slack_plain, slack_text

# Every follow-up element's action_id starts with this (the adapter listens for it): a button's
# continues with its position (its value is the follow-up id), a select's with the menu id.
FOLLOW_UP = "rl_followup_"


def _mrkdwn(text: str, limit: int = L["section_text"]) -> dict[str, str]:
    return {"type": "mrkdwn", "text": slack_text(text, limit)}


def render_slack(card: Card) -> dict[str, Any]:
    """``{"text": fallback, "blocks": [...]}`` ready for chat.postMessage or respond()."""
    emoji = VERDICT_EMOJI.get(card.verdict, "")
    title = f"{emoji} {card.title}".strip()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": slack_plain(title, L["header"]), "emoji": True}}
    ]
    if card.summary:
        blocks.append({"type": "section", "text": _mrkdwn(card.summary)})
    if card.bar:
        # The bar is our own text; code formatting keeps it aligned.
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                       "text": clamp("```" + slack_text(card.bar, L["section_text"] - 6) + "```", L["section_text"])}})
    inline = [f for f in card.fields if f.inline]
    wide = [f for f in card.fields if not f.inline]
    for i in range(0, len(inline), L["fields"]):
        chunk = inline[i : i + L["fields"]]
        blocks.append({"type": "section", "fields": [
            _mrkdwn(f"*{f.name}*\n{f.value}", L["field_text"]) for f in chunk]})
    for f in wide:
        blocks.append({"type": "section", "text": _mrkdwn(f"*{f.name}*\n{f.value}")})
    context = []
    if card.evidence:
        context.append(_mrkdwn("Evidence: " + ", ".join(card.evidence), 2000))
    if card.sources:
        links = " · ".join(f"<{s.url}|{slack_text(s.label, 200)}>" for s in card.sources[:6]
                           if s.url.startswith("https://") and "|" not in s.url and ">" not in s.url)
        if links:
            context.append({"type": "mrkdwn", "text": clamp("Sources: " + links, 2000)})
    if card.footer:
        context.append(_mrkdwn(card.footer, 2000))
    if context:
        blocks.append({"type": "context", "elements": context[: L["context_elements"]]})
    elements = []
    for a in card.actions:
        text = {"type": "plain_text", "text": slack_plain(a.label, L["button_text"]), "emoji": True}
        if a.is_link and a.url and a.url.startswith("https://"):
            elements.append({"type": "button", "text": text, "url": clamp(a.url, L["url"]),
                             "action_id": f"link_{len(elements)}"})
        elif a.command:
            value = encode_action(a)
            if len(value) <= L["value"]:
                elements.append({"type": "button", "text": text, "value": value,
                                 "action_id": f"{FOLLOW_UP}{len(elements)}"})
    if elements:
        blocks.append({"type": "actions", "elements": elements[: L["actions_elements"]]})
    for menu in card.menus:
        select = _select(menu)
        if select is not None:
            blocks.append({"type": "actions", "elements": [select]})
    if len(blocks) > L["blocks"]:
        blocks = blocks[: L["blocks"] - 1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "…more in the full answer"}]}]
    fallback = slack_text(f"{title}: {card.summary}", L["fallback_text"])
    return {"text": fallback, "blocks": blocks}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": slack_plain(text, limit), "emoji": True}


def _select(menu: Menu) -> dict[str, Any] | None:
    """A static_select in an actions block of its own, or None when its id is too long or no
    choice fits. A value is never cut: a choice whose value is too long, empty or repeated is
    left out."""
    action_id = FOLLOW_UP + encode_menu(menu)
    if len(action_id) > L["action_id"]:
        return None
    options: list[dict[str, Any]] = []
    for choice in usable_choices(menu, L["select_options"], L["option_value"]):
        option = {"text": _plain(choice.label.strip() or choice.value, L["option_text"]),
                  "value": choice.value}
        if choice.description.strip():
            option["description"] = _plain(choice.description, L["option_description"])
        options.append(option)
    if not options:
        return None
    select: dict[str, Any] = {"type": "static_select", "action_id": action_id, "options": options}
    if menu.placeholder.strip():
        select["placeholder"] = _plain(menu.placeholder, L["placeholder"])
    return select
