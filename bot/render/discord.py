"""Card -> Discord message JSON (embed + components), within Discord's limits, pinging no one."""

from __future__ import annotations

from typing import Any

from bot.card import VERDICT_COLOUR, VERDICT_EMOJI, Card, Menu

from .actions import encode_action, encode_menu, usable_choices
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
    """Action rows: buttons five to a row, then each select menu in a row of its own, five rows
    in all (one kept for buttons when there are any)."""
    buttons = _buttons(card)
    menus = [m for m in (_select(menu) for menu in card.menus) if m is not None]
    menus = menus[: L["rows"] - (1 if buttons else 0)]
    per_row = L["buttons_per_row"]
    button_rows = [{"type": 1, "components": buttons[i : i + per_row]}
                   for i in range(0, min(len(buttons), per_row * (L["rows"] - len(menus))), per_row)]
    return button_rows + [{"type": 1, "components": [m]} for m in menus]


def _buttons(card: Card) -> list[dict[str, Any]]:
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
    return buttons


def _select(menu: Menu) -> dict[str, Any] | None:
    """A string select (component type 3), or None when its id is too long or no choice fits.
    A value is never cut (it is what the command runs with): a choice whose value is too long,
    empty or repeated is left out."""
    custom_id = encode_menu(menu)
    if len(custom_id) > L["custom_id"]:
        return None
    options: list[dict[str, Any]] = []
    for choice in usable_choices(menu, L["select_options"], L["select_value"]):
        option = {"label": _plain(choice.label.strip() or choice.value, L["select_label"]),
                  "value": choice.value}
        if choice.description.strip():
            option["description"] = _plain(choice.description, L["select_description"])
        options.append(option)
    if not options:
        return None
    select: dict[str, Any] = {"type": 3, "custom_id": custom_id, "options": options,
                              "min_values": 1, "max_values": 1}
    if menu.placeholder.strip():
        select["placeholder"] = _plain(menu.placeholder, L["select_placeholder"])
    return select


def _plain(text: str, limit: int) -> str:
    """Component text (labels, descriptions, placeholders) made safe like button labels."""
    return discord_text(defuse_masked_links(text), limit)
