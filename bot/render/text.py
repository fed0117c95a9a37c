"""Card -> plain text for the terminal and logs (rich markup is applied by the console)."""

from __future__ import annotations

from bot.card import VERDICT_EMOJI, Action, Card, Menu

from .limits import clamp

MENU_NOTE_CHARS = 80   # a choice's description in a text list: a hint, as the platforms show it


def render_text(card: Card, width: int = 100) -> str:
    emoji = VERDICT_EMOJI.get(card.verdict, "")
    lines = [f"{emoji} {card.title}".strip(), "=" * min(width, len(card.title) + 3)]
    if card.summary:
        lines += [card.summary, ""]
    if card.bar:
        lines += [card.bar, ""]
    for f in card.fields:
        value = f.value.replace("\n", "\n    ")
        lines.append(f"{f.name}:\n    {value}" if "\n" in f.value or not f.inline else f"{f.name}: {value}")
    if card.evidence:
        lines += ["", "Evidence: " + ", ".join(card.evidence)]
    for s in card.sources:
        lines.append(f"Source: {s.label} <{s.url}>")
    if card.footer:
        lines.append(card.footer)
    follow = [a for a in card.actions if not a.is_link]
    if follow:
        lines.append("Try: " + " | ".join(command_line(a) for a in follow))
    for menu in card.menus:
        lines += menu_lines(menu)
    return "\n".join(lines).rstrip() + "\n"


def command_line(action: Action) -> str:
    """The command a follow-up runs, as one would type it."""
    return f"/{action.command} " + " ".join(f"{k}={v}" for k, v in action.args)


def menu_lines(menu: Menu) -> list[str]:
    """A select menu where there are no menus: its placeholder, then each choice as the command
    it would run."""
    lines = [f"{menu.placeholder}:" if menu.placeholder else "Choose:"]
    for choice in menu.choices:
        note = f"  ({clamp(choice.description, MENU_NOTE_CHARS)})" if choice.description else ""
        lines.append(f"    {choice.label}: {command_line(menu.action_for(choice))}{note}")
    return lines
