"""Card -> plain text for the terminal and logs (rich markup is applied by the console)."""

from __future__ import annotations

from bot.card import VERDICT_EMOJI, Card


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
        lines.append("Try: " + " | ".join(
            f"/{a.command} " + " ".join(f"{k}={v}" for k, v in a.args) for a in follow))
    return "\n".join(lines).rstrip() + "\n"
