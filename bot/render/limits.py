"""Platform limits and output safety, in one place.

Every string a renderer emits passes through here: clamped to the platform's limit with an
ellipsis, and neutralised so that nothing the bot sends can ping (@everyone, @here, roles,
users, Slack's <!channel> and friends).
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
ZWSP = "\u200b"

# Discord: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
# and https://discord.com/developers/docs/components/reference (buttons, string selects, rows)
DISCORD = {
    "title": 256, "description": 4096, "fields": 25, "field_name": 256, "field_value": 1024,
    "footer": 2048, "author": 256, "total": 6000, "content": 2000, "button_label": 80,
    "custom_id": 100, "buttons_per_row": 5, "rows": 5, "choices": 25, "choice_name": 100,
    "choice_value": 100, "select_options": 25, "select_placeholder": 150, "select_label": 100,
    "select_value": 100, "select_description": 100,
}
# Slack: https://docs.slack.dev/reference/block-kit/blocks
# and https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element
SLACK = {
    "blocks": 50, "header": 150, "section_text": 3000, "fields": 10, "field_text": 2000,
    "context_elements": 10, "button_text": 75, "action_id": 255, "value": 2000, "url": 3000,
    "actions_elements": 25, "fallback_text": 3000, "select_options": 100, "placeholder": 150,
    "option_text": 75, "option_value": 150, "option_description": 75,
}

_DISCORD_MENTION_RE = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>", re.IGNORECASE)


def clamp(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def neutralize_discord(text: str) -> str:
    """Break @everyone/@here and <@id>/<@&id>/<#id> so they render but never ping."""
    if "@" not in text and "<#" not in text:   # the common case: nothing that could ping
        return text
    return _DISCORD_MENTION_RE.sub(_break_mention, text)


def _break_mention(m: re.Match[str]) -> str:
    if m.group(1):
        return "@" + ZWSP + m.group(1)
    return "<" + m.group(2) + ZWSP + m.group(3) + ">"


_MASKED_LINK_RE = re.compile(r"\[([^\[\]]*)\]\(")
FENCE = "```"


def defuse_masked_links(text: str) -> str:
    """``[x](https://evil)`` in echoed user text must not become a clickable masked link: escape
    its brackets (the renderer adds its own source links after this)."""
    if "](" not in text:
        return text
    return _MASKED_LINK_RE.sub(lambda m: "\\[" + m.group(1) + "\\](", text)


def discord_text(text: str, limit: int) -> str:
    """Neutralised, clamped, and with code fences balanced (an odd fence, echoed or cut by the
    clamp, would swallow the rest of the text)."""
    out = clamp(neutralize_discord(text), limit)
    if out.count(FENCE) % 2 and limit > len(FENCE) + 2:
        out = clamp(out, limit - len(FENCE) - 1)
        if out.count(FENCE) % 2:
            out += "\n" + FENCE
    return out


def escape_slack(text: str) -> str:
    """Slack's mrkdwn control characters; escaping them defuses <!channel>, <@U1> and links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(text: str, limit: int) -> str:
    escaped = escape_slack(text)
    if len(escaped) <= limit:
        return escaped
    # Clamp before escaping so an entity is never cut in half.
    cut = text
    while len(escape_slack(cut)) > limit - 1 and cut:
        cut = cut[: max(len(cut) - max(len(escape_slack(cut)) - limit + 1, 1), 0)]
    return escape_slack(cut) + ELLIPSIS


def escape_markdown_link(text: str) -> str:
    """Keep user text from forming masked links [x](url) in Discord markdown."""
    return text.replace("[", "\\[").replace("]", "\\]")


def slack_plain(text: str, limit: int) -> str:
    """plain_text fields are not parsed for mentions; a zero-width space after '<' keeps it so
    even if a field type changes."""
    out = clamp(text.replace("<", "<" + ZWSP), limit)
    if out.endswith("<" + ELLIPSIS):   # the cut fell between '<' and its zero-width space
        out = out[:-2] + ELLIPSIS
    return out
