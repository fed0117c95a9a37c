"""Card -> Discord message JSON (embed + components), within Discord's limits, pinging no one."""

from __future__ import annotations

from typing import Any

from bot.card import VERDICT_COLOUR, VERDICT_EMOJI, Card

from .actions import encode_action
from .limits import DISCORD as L
from .limits import defuse_masked_links, discord_text

CHART_FILENAME = "chart.png"


def render_discord(card: Card) -> dict[str, Any]:
    """The JSON body of a message (interaction response data / webhook payload)."""
    budget = L["total"]

    def take(text: str, limit: int, *, links_ok: bool = False) -> str:
        nonlocal budget
        text = text if links_ok else defuse_masked_links(text)
        out = discord_text(text, min(limit, max(budget, 0)))
        budget -= len(out)
        return out

    emoji = VERDICT_EMOJI.get(card.verdict, "")
    embed: dict[str, Any] = {
        "title": take(f"{emoji} {card.title}".strip(), L["title"]),
        "color": VERDICT_COLOUR.get(card.verdict, 0x3498DB),
    }
    footer_parts = []
    if card.evidence:
        footer_parts.append("Evidence: " + ", ".join(card.evidence))
    if card.footer:
        footer_parts.append(card.footer)
    footer = take(" · ".join(footer_parts), L["footer"]) if footer_parts else ""
    description = defuse_masked_links(card.summary)
    if card.bar:
        description += f"\n```\n{card.bar}\n```"
    if card.sources:
        links = " · ".join(f"[{s.label.replace(']', '')}]({s.url})" for s in card.sources[:6])
        description += f"\nSources: {links}"
    if description:
        embed["description"] = take(description.strip(), L["description"], links_ok=True)
    fields = []
    for f in card.fields[: L["fields"]]:
        if budget < 40:
            break
        name = take(f.name or "\u200b", L["field_name"])
        value = take(f.value or "\u200b", L["field_value"])
        fields.append({"name": name, "value": value, "inline": f.inline})
    if fields:
        embed["fields"] = fields
    if footer:
        embed["footer"] = {"text": footer}
    if card.chart_png:
        # The adapter uploads card.chart_png as this attachment with the message.
        embed["image"] = {"url": f"attachment://{CHART_FILENAME}"}
    components = _components(card)
    body: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    if components:
        body["components"] = components
    if card.ephemeral:
        body["flags"] = 64
    return body


def _components(card: Card) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for a in card.actions:
        label = discord_text(defuse_masked_links(a.label), L["button_label"])
        if a.is_link:
            if a.url and a.url.startswith("https://"):
                buttons.append({"type": 2, "style": 5, "label": label, "url": a.url})
        elif a.command:
            custom_id = encode_action(a)
            if len(custom_id) <= L["custom_id"]:
                buttons.append({"type": 2, "style": 2, "label": label, "custom_id": custom_id})
    rows = []
    for i in range(0, min(len(buttons), L["buttons_per_row"] * L["rows"]), L["buttons_per_row"]):
        rows.append({"type": 1, "components": buttons[i : i + L["buttons_per_row"]]})
    return rows
