"""The Card: what every command answers with, whatever the platform.

Handlers build Cards; the renderers in bot/render/ turn them into a terminal view, a Discord
embed with components, or Slack Block Kit, and enforce each platform's limits there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["comfortable", "tradeoffs", "no", "info", "error"]

VERDICT_EMOJI: dict[str, str] = {
    "comfortable": "🟢", "tradeoffs": "🟡", "no": "🔴", "info": "ℹ️", "error": "⚠️",
}
VERDICT_COLOUR: dict[str, int] = {
    "comfortable": 0x2ECC71, "tradeoffs": 0xF1C40F, "no": 0xE74C3C, "info": 0x3498DB, "error": 0x95A5A6,
}


@dataclass(frozen=True)
class CardField:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Action:
    """A button: a link, or a follow-up that runs ``command`` with ``args``."""

    label: str
    url: str | None = None
    command: str | None = None
    args: tuple[tuple[str, str], ...] = ()

    @property
    def is_link(self) -> bool:
        return self.url is not None


@dataclass(frozen=True, slots=True)  # ~20 per /willitrun answer: slots halve the cost of making one
class MenuChoice:
    """One option of a select menu: ``value`` is what the menu's option is set to."""

    label: str
    value: str
    description: str = ""


@dataclass(frozen=True)
class Menu:
    """A select menu: choosing runs ``command`` with ``args`` plus ``{option: chosen value}``.

    For a choice that is natural to offer as a list ("Try another quant", related terms) where a
    row of buttons would not fit; the renderers keep its platform's option and length limits.
    """

    placeholder: str
    command: str
    option: str
    choices: tuple[MenuChoice, ...]
    args: tuple[tuple[str, str], ...] = ()

    def action_for(self, choice: MenuChoice) -> Action:
        """The follow-up that choosing ``choice`` runs (the chosen value replaces a fixed one)."""
        fixed = tuple((k, v) for k, v in self.args if k != self.option)
        return Action(choice.label, command=self.command, args=fixed + ((self.option, choice.value),))


@dataclass(frozen=True)
class Source:
    label: str
    url: str


@dataclass
class Card:
    title: str
    summary: str = ""
    verdict: Verdict = "info"
    fields: list[CardField] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    footer: str = ""
    actions: list[Action] = field(default_factory=list)
    menus: list[Menu] = field(default_factory=list)
    bar: str | None = None          # compact text bar (memory against budget)
    chart_png: bytes | None = None
    ephemeral: bool = False

    def add(self, name: str, value: str, inline: bool = True) -> None:
        if value:
            self.fields.append(CardField(name, value, inline))


def error_card(title: str, message: str, suggestions: list[str] | tuple[str, ...] = ()) -> Card:
    """A friendly error: what was wrong and what would work."""
    card = Card(title=title, summary=message, verdict="error", ephemeral=True)
    if suggestions:
        card.add("Did you mean", "\n".join(f"• {s}" for s in suggestions[:8]), inline=False)
    return card
